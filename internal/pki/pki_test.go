package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newTestCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA(0)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestNewCA(t *testing.T) {
	ca := newTestCA(t)
	c := ca.Cert
	if c.Subject.CommonName != "Tollgate agents CA" || !c.IsCA || !c.BasicConstraintsValid {
		t.Fatalf("CA subject %q IsCA %v", c.Subject.CommonName, c.IsCA)
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Error("CA lacks KeyUsageCertSign")
	}
	if c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Error("CA may sign intermediate CAs")
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("CA key is %T, want ECDSA P-256", c.PublicKey)
	}
	if years := time.Until(c.NotAfter).Hours() / 24 / 365; years < 9.99 || years > 10.01 {
		t.Errorf("CA valid for %.2f years, want 10", years)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}
}

func TestIssueAgentNamesItsPOP(t *testing.T) {
	ca := newTestCA(t)
	kp, err := ca.IssueAgent("north-tower.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	c := kp.Cert
	if c.Subject.CommonName != "pop:north-tower.1" {
		t.Errorf("CN %q", c.Subject.CommonName)
	}
	if len(c.URIs) != 1 || c.URIs[0].String() != "tollgate://pop/north-tower.1" {
		t.Errorf("URIs %v", c.URIs)
	}
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("ExtKeyUsage %v, want client auth only", c.ExtKeyUsage)
	}
	if c.IsCA {
		t.Error("agent certificate is a CA")
	}
	if days := time.Until(c.NotAfter).Hours() / 24; days < 364.9 || days > 365.1 {
		t.Errorf("agent certificate valid for %.1f days, want 365", days)
	}
	if err := ca.Verify(c, x509.ExtKeyUsageClientAuth); err != nil {
		t.Errorf("agent certificate does not verify as a client of the CA: %v", err)
	}
	if err := ca.Verify(c, x509.ExtKeyUsageServerAuth); err == nil {
		t.Error("agent certificate verifies as a server certificate")
	}
	pop, err := PopFromCert(c)
	if err != nil || pop != "north-tower.1" {
		t.Errorf("PopFromCert = %q, %v", pop, err)
	}
	// The PEM pair loads as a TLS certificate.
	if _, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM); err != nil {
		t.Errorf("tls.X509KeyPair: %v", err)
	}

	short, err := ca.IssueAgent("north-1", 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(short.Cert.NotAfter); d < 47*time.Hour || d > 49*time.Hour {
		t.Errorf("validity 48h gave %s", d)
	}
}

func TestIssueAgentRefusesBadPOPs(t *testing.T) {
	ca := newTestCA(t)
	for _, pop := range []string{"", "North", "a/b", "-x", "a b", "pop:x", strings.Repeat("a", 64)} {
		if _, err := ca.IssueAgent(pop, 0); err == nil {
			t.Errorf("IssueAgent(%q) succeeded", pop)
		}
	}
	if _, err := ca.IssueAgent("x", 11*365*24*time.Hour); err == nil || !strings.Contains(err.Error(), "outlive the CA") {
		t.Errorf("a certificate outliving the CA: %v", err)
	}
	if _, err := ca.IssueAgent("x", -time.Hour); err == nil {
		t.Error("negative validity accepted")
	}
}

func TestIssueServer(t *testing.T) {
	ca := newTestCA(t)
	kp, err := ca.IssueServer([]string{"Controller.ISP.example", "127.0.0.1", "::1", "localhost"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := kp.Cert
	if got := strings.Join(c.DNSNames, ","); got != "controller.isp.example,localhost" {
		t.Errorf("DNS names %s", got)
	}
	if len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) || !c.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("IP addresses %v", c.IPAddresses)
	}
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("ExtKeyUsage %v", c.ExtKeyUsage)
	}
	for _, host := range []string{"controller.isp.example", "127.0.0.1", "::1"} {
		if err := c.VerifyHostname(host); err != nil {
			t.Errorf("VerifyHostname(%s): %v", host, err)
		}
	}
	if err := ca.Verify(c, x509.ExtKeyUsageServerAuth); err != nil {
		t.Error(err)
	}
	if _, err := PopFromCert(c); err == nil {
		t.Error("the controller's certificate names a POP")
	}
	for _, hosts := range [][]string{nil, {"bad host"}, {"-x.example"}} {
		if _, err := ca.IssueServer(hosts, 0); err == nil {
			t.Errorf("IssueServer(%q) succeeded", hosts)
		}
	}
}

func TestPopFromCertRules(t *testing.T) {
	u := func(s string) *url.URL {
		p, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		cert *x509.Certificate
		want string // "" means an error
	}{
		{"uri and cn", &x509.Certificate{Subject: pkix.Name{CommonName: "pop:a"}, URIs: []*url.URL{u("tollgate://pop/a")}}, "a"},
		{"uri only", &x509.Certificate{Subject: pkix.Name{CommonName: "someone"}, URIs: []*url.URL{u("tollgate://pop/a")}}, "a"},
		{"other uris ignored", &x509.Certificate{URIs: []*url.URL{u("spiffe://x/y"), u("tollgate://pop/a")}}, "a"},
		{"cn only is not enough", &x509.Certificate{Subject: pkix.Name{CommonName: "pop:a"}}, ""},
		{"cn disagrees", &x509.Certificate{Subject: pkix.Name{CommonName: "pop:b"}, URIs: []*url.URL{u("tollgate://pop/a")}}, ""},
		{"two pops", &x509.Certificate{URIs: []*url.URL{u("tollgate://pop/a"), u("tollgate://pop/b")}}, ""},
		{"same pop twice", &x509.Certificate{URIs: []*url.URL{u("tollgate://pop/a"), u("tollgate://pop/a")}}, "a"},
		{"wrong host", &x509.Certificate{URIs: []*url.URL{u("tollgate://agent/a")}}, ""},
		{"nested path", &x509.Certificate{URIs: []*url.URL{u("tollgate://pop/a/b")}}, ""},
		{"empty pop", &x509.Certificate{URIs: []*url.URL{u("tollgate://pop/")}}, ""},
		{"invalid pop", &x509.Certificate{URIs: []*url.URL{u("tollgate://pop/A")}}, ""},
		{"query", &x509.Certificate{URIs: []*url.URL{u("tollgate://pop/a?b=c")}}, ""},
		{"nothing", &x509.Certificate{}, ""},
		{"nil", nil, ""},
	} {
		got, err := PopFromCert(tc.cert)
		if tc.want == "" && err == nil {
			t.Errorf("%s: PopFromCert = %q, want an error", tc.name, got)
		}
		if tc.want != "" && (err != nil || got != tc.want) {
			t.Errorf("%s: PopFromCert = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestWriteLoadCA(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	files := Files{Cert: filepath.Join(dir, "ca.pem"), Key: filepath.Join(dir, "ca-key.pem")}
	if err := ca.Write(files, false); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{files.Cert: 0o644, files.Key: 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", filepath.Base(path), fi.Mode().Perm(), want)
		}
	}
	if err := ca.Write(files, false); !errors.Is(err, os.ErrExist) {
		t.Errorf("second write without overwrite: %v, want ErrExist", err)
	}
	loaded, err := LoadCA(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Cert.Equal(ca.Cert) || !loaded.Key.Equal(ca.Key) {
		t.Error("loaded CA differs")
	}
	// A loaded CA issues certificates that chain to the original.
	kp, err := loaded.IssueAgent("p1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Verify(kp.Cert, x509.ExtKeyUsageClientAuth); err != nil {
		t.Error(err)
	}
	other := newTestCA(t)
	if err := other.Verify(kp.Cert, x509.ExtKeyUsageClientAuth); err == nil {
		t.Error("a certificate verified against another CA")
	}

	// Overwrite replaces; leftovers of the temp files do not remain.
	if err := other.Write(files, true); err != nil {
		t.Fatal(err)
	}
	if l, err := LoadCA(files.Cert, files.Key); err != nil || !l.Cert.Equal(other.Cert) {
		t.Errorf("overwritten CA: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want 2", len(entries))
	}

	// A key from another CA, or a leaf certificate, is refused.
	otherKey, _ := other.KeyPEM()
	if _, err := ParseCA(ca.CertPEM(), otherKey); err == nil {
		t.Error("a CA with a mismatched key loaded")
	}
	if _, err := ParseCA(kp.CertPEM, kp.KeyPEM); err == nil {
		t.Error("a leaf certificate loaded as a CA")
	}
}

func TestIssueUsesTheClock(t *testing.T) {
	ca := newTestCA(t)
	defer func(f func() time.Time) { now = f }(now)
	now = func() time.Time { return time.Now().Add(11 * 365 * 24 * time.Hour) }
	if _, err := ca.IssueAgent("x", time.Hour); err == nil {
		t.Error("an expired CA issued a certificate")
	}
}
