package staff

import (
	"strconv"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// SSOIdentity is a person who signed in through single sign-on: who the
// provider says they are, and the role the rules (MapSSORole) give them.
// controller/sso produces it; the store links it to a staff user
// (issuer and subject together name the person for good; the e-mail and
// name may change).
type SSOIdentity struct {
	// Issuer is the provider's issuer URL as configured.
	Issuer string
	// Subject is the provider's identifier of the person (the sub claim):
	// stable and never reassigned, unlike the e-mail.
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Role          Role
	// Rule names the role rule that gave Role (SSOMatch.Why).
	Rule string
}

// Check reports an identity that cannot be linked: no issuer or subject,
// or no valid role.
func (id SSOIdentity) Check() error {
	switch {
	case id.Issuer == "":
		return billing.Errorf(billing.EINVALID, "issuer: an SSO identity needs its issuer")
	case id.Subject == "":
		return billing.Errorf(billing.EINVALID, "subject: an SSO identity needs its subject")
	}
	_, err := ParseRole(string(id.Role))
	return err
}

// SSOLogin is the login given to the person of an SSO identity signing in
// for the first time: the local part of the e-mail address made to pass
// CheckLogin (lower case; other characters become '-'; a leading
// non-letter dropped; at most 60 characters), or "sso-user" when nothing
// is left of it. n > 1 asks for the n-th candidate, when the first ones are
// taken: "alice-2", "alice-3"...
func SSOLogin(email string, n int) string {
	local := email
	if at := strings.LastIndex(email, "@"); at >= 0 {
		local = email[:at]
	}
	var b strings.Builder
	for _, c := range strings.ToLower(local) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			if b.Len() == 0 && !(c >= 'a' && c <= 'z') {
				continue
			}
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	base := strings.TrimRight(b.String(), "-.")
	if len(base) > 60 {
		base = strings.TrimRight(base[:60], "-.")
	}
	if len(base) < 2 {
		base = "sso-user"
	}
	if n > 1 {
		return base + "-" + strconv.Itoa(n)
	}
	return base
}
