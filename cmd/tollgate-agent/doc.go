// Command tollgate-agent runs at a POP: it follows the POP's desired state
// from the controller and enforces it on the POP's devices.
package main
