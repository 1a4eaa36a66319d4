// Command tollgatectl is the command-line tool for Tollgate's admin API:
// billing staff and scripts use it to manage services and their enforcement
// state.
package main
