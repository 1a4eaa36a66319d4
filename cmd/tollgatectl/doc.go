// Command tollgatectl is the command-line tool for Tollgate's admin API:
// billing staff and scripts use it to manage services and their enforcement
// state.
//
// It stays thin (internal/archtest caps its size): the controller parses
// and checks what the flags hold. Each command group declares its commands
// in one table of generic list, show and change commands (commands.go),
// whose flags are the request's query or JSON body; tables, key/value
// views, escaping and the progress bar come from internal/textout.
package main
