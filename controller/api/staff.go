package api

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

// StaffStore is what staff users and their personal API tokens need from
// storage (package staff decides; the store keeps). Every change is
// audited under actor.
type StaffStore interface {
	// PersonalTokenUser authenticates a personal token by the SHA-256 of
	// its secret, recording its last use.
	// Errors: EUNAUTHORIZED for an unknown, revoked or expired token or a
	// disabled user.
	PersonalTokenUser(ctx context.Context, hash []byte, now time.Time) (staff.PersonalToken, staff.User, error)
	// CreateStaffUser stores a new user (login, name, role, password hash,
	// TOTP secret). Errors: EINVALID naming the field; ECONFLICT when the
	// login is taken.
	CreateStaffUser(ctx context.Context, u staff.User, actor string, now time.Time) (staff.User, error)
	// StaffUsers lists the users by login. Errors: only the database's.
	StaffUsers(ctx context.Context) ([]staff.User, error)
	// SetStaffUserDisabled disables or enables a user.
	// Errors: ENOTFOUND for an unknown login.
	SetStaffUserDisabled(ctx context.Context, login string, disabled bool, actor string, now time.Time) (staff.User, error)
	// UnlockStaffUser clears the user's failed sign-ins (the backoff).
	// Errors: ENOTFOUND for an unknown login.
	UnlockStaffUser(ctx context.Context, login, actor string, now time.Time) (staff.User, error)
	// StaffUser returns the user with a login (to check a current
	// password). Errors: ENOTFOUND.
	StaffUser(ctx context.Context, login string) (staff.User, error)
	// SetStaffPassword replaces the user's password hash and ends every
	// console session of the user. Errors: ENOTFOUND for an unknown login.
	SetStaffPassword(ctx context.Context, login, passwordHash, actor string, now time.Time) (staff.User, error)
	// ResetStaffTOTP replaces the user's TOTP secret and recovery code
	// hashes. Errors: ENOTFOUND for an unknown login.
	ResetStaffTOTP(ctx context.Context, login, secret string, recoveryHashes [][]byte, actor string, now time.Time) (staff.User, error)
	// CreatePersonalToken stores a personal token by its hash (expires
	// zero: never). Errors: ENOTFOUND for an unknown login; EINVALID naming
	// the field.
	CreatePersonalToken(ctx context.Context, login, name string, hash []byte, expires time.Time, actor string, now time.Time) (staff.PersonalToken, error)
	// PersonalTokens lists the user's tokens, revoked ones too.
	// Errors: ENOTFOUND for an unknown login.
	PersonalTokens(ctx context.Context, login string) ([]staff.PersonalToken, error)
	// RevokePersonalToken revokes one of the user's tokens.
	// Errors: ENOTFOUND for an unknown login or token.
	RevokePersonalToken(ctx context.Context, login string, id int64, actor string, now time.Time) (staff.PersonalToken, error)
}

// totpIssuer names Tollgate in authenticator apps.
const totpIssuer = "Tollgate"

// staffUserView is a staff user as the API shows it: never a hash.
type staffUserView struct {
	Login     string     `json:"login"`
	Name      string     `json:"name,omitempty"`
	Role      staff.Role `json:"role" enum:"reader,billing,admin"`
	Password  bool       `json:"password" doc:"Whether the user has a password (a console sign-in)."`
	TOTP      bool       `json:"totp" doc:"Whether the user has a TOTP second factor."`
	Disabled  bool       `json:"disabled"`
	CreatedAt time.Time  `json:"created_at"`
}

func viewStaffUser(u staff.User) staffUserView {
	return staffUserView{Login: u.Login, Name: u.Name, Role: u.Role, Password: u.PasswordHash != "", TOTP: u.TOTPSecret != "",
		Disabled: u.Disabled, CreatedAt: u.CreatedAt}
}

// totpEnrolment is a new TOTP secret with its recovery codes, shown once.
type totpEnrolment struct {
	Secret        string   `json:"secret" doc:"The base32 TOTP secret (SHA-1, 6 digits, 30 s), to type into an authenticator app."`
	URL           string   `json:"url" doc:"The otpauth:// URL of the secret, for a QR code."`
	RecoveryCodes []string `json:"recovery_codes" doc:"One-time codes that stand in for a TOTP code; only their hashes are kept."`
}

type staffUserOutput struct {
	User staffUserView  `json:"user"`
	TOTP *totpEnrolment `json:"totp,omitempty" doc:"The new second factor, shown only in this response."`
}

type personalTokenView struct {
	ID         int64      `json:"id"`
	Login      string     `json:"login"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty" doc:"Absent: it never expires."`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func viewToken(t staff.PersonalToken) personalTokenView {
	return personalTokenView{ID: t.ID, Login: t.Login, Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: optTime(t.ExpiresAt),
		LastUsedAt: optTime(t.LastUsedAt), RevokedAt: optTime(t.RevokedAt)}
}

type newTokenOutput struct {
	Token  personalTokenView `json:"token"`
	Secret string            `json:"secret" doc:"The bearer secret (tgp_…), shown only in this response; only its hash is kept."`
}

// LoginPath is a staff user's login in a path.
type LoginPath struct {
	Login string `path:"login" maxLength:"64"`
}

// newTOTPEnrolment makes a TOTP secret and recovery codes for login.
func newTOTPEnrolment(login string) (totpEnrolment, [][]byte, error) {
	secret, url, err := staff.NewTOTPKey(totpIssuer, login, rand.Reader)
	if err != nil {
		return totpEnrolment{}, nil, err
	}
	codes, err := staff.NewRecoveryCodes(rand.Reader, staff.RecoveryCodeCount)
	if err != nil {
		return totpEnrolment{}, nil, err
	}
	hashes := make([][]byte, len(codes))
	for i, c := range codes {
		hashes[i] = staff.HashSecret(c)
	}
	return totpEnrolment{Secret: secret, URL: url, RecoveryCodes: codes}, hashes, nil
}

// selfOrAdmin refuses a caller who is neither an admin nor the staff user
// login signed in with a personal token; what names what the caller would
// see or change ("tokens").
func selfOrAdmin(ctx context.Context, login, what string) error {
	p, _ := PrincipalFrom(ctx)
	if p.Role.Allows(RoleAdmin) || (p.Personal && p.Name == login) {
		return nil
	}
	return huma.Error403Forbidden("only an admin or " + login + " (with a personal token) may see or change " + login + "'s " + what)
}

// newPasswordHash checks password against the policy for login and hashes
// it with a new salt. Errors: EINVALID naming the password.
func newPasswordHash(login, password string) (string, error) {
	if err := staff.CheckPassword(login, password); err != nil {
		return "", err
	}
	salt := make([]byte, staff.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return staff.HashPassword(password, salt, staff.DefaultArgon2Params), nil
}

const staffSecretsNoKey = " It takes no Idempotency-Key: its request or response carries a secret (a password, a token, a TOTP " +
	"secret) that must not be hashed or stored for replay; sent twice, the second is refused or replaces the first."

func (s *Server) registerStaff(store StaffStore) {
	s.staff = store
	api := s.api
	huma.Register(api, described(takesNoKey(op("create-staff-user", http.MethodPost, "/api/v1/staff",
		"Add a staff user", RoleAdmin, "staff")),
		"Adds a person who works with Tollgate, with a role: reader, billing or admin. The password (12 to 256 characters, "+
			"not containing the login) is kept as an argon2id hash; a user without one signs in only through SSO or uses "+
			"personal tokens. An admin always gets a TOTP second factor, others when totp is true: its secret and ten "+
			"recovery codes are in the response, once. 409 when the login is taken."+staffSecretsNoKey),
		func(ctx context.Context, in *struct {
			Body struct {
				Login    string `json:"login" required:"true" maxLength:"64" doc:"2-64 lower-case letters, digits, '.', '_' or '-', starting with a letter. Recorded as user:<login>."`
				Name     string `json:"name,omitempty" maxLength:"200"`
				Role     string `json:"role" required:"true" enum:"reader,billing,admin"`
				Password string `json:"password,omitempty" maxLength:"1024" doc:"The console password; empty: none."`
				TOTP     bool   `json:"totp,omitempty" doc:"Enrol a TOTP second factor (always done for admins)."`
			}
		}) (*body[staffUserOutput], error) {
			b := in.Body
			role, err := staff.ParseRole(b.Role)
			if err == nil {
				err = staff.CheckLogin(b.Login)
			}
			u := staff.User{Login: b.Login, Name: strings.TrimSpace(b.Name), Role: role}
			if err == nil && b.Password != "" {
				u.PasswordHash, err = newPasswordHash(b.Login, b.Password)
			}
			var out staffUserOutput
			var hashes [][]byte
			if err == nil && (b.TOTP || role.TOTPRequired()) {
				var e totpEnrolment
				if e, hashes, err = newTOTPEnrolment(b.Login); err == nil {
					u.TOTPSecret, out.TOTP = e.Secret, &e
				}
			}
			if err == nil {
				u, err = store.CreateStaffUser(ctx, u, actor(ctx), s.clock.Now())
			}
			if err == nil && out.TOTP != nil {
				u, err = store.ResetStaffTOTP(ctx, u.Login, u.TOTPSecret, hashes, actor(ctx), s.clock.Now())
			}
			out.User = viewStaffUser(u)
			return wrap(s, "create-staff-user", out, err)
		})
	huma.Register(api, described(op("list-staff-users", http.MethodGet, "/api/v1/staff", "List staff users", RoleAdmin, "staff"),
		"Every staff user by login, with role, whether they have a password and a second factor, and whether disabled."),
		func(ctx context.Context, _ *struct{}) (*body[[]staffUserView], error) {
			us, err := store.StaffUsers(ctx)
			views := make([]staffUserView, len(us))
			for i, u := range us {
				views[i] = viewStaffUser(u)
			}
			return wrap(s, "list-staff-users", views, err)
		})
	for _, c := range []struct {
		id, verb, summary, doc string
		run                    func(ctx context.Context, login string) (staff.User, error)
	}{
		{"disable-staff-user", "disable", "Disable a staff user",
			"The user's sessions and personal tokens stop working at once (401); disabling twice changes nothing.",
			func(ctx context.Context, login string) (staff.User, error) {
				return store.SetStaffUserDisabled(ctx, login, true, actor(ctx), s.clock.Now())
			}},
		{"enable-staff-user", "enable", "Enable a disabled staff user",
			"The user's unrevoked, unexpired tokens work again.",
			func(ctx context.Context, login string) (staff.User, error) {
				return store.SetStaffUserDisabled(ctx, login, false, actor(ctx), s.clock.Now())
			}},
		{"unlock-staff-user", "unlock", "Clear a staff user's failed sign-ins",
			"Repeated failed sign-ins slow a user down from the address they came from (backoff, never a lock); this clears them from every address.",
			func(ctx context.Context, login string) (staff.User, error) {
				return store.UnlockStaffUser(ctx, login, actor(ctx), s.clock.Now())
			}},
	} {
		huma.Register(api, described(op(c.id, http.MethodPost, "/api/v1/staff/{login}/"+c.verb, c.summary, RoleAdmin, "staff"),
			c.doc+" 404 for an unknown login. Audited."),
			func(ctx context.Context, in *LoginPath) (*body[staffUserView], error) {
				u, err := c.run(ctx, in.Login)
				return wrap(s, c.id, viewStaffUser(u), err)
			})
	}
	huma.Register(api, described(takesNoKey(op("reset-staff-totp", http.MethodPost, "/api/v1/staff/{login}/reset-totp",
		"Give a staff user a new TOTP secret", RoleAdmin, "staff")),
		"For a lost phone: the old secret and recovery codes stop working, and the new secret and ten new recovery codes "+
			"are in the response, once. 404 for an unknown login. Audited."+staffSecretsNoKey),
		func(ctx context.Context, in *LoginPath) (*body[staffUserOutput], error) {
			e, hashes, err := newTOTPEnrolment(in.Login)
			var u staff.User
			if err == nil {
				u, err = store.ResetStaffTOTP(ctx, in.Login, e.Secret, hashes, actor(ctx), s.clock.Now())
			}
			return wrap(s, "reset-staff-totp", staffUserOutput{User: viewStaffUser(u), TOTP: &e}, err)
		})
	huma.Register(api, described(takesNoKey(op("set-staff-password", http.MethodPost, "/api/v1/staff/{login}/password",
		"Set a staff user's password", RoleReader, "staff")),
		"Replaces the user's console password (12 to 256 characters, not containing the login), kept as an argon2id hash. "+
			"An admin, or the user themself (a personal token or their console session), who must also give the current "+
			"password (403 when it is wrong). Every console session of the user ends: they sign in again with the new password. "+
			"422 naming the password when it breaks the rules; 404 for an unknown login. Audited (never the password)."+staffSecretsNoKey),
		func(ctx context.Context, in *struct {
			LoginPath
			Body struct {
				Password        string `json:"password" required:"true" maxLength:"1024" doc:"The new console password."`
				CurrentPassword string `json:"current_password,omitempty" maxLength:"1024" doc:"The password now: required when users change their own."`
			}
		}) (*body[staffUserView], error) {
			if err := selfOrAdmin(ctx, in.Login, "password"); err != nil {
				return nil, err
			}
			hash, err := newPasswordHash(in.Login, in.Body.Password)
			if err != nil {
				return nil, s.toHTTPError("set-staff-password", err)
			}
			if p, _ := PrincipalFrom(ctx); p.Personal && p.Name == in.Login {
				u, err := store.StaffUser(ctx, in.Login)
				if err != nil {
					return nil, s.toHTTPError("set-staff-password", err)
				}
				if u.PasswordHash != "" {
					ok, _, err := staff.VerifyPassword(u.PasswordHash, in.Body.CurrentPassword, staff.DefaultArgon2Params)
					if err != nil {
						return nil, s.toHTTPError("set-staff-password", err)
					}
					if !ok {
						return nil, huma.Error403Forbidden("current_password: that is not your password now")
					}
				}
			}
			u, err := store.SetStaffPassword(ctx, in.Login, hash, actor(ctx), s.clock.Now())
			return wrap(s, "set-staff-password", viewStaffUser(u), err)
		})

	huma.Register(api, described(takesNoKey(op("create-personal-token", http.MethodPost, "/api/v1/staff/{login}/tokens",
		"Create a personal API token", RoleReader, "staff")),
		"A bearer token for one person (an admin, or the user with a personal token of their own): it acts with the user's "+
			"role and is recorded as user:<login> in audit entries. The secret is in the response, once. expires_in_days "+
			"(absent: 90; 0: it never expires). A disabled user's tokens and revoked or expired ones are refused with 401."+staffSecretsNoKey),
		func(ctx context.Context, in *struct {
			LoginPath
			Body struct {
				Name string `json:"name" required:"true" minLength:"1" maxLength:"100" doc:"What it is for (\"laptop\", \"month-end script\")."`
				// A pointer, so that an explicit 0 (never) is told from an
				// absent field, which huma gives the default.
				ExpiresInDays *int `json:"expires_in_days,omitempty" minimum:"0" maximum:"3650" default:"90" doc:"Days until the token expires; 0: it never expires."`
			}
		}) (*body[newTokenOutput], error) {
			if err := selfOrAdmin(ctx, in.Login, "tokens"); err != nil {
				return nil, err
			}
			secret, err := staff.NewPersonalToken(rand.Reader)
			if err != nil {
				return nil, s.toHTTPError("create-personal-token", err)
			}
			now := s.clock.Now()
			var expires time.Time
			if days := in.Body.ExpiresInDays; days != nil && *days > 0 {
				expires = now.AddDate(0, 0, *days)
			}
			t, err := store.CreatePersonalToken(ctx, in.Login, strings.TrimSpace(in.Body.Name), staff.HashSecret(secret), expires, actor(ctx), now)
			return wrap(s, "create-personal-token", newTokenOutput{Token: viewToken(t), Secret: secret}, err)
		})
	huma.Register(api, described(op("list-personal-tokens", http.MethodGet, "/api/v1/staff/{login}/tokens",
		"List a staff user's personal tokens", RoleReader, "staff"),
		"An admin, or the user with a personal token of their own, sees the user's tokens (never their secrets), revoked ones too."),
		func(ctx context.Context, in *LoginPath) (*body[[]personalTokenView], error) {
			if err := selfOrAdmin(ctx, in.Login, "tokens"); err != nil {
				return nil, err
			}
			ts, err := store.PersonalTokens(ctx, in.Login)
			views := make([]personalTokenView, len(ts))
			for i, t := range ts {
				views[i] = viewToken(t)
			}
			return wrap(s, "list-personal-tokens", views, err)
		})
	huma.Register(api, described(op("revoke-personal-token", http.MethodPost, "/api/v1/staff/{login}/tokens/{id}/revoke",
		"Revoke a personal API token", RoleReader, "staff"),
		"The token is refused (401) from now on. An admin, or the user with a personal token of their own. Revoking twice "+
			"changes nothing; 404 for an unknown login or token."),
		func(ctx context.Context, in *struct {
			LoginPath
			IDPath
		}) (*body[personalTokenView], error) {
			if err := selfOrAdmin(ctx, in.Login, "tokens"); err != nil {
				return nil, err
			}
			t, err := store.RevokePersonalToken(ctx, in.Login, in.ID, actor(ctx), s.clock.Now())
			return wrap(s, "revoke-personal-token", viewToken(t), err)
		})
}

// personalPrincipal authenticates a personal token, if the API has staff
// users: the principal is the user, with the user's role.
func (s *Server) personalPrincipal(ctx context.Context, secret string) (Principal, error) {
	if s.staff == nil || !strings.HasPrefix(secret, staff.PersonalTokenPrefix) {
		return Principal{}, billing.Errorf(billing.EUNAUTHORIZED, "bearer token is not valid")
	}
	_, u, err := s.staff.PersonalTokenUser(ctx, staff.HashSecret(secret), s.clock.Now())
	if err != nil {
		return Principal{}, err
	}
	return Principal{Name: u.Login, Role: Role(u.Role), Personal: true}, nil
}
