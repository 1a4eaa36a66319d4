package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

// SSOActor is the audit actor of the changes single sign-on makes to staff
// users: creating one at a first sign-in, and setting the role (and
// name) the provider and the rules give at each sign-in. The audit
// entry's reason names the issuer and the rule.
const SSOActor = "sso"

// ssoAttempts bounds the retries of a first sign-in that loses a race
// (for its login, or to a concurrent first sign-in of the same person).
const ssoAttempts = 5

// SignInStaffSSO finds the staff user linked to an SSO identity (its
// issuer and subject), or creates one just in time at the person's first
// sign-in, and returns it for the console to start a session with
// (CreateStaffSession).
//
// A new user's login is staff.SSOLogin of the e-mail ("alice" for
// alice@example.net; "alice-2" when "alice" is taken, by a password user
// too: an SSO identity is never joined to an existing user by e-mail). It
// has no password and no TOTP: the provider authenticates it (enforce a
// second factor there).
//
// At every sign-in the user's role becomes id.Role, and its name id.Name
// when given, so the provider's groups and the rules stay in charge;
// changes are audited (actor SSOActor, before and after, the rule as
// reason). A disabled user is refused (EUNAUTHORIZED) and nothing is
// changed. EINVALID when the identity lacks an issuer, a subject or a
// valid role.
func (db *DB) SignInStaffSSO(ctx context.Context, id staff.SSOIdentity, now time.Time) (staff.User, error) {
	if err := id.Check(); err != nil {
		return staff.User{}, err
	}
	for attempt := 1; ; attempt++ {
		u, err := db.signInStaffSSO(ctx, id, now)
		if billing.ErrorCode(err) == billing.ECONFLICT && attempt < ssoAttempts {
			continue
		}
		return u, err
	}
}

func (db *DB) signInStaffSSO(ctx context.Context, id staff.SSOIdentity, now time.Time) (staff.User, error) {
	var u staff.User
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		u, err = scanStaffUser(tx.QueryRow(ctx, `SELECT `+prefixed("u.", staffUserColumns)+`
			FROM staff_sso_identities i JOIN staff_users u ON u.id = i.user_id
			WHERE i.issuer = $1 AND i.subject = $2 FOR UPDATE OF i, u`, id.Issuer, id.Subject))
		if errors.Is(err, pgx.ErrNoRows) {
			u, err = createSSOStaffUserTx(ctx, tx, id, now)
			return err
		}
		if err != nil {
			return err
		}
		if u.Disabled {
			return billing.Errorf(billing.EUNAUTHORIZED, "staff user %q is disabled; an admin can enable it", u.Login)
		}
		if _, err := tx.Exec(ctx, `UPDATE staff_sso_identities SET email = $3, last_sign_in_at = $4 WHERE issuer = $1 AND subject = $2`,
			id.Issuer, id.Subject, id.Email, now); err != nil {
			return err
		}
		before, after := map[string]any{}, map[string]any{}
		if u.Role != id.Role {
			before["role"], after["role"] = u.Role, id.Role
		}
		if id.Name != "" && u.Name != id.Name {
			before["name"], after["name"] = u.Name, id.Name
		}
		if len(after) == 0 {
			return nil
		}
		name := u.Name
		if id.Name != "" {
			name = id.Name
		}
		u, err = scanStaffUser(tx.QueryRow(ctx, `UPDATE staff_users SET role = $2, name = $3 WHERE id = $1 RETURNING `+staffUserColumns,
			u.ID, id.Role, name))
		if err != nil {
			return err
		}
		return staffAudit(ctx, tx, SSOActor, now, u.ID, before, after, "single sign-on through "+id.Issuer+": "+ruleReason(id))
	})
	return u, err
}

// createSSOStaffUserTx makes the staff user of a person's first SSO
// sign-in, with the first free login SSOLogin offers, and links the
// identity to it. ECONFLICT when a concurrent transaction took the login
// or linked the identity first (the caller tries again).
func createSSOStaffUserTx(ctx context.Context, tx pgx.Tx, id staff.SSOIdentity, now time.Time) (staff.User, error) {
	base := staff.SSOLogin(id.Email, 1)
	rows, err := tx.Query(ctx, `SELECT login FROM staff_users WHERE left(login, length($1)) = $1`, base)
	if err != nil {
		return staff.User{}, err
	}
	taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return staff.User{}, err
	}
	seen := make(map[string]bool, len(taken))
	for _, l := range taken {
		seen[l] = true
	}
	login := base
	for n := 2; seen[login]; n++ {
		login = staff.SSOLogin(id.Email, n)
	}
	u, err := scanStaffUser(tx.QueryRow(ctx, `INSERT INTO staff_users (login, name, role, created_at, actor)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+staffUserColumns, login, id.Name, id.Role, now, SSOActor))
	if err != nil {
		return u, mapError(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO staff_sso_identities (issuer, subject, user_id, email, created_at, last_sign_in_at)
		VALUES ($1, $2, $3, $4, $5, $5)`, id.Issuer, id.Subject, u.ID, id.Email, now); err != nil {
		return u, mapError(err)
	}
	return u, staffAudit(ctx, tx, SSOActor, now, u.ID, map[string]any{},
		map[string]any{"login": u.Login, "name": u.Name, "role": u.Role, "password": false, "totp": false,
			"sso_issuer": id.Issuer, "sso_subject": id.Subject, "email": id.Email},
		"created at the first single sign-on through "+id.Issuer+": "+ruleReason(id))
}

// ruleReason names the rule that gave the identity its role.
func ruleReason(id staff.SSOIdentity) string {
	if id.Rule == "" {
		return "role " + string(id.Role)
	}
	return "role " + string(id.Role) + " by " + id.Rule
}
