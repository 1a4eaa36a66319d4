package smtptest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/tollgate-isp/tollgate/internal/smtptest"
)

const plain = "From: billing@isp.example\r\nTo: a@example.net\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"Hello=2C\r\nyour bill is =E2=82=AC 10.\r\n"

const multi = "From: billing@isp.example\r\nTo: a@example.net\r\nSubject: Invoice\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=XX\r\n\r\n" +
	"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n" +
	"--XX\r\nContent-Type: application/pdf; name=\"inv.pdf\"\r\nContent-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\nJVBE\r\nRi0x\r\n--XX--\r\n"

func send(t *testing.T, addr, body string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice", "secret")); err != nil {
		t.Fatal(err)
	}
	return c.SendMail("billing@isp.example", []string{"a@example.net", "b@example.net"}, strings.NewReader(body))
}

func TestServerReceivesAndParses(t *testing.T) {
	srv := smtptest.Start(t)
	if err := send(t, srv.Addr(), plain); err != nil {
		t.Fatal(err)
	}
	if err := send(t, srv.Addr(), multi); err != nil {
		t.Fatal(err)
	}
	msgs := srv.WaitFor(t, 2, 5*time.Second)
	m := msgs[0]
	if m.Err != nil || m.From != "billing@isp.example" || len(m.To) != 2 || m.To[1] != "b@example.net" || m.Username != "alice" {
		t.Fatalf("envelope: %+v", m)
	}
	if m.Subject != "Grüße" || m.Text != "Hello,\nyour bill is € 10.\n" || !strings.HasPrefix(string(m.Data), "From: ") {
		t.Fatalf("subject %q text %q", m.Subject, m.Text)
	}
	m = msgs[1]
	if m.Err != nil || m.Text != "See attached." || len(m.Attachments) != 1 {
		t.Fatalf("multipart: %+v", m)
	}
	if a := m.Attachments[0]; a.Name != "résumé.pdf" || a.ContentType != "application/pdf" || string(a.Data) != "%PDF-1" {
		t.Fatalf("attachment: %+v", a)
	}
}

func TestFailNext(t *testing.T) {
	srv := smtptest.Start(t)
	srv.FailNext(2, 451)
	for range 2 {
		var se *smtp.SMTPError
		if err := send(t, srv.Addr(), plain); !errors.As(err, &se) || se.Code != 451 {
			t.Fatalf("want a 451, got %v", err)
		}
	}
	srv.FailNext(1, 550)
	var se *smtp.SMTPError
	if err := send(t, srv.Addr(), plain); !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("want a 550, got %v", err)
	}
	if err := send(t, srv.Addr(), plain); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.WaitFor(t, 1, 5*time.Second)); n != 1 {
		t.Fatalf("%d messages recorded, want only the accepted one", n)
	}
}
