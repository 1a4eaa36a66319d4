package notify_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/smtptest"
)

func newSMTP(t *testing.T, cfg notify.SMTPConfig) *notify.SMTP {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "Fournisseur Économique <billing@isp.example>"
	}
	s, err := notify.NewSMTP(cfg, clock.NewFixed(time.Date(2026, 12, 14, 16, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAttachmentRoundTrip(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSMTP(t, notify.SMTPConfig{Addr: srv.Addr(), TLS: notify.TLSNone})
	pdf := make([]byte, 5000)
	for i := range pdf {
		pdf[i] = byte(i * 7)
	}
	long := strings.Repeat("A line long enough to need soft line breaks in quoted-printable encoding; ", 3)
	body := "Grüße, Zoë!\nYour invoice is attached: € 53.11.\n.\n" + long + "\n=3D not an escape\n"
	m := notify.Message{To: "Zoë Müller <zoe@example.net>", Subject: "Facture de décembre – INV-000123", TextBody: body,
		Attachments: []notify.Attachment{
			{Name: "facture-décembre.pdf", ContentType: "application/pdf", Data: pdf},
			{Name: "slip.csv", Data: []byte("a,b\r\n1,2\r\n")},
		}}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)[0]
	if got.Err != nil {
		t.Fatal(got.Err)
	}
	if got.Subject != m.Subject || got.Text != body || len(got.To) != 1 || got.To[0] != "zoe@example.net" {
		t.Fatalf("subject %q to %v text %q", got.Subject, got.To, got.Text)
	}
	if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/mixed; boundary=") {
		t.Fatalf("content type %q", ct)
	}
	if len(got.Attachments) != 2 {
		t.Fatalf("%d attachments", len(got.Attachments))
	}
	a := got.Attachments[0]
	if a.Name != "facture-décembre.pdf" || a.ContentType != "application/pdf" || !bytes.Equal(a.Data, pdf) {
		t.Fatalf("pdf: %q %q %d bytes (equal %v)", a.Name, a.ContentType, len(a.Data), bytes.Equal(a.Data, pdf))
	}
	if a := got.Attachments[1]; a.Name != "slip.csv" || a.ContentType != "application/octet-stream" || string(a.Data) != "a,b\r\n1,2\r\n" {
		t.Fatalf("csv: %+v", a)
	}
	// Headers are 7-bit and lines are short.
	for i, line := range strings.Split(string(got.Data), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line %d is %d bytes long", i, len(line))
		}
	}
	head, _, _ := strings.Cut(string(got.Data), "\r\n\r\n")
	for _, r := range head {
		if r > 127 {
			t.Fatalf("non-ASCII header: %q", head)
		}
	}
}

func TestSingleTextMessage(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSMTP(t, notify.SMTPConfig{Addr: srv.Addr(), TLS: notify.TLSNone, From: "billing@isp.example"})
	if err := s.Send(context.Background(), notify.Message{To: "a@example.net", Subject: "Hi\r\nBcc: evil@example.net", TextBody: "one\r\ntwo"}); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)[0]
	if got.Err != nil || got.Text != "one\ntwo\n" || got.Subject != "Hi  Bcc: evil@example.net" || got.Header.Get("Bcc") != "" {
		t.Fatalf("%q %q %v %v", got.Subject, got.Text, got.Header, got.Err)
	}
	if got.Header.Get("Content-Type") != "text/plain; charset=utf-8" || got.Header.Get("Content-Transfer-Encoding") != "quoted-printable" ||
		got.Header.Get("Date") != "Mon, 14 Dec 2026 16:00:00 +0000" {
		t.Fatalf("headers %v", got.Header)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newSMTP(t, notify.SMTPConfig{Addr: srv.Addr(), TLS: notify.TLSNone, Username: "tollgate", PasswordFile: pw})
	if strings.Contains(s.String(), "s3cret") {
		t.Fatal("password in String()")
	}
	if err := s.Send(context.Background(), notify.Message{To: "a@example.net", Subject: "x", TextBody: "y"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.WaitFor(t, 1, 5*time.Second)[0]; got.Username != "tollgate" {
		t.Fatalf("logged in as %q", got.Username)
	}
	if _, err := notify.NewSMTP(notify.SMTPConfig{Addr: srv.Addr(), From: "b@isp.example", TLS: notify.TLSNone, Username: "u",
		PasswordFile: filepath.Join(t.TempDir(), "missing")}, clock.Real{}); err == nil || !strings.Contains(err.Error(), "password_file") {
		t.Fatalf("missing password file: %v", err)
	}
}

func TestSendErrorsAreClassified(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	ctx := context.Background()
	msg := notify.Message{To: "a@example.net", Subject: "x", TextBody: "y"}

	permanent := func(name string, err error, want bool) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if errors.Is(err, notify.ErrPermanent) != want {
			t.Errorf("%s: %v; permanent = %v, want %v", name, err, !want, want)
		}
	}
	s := newSMTP(t, notify.SMTPConfig{Addr: srv.Addr(), TLS: notify.TLSNone})
	permanent("bad address", s.Send(ctx, notify.Message{To: "not an address"}), true)
	srv.FailNext(1, 554)
	permanent("554", s.Send(ctx, msg), true)
	srv.FailNext(1, 452)
	permanent("452", s.Send(ctx, msg), false)

	// The test server offers no STARTTLS: starttls refuses to go on in
	// plain text.
	err := newSMTP(t, notify.SMTPConfig{Addr: srv.Addr()}).Send(ctx, msg)
	permanent("no STARTTLS", err, false)
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("no STARTTLS: %v", err)
	}

	// Nobody listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	permanent("connection refused", newSMTP(t, notify.SMTPConfig{Addr: closed, TLS: notify.TLSNone}).Send(ctx, msg), false)

	// A server that accepts the connection and never answers: Timeout ends
	// the attempt.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	start := time.Now()
	err = newSMTP(t, notify.SMTPConfig{Addr: silent.Addr().String(), TLS: notify.TLSNone, Timeout: 300 * time.Millisecond}).Send(ctx, msg)
	permanent("silent server", err, false)
	var netErr net.Error
	if took := time.Since(start); took > 3*time.Second || !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &netErr) && netErr.Timeout()) {
		t.Errorf("silent server: %v after %s", err, took)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages got through", n)
	}
}

func TestSMTPConfigValidate(t *testing.T) {
	if err := (notify.SMTPConfig{}).Validate(); err != nil {
		t.Errorf("zero config (email off): %v", err)
	}
	ok := notify.SMTPConfig{Addr: "smtp.example.net:587", From: "Example ISP <billing@example.net>", Username: "u", PasswordFile: "/run/pw"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mutate func(*notify.SMTPConfig)
		want   string
	}{
		{func(c *notify.SMTPConfig) { c.Addr = "" }, "smtp addr is required"},
		{func(c *notify.SMTPConfig) { c.Addr = "smtp.example.net" }, `smtp addr "smtp.example.net" is not host:port`},
		{func(c *notify.SMTPConfig) { c.Addr = "smtp.example.net:smtp" }, "is not host:port"},
		{func(c *notify.SMTPConfig) { c.From = "" }, "smtp from is required"},
		{func(c *notify.SMTPConfig) { c.From = "billing" }, `smtp from "billing" is not an email address`},
		{func(c *notify.SMTPConfig) { c.TLS = "ssl" }, `smtp tls "ssl" is not starttls, tls or none`},
		{func(c *notify.SMTPConfig) { c.TLS = notify.TLSNone }, "clear text"},
		{func(c *notify.SMTPConfig) { c.PasswordFile = "" }, "smtp password_file is required with username"},
		{func(c *notify.SMTPConfig) { c.Username = "" }, "smtp password_file is set but username is not"},
		{func(c *notify.SMTPConfig) { c.Timeout = -time.Second }, "smtp timeout"},
		{func(c *notify.SMTPConfig) { c.HeloName = "two words" }, "smtp helo_name"},
	}
	for _, tt := range tests {
		c := ok
		tt.mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", c, err, tt.want)
		}
	}
	local := ok
	local.Addr, local.TLS = "127.0.0.1:25", notify.TLSNone
	if err := local.Validate(); err != nil {
		t.Errorf("credentials to a loopback relay without TLS: %v", err)
	}
	// Every problem at once.
	if err := (notify.SMTPConfig{Addr: "x", TLS: "ssl"}).Validate(); err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("want three problems: %v", err)
	}
}
