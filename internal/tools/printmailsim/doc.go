// Command printmailsim is a local fake print-and-mail vendor for demos and
// development (internal/printmailsim): it speaks the Lob-style API
// Tollgate's delivery client uses, writes each letter's PDF to a
// directory, prints one line per letter, and posts signed status webhooks
// (letter.mailed, and letter.returned_to_sender for chosen postal codes)
// back to the controller.
//
//	go run ./internal/tools/printmailsim -listen 127.0.0.1:4010 -dir /tmp/letters \
//	    -api-key-file key -webhook-url http://127.0.0.1:8080/api/v1/webhooks/print-mail \
//	    -webhook-secret-file secret -mail-after 1s -return-postal-codes 78777
//
// Nothing is printed or mailed.
package main
