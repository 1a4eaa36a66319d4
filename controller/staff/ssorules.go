package staff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// SSORule maps a person who signed in through single sign-on (OpenID
// Connect) to a role. Exactly one of Claim, HostedDomain, EmailDomain and
// Emails says whom the rule matches; Role is what they get.
//
// A person matching no rule is refused. When several rules match, the
// highest role wins (admin over billing over reader), whatever the order
// of the rules; among rules giving the same role, the first is the one
// named as the reason.
//
// Domain and address rules (HostedDomain, EmailDomain, Emails) match only
// when the provider says the e-mail is verified (email_verified true). A
// provider that sends no email_verified claim (Entra ID) is taken as
// unverified: map its users by Claim rules (groups, roles).
type SSORule struct {
	// Claim names a claim of the ID token (or of the UserInfo answer)
	// whose value must contain Value: a string equal to Value, or a list
	// with an element equal to Value. Comparison is exact (case
	// sensitive). A name with dots ("realm_access.roles") walks into
	// nested objects when no claim has that whole name. E.g. "groups"
	// (Keycloak, Entra ID) or "roles" (Entra ID app roles). Default: none.
	Claim string `yaml:"claim"`
	// Value is what the claim must contain (with Claim only). Default:
	// none.
	Value string `yaml:"value"`
	// HostedDomain matches the Google Workspace domain of the account (the
	// ID token's hd claim), compared without case. Prefer it over
	// EmailDomain for Google: a personal Google account can carry a
	// verified address in any domain, but only the Workspace's own
	// accounts carry its hd. Default: none.
	HostedDomain string `yaml:"hosted_domain"`
	// EmailDomain matches the domain of the verified e-mail address
	// (exactly: "example.net" does not match "noc.example.net"), compared
	// without case. Default: none.
	EmailDomain string `yaml:"email_domain"`
	// Emails matches these verified addresses, compared without case.
	// Default: none.
	Emails []string `yaml:"emails"`
	// Role is the role given: reader, billing or admin. Required.
	Role Role `yaml:"role"`
}

// SSOClaims is what the role rules look at, from the verified ID token
// (and the provider's UserInfo answer).
type SSOClaims struct {
	Email         string
	EmailVerified bool
	// HostedDomain is the hd claim (Google Workspace), "" when absent.
	HostedDomain string
	// Claims are all the claims, as decoded from JSON (strings, []any,
	// map[string]any, float64, bool), for Claim rules.
	Claims map[string]any
}

// SSOMatch is the outcome of the role rules for a person.
type SSOMatch struct {
	Role Role
	// Rule is the index in the rules of the rule that gave Role.
	Rule int
	// Why names that rule, for the audit log: `rule 2 (groups contains
	// "tollgate-admins")`.
	Why string
}

// roleRank orders roles: a higher rank may do more.
func roleRank(r Role) int {
	switch r {
	case RoleReader:
		return 1
	case RoleBilling:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// CheckSSORules checks the role rules of an SSO configuration; errors
// name the rule and field ("rules[2].role: ..."). At least one rule is
// needed: with none, nobody could sign in.
func CheckSSORules(rules []SSORule) error {
	if len(rules) == 0 {
		return billing.Errorf(billing.EINVALID, "rules: at least one role rule is needed (a person matching no rule is refused, so with none nobody could sign in)")
	}
	for i, r := range rules {
		at := fmt.Sprintf("rules[%d]", i)
		if _, err := ParseRole(string(r.Role)); err != nil {
			return billing.Errorf(billing.EINVALID, "%s.role: %q is not one of reader, billing, admin", at, r.Role)
		}
		kinds := 0
		for _, set := range []bool{r.Claim != "", r.HostedDomain != "", r.EmailDomain != "", len(r.Emails) > 0} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			return billing.Errorf(billing.EINVALID, "%s: needs exactly one of claim (with value), hosted_domain, email_domain or emails (has %d)", at, kinds)
		}
		switch {
		case r.Claim != "" && r.Value == "":
			return billing.Errorf(billing.EINVALID, "%s.value: the value claim %q must contain is missing", at, r.Claim)
		case r.Claim == "" && r.Value != "":
			return billing.Errorf(billing.EINVALID, "%s.value: only goes with claim", at)
		case r.HostedDomain != "" && !isDomain(r.HostedDomain):
			return billing.Errorf(billing.EINVALID, "%s.hosted_domain: %q is not a domain name like example.net", at, r.HostedDomain)
		case r.EmailDomain != "" && !isDomain(r.EmailDomain):
			return billing.Errorf(billing.EINVALID, "%s.email_domain: %q is not a domain name like example.net (no @)", at, r.EmailDomain)
		}
		for j, e := range r.Emails {
			local, domain, ok := strings.Cut(e, "@")
			if !ok || local == "" || !isDomain(domain) || strings.ContainsAny(e, " \t<>") {
				return billing.Errorf(billing.EINVALID, "%s.emails[%d]: %q is not an e-mail address", at, j, e)
			}
		}
	}
	return nil
}

// isDomain reports whether s looks like a domain name: dot-separated
// labels of letters, digits and '-', at least two labels.
func isDomain(s string) bool {
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// MapSSORole applies the role rules (checked with CheckSSORules) to a
// person's claims: the highest role of the rules that match. A person no
// rule matches is refused with EUNAUTHORIZED, saying who and, when it
// matters, that the e-mail is not verified.
func MapSSORole(rules []SSORule, c SSOClaims) (SSOMatch, error) {
	best := SSOMatch{Rule: -1}
	for i, r := range rules {
		why, ok := ruleMatches(r, c)
		if ok && roleRank(r.Role) > roleRank(best.Role) {
			best = SSOMatch{Role: r.Role, Rule: i, Why: fmt.Sprintf("rule %d (%s)", i, why)}
		}
	}
	if best.Rule >= 0 {
		return best, nil
	}
	who := c.Email
	if who == "" {
		who = "this account (no e-mail address given)"
	}
	msg := fmt.Sprintf("single sign-on: %s matches no role rule, so it may not sign in; an admin can add a rule for it", who)
	if c.Email != "" && !c.EmailVerified && slices.ContainsFunc(rules, isEmailRule) {
		msg += " (the provider does not say the e-mail is verified, and domain and address rules need a verified e-mail)"
	}
	return SSOMatch{}, billing.Errorf(billing.EUNAUTHORIZED, "%s", msg)
}

func isEmailRule(r SSORule) bool {
	return r.HostedDomain != "" || r.EmailDomain != "" || len(r.Emails) > 0
}

// ruleMatches reports whether r matches c, and says what it matched on.
func ruleMatches(r SSORule, c SSOClaims) (string, bool) {
	if r.Claim != "" {
		return fmt.Sprintf("%s contains %q", r.Claim, r.Value), claimContains(c.Claims, r.Claim, r.Value)
	}
	if !c.EmailVerified || c.Email == "" {
		return "", false
	}
	switch {
	case r.HostedDomain != "":
		return fmt.Sprintf("hosted domain %s", r.HostedDomain), c.HostedDomain != "" && strings.EqualFold(c.HostedDomain, r.HostedDomain)
	case r.EmailDomain != "":
		at := strings.LastIndex(c.Email, "@")
		return fmt.Sprintf("verified e-mail in %s", r.EmailDomain), at > 0 && strings.EqualFold(c.Email[at+1:], r.EmailDomain)
	default:
		return fmt.Sprintf("address %s listed", c.Email), slices.ContainsFunc(r.Emails, func(e string) bool { return strings.EqualFold(e, c.Email) })
	}
}

// claimContains reports whether the claim name (or, failing that, the
// dotted path name into nested objects) is value or a list holding it.
func claimContains(claims map[string]any, name, value string) bool {
	v, ok := claims[name]
	if !ok && strings.Contains(name, ".") {
		var cur any = claims
		ok = true
		for part := range strings.SplitSeq(name, ".") {
			m, isMap := cur.(map[string]any)
			if !isMap {
				ok = false
				break
			}
			if cur, ok = m[part]; !ok {
				break
			}
		}
		v = cur
	}
	if !ok {
		return false
	}
	switch v := v.(type) {
	case string:
		return v == value
	case []string:
		return slices.Contains(v, value)
	case []any:
		return slices.Contains(v, any(value))
	}
	return false
}
