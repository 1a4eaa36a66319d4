// Command smtpsink is a local mail sink for demos and development: a real
// SMTP server (github.com/emersion/go-smtp, plain, no TLS, any AUTH PLAIN
// accepted) that writes every message it receives to a directory as
// NNNN.eml and prints one line per message (recipient and subject).
//
//	go run ./internal/tools/smtpsink -listen 127.0.0.1:2525 -dir /tmp/mail
//
// It is not a relay: nothing it receives leaves the machine.
package main
