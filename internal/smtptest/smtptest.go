package smtptest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	// From and To are the envelope (MAIL FROM and RCPT TO) addresses.
	From string
	To   []string
	// Username is the AUTH PLAIN user name the client logged in with ("" if
	// it did not authenticate).
	Username string
	// Data is the message exactly as received (headers and body, CRLF line
	// endings).
	Data []byte

	// The parsed message; Err says why parsing failed (nil when the message
	// is well-formed, which a test should check).
	Header mail.Header
	// Subject is the decoded Subject header (RFC 2047 words decoded).
	Subject string
	// Text is the decoded (quoted-printable or base64) first text/plain
	// part, or the whole body of a single-part message, with "\n" line
	// endings.
	Text string
	// Attachments are the other parts of a multipart message, decoded.
	Attachments []Attachment
	Err         error
}

// Attachment is a decoded non-text part of a multipart message.
type Attachment struct {
	// Name is the part's filename (Content-Disposition) or name
	// (Content-Type) parameter, decoded.
	Name        string
	ContentType string
	Data        []byte
}

// Server is a running test SMTP server.
type Server struct {
	srv *smtp.Server
	ln  net.Listener

	mu       sync.Mutex
	msgs     []Message
	failN    int
	failCode int
	changed  chan struct{} // closed (and replaced) when a message arrives
}

// Start starts a server on 127.0.0.1 on a free port; it is closed when the
// test ends. Start fails the test if it cannot listen.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s := &Server{ln: ln, changed: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "smtptest.localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 32 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor waits until at least n messages have been accepted and returns
// them all; it fails the test (t.Fatalf: call it from the test's goroutine)
// if they have not arrived within timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.msgs), s.changed
		if got >= n {
			out := append([]Message(nil), s.msgs...)
			s.mu.Unlock()
			return out
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("smtptest: %d messages after %s, want %d", got, timeout, n)
		}
	}
}

// FailNext makes the next n transactions fail with the SMTP reply code
// (4xx: temporary, 5xx: permanent) at the end of DATA, after the client has
// sent the whole message; failed messages are not recorded. Calling it
// again replaces the previous instruction.
func (s *Server) FailNext(n int, code int) {
	s.mu.Lock()
	s.failN, s.failCode = n, code
	s.mu.Unlock()
}

// takeFailure returns the code to fail the current transaction with, or 0.
func (s *Server) takeFailure() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failN <= 0 {
		return 0
	}
	s.failN--
	return s.failCode
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

type session struct {
	s        *Server
	username string
	from     string
	to       []string
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, _ string) error { x.username = username; return nil }), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error { x.from = from; return nil }

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error { x.to = append(x.to, to); return nil }

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if code := x.s.takeFailure(); code != 0 {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: "smtptest: failing as told by FailNext"}
	}
	m := Message{From: x.from, To: append([]string(nil), x.to...), Username: x.username, Data: b}
	m.Err = parse(&m)
	x.s.add(m)
	return nil
}

func (x *session) Reset() { x.from, x.to = "", nil }

func (x *session) Logout() error { return nil }

// parse fills m's parsed fields from m.Data.
func parse(m *Message) error {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	m.Header = msg.Header
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return fmt.Errorf("subject: %w", err)
	}
	ct := msg.Header.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("content-type: %w", err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		body, err := decode(msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		if err != nil {
			return err
		}
		m.Text = text(body)
		return nil
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("multipart: %w", err)
		}
		body, err := decode(p.Header.Get("Content-Transfer-Encoding"), p)
		if err != nil {
			return err
		}
		pct := p.Header.Get("Content-Type")
		if pct == "" {
			pct = "text/plain"
		}
		partType, partParams, err := mime.ParseMediaType(pct)
		if err != nil {
			return fmt.Errorf("part content-type: %w", err)
		}
		disposition, dispParams, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if partType == "text/plain" && disposition != "attachment" && m.Text == "" {
			m.Text = text(body)
			continue
		}
		name := dispParams["filename"]
		if name == "" {
			name = partParams["name"]
		}
		m.Attachments = append(m.Attachments, Attachment{Name: name, ContentType: partType, Data: body})
	}
}

func decode(encoding string, r io.Reader) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r) // skips CR and LF
	case "", "7bit", "8bit", "binary":
	default:
		return nil, fmt.Errorf("unknown Content-Transfer-Encoding %q", encoding)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("body (%s): %w", encoding, err)
	}
	return b, nil
}

func text(b []byte) string { return strings.ReplaceAll(string(b), "\r\n", "\n") }
