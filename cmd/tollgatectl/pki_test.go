package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/internal/pki"
)

// The pki and agent commands are local: no server answers at this address.
const noServer = "http://127.0.0.1:1"

func TestParseValidity(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1y": 365 * 24 * time.Hour, "10y": 3650 * 24 * time.Hour, "90d": 90 * 24 * time.Hour, "720h": 720 * time.Hour, " 2d ": 48 * time.Hour,
	} {
		if got, err := pki.ParseValidity(in); err != nil || got != want {
			t.Errorf("ParseValidity(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "-1y", "y", "1.5y", "abc", "0s", "-5h", "1000y"} {
		if _, err := pki.ParseValidity(in); err == nil {
			t.Errorf("ParseValidity(%q) succeeded", in)
		}
	}
}

func TestPKIInitAndAgentEnroll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	out, _, err := run(t, noServer, "pki", "init", "--dir", dir, "--controller-host", "controller.isp.example", "--controller-host", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{"client_ca_file: " + filepath.Join(dir, "ca.pem"), "controller.isp.example, 127.0.0.1", "agent enroll POP --pki-dir " + dir} {
		if !strings.Contains(out, frag) {
			t.Errorf("pki init output lacks %q:\n%s", frag, out)
		}
	}
	modes := map[string]os.FileMode{"ca.pem": 0o644, "ca-key.pem": 0o600, "controller.pem": 0o644, "controller-key.pem": 0o600}
	for name, want := range modes {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("pki dir mode %v, want 0700", fi.Mode().Perm())
	}
	ca, err := pki.LoadCA(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := tls.LoadX509KeyPair(filepath.Join(dir, "controller.pem"), filepath.Join(dir, "controller-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Leaf.VerifyHostname("controller.isp.example"); err != nil {
		t.Error(err)
	}
	if err := ca.Verify(srv.Leaf, x509.ExtKeyUsageServerAuth); err != nil {
		t.Error(err)
	}

	// A second init keeps the CA; --force replaces it.
	if _, _, err := run(t, noServer, "pki", "init", "--dir", dir); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Fatalf("second pki init: %v", err)
	}
	if again, _ := pki.LoadCA(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")); again == nil || !again.Cert.Equal(ca.Cert) {
		t.Fatal("a refused pki init changed the CA")
	}

	// Enroll an agent.
	agentDir := filepath.Join(t.TempDir(), "north-1")
	out, _, err = run(t, noServer, "agent", "enroll", "north-1", "--pki-dir", dir, "--out", agentDir, "--validity", "90d")
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{"pop: north-1", "cert_file: " + filepath.Join(agentDir, "agent.pem"),
		"key_file: " + filepath.Join(agentDir, "agent-key.pem"), "ca_file: " + filepath.Join(agentDir, "ca.pem")} {
		if !strings.Contains(out, frag) {
			t.Errorf("agent enroll output lacks %q:\n%s", frag, out)
		}
	}
	kp, err := tls.LoadX509KeyPair(filepath.Join(agentDir, "agent.pem"), filepath.Join(agentDir, "agent-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if pop, err := pki.PopFromCert(kp.Leaf); err != nil || pop != "north-1" {
		t.Errorf("enrolled certificate names %q, %v", pop, err)
	}
	if err := ca.Verify(kp.Leaf, x509.ExtKeyUsageClientAuth); err != nil {
		t.Error(err)
	}
	if d := time.Until(kp.Leaf.NotAfter); d < 89*24*time.Hour || d > 91*24*time.Hour {
		t.Errorf("--validity 90d gave %s", d)
	}
	if fi, _ := os.Stat(filepath.Join(agentDir, "agent-key.pem")); fi.Mode().Perm() != 0o600 {
		t.Errorf("agent key mode %v", fi.Mode().Perm())
	}
	caCopy, _ := os.ReadFile(filepath.Join(agentDir, "ca.pem"))
	if !pki.SameCert(caCopy, ca.CertPEM()) {
		t.Error("the agent's ca.pem is not the CA")
	}

	// Enrolling again needs --force (renewal); -o json and --config-dir.
	if _, _, err := run(t, noServer, "agent", "enroll", "north-1", "--pki-dir", dir, "--out", agentDir); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("re-enroll without --force: %v", err)
	}
	out, _, err = run(t, noServer, "-o", "json", "agent", "enroll", "north-1", "--pki-dir", dir, "--out", agentDir, "--force", "--config-dir", "/etc/tollgate/tls")
	if err != nil {
		t.Fatal(err)
	}
	var e pki.Enrollment
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if e.POP != "north-1" || e.CertFile != "/etc/tollgate/tls/agent.pem" || e.CAFile != "/etc/tollgate/tls/ca.pem" || e.Serial == "" {
		t.Errorf("json pki.Enrollment %+v", e)
	}
	renewed, _ := tls.LoadX509KeyPair(filepath.Join(agentDir, "agent.pem"), filepath.Join(agentDir, "agent-key.pem"))
	if renewed.Leaf == nil || renewed.Leaf.SerialNumber.Cmp(kp.Leaf.SerialNumber) == 0 {
		t.Error("--force did not issue a new certificate")
	}

	// --force replaces the CA; the old agent's directory then holds another CA.
	if _, _, err := run(t, noServer, "pki", "init", "--dir", dir, "--force"); err != nil {
		t.Fatal(err)
	}
	newCA, err := pki.LoadCA(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem"))
	if err != nil || newCA.Cert.Equal(ca.Cert) {
		t.Fatalf("pki init --force kept the CA (%v)", err)
	}
	if _, _, err := run(t, noServer, "agent", "enroll", "north-2", "--pki-dir", dir, "--out", agentDir); err == nil || !strings.Contains(err.Error(), "another CA") {
		t.Errorf("enroll into a directory holding another CA: %v", err)
	}
}

func TestPKIControllerCertRenews(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := run(t, noServer, "pki", "init", "--dir", dir, "--controller-host", "old.example"); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, noServer, "-o", "json", "pki", "controller-cert", "--dir", dir, "--controller-host", "new.example", "--controller-host", "::1", "--validity", "30d")
	if err != nil {
		t.Fatal(err)
	}
	var f pki.DirFiles
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.ControllerSANs, ",") != "new.example,::1" {
		t.Errorf("SANs %v", f.ControllerSANs)
	}
	srv, err := tls.LoadX509KeyPair(filepath.Join(dir, "controller.pem"), filepath.Join(dir, "controller-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if srv.Leaf.VerifyHostname("new.example") != nil || srv.Leaf.VerifyHostname("old.example") == nil {
		t.Errorf("renewed certificate names %v", srv.Leaf.DNSNames)
	}
}

func TestPKICommandErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		frag string
	}{
		{[]string{"pki", "init"}, `required flag(s) "dir" not set`},
		{[]string{"pki", "init", "--dir", dir, "--controller-host", "bad host"}, `"bad host" is neither an IP address nor a DNS name`},
		{[]string{"pki", "init", "--dir", dir, "--ca-validity", "0d"}, `--ca-validity`},
		{[]string{"pki", "init", "--dir", dir, "--ca-validity", "1y", "--controller-validity", "2y"}, `outlive the CA`},
		{[]string{"pki", "controller-cert", "--dir", dir}, `holds no CA`},
		{[]string{"agent", "enroll", "North-1", "--pki-dir", dir, "--out", dir}, `pop "North-1" is not a valid POP id`},
		{[]string{"agent", "enroll", "a/b", "--pki-dir", dir, "--out", dir}, `is not a valid POP id`},
		{[]string{"agent", "enroll", "north-1", "--pki-dir", dir, "--out", dir}, `holds no CA`},
		{[]string{"agent", "enroll", "north-1", "--out", dir}, `required flag(s) "pki-dir" not set`},
		{[]string{"agent", "enroll", "--pki-dir", dir, "--out", dir}, `accepts 1 arg(s)`},
	} {
		_, _, err := run(t, noServer, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.frag) {
			t.Errorf("tollgatectl %s: error %v, want one containing %q", strings.Join(tc.args, " "), err, tc.frag)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed commands left %d files behind", len(entries))
	}
}
