// Package logdriver is an enforcement driver that changes no device: it logs
// and remembers what it would do. It is the agent's default for services bound
// to method "log", and the demo's way to show decisions arriving at a POP.
package logdriver
