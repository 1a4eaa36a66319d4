package staff

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// claimsJSON decodes claims as go-oidc hands them over: from JSON.
func claimsJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMapSSORole(t *testing.T) {
	rules := []SSORule{
		{Claim: "groups", Value: "tollgate-billing", Role: RoleBilling},
		{Claim: "roles", Value: "Tollgate.Admin", Role: RoleAdmin},
		{Claim: "realm_access.roles", Value: "tollgate-reader", Role: RoleReader},
		{HostedDomain: "example.net", Role: RoleReader},
		{EmailDomain: "isp.example", Role: RoleReader},
		{Emails: []string{"Boss@Example.NET"}, Role: RoleAdmin},
	}
	if err := CheckSSORules(rules); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		claims SSOClaims
		role   Role
		rule   int
		why    string // in the refusal, or in Why
	}{
		{"group in a list", SSOClaims{Claims: claimsJSON(t, `{"groups":["staff","tollgate-billing"]}`)}, RoleBilling, 0, `groups contains "tollgate-billing"`},
		{"group as a lone string", SSOClaims{Claims: claimsJSON(t, `{"groups":"tollgate-billing"}`)}, RoleBilling, 0, ""},
		{"claim values are case-sensitive", SSOClaims{Claims: claimsJSON(t, `{"groups":["Tollgate-Billing"]}`)}, "", -1, "matches no role rule"},
		{"a group name inside another is no match", SSOClaims{Claims: claimsJSON(t, `{"groups":"tollgate-billing-old"}`)}, "", -1, "matches no role rule"},
		{"Entra app role", SSOClaims{Claims: claimsJSON(t, `{"roles":["Tollgate.Admin"]}`)}, RoleAdmin, 1, ""},
		{"Keycloak realm role, nested", SSOClaims{Claims: claimsJSON(t, `{"realm_access":{"roles":["tollgate-reader"]}}`)}, RoleReader, 2, "realm_access.roles"},
		{"nested path that is not an object", SSOClaims{Claims: claimsJSON(t, `{"realm_access":"tollgate-reader"}`)}, "", -1, "matches no role rule"},
		{"a number claim is no match", SSOClaims{Claims: claimsJSON(t, `{"groups":5}`)}, "", -1, "matches no role rule"},
		{"Google Workspace hd", SSOClaims{Email: "ann@example.net", EmailVerified: true, HostedDomain: "EXAMPLE.net"}, RoleReader, 3, "hosted domain example.net"},
		{"hd of another Workspace", SSOClaims{Email: "ann@other.example", EmailVerified: true, HostedDomain: "other.example"}, "", -1, "ann@other.example matches no role rule"},
		{"verified e-mail domain", SSOClaims{Email: "Tom@ISP.example", EmailVerified: true}, RoleReader, 4, "verified e-mail in isp.example"},
		{"subdomain is not the domain", SSOClaims{Email: "tom@noc.isp.example", EmailVerified: true}, "", -1, "matches no role rule"},
		{"unverified e-mail domain", SSOClaims{Email: "tom@isp.example"}, "", -1, "not say the e-mail is verified"},
		{"unverified hd", SSOClaims{Email: "ann@example.net", HostedDomain: "example.net"}, "", -1, "verified"},
		{"allowlisted address, any case", SSOClaims{Email: "boss@example.net", EmailVerified: true}, RoleAdmin, 5, "address boss@example.net listed"},
		{"allowlisted but unverified", SSOClaims{Email: "boss@example.net", HostedDomain: "example.net"}, "", -1, "verified"},
		{"highest role wins: hd reader + admin address", SSOClaims{Email: "boss@example.net", EmailVerified: true, HostedDomain: "example.net"}, RoleAdmin, 5, ""},
		{"highest role wins: billing group + admin role", SSOClaims{Claims: claimsJSON(t, `{"groups":["tollgate-billing"],"roles":["Tollgate.Admin"]}`)}, RoleAdmin, 1, ""},
		{"highest role wins over rule order", SSOClaims{Email: "x@isp.example", EmailVerified: true, Claims: claimsJSON(t, `{"groups":["tollgate-billing"]}`)}, RoleBilling, 0, ""},
		{"no e-mail at all", SSOClaims{}, "", -1, "this account (no e-mail address given) matches no role rule"},
		{"address without @", SSOClaims{Email: "isp.example", EmailVerified: true}, "", -1, "matches no role rule"},
	} {
		m, err := MapSSORole(rules, c.claims)
		if c.rule < 0 {
			if billing.ErrorCode(err) != billing.EUNAUTHORIZED || !strings.Contains(err.Error(), c.why) {
				t.Errorf("%s: MapSSORole = %+v, %v; want unauthorized saying %q", c.name, m, err, c.why)
			}
			continue
		}
		if err != nil || m.Role != c.role || m.Rule != c.rule || !strings.Contains(m.Why, c.why) {
			t.Errorf("%s: MapSSORole = %+v, %v; want %s by rule %d (%q)", c.name, m, err, c.role, c.rule, c.why)
		}
	}
}

func TestMapSSORoleTieNamesTheFirstRule(t *testing.T) {
	rules := []SSORule{{EmailDomain: "isp.example", Role: RoleBilling}, {Emails: []string{"a@isp.example"}, Role: RoleBilling}}
	m, err := MapSSORole(rules, SSOClaims{Email: "a@isp.example", EmailVerified: true})
	if err != nil || m.Rule != 0 || m.Why != "rule 0 (verified e-mail in isp.example)" {
		t.Errorf("MapSSORole = %+v, %v; want rule 0", m, err)
	}
}

func TestCheckSSORules(t *testing.T) {
	for _, c := range []struct {
		rules []SSORule
		says  string // "" when valid
	}{
		{[]SSORule{{Claim: "groups", Value: "a", Role: RoleAdmin}}, ""},
		{nil, "at least one role rule"},
		{[]SSORule{{Claim: "groups", Value: "a", Role: "root"}}, `rules[0].role: "root"`},
		{[]SSORule{{Claim: "groups", Value: "a", Role: RoleReader}, {Role: RoleReader}}, "rules[1]: needs exactly one"},
		{[]SSORule{{Claim: "groups", Value: "a", EmailDomain: "x.example", Role: RoleReader}}, "(has 2)"},
		{[]SSORule{{Claim: "groups", Role: RoleReader}}, "rules[0].value"},
		{[]SSORule{{EmailDomain: "x.example", Value: "a", Role: RoleReader}}, "only goes with claim"},
		{[]SSORule{{EmailDomain: "@x.example", Role: RoleReader}}, "rules[0].email_domain"},
		{[]SSORule{{HostedDomain: "localhost", Role: RoleReader}}, "rules[0].hosted_domain"},
		{[]SSORule{{HostedDomain: "x-.example", Role: RoleReader}}, "rules[0].hosted_domain"},
		{[]SSORule{{Emails: []string{"a@x.example", "b"}, Role: RoleReader}}, "rules[0].emails[1]"},
		{[]SSORule{{Emails: []string{"a b@x.example"}, Role: RoleReader}}, "rules[0].emails[0]"},
	} {
		err := CheckSSORules(c.rules)
		if c.says == "" && err != nil || c.says != "" && (!isInvalid(err) || !strings.Contains(err.Error(), c.says)) {
			t.Errorf("CheckSSORules(%+v) = %v, want %q", c.rules, err, c.says)
		}
	}
}

func TestSSOLogin(t *testing.T) {
	for _, c := range []struct {
		email string
		n     int
		want  string
	}{
		{"alice@example.net", 1, "alice"},
		{"Alice.Smith@example.net", 1, "alice.smith"},
		{"alice+billing@example.net", 1, "alice-billing"},
		{"alice@example.net", 2, "alice-2"},
		{"9lives@example.net", 1, "lives"},
		{"_x@example.net", 1, "sso-user"},
		{"josé.núñez@example.net", 1, "jos-.n-ez"},
		{"", 1, "sso-user"},
		{"", 3, "sso-user-3"},
		{"a\"b c\"@example.net", 1, "a-b-c"},
		{strings.Repeat("abcdefghij", 7) + "@example.net", 1, strings.Repeat("abcdefghij", 6)},
		{strings.Repeat("abcdefghij", 7) + "@example.net", 999, strings.Repeat("abcdefghij", 6) + "-999"},
	} {
		got := SSOLogin(c.email, c.n)
		if got != c.want {
			t.Errorf("SSOLogin(%q, %d) = %q, want %q", c.email, c.n, got, c.want)
		}
		if err := CheckLogin(got); err != nil {
			t.Errorf("SSOLogin(%q, %d) = %q fails CheckLogin: %v", c.email, c.n, got, err)
		}
	}
}

func TestSSOIdentityCheck(t *testing.T) {
	ok := SSOIdentity{Issuer: "https://idp.example", Subject: "s1", Role: RoleReader}
	if err := ok.Check(); err != nil {
		t.Error(err)
	}
	for _, bad := range []SSOIdentity{{Subject: "s", Role: RoleReader}, {Issuer: "i", Role: RoleReader}, {Issuer: "i", Subject: "s", Role: "root"}} {
		if err := bad.Check(); !isInvalid(err) {
			t.Errorf("%+v.Check() = %v, want invalid", bad, err)
		}
	}
}
