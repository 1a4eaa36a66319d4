package notify

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// TLS modes of [SMTPConfig.TLS].
const (
	// TLSStartTLS connects in plain text and upgrades with STARTTLS before
	// anything else is said; a server that does not offer STARTTLS is an
	// error (never a silent fall-back to plain text). Usually port 587.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte. Usually port 465.
	TLSImplicit = "tls"
	// TLSNone never uses TLS: for a relay on the same host or network, and
	// test servers.
	TLSNone = "none"
)

// SMTPConfig is the mail server notices are submitted to. The zero value
// means email is off ([SMTPConfig.Enabled] is false).
type SMTPConfig struct {
	// Addr is the server's host:port, e.g. "smtp.example.net:587".
	// Required to send email; empty turns email off.
	Addr string `yaml:"addr"`
	// From is the sender of every notice, an address with an optional
	// display name: `Example ISP <billing@example.net>`. Required with
	// Addr.
	From string `yaml:"from"`
	// Username to authenticate with (SMTP AUTH PLAIN, or LOGIN when the
	// server offers only that). Default: no authentication.
	Username string `yaml:"username"`
	// PasswordFile is a file holding the password (surrounding white space
	// is ignored). Read once at start; the password is never logged.
	// Required with Username.
	PasswordFile string `yaml:"password_file"`
	// TLS is "starttls" (default: the server must offer STARTTLS), "tls"
	// (implicit TLS, port 465) or "none" (no TLS; local relays and test
	// servers; not allowed with a Username unless the server is on a
	// loopback address). Certificates are verified against the system's
	// roots.
	TLS string `yaml:"tls"`
	// Timeout bounds the submission of one message (connect, TLS, every
	// command, the data). Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// HeloName is the host name announced in EHLO. Default: "localhost".
	// (With starttls, the EHLO before the upgrade always says "localhost";
	// the one after it says HeloName.)
	HeloName string `yaml:"helo_name"`
}

// Enabled reports whether email is configured (Addr is set).
func (c SMTPConfig) Enabled() bool { return c.Addr != "" }

// withDefaults fills unset fields.
func (c SMTPConfig) withDefaults() SMTPConfig {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.HeloName == "" {
		c.HeloName = "localhost"
	}
	return c
}

// Validate checks the config and reports every problem at once, each
// naming the field by its YAML key ("smtp from \"x\" is not an email
// address …"). A config with no Addr is valid (email off) only if nothing
// else is set either.
func (c SMTPConfig) Validate() error {
	if !c.Enabled() {
		if c != (SMTPConfig{}) {
			return errors.New("smtp addr is required when other smtp settings are given (or remove them to turn email off)")
		}
		return nil
	}
	var errs []error
	host, port, err := net.SplitHostPort(c.Addr)
	if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p <= 0 || p > 65535 {
		errs = append(errs, fmt.Errorf("smtp addr %q is not host:port (like smtp.example.net:587)", c.Addr))
	}
	if c.From == "" {
		errs = append(errs, errors.New("smtp from is required (like \"Example ISP <billing@example.net>\")"))
	} else if _, err := mail.ParseAddress(c.From); err != nil {
		errs = append(errs, fmt.Errorf("smtp from %q is not an email address (like \"Example ISP <billing@example.net>\")", c.From))
	}
	switch c.TLS {
	case "", TLSStartTLS, TLSImplicit:
	case TLSNone:
		if c.Username != "" && !isLoopback(host) {
			errs = append(errs, fmt.Errorf("smtp username with tls %q would send the password in clear text to %s; use starttls or tls", c.TLS, host))
		}
	default:
		errs = append(errs, fmt.Errorf("smtp tls %q is not starttls, tls or none", c.TLS))
	}
	if c.Username != "" && c.PasswordFile == "" {
		errs = append(errs, errors.New("smtp password_file is required with username"))
	}
	if c.Username == "" && c.PasswordFile != "" {
		errs = append(errs, errors.New("smtp password_file is set but username is not"))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("smtp timeout %s must be positive", c.Timeout))
	}
	if strings.ContainsAny(c.HeloName, " \t\r\n") {
		errs = append(errs, fmt.Errorf("smtp helo_name %q must be a host name", c.HeloName))
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
