package radius

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rad "layeh.com/radius"
	"layeh.com/radius/rfc2866"

	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/internal/config"
	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// The agent's `radius:` section as README.md documents it decodes (unknown
// keys refused), and Open serves accounting and the authorize endpoint.
func TestOpenFromYAML(t *testing.T) {
	dir := t.TempDir()
	nasSecret := writeSecret(t, "nas-secret")
	t.Setenv("TEST_RADIUS_ACCT_SECRET", "acct-secret")
	yaml := `radius:
  nas:
    - name: bras-1
      address: 127.0.0.1          # port 3799
      nas_ip: [10.0.0.1]
      secret_file: ` + nasSecret + `
      profile: mikrotik-address-list
      address_list: tollgate-suspended
      timeout: 2s
      retries: 3
      concurrency: 32
    - name: isg-1
      address: 127.0.0.2          # cisco-avpair: port 1700
      secret_file: ` + nasSecret + `
      profile: cisco-avpair
      suspended_service: walled
      active_service: internet
      ignore_error_causes: [405]
  accounting:
    listen: 127.0.0.1:0
    secret_env: TEST_RADIUS_ACCT_SECRET
    clients:
      - source: 192.0.2.0/24
        secret_file: ` + nasSecret + `
  sessions:
    max: 1000
    ttl: 30m
  authorize:
    listen: 127.0.0.1:0
    default_nas: bras-1
`
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var file struct {
		Radius Config `yaml:"radius"`
	}
	if err := config.LoadFile(path, &file); err != nil {
		t.Fatal(err)
	}
	cfg := file.Radius
	if len(cfg.NAS) != 2 || cfg.NAS[0].SecretFile != nasSecret || cfg.NAS[0].Retries != 3 || cfg.NAS[1].IgnoreErrorCauses[0] != 405 ||
		cfg.Accounting.SecretEnv != "TEST_RADIUS_ACCT_SECRET" || cfg.Sessions.TTL != 30*time.Minute || cfg.Authorize.DefaultNAS != "bras-1" {
		t.Fatalf("decoded %+v", cfg)
	}
	svc, err := Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	svc.Driver.Preload(enforcement.Target{ServiceID: "1", Binding: enforcement.Binding{RADIUSUsername: "sus"}}, enforcement.Suspended)
	if err := svc.ServeAuthorize(); err != nil {
		t.Fatal(err)
	}
	if got := svc.Driver.nas[0].cfg.Address; got != "127.0.0.1:3799" {
		t.Fatalf("default port: %s", got)
	}
	// Cisco's dynamic-author listens on 1700 unless configured otherwise.
	if got := svc.Driver.nas[1].cfg.Address; got != "127.0.0.2:1700" {
		t.Fatalf("default port of a cisco-avpair NAS: %s, want 127.0.0.2:1700", got)
	}

	// Accounting with the default (env) secret.
	c, err := net.Dial("udp", svc.Accounting.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := buildAcct(t, []byte("acct-secret"), rfc2866.AcctStatusType_Value_Start, "sus", "s-1", "10.0.0.1", "100.64.0.1")
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf[0] != byte(rad.CodeAccountingResponse) || !rad.IsAuthenticResponse(buf[:n], req, []byte("acct-secret")) {
		t.Fatalf("answer % x", buf[:n])
	}
	if svc.Sessions.Len() != 1 {
		t.Fatal("session not recorded")
	}

	// The authorize endpoint on its own listener.
	post := func(body string) (int, string) {
		resp, err := http.Post("http://"+svc.AuthorizeAddr().String()+AuthorizePath, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(`{"User-Name":{"type":"string","value":["sus"]},"NAS-IP-Address":{"type":"ipaddr","value":["127.0.0.2"]}}`); code != 200 ||
		body != `{"reply:Cisco-Account-Info":{"op":":=","do_xlat":false,"is_json":false,"value":["Awalled"]}}` {
		t.Fatalf("suspended via isg-1: %d %s", code, body)
	}
	if code, body := post(`{"User-Name":{"type":"string","value":["sus"]}}`); code != 200 || !strings.Contains(body, `"reply:Mikrotik-Address-List"`) {
		t.Fatalf("suspended via the default NAS: %d %s", code, body)
	}
	if code, _ := post(`{"User-Name":{"type":"string","value":["ok"]}}`); code != http.StatusNoContent {
		t.Fatalf("active user: %d", code)
	}
	if code, _ := post(`{"NAS-IP-Address":"10.0.0.1"}`); code != http.StatusBadRequest {
		t.Fatalf("no user name: %d", code)
	}
}

func TestConfigErrors(t *testing.T) {
	s := radiusproto.NewSessions(radiusproto.SessionsConfig{})
	secret := writeSecret(t, "x")
	for name, tc := range map[string]struct {
		nas  []NASConfig
		want string
	}{
		"no name":      {[]NASConfig{{Address: "127.0.0.1", Profile: ProfileFilterID, Secret: radiusproto.Secret{SecretFile: secret}}}, "name is required"},
		"no address":   {[]NASConfig{{Name: "a", Profile: ProfileFilterID, Secret: radiusproto.Secret{SecretFile: secret}}}, "address is required"},
		"bad profile":  {[]NASConfig{{Name: "a", Address: "127.0.0.1", Profile: "huawei", Secret: radiusproto.Secret{SecretFile: secret}}}, "is not one of"},
		"no secret":    {[]NASConfig{{Name: "a", Address: "127.0.0.1", Profile: ProfileFilterID}}, "no shared secret"},
		"two secrets":  {[]NASConfig{{Name: "a", Address: "127.0.0.1", Profile: ProfileFilterID, Secret: radiusproto.Secret{SecretFile: secret, SecretEnv: "X"}}}, "not both"},
		"unset env":    {[]NASConfig{{Name: "a", Address: "127.0.0.1", Profile: ProfileFilterID, Secret: radiusproto.Secret{SecretEnv: "TOLLGATE_SURELY_UNSET_VAR"}}}, "is not set"},
		"missing file": {[]NASConfig{{Name: "a", Address: "127.0.0.1", Profile: ProfileFilterID, Secret: radiusproto.Secret{SecretFile: "/nonexistent/secret"}}}, "no such file"},
		"duplicate ip": {[]NASConfig{
			{Name: "a", Address: "127.0.0.1", Profile: ProfileFilterID, Secret: radiusproto.Secret{SecretFile: secret}},
			{Name: "b", Address: "127.0.0.2", NASIP: []string{"127.0.0.1"}, Profile: ProfileFilterID, Secret: radiusproto.Secret{SecretFile: secret}},
		}, "already names nas a"},
	} {
		d, err := NewDriver(tc.nas, s, nil)
		if err == nil {
			d.Close()
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if _, err := radiusproto.ListenAccounting(radiusproto.AccountingConfig{Listen: "127.0.0.1:0"}, s, nil); err == nil || !strings.Contains(err.Error(), "no shared secret") {
		t.Errorf("accounting without a secret: %v", err)
	}
}
