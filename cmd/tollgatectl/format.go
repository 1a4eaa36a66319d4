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
	"text/tabwriter"
	"unicode/utf8"

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

// table is every command's table: rows of cells aligned in columns under
// a header, two spaces apart. Each cell is fmt.Sprint of its value with
// control characters escaped (escapeControl) and tabs and line breaks shown
// as spaces, so a cell is one cell of one line whatever the data holds.
type table struct{ tw *tabwriter.Writer }

// newTable starts a table on w with these column headers (none: no header
// line).
func newTable(w io.Writer, columns ...string) *table {
	t := &table{tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(columns) > 0 {
		fmt.Fprintln(t.tw, strings.Join(columns, "\t"))
	}
	return t
}

// row adds a row of cells.
func (t *table) row(cells ...any) {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(cellFlattener.Replace(escapeControl(fmt.Sprint(c))))
	}
	b.WriteByte('\n')
	_, _ = io.WriteString(t.tw, b.String())
}

var cellFlattener = strings.NewReplacer("\t", " ", "\n", " ")

// flush writes the table out. Errors: the writer's.
func (t *table) flush() error { return t.tw.Flush() }

// skip, as a value of printFields, leaves its row out.
type skip struct{}

// printFields is every command's key/value view: label, value pairs as
// aligned "Label: value" rows, each value printed with fmt.Sprint; a
// value skip{} leaves its row out (see only). Errors: the writer's.
func printFields(w io.Writer, pairs ...any) error {
	t := newTable(w)
	for i := 0; i+1 < len(pairs); i += 2 {
		if _, ok := pairs[i+1].(skip); !ok {
			fmt.Fprintf(t.tw, "%s:\t%v\n", pairs[i], pairs[i+1])
		}
	}
	return t.flush()
}

// printBullets prints "\nTitle:" and the items as a bulleted list; with
// no items, nothing unless always. It says whether it printed.
func printBullets(w io.Writer, title string, items []string, always bool) bool {
	if len(items) == 0 && !always {
		return false
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for _, it := range items {
		fmt.Fprintf(w, "  - %s\n", it)
	}
	return true
}

// only is v if cond, else skip{} (printFields leaves the row out).
func only(cond bool, v any) any {
	if cond {
		return v
	}
	return skip{}
}

// orSkip is *p, or skip{} for nil.
func orSkip[T any](p *T) any {
	if p == nil {
		return skip{}
	}
	return *p
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

// escapeControl makes text that came from data safe to print on a terminal:
// every control character except newline and tab (C0, DEL and C1) and every
// byte that is not UTF-8 is shown as an escape (\x1b, \r, \u009b), so a
// name or memo cannot move the cursor, recolour or clear the screen, or
// hide what precedes it. tollgatectl's standard output and error messages
// go through it (controlEscaper, main).
func escapeControl(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// controlEscaper is a writer that escapes control characters
// (escapeControl) in what it writes to w; every command's standard output
// is one. Binary output (a PDF to stdout) goes to rawOut instead.
type controlEscaper struct{ w io.Writer }

func (e controlEscaper) Write(p []byte) (int, error) {
	if _, err := io.WriteString(e.w, escapeControl(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// rawOut is the writer under w's control-character escaping, for binary
// output.
func rawOut(w io.Writer) io.Writer {
	if e, ok := w.(controlEscaper); ok {
		return e.w
	}
	return w
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
