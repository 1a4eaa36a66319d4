package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Helpers shared by the billing commands.

// money formats minor units with their currency: "USD 49.99".
func money(amount int64, c billing.Currency) string {
	return string(c) + " " + billing.FormatAmount(amount, c)
}

// parseIDOf parses a positive id of a kind of thing ("account").
func parseIDOf(kind, s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s id %q is not a positive number", kind, s)
	}
	return id, nil
}

func idPath(prefix string, id int64, suffix ...string) string {
	return prefix + "/" + strconv.FormatInt(id, 10) + strings.Join(suffix, "")
}

// joinNumbers joins numbers (ids, days) with sep.
func joinNumbers[T int | int64](v []T, sep string) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, sep)
}

// joinNonEmpty joins the parts that are not empty.
func joinNonEmpty(sep string, parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), sep)
}

// parens is "(s)", or "" for "".
func parens(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func yesNo(b bool) string { return map[bool]string{true: "yes", false: "no"}[b] }

func orDash(s string) string { return cmp.Or(s, "-") }

func dateOrDash(d billing.Date) string {
	if d.IsZero() {
		return "-"
	}
	return d.String()
}

// addKeyFlag adds --idempotency-key to a command that changes something.
func addKeyFlag(cmd *cobra.Command, key *string) {
	cmd.Flags().StringVar(key, "idempotency-key", "", "Idempotency-Key to send (default: a new random key); re-run with the same key to retry safely")
}

// pageOf is one page of a listing.
type pageOf[T any] struct {
	Items     []T   `json:"items"`
	NextAfter int64 `json:"next_after"`
}

// listAll fetches every page of a listing that pages with after=.
func listAll[T any](ctx context.Context, c *client.Client, path string, q url.Values) ([]T, error) {
	q.Set("limit", "1000")
	all := []T{}
	for {
		var p pageOf[T]
		if err := c.Do(ctx, http.MethodGet, path, q, "", nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if p.NextAfter == 0 || len(p.Items) == 0 {
			return all, nil
		}
		q.Set("after", strconv.FormatInt(p.NextAfter, 10))
	}
}

// readDocument reads a JSON or YAML file ("-": stdin) and says which it
// is (by its name, else by whether it starts with "{"); the controller
// reads either.
func readDocument(path string) (data []byte, contentType string, err error) {
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("--file: %w", err)
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".json" || (ext != ".yaml" && ext != ".yml" && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{"))) {
		return data, "application/json", nil
	}
	return data, "application/yaml", nil
}

// withID is the RunE of a command whose one argument is an id of kind: it
// parses the id, builds the API client, then runs.
func withID(g *globals, kind string, run func(cmd *cobra.Command, c *client.Client, id int64) error) func(*cobra.Command, []string) error {
	return withIDs(g, []string{kind}, func(cmd *cobra.Command, c *client.Client, ids []int64) error { return run(cmd, c, ids[0]) })
}

// idCmd is a command whose one argument is an id of kind, run by run
// once the id is parsed (withID).
func idCmd(g *globals, kind, use, short, example string, run func(cmd *cobra.Command, c *client.Client, id int64) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Example: example, Args: cobra.ExactArgs(1), RunE: withID(g, kind, run)}
}

// withIDs is withID for commands whose arguments are ids of these kinds,
// in order; every argument is checked before the client is built.
func withIDs(g *globals, kinds []string, run func(cmd *cobra.Command, c *client.Client, ids []int64) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ids := make([]int64, len(args))
		for i, a := range args {
			if kinds[i] != "account" && kinds[i] != "login" {
				var err error
				if ids[i], err = parseIDOf(kinds[i], a); err != nil {
					return err
				}
			}
		}
		c, err := g.client()
		if err != nil {
			return err
		}
		for i, a := range args { // an account may need looking up
			if kinds[i] == "account" {
				if ids[i], err = accountID(cmd.Context(), c, a); err != nil {
					return err
				}
			}
		}
		return run(cmd, c, ids)
	}
}

// accountFlag is an --account flag: an account number (A-000042), external
// id or id, resolved through accountID when the command runs.
type accountFlag struct{ ref string }

func (f *accountFlag) String() string     { return f.ref }
func (f *accountFlag) Set(s string) error { f.ref = s; return nil }
func (f *accountFlag) Type() string       { return "account" }

// id resolves the flag; 0 when not given. Errors: a number that is no id
// ("--account -1 is not an account id"), else accountID's.
func (f *accountFlag) id(ctx context.Context, c *client.Client) (int64, error) {
	ref := strings.TrimSpace(f.ref)
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id <= 0 {
		return 0, fmt.Errorf("--account %d is not an account id", id)
	} else if ref == "" {
		return 0, nil
	}
	return accountID(ctx, c, ref)
}

// withClient is the RunE of a command that needs the API client: it builds
// the client, then runs.
func withClient(g *globals, run func(cmd *cobra.Command, c *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := g.client()
		if err != nil {
			return err
		}
		return run(cmd, c, args)
	}
}

// accountID is the id of the account a command's ACCOUNT argument (or
// --account flag) names, the way the controller resolves a batch line's
// account: an id (all digits, used as it is, without a request), else an
// account number (A-000042), else an external id (exact matches, after
// trimming spaces). Errors: an empty ref, no such account, or the API's.
func accountID(ctx context.Context, c *client.Client, ref string) (int64, error) {
	ref = strings.TrimSpace(ref)
	if _, err := strconv.ParseUint(ref, 10, 64); err == nil {
		return parseIDOf("account", ref)
	} else if ref == "" {
		return 0, fmt.Errorf("ACCOUNT is empty: give an account id, number (A-000042) or external id")
	}
	found, err := listAll[billing.Account](ctx, c, "/api/v1/accounts", url.Values{"q": {ref}})
	if err != nil {
		return 0, err
	}
	var byExternalID int64
	for _, a := range found {
		if a.Number == ref {
			return a.ID, nil
		}
		if a.ExternalID == ref && byExternalID == 0 {
			byExternalID = a.ID
		}
	}
	if byExternalID != 0 {
		return byExternalID, nil
	}
	return 0, fmt.Errorf("account %q: no account has this number or external id", ref)
}

// cell flattens text staff or a bank file entered (a payer on two lines of
// a check scan, say) for a table or key-value cell; "-" if empty.
func cell(s string) string {
	return orDash(strings.Join(strings.Fields(s), " "))
}

// accountLabel names an account: "A-000042 Jane Doe (id 42)".
func accountLabel(id int64, a *billing.Account) string {
	if a == nil || a.ID != id {
		return fmt.Sprintf("id %d", id)
	}
	return fmt.Sprintf("%s %s (id %d)", a.Number, cell(a.Name), a.ID)
}

// orPrintJSON returns err when there is one (printing nothing), else
// prints v as JSON.
func orPrintJSON(cmd *cobra.Command, v any, err error) error {
	if err != nil {
		return err
	}
	return printJSON(cmd.OutOrStdout(), v)
}
