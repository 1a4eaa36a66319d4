package main

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

// newStaffCmd is `staff`: the people who work with Tollgate (admin; a
// user may set their own password). add and reset-totp print the new TOTP
// secret once; add, reset-totp and password carry a secret, so they send
// no Idempotency-Key.
func newStaffCmd(g *globals) *cobra.Command {
	userColumns := "LOGIN,NAME,ROLE,PASSWORD,TOTP,DISABLED,CREATED"
	userRow := func(u client.StaffUser) []any {
		return []any{u.Login, orDash(u.Name), u.Role, yesNo(u.Password), yesNo(u.TOTP), yesNo(u.Disabled), localTime(u.CreatedAt)}
	}
	cmd := group("staff", "Staff users: add, list, disable, enable, unlock, reset-totp, password",
		changeCmd(g, change[client.StaffUserResult]{use: "add LOGIN --role ROLE [--name NAME] [--password-file PATH] [--totp]", textArg: "login",
			short:   "Add a staff user; an admin (or --totp) gets a TOTP secret and recovery codes, printed once",
			example: "  tollgatectl staff add jane --role billing --name \"Jane Roe\" --password-file jane.pw --totp",
			method:  http.MethodPost, path: "/api/v1/staff", noKey: true,
			params: []param{{"role", "role", "reader, billing or admin (required)", wordParam}, {"name", "name", "the person's name", textParam},
				{"password-file", "password", "file holding the console password (12-256 characters); none: no password", fileParam},
				{"totp", "totp", "enrol a TOTP second factor (always done for admins)", switchParam}},
			show: printStaffUser}),
		changeCmd(g, change[[]client.StaffUser]{use: "list", short: "List staff users", method: http.MethodGet, path: "/api/v1/staff",
			show: func(w io.Writer, us []client.StaffUser) error { return textout.Rows(w, us, userColumns, userRow) }}),
		changeCmd(g, change[client.StaffUserResult]{use: "reset-totp LOGIN", args: []string{"login"}, noKey: true,
			short:  "Give a staff user a new TOTP secret and recovery codes (a lost phone), printed once",
			method: http.MethodPost, path: "/api/v1/staff/%s/reset-totp", show: printStaffUser}),
		changeCmd(g, change[client.StaffUser]{use: "password LOGIN --password-file PATH [--current-password-file PATH]", args: []string{"login"}, noKey: true,
			short:   "Set a staff user's console password (an admin, or the user themself with the current one); their sessions end",
			example: "  tollgatectl staff password jane --password-file jane.pw --current-password-file old.pw",
			method:  http.MethodPost, path: "/api/v1/staff/%s/password",
			params: []param{{"password-file", "password", "file holding the new password, 12-256 characters (required)", fileParam},
				{"current-password-file", "current_password", "file holding your password now (when you change your own)", fileParam}},
			show: asTable(userColumns, userRow)}))
	for verb, short := range map[string]string{"disable": "Disable a staff user: their sessions and tokens stop working at once",
		"enable": "Enable a disabled staff user", "unlock": "Clear a staff user's failed sign-ins (the backoff) from every address"} {
		cmd.AddCommand(changeCmd(g, change[client.StaffUser]{use: verb + " LOGIN", short: short, args: []string{"login"},
			method: http.MethodPost, path: "/api/v1/staff/%s/" + verb,
			show: asTable(userColumns, userRow)}))
	}
	return cmd
}

// printStaffUser prints the user and, when one was just made, the TOTP
// secret and recovery codes: shown this once, never again.
func printStaffUser(w io.Writer, out client.StaffUserResult) error {
	u := out.User
	err := textout.Fields(w, "Login", u.Login, "Name", orDash(u.Name), "Role", u.Role, "Password", yesNo(u.Password),
		"TOTP", yesNo(u.TOTP), "Disabled", yesNo(u.Disabled), "Created", localTime(u.CreatedAt))
	if err != nil || out.TOTP == nil {
		return err
	}
	_, err = io.WriteString(w, "\nNew TOTP second factor, shown only now; give it to "+u.Login+" and keep no copy:\n")
	if err == nil {
		err = textout.Fields(w, "  Secret", out.TOTP.Secret, "  URL", out.TOTP.URL, "  Recovery codes", strings.Join(out.TOTP.RecoveryCodes, " "))
	}
	return err
}

// newTokenCmd is `token`: staff users' personal API tokens. create prints
// the secret once and sends no Idempotency-Key.
func newTokenCmd(g *globals) *cobra.Command {
	columns := "ID,LOGIN,NAME,CREATED,EXPIRES,LAST USED,REVOKED"
	row := func(t client.PersonalToken) []any {
		return []any{t.ID, t.Login, t.Name, localTime(t.CreatedAt), timeOr(t.ExpiresAt, time.DateOnly, "never"),
			timeOr(t.LastUsedAt, time.DateTime, "-"), timeOr(t.RevokedAt, time.DateTime, "-")}
	}
	return group("token tokens", "Staff users' personal API tokens: create, list, revoke",
		changeCmd(g, change[client.NewPersonalToken]{use: "create LOGIN --name NAME [--expires-in-days N]", args: []string{"login"}, noKey: true,
			short:   "Create a personal API token for a staff user; its secret is printed once",
			example: "  tollgatectl token create jane --name laptop --expires-in-days 30",
			method:  http.MethodPost, path: "/api/v1/staff/%s/tokens",
			params: []param{{"name", "name", "what it is for: laptop, month-end script (required)", textParam},
				{"expires-in-days", "expires_in_days", "days until it expires (default 90; 0: never)", countParam}},
			show: func(w io.Writer, t client.NewPersonalToken) error {
				if err := asTable(columns, row)(w, t.Token); err != nil {
					return err
				}
				_, err := io.WriteString(w, "\nToken (shown only now; store it, e.g. in a --token-file):\n"+t.Secret+"\n")
				return err
			}}),
		changeCmd(g, change[[]client.PersonalToken]{use: "list LOGIN", short: "List a staff user's personal tokens, revoked ones too",
			args: []string{"login"}, method: http.MethodGet, path: "/api/v1/staff/%s/tokens",
			show: func(w io.Writer, ts []client.PersonalToken) error { return textout.Rows(w, ts, columns, row) }}),
		changeCmd(g, change[client.PersonalToken]{use: "revoke LOGIN ID", short: "Revoke a personal API token: refused from now on",
			args: []string{"login", "token"}, method: http.MethodPost, path: "/api/v1/staff/%s/tokens/%d/revoke",
			show: asTable(columns, row)}))
}
