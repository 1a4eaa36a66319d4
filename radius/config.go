package radius

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// Secret is a shared secret, read from a file (trailing newline removed)
// or from an environment variable; never written in the config itself.
type Secret struct {
	SecretFile string `yaml:"secret_file"`
	SecretEnv  string `yaml:"secret_env"`
}

// Load reads the secret. It fails when both or neither source is set, when
// the file cannot be read or is empty, or when the variable is unset or
// empty.
func (s Secret) Load() ([]byte, error) {
	switch {
	case s.SecretFile != "" && s.SecretEnv != "":
		return nil, errors.New("set secret_file or secret_env, not both")
	case s.SecretFile != "":
		b, err := os.ReadFile(s.SecretFile)
		if err != nil {
			return nil, err
		}
		b = []byte(strings.TrimRight(string(b), "\r\n"))
		if len(b) == 0 {
			return nil, fmt.Errorf("secret file %s is empty", s.SecretFile)
		}
		return b, nil
	case s.SecretEnv != "":
		v := os.Getenv(s.SecretEnv)
		if v == "" {
			return nil, fmt.Errorf("environment variable %s (secret_env) is not set", s.SecretEnv)
		}
		return []byte(v), nil
	}
	return nil, errors.New("no shared secret: set secret_file or secret_env")
}

// AccountingConfig is the accounting listener.
type AccountingConfig struct {
	// Listen is the UDP address. Default ":1813"; "off" disables it.
	Listen string `yaml:"listen"`
	// The shared secret of accounting senders not listed in Clients.
	Secret `yaml:",inline"`
	// Clients lists senders (a NAS, or the RADIUS server copying
	// accounting) with their own secret. When any is listed, packets from
	// other sources are dropped unless a default secret is set too.
	Clients []AccountingClient `yaml:"clients"`
	// RequireMessageAuthenticator drops Accounting-Requests without a
	// Message-Authenticator. Default false (few NASes send one).
	RequireMessageAuthenticator bool `yaml:"require_message_authenticator"`
}

// AccountingClient is an accounting sender with its own secret.
type AccountingClient struct {
	// Source is an address or prefix (10.0.0.1, 10.0.0.0/24).
	Source string `yaml:"source"`
	Secret `yaml:",inline"`
}

// ParsePrefix reads an address (a single-address prefix, IPv4-mapped IPv6
// unmapped) or a prefix (masked: 10.0.0.7/24 is 10.0.0.0/24). It fails
// with netip's error naming what is wrong.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
