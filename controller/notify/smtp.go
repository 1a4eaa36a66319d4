package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/tollgate-isp/tollgate/internal/clock"
)

// ErrPermanent marks a delivery failure that retrying cannot fix: the mail
// server rejected the message or recipient for good (an SMTP 5xx reply to
// MAIL, RCPT or DATA), or the message itself is malformed (no valid
// recipient address). Test with errors.Is; every other Send error is
// temporary and worth retrying.
var ErrPermanent = errors.New("permanent delivery failure")

// Sender sends one message.
type Sender interface {
	// Send submits m for delivery. An error wrapping [ErrPermanent] means
	// retrying cannot help; any other error is temporary (the server said
	// try later, the network failed, ctx ended). A nil error means the
	// server accepted the message.
	Send(ctx context.Context, m Message) error
}

// SMTP sends messages through one mail server with a new connection per
// message (github.com/emersion/go-smtp as the client). Safe for concurrent
// use.
type SMTP struct {
	cfg      SMTPConfig
	from     *mail.Address
	password string
	tls      *tls.Config
	clock    clock.Clock
}

// NewSMTP validates cfg (see [SMTPConfig.Validate]) and reads the password
// file. Errors name the field; the password never appears in them. clk
// dates the messages.
func NewSMTP(cfg SMTPConfig, clk clock.Clock) (*SMTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, errors.New("smtp addr is required to send email")
	}
	if clk == nil {
		return nil, errors.New("notify: NewSMTP needs a clock")
	}
	cfg = cfg.withDefaults()
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp from %q: %w", cfg.From, err)
	}
	s := &SMTP{cfg: cfg, from: from, clock: clk}
	if cfg.PasswordFile != "" {
		b, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("smtp password_file: %w", err)
		}
		if s.password = strings.TrimSpace(string(b)); s.password == "" {
			return nil, fmt.Errorf("smtp password_file %s is empty", cfg.PasswordFile)
		}
	}
	host, _, _ := net.SplitHostPort(cfg.Addr)
	s.tls = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	return s, nil
}

// String describes the sender for logs (never the password).
func (s *SMTP) String() string {
	return fmt.Sprintf("smtp %s (tls %s, from %s)", s.cfg.Addr, s.cfg.TLS, s.from.Address)
}

// Send submits m. Errors: [ErrPermanent] (wrapped, with the server's reply)
// for a malformed recipient or message and for a 5xx reply to MAIL, RCPT or
// DATA, except 530 (authentication required, a configuration problem);
// anything else (connection, TLS, AUTH, 4xx replies, ctx ending or
// cfg.Timeout passing) is temporary. Once the server has accepted the data,
// Send returns nil whatever happens on QUIT.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("%w: recipient %q is not an email address", ErrPermanent, m.To)
	}
	raw, err := compose(s.from, to, m, s.clock.Now())
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}

	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return s.fail(ctx, "connect", err)
	}
	defer conn.Close()
	// go-smtp has no contexts: closing the connection ends whatever it is
	// waiting for when ctx ends.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var c *smtp.Client
	switch s.cfg.TLS {
	case TLSImplicit:
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return s.fail(ctx, "tls", err)
		}
		c = smtp.NewClient(tc)
	case TLSNone:
		c = smtp.NewClient(conn)
	default: // starttls
		if c, err = smtp.NewClientStartTLS(conn, s.tls); err != nil {
			return s.fail(ctx, "starttls", err)
		}
	}
	defer c.Close()
	// ctx (cfg.Timeout) bounds the whole message; go-smtp's own per-command
	// timeouts are only a backstop behind it.
	c.CommandTimeout, c.SubmissionTimeout = s.cfg.Timeout+time.Second, s.cfg.Timeout+time.Second
	if err := c.Hello(s.cfg.HeloName); err != nil {
		return s.fail(ctx, "ehlo", err)
	}
	if s.cfg.Username != "" {
		if err := c.Auth(s.auth(c)); err != nil {
			return s.fail(ctx, "auth", err)
		}
	}
	var opts *smtp.MailOptions
	if !isASCII(s.from.Address) || !isASCII(to.Address) {
		opts = &smtp.MailOptions{UTF8: true}
	}
	if err := c.Mail(s.from.Address, opts); err != nil {
		return s.fail(ctx, "mail", err)
	}
	if err := c.Rcpt(to.Address, nil); err != nil {
		return s.fail(ctx, "rcpt", err)
	}
	w, err := c.Data()
	if err != nil {
		return s.fail(ctx, "data", err)
	}
	if _, err := w.Write(raw); err != nil {
		return s.fail(ctx, "data", err)
	}
	if err := w.Close(); err != nil {
		return s.fail(ctx, "data", err)
	}
	_ = c.Quit() // accepted: what happens now does not matter
	return nil
}

// auth picks PLAIN, or LOGIN when the server offers only that.
func (s *SMTP) auth(c *smtp.Client) sasl.Client {
	if _, mechs := c.Extension("AUTH"); !slices.Contains(strings.Fields(strings.ToUpper(mechs)), sasl.Plain) &&
		slices.Contains(strings.Fields(strings.ToUpper(mechs)), sasl.Login) {
		return sasl.NewLoginClient(s.cfg.Username, s.password)
	}
	return sasl.NewPlainClient("", s.cfg.Username, s.password)
}

// fail classifies an error met at stage of the SMTP conversation.
func (s *SMTP) fail(ctx context.Context, stage string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("smtp %s %s: %w", s.cfg.Addr, stage, context.Cause(ctx))
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 && se.Code < 600 && se.Code != 530 &&
		(stage == "mail" || stage == "rcpt" || stage == "data") {
		return fmt.Errorf("%w: smtp %s %s: %w", ErrPermanent, s.cfg.Addr, stage, err)
	}
	return fmt.Errorf("smtp %s %s: %w", s.cfg.Addr, stage, err)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
