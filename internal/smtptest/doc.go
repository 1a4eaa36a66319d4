// Package smtptest runs a real SMTP server on 127.0.0.1 for tests: the code
// under test connects to [Server.Addr] over TCP as it would to a mail
// relay, and the test reads back what arrived, parsed, with
// [Server.Messages] or [Server.WaitFor].
//
//	srv := smtptest.Start(t) // closed when the test ends
//	cfg := notify.SMTPConfig{Addr: srv.Addr(), From: "billing@isp.example", TLS: "none"}
//	... send ...
//	m := srv.WaitFor(t, 1, 5*time.Second)[0]
//	// m.To, m.Subject, m.Text, m.Attachments
//
// [Server.FailNext] makes the next transactions fail with a given reply
// code (451: try again later; 550: rejected for good), to test retries.
//
// The server speaks plain SMTP (no TLS) and accepts AUTH PLAIN with any
// credentials (recording the user name), so clients must be configured
// without TLS. It is built on github.com/emersion/go-smtp.
package smtptest
