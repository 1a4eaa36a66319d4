package oidctest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/internal/oidctest"
)

func TestProviderDiscoveryAndLoginForm(t *testing.T) {
	p := oidctest.Start(t, []string{"http://127.0.0.1:1/cb"}, oidctest.User{Username: "ann", Password: "pw"})
	resp, err := http.Get(p.Issuer + ".well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Issuer     string   `json:"issuer"`
		Auth       string   `json:"authorization_endpoint"`
		Challenges []string `json:"code_challenge_methods_supported"`
	}
	err = json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if err != nil || disc.Issuer != p.Issuer || disc.Auth == "" || len(disc.Challenges) == 0 || disc.Challenges[0] != "S256" {
		t.Fatalf("discovery = %+v, %v", disc, err)
	}
	q := url.Values{"client_id": {p.ClientID}, "redirect_uri": {"http://127.0.0.1:1/cb"}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"s"}, "nonce": {"n"}}
	page, err := http.Get(disc.Auth + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp, err = p.Login(http.DefaultClient, page, "ann", "wrong")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "username or password wrong") {
		t.Errorf("a wrong password: %s\n%s", resp.Status, body)
	}
}
