package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

const (
	// CACommonName is the subject common name of the CA certificate.
	CACommonName = "Tollgate agents CA"
	// ServerCommonName is the subject common name of the controller's
	// certificate (clients check its SANs, not this).
	ServerCommonName = "tollgate-controller"

	// DefaultCAValidity is how long a new CA is valid: ten years.
	DefaultCAValidity = 10 * 365 * 24 * time.Hour
	// DefaultServerValidity is how long the controller's certificate is
	// valid: one year.
	DefaultServerValidity = 365 * 24 * time.Hour
	// DefaultAgentValidity is how long an agent certificate is valid: one
	// year.
	DefaultAgentValidity = 365 * 24 * time.Hour

	// URIScheme and uriHost make an agent's identity URI
	// tollgate://pop/<pop>.
	URIScheme = "tollgate"
	uriHost   = "pop"
	// cnPrefix starts an agent certificate's common name: "pop:<pop>".
	cnPrefix = "pop:"

	// backdate is how far before "now" a certificate becomes valid, so a
	// peer whose clock is a little behind accepts a fresh certificate.
	backdate = 5 * time.Minute
)

// now is the clock certificates are issued by (tests move it).
var now = time.Now

// AgentURI is the URI SAN naming pop: tollgate://pop/<pop>.
func AgentURI(pop string) *url.URL {
	return &url.URL{Scheme: URIScheme, Host: uriHost, Path: "/" + pop}
}

// CA is a certificate authority: its certificate and private key.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// KeyPair is an issued certificate with its private key, both also PEM
// encoded (the key as PKCS #8).
type KeyPair struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	KeyPEM  []byte
}

// NewCA creates a CA with a fresh ECDSA P-256 key whose certificate is valid
// for validity (0: [DefaultCAValidity]). It may sign certificates only (no
// intermediate CAs).
func NewCA(validity time.Duration) (*CA, error) {
	if validity == 0 {
		validity = DefaultCAValidity
	}
	if validity < 0 {
		return nil, errors.New("CA validity must be positive")
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	t := now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: CACommonName, Organization: []string{"Tollgate"}},
		NotBefore:             t.Add(-backdate),
		NotAfter:              t.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// ParseCA reads a CA from its PEM certificate and PEM private key, and checks
// that they belong together and that the certificate is a CA.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("certificate %q is not a CA certificate", cert.Subject.CommonName)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("the CA key does not belong to the CA certificate")
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LoadCA reads a CA from certFile and keyFile (see [ParseCA]).
func LoadCA(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	ca, err := ParseCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", certFile, keyFile, err)
	}
	return ca, nil
}

// CertPEM is the CA certificate in PEM.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// KeyPEM is the CA private key in PEM (PKCS #8).
func (ca *CA) KeyPEM() ([]byte, error) { return keyPEM(ca.Key) }

// IssueServer issues the controller's server certificate for hosts (DNS
// names and IP addresses; at least one), valid for validity (0:
// [DefaultServerValidity]).
func (ca *CA) IssueServer(hosts []string, validity time.Duration) (*KeyPair, error) {
	if validity == 0 {
		validity = DefaultServerValidity
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: ServerCommonName, Organization: []string{"Tollgate"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		switch ip := net.ParseIP(h); {
		case ip != nil:
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		case validDNSName(h):
			tmpl.DNSNames = append(tmpl.DNSNames, strings.ToLower(h))
		default:
			return nil, fmt.Errorf("controller host %q is neither an IP address nor a DNS name", h)
		}
	}
	if len(tmpl.IPAddresses)+len(tmpl.DNSNames) == 0 {
		return nil, errors.New("the controller certificate needs at least one DNS name or IP address")
	}
	return ca.issue(tmpl, validity)
}

// IssueAgent issues a client certificate for an agent of pop, valid for
// validity (0: [DefaultAgentValidity]). The POP is in the URI SAN
// tollgate://pop/<pop> and the common name "pop:<pop>".
func (ca *CA) IssueAgent(pop string, validity time.Duration) (*KeyPair, error) {
	if err := ValidatePOPID(pop); err != nil {
		return nil, err
	}
	if validity == 0 {
		validity = DefaultAgentValidity
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cnPrefix + pop, Organization: []string{"Tollgate"}, OrganizationalUnit: []string{"agents"}},
		URIs:        []*url.URL{AgentURI(pop)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return ca.issue(tmpl, validity)
}

func (ca *CA) issue(tmpl *x509.Certificate, validity time.Duration) (*KeyPair, error) {
	if validity < 0 {
		return nil, errors.New("certificate validity must be positive")
	}
	t := now()
	tmpl.NotBefore, tmpl.NotAfter = t.Add(-backdate), t.Add(validity)
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("a certificate valid until %s would outlive the CA (valid until %s): ask for a shorter validity or make a new CA",
			tmpl.NotAfter.UTC().Format(time.DateOnly), ca.Cert.NotAfter.UTC().Format(time.DateOnly))
	}
	if t.Before(ca.Cert.NotBefore) || t.After(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("the CA is not valid now (valid %s to %s)", ca.Cert.NotBefore.UTC().Format(time.RFC3339), ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	var err error
	if tmpl.SerialNumber, err = newSerial(); err != nil {
		return nil, err
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kp, err := keyPEM(key)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Cert: cert, Key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), KeyPEM: kp}, nil
}

// PopFromCert returns the POP an agent certificate names. The URI SAN
// tollgate://pop/<pop> is authoritative; a certificate without one names no
// POP, and one that names two different POPs (in two URIs, or a URI and a
// "pop:" common name that disagree) is refused.
func PopFromCert(cert *x509.Certificate) (string, error) {
	if cert == nil {
		return "", errors.New("no certificate")
	}
	pop := ""
	for _, u := range cert.URIs {
		if u.Scheme != URIScheme {
			continue
		}
		p, ok := strings.CutPrefix(u.Path, "/")
		if u.Host != uriHost || !ok || u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return "", fmt.Errorf("certificate URI %q is not of the form %s://%s/<pop>", u.String(), URIScheme, uriHost)
		}
		if err := ValidatePOPID(p); err != nil {
			return "", fmt.Errorf("certificate URI %q: %w", u.String(), err)
		}
		if pop != "" && p != pop {
			return "", fmt.Errorf("certificate names two POPs, %q and %q", pop, p)
		}
		pop = p
	}
	if pop == "" {
		return "", fmt.Errorf("certificate %q names no POP (no %s://%s/<pop> URI SAN)", cert.Subject.CommonName, URIScheme, uriHost)
	}
	if cn, ok := strings.CutPrefix(cert.Subject.CommonName, cnPrefix); ok && cn != pop {
		return "", fmt.Errorf("certificate names two POPs: %q in its URI SAN and %q in its common name", pop, cn)
	}
	return pop, nil
}

// ParseCertPEM returns the first certificate in a PEM document.
func ParseCertPEM(b []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, errors.New("no PEM certificate found")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

func parseKeyPEM(b []byte) (*ecdsa.PrivateKey, error) {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, errors.New("no PEM private key found")
		}
		var key crypto.PrivateKey
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse private key: %w", err)
		}
		ec, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("private key is a %T, not ECDSA", key)
		}
		return ec, nil
	}
}

func keyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func newKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return key, nil
}

// newSerial is a random positive 128-bit serial number.
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

func validDNSName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimPrefix(h, "*."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// Files names the PEM files of a certificate and key.
type Files struct {
	Cert, Key string
}

// WriteFile writes data to path with mode perm, replacing it atomically
// (through a temporary file in the same directory) when overwrite is true
// and refusing with an [os.ErrExist] error when it is false and path exists.
func WriteFile(path string, data []byte, perm os.FileMode, overwrite bool) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename or link, a no-op or the temp name only
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if overwrite {
		return os.Rename(tmp.Name(), path)
	}
	// A hard link fails if path exists, so nothing is ever clobbered.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists: %w", path, os.ErrExist)
		}
		return err
	}
	return nil
}

// Write writes the certificate (mode 0644) and the private key (mode 0600)
// to files (see [WriteFile] for overwrite).
func (kp *KeyPair) Write(files Files, overwrite bool) error {
	if err := WriteFile(files.Key, kp.KeyPEM, 0o600, overwrite); err != nil {
		return err
	}
	return WriteFile(files.Cert, kp.CertPEM, 0o644, overwrite)
}

// Write writes the CA certificate (mode 0644) and private key (mode 0600)
// to files (see [WriteFile] for overwrite).
func (ca *CA) Write(files Files, overwrite bool) error {
	key, err := ca.KeyPEM()
	if err != nil {
		return err
	}
	if err := WriteFile(files.Key, key, 0o600, overwrite); err != nil {
		return err
	}
	return WriteFile(files.Cert, ca.CertPEM(), 0o644, overwrite)
}

// Verify checks that cert chains to the CA for usage (x509.ExtKeyUsageClientAuth
// or ExtKeyUsageServerAuth) at the current time.
func (ca *CA) Verify(cert *x509.Certificate, usage x509.ExtKeyUsage) error {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	_, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now(), KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

// SameCert reports whether two PEM documents hold the same first
// certificate.
func SameCert(a, b []byte) bool {
	ca, err1 := ParseCertPEM(a)
	cb, err2 := ParseCertPEM(b)
	return err1 == nil && err2 == nil && bytes.Equal(ca.Raw, cb.Raw)
}

// popIDPattern is the POP-id rule of the controller's domain core
// (billing.ValidatePOPID); TestPOPIDRuleAgreesWithBilling keeps the two
// equal. pki keeps its own copy so that it imports no controller package.
var popIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidatePOPID checks a POP id as the controller does: lower-case letters,
// digits, '.', '_' and '-', 1 to 63 characters, starting with a letter or
// digit. The error names the id and the rule.
func ValidatePOPID(pop string) error {
	if !popIDPattern.MatchString(pop) {
		return fmt.Errorf("pop %q is not a valid POP id (lower-case letters, digits, '.', '_', '-'; 1-63 characters)", pop)
	}
	return nil
}
