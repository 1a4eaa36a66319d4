package staff

import (
	"regexp"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Role is what a staff user may do: reader (read everything), billing
// (also change billing data and service state) or admin (everything,
// including staff users). It is spelled like the API's roles.
type Role string

// Roles.
const (
	RoleReader  Role = "reader"
	RoleBilling Role = "billing"
	RoleAdmin   Role = "admin"
)

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleReader, RoleBilling, RoleAdmin:
		return r, nil
	}
	return "", billing.Errorf(billing.EINVALID, "role: %q is not one of reader, billing, admin", s)
}

// TOTPRequired reports whether users of the role must have a second
// factor: admins must, others may.
func (r Role) TOTPRequired() bool { return r == RoleAdmin }

var loginPattern = regexp.MustCompile(`^[a-z][a-z0-9._-]{1,63}$`)

// CheckLogin checks a login name: 2 to 64 characters, lower-case letters,
// digits, '.', '_' or '-', starting with a letter. The principal of a
// staff user in audit records is "user:<login>".
func CheckLogin(login string) error {
	if !loginPattern.MatchString(login) {
		return billing.Errorf(billing.EINVALID, "login: %q must be 2-64 lower-case letters, digits, '.', '_' or '-', starting with a letter", login)
	}
	return nil
}

// PrincipalName is how a staff user is named in audit records, status
// history and journal transactions.
func PrincipalName(login string) string { return "user:" + login }
