package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The commented example must stay loadable: it is the reference operators
// copy from.
func TestExampleConfigLoads(t *testing.T) {
	c, err := LoadConfig("../../deploy/controller.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL == "" || c.GRPC.TLS.ClientCAFile == "" || len(c.API.Tokens) != 3 || c.API.Tokens[1].TokenSHA256 == "" {
		t.Fatalf("example config decoded to %+v", c)
	}
}

func TestConfigRejectsMistakes(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := LoadConfig(write("databse_url: x\n")); err == nil || !strings.Contains(err.Error(), "databse_url") {
		t.Errorf("a misspelt key must be an error naming it, got %v", err)
	}
	for body, want := range map[string]string{
		"grpc: {insecure_plaintext: true}\n": "database_url is required",
		"database_url: x\n":                  "grpc.tls needs",
		"database_url: x\ngrpc: {insecure_plaintext: true}\napi: {tokens: [{name: a, role: root, token: 0123456789abcdef}]}\n": `role "root"`,
		"database_url: x\ngrpc: {insecure_plaintext: true}\napi: {tokens: [{name: a, role: admin, token: short}]}\n":           "shorter than 16",
		"database_url: x\ngrpc: {insecure_plaintext: true}\napi: {tokens: [{name: a, role: admin}]}\n":                         "exactly one of",
		"database_url: x\ngrpc: {insecure_plaintext: true}\nportal: {public_url: \"https://pay.example\"}\n":                   "needs a path",
		"database_url: x\ngrpc: {insecure_plaintext: true}\nportal: {public_url: \"https://pay.example/api/pay\"}\n":           "is taken",
		"database_url: x\ngrpc: {insecure_plaintext: true}\ncompany: {locale: tlh}\n":                                          `company.locale "tlh" is not supported`,
	} {
		c, err := LoadConfig(write(body))
		if err != nil {
			t.Fatal(err)
		}
		err = c.withDefaults().Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: got %v, want an error containing %q", body, err, want)
		}
	}
}
