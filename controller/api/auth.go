package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Role is what a token may do. Roles are ordered: each includes the ones
// before it.
type Role string

// Roles.
const (
	// RoleReader may read everything and change nothing.
	RoleReader Role = "reader"
	// RoleBilling may also change billing data and service state.
	RoleBilling Role = "billing"
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
)

func (r Role) rank() int {
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

// Allows reports whether r includes need.
func (r Role) Allows(need Role) bool { return r.rank() >= need.rank() && need.rank() > 0 }

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if r.rank() == 0 {
		return "", fmt.Errorf("role %q is not one of reader, billing, admin", s)
	}
	return r, nil
}

// Token is one API credential. Only the SHA-256 of the secret is kept in
// memory after start-up.
type Token struct {
	// Name identifies the holder in logs and audit records ("alice", "crm").
	Name string
	Role Role
	// SHA256 is the hash of the bearer secret.
	SHA256 [32]byte
}

// NewToken makes a Token from a plain secret.
func NewToken(name string, role Role, secret string) Token {
	return Token{Name: name, Role: role, SHA256: sha256.Sum256([]byte(secret))}
}

// NewTokenFromHash makes a Token from the hex SHA-256 of its secret.
func NewTokenFromHash(name string, role Role, hexHash string) (Token, error) {
	b, err := hex.DecodeString(hexHash)
	if err != nil || len(b) != 32 {
		return Token{}, fmt.Errorf("token %q: token_sha256 must be 64 hex digits", name)
	}
	t := Token{Name: name, Role: role}
	copy(t.SHA256[:], b)
	return t, nil
}

// Principal is the authenticated caller of a request.
type Principal struct {
	// Name is the service token's name, or a staff user's login.
	Name string
	Role Role
	// Personal: a staff user's personal token (see package staff), not a
	// service token from the config.
	Personal bool
}

// keyScope is whose Idempotency-Keys a principal's are: a service
// token's by its name, a staff user's as user:<login>, so the two never
// share keys.
func (p Principal) keyScope() string {
	if p.Personal {
		return "user:" + p.Name
	}
	return p.Name
}

type principalKey struct{}

// PrincipalFrom returns the request's authenticated caller, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// authenticate resolves the bearer token, if any, into a Principal on the
// request context. A request with a bad token is refused here; a request
// without one continues, and operations that need a role refuse it.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			writeProblem(w, http.StatusUnauthorized, "Authorization header must be \"Bearer <token>\"")
			return
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
		var found *Token
		for i := range s.tokens {
			// Compare every token in constant time, so timing says nothing
			// about which one (if any) matched.
			if subtle.ConstantTimeCompare(sum[:], s.tokens[i].SHA256[:]) == 1 {
				found = &s.tokens[i]
			}
		}
		var p Principal
		if found != nil {
			p = Principal{Name: found.Name, Role: found.Role}
		} else {
			// Not a service token: perhaps a staff user's personal one,
			// looked up by its hash.
			var err error
			if p, err = s.personalPrincipal(r.Context(), strings.TrimSpace(secret)); err != nil {
				if billing.ErrorCode(err) != billing.EUNAUTHORIZED {
					s.log.Error("personal token lookup failed", "err", err)
					writeProblem(w, http.StatusInternalServerError, "could not check the bearer token")
					return
				}
				writeProblem(w, http.StatusUnauthorized, "bearer token is not valid")
				return
			}
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// WithStaffUser returns ctx carrying a signed-in staff user as the caller,
// for requests made in-process by the staff console: the API applies the
// user's role and records the user as user:<login>, exactly as for the
// user's personal token. Nothing outside the process can set it.
func WithStaffUser(ctx context.Context, login string, role Role) context.Context {
	return context.WithValue(ctx, principalKey{}, Principal{Name: login, Role: role, Personal: true})
}
