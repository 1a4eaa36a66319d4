package snmp

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"gopkg.in/yaml.v3"
)

func secretFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) (string, bool) { return "", false }

func TestResolveDefaults(t *testing.T) {
	t.Parallel()
	d, err := DeviceConfig{Name: "sw1", Address: "192.0.2.7", Version: "v2c", CommunityFile: secretFile(t, "s3cret\r\n")}.resolve(noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if d.host != "192.0.2.7" || d.port != 161 || d.version != gosnmp.Version2c || d.community != "s3cret" ||
		d.timeout != 2*time.Second || d.retries != 2 || d.concurrency != 4 {
		t.Errorf("v2c defaults: %+v", d)
	}

	env := map[string]string{"AUTH": "auth-password", "PRIV": "priv-password"}
	d, err = DeviceConfig{Name: "olt", Address: "olt.pop.example:1161", Version: "v3", User: "tollgate",
		AuthPasswordEnv: "AUTH", PrivPasswordEnv: "PRIV", Retries: new(0), Timeout: 500 * time.Millisecond, Concurrency: 1,
	}.resolve(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if d.host != "olt.pop.example" || d.port != 1161 || d.version != gosnmp.Version3 || d.user != "tollgate" ||
		d.auth != gosnmp.SHA256 || d.priv != gosnmp.AES || d.authPass != "auth-password" || d.privPass != "priv-password" ||
		d.retries != 0 || d.timeout != 500*time.Millisecond || d.concurrency != 1 {
		t.Errorf("v3: %+v", d)
	}

	for in, want := range map[string]gosnmp.SnmpV3AuthProtocol{"SHA": gosnmp.SHA, "sha-512": gosnmp.SHA512, "SHA_256": gosnmp.SHA256} {
		if got, err := parseAuthProtocol(in); err != nil || got != want {
			t.Errorf("auth %q: %v, %v", in, got, err)
		}
	}
	for in, want := range map[string]gosnmp.SnmpV3PrivProtocol{"aes": gosnmp.AES, "AES-256": gosnmp.AES256, "AES-256-C": gosnmp.AES256C} {
		if got, err := parsePrivProtocol(in); err != nil || got != want {
			t.Errorf("priv %q: %v, %v", in, got, err)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	const secret = "the-secret-value"
	good := secretFile(t, secret)
	short := secretFile(t, "short")
	empty := secretFile(t, "\n")
	v3 := func(f func(*DeviceConfig)) DeviceConfig {
		c := DeviceConfig{Name: "olt", Address: "10.0.0.1", Version: "v3", User: "u", AuthPasswordFile: good, PrivPasswordFile: good}
		f(&c)
		return c
	}
	v2 := func(f func(*DeviceConfig)) DeviceConfig {
		c := DeviceConfig{Name: "sw", Address: "10.0.0.1", Version: "v2c", CommunityFile: good}
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name string
		cfg  DeviceConfig
		want string
	}{
		{"NoName", v2(func(c *DeviceConfig) { c.Name = "" }), "name is required"},
		{"NoAddress", v2(func(c *DeviceConfig) { c.Address = "" }), "address is required"},
		{"BadPort", v2(func(c *DeviceConfig) { c.Address = "sw:snmp" }), `port "snmp" is not a number`},
		{"PortZero", v2(func(c *DeviceConfig) { c.Address = "sw:0" }), `port "0"`},
		{"NoVersion", v2(func(c *DeviceConfig) { c.Version = "" }), "version is required (v2c or v3)"},
		{"V1", v2(func(c *DeviceConfig) { c.Version = "v1" }), `version "v1": want v2c or v3`},
		{"NoCommunity", v2(func(c *DeviceConfig) { c.CommunityFile = "" }), "community_file or community_env is required"},
		{"BothFileAndEnv", v2(func(c *DeviceConfig) { c.CommunityEnv = "X" }), "community_file and community_env are both set"},
		{"MissingFile", v2(func(c *DeviceConfig) { c.CommunityFile = "/nonexistent/community" }), "community_file: open /nonexistent/community"},
		{"EmptyFile", v2(func(c *DeviceConfig) { c.CommunityFile = empty }), "is empty"},
		{"UnsetEnv", v2(func(c *DeviceConfig) { c.CommunityFile, c.CommunityEnv = "", "TOLLGATE_NOPE" }), "environment variable TOLLGATE_NOPE is not set or empty"},
		{"V2CWithUser", v2(func(c *DeviceConfig) { c.User = "u" }), "are for version v3, not v2c"},
		{"V3WithCommunity", v3(func(c *DeviceConfig) { c.CommunityFile = good }), "are for version v2c, not v3"},
		{"V3NoUser", v3(func(c *DeviceConfig) { c.User = "" }), "user is required for v3"},
		{"V3MD5", v3(func(c *DeviceConfig) { c.AuthProtocol = "MD5" }), `auth_protocol "MD5": want SHA-256 (default), SHA or SHA-512`},
		{"V3DES", v3(func(c *DeviceConfig) { c.PrivProtocol = "DES" }), `priv_protocol "DES": want AES (default), AES-256 or AES-256-C`},
		{"V3NoAuthPassword", v3(func(c *DeviceConfig) { c.AuthPasswordFile = "" }), "auth_password_file or auth_password_env is required"},
		{"V3NoPrivPassword", v3(func(c *DeviceConfig) { c.PrivPasswordFile = "" }), "priv_password_file or priv_password_env is required"},
		{"V3ShortAuthPassword", v3(func(c *DeviceConfig) { c.AuthPasswordFile = short }), "auth_password: shorter than 8 characters"},
		{"V3ShortPrivPassword", v3(func(c *DeviceConfig) { c.PrivPasswordFile = short }), "priv_password: shorter than 8 characters"},
		{"NegativeTimeout", v2(func(c *DeviceConfig) { c.Timeout = -time.Second }), "timeout -1s is negative"},
		{"NegativeRetries", v2(func(c *DeviceConfig) { c.Retries = new(-1) }), "retries -1 is negative"},
		{"Concurrency", v2(func(c *DeviceConfig) { c.Concurrency = 65 }), "concurrency 65: want 1 to 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.resolve(noEnv)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "short") && !strings.Contains(tc.want, "short") {
				t.Errorf("error %q contains a secret", err)
			}
		})
	}

	_, err := newDriver(Config{Devices: []DeviceConfig{
		v2(func(*DeviceConfig) {}), v2(func(*DeviceConfig) {}), v2(func(c *DeviceConfig) { c.Name, c.Version = "bad", "" }),
	}}, nil, noEnv)
	if err == nil || !strings.Contains(err.Error(), `snmp.devices[1]: name "sw" is used twice`) ||
		!strings.Contains(err.Error(), `snmp.devices[2] ("bad"): version is required`) {
		t.Errorf("New: %v", err)
	}
}

func TestYAMLConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, content := range map[string]string{"community": "public\n", "auth": "auth-password\n", "priv": "priv-password\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	doc := strings.ReplaceAll(`
devices:
  - name: sw1
    address: 192.0.2.10
    version: v2c
    community_file: DIR/community
  - name: olt-1
    address: "[2001:db8::5]:1161"
    version: v3
    user: tollgate
    auth_protocol: SHA-512
    auth_password_file: DIR/auth
    priv_protocol: AES-256
    priv_password_file: DIR/priv
    timeout: 500ms
    retries: 0
    concurrency: 8
`, "DIR", dir)
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	d, err := newDriver(cfg, nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := strings.Join(d.Devices(), ","); got != "olt-1,sw1" {
		t.Errorf("devices %s", got)
	}
	olt := d.devices["olt-1"].dev
	if olt.host != "2001:db8::5" || olt.port != 1161 || olt.auth != gosnmp.SHA512 || olt.priv != gosnmp.AES256 ||
		olt.timeout != 500*time.Millisecond || olt.retries != 0 || olt.concurrency != 8 {
		t.Errorf("olt-1: %+v", olt)
	}
	if sw := d.devices["sw1"].dev; sw.retries != DefaultRetries || sw.timeout != DefaultTimeout {
		t.Errorf("sw1: %+v", sw)
	}
}

func TestSplitAddress(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.1":          "192.0.2.1 161",
		"192.0.2.1:1161":     "192.0.2.1 1161",
		"sw1.pop.example":    "sw1.pop.example 161",
		"sw1.pop.example:16": "sw1.pop.example 16",
		"2001:db8::1":        "2001:db8::1 161",
		"[2001:db8::1]":      "2001:db8::1 161",
		"[2001:db8::1]:1161": "2001:db8::1 1161",
		":161":               "error",
		"sw1:":               "error",
		"sw1:70000":          "error",
		"[sw1]":              "error",
		"a b":                "error",
		"sw1:161:162":        "error",
	} {
		host, port, err := splitAddress(in)
		got := "error"
		if err == nil {
			got = host + " " + strconv.Itoa(int(port))
		}
		if got != want {
			t.Errorf("splitAddress(%q) = %q (%v), want %q", in, got, err, want)
		}
	}
}
