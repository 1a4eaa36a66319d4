package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

// The generic commands. A listing GETs every page of a path, sends its
// flags as query parameters and prints the items as JSON (-o json) or a
// table; a show command GETs one thing; a change command sends its flags
// as a JSON body. The controller checks what the flags hold and names a
// bad one in its answer.

// param is a flag a command sends as a query parameter or a field of its
// JSON body (key); a usage ending in "(required)" makes the flag required.
type param struct {
	flag, key, usage string
	kind             paramKind
}

type paramKind int

const (
	textParam     paramKind = iota // a string, sent trimmed if not empty
	wordParam                      // a string sent trimmed and in lower case ("CHECK" is check)
	dateParam                      // YYYY-MM-DD, sent if given; the controller reads it
	idParam                        // a number, sent if not 0
	switchParam                    // a boolean flag, sent as true when given
	accountParam                   // an account number, external id or id (accountFlag), sent as its id
	applyToParam                   // INVOICE:AMOUNT,… sent as a list of {invoice, amount}
	listParam                      // a repeatable string flag, sent as a list if given
	givenParam                     // a string sent as typed when the flag is given, even empty
	accountsParam                  // a repeatable accountParam, sent as a list of ids if given
	countParam                     // a number sent when the flag is given, even 0
	fileParam                      // a file's name, its contents sent without the final line break
)

// addParams adds the flags of ps to cmd; the function it returns reads the
// flags given into values by key (resolving an account flag through c).
// Errors: a --date that is no date, or resolving an account's.
func addParams(cmd *cobra.Command, ps []param) func(context.Context, *client.Client) (map[string]any, error) {
	vals := make([]any, len(ps))
	f := cmd.Flags()
	for i, p := range ps {
		switch p.kind {
		case idParam, countParam:
			vals[i] = f.Int64(p.flag, 0, p.usage)
		case switchParam:
			vals[i] = f.Bool(p.flag, false, p.usage)
		case listParam, accountsParam:
			vals[i] = f.StringSlice(p.flag, nil, p.usage)
		case accountParam:
			a := &accountFlag{}
			f.Var(a, p.flag, p.usage+" (account number A-000042, external id or id)")
			vals[i] = a
		default:
			vals[i] = f.String(p.flag, "", p.usage)
		}
		if strings.HasSuffix(p.usage, "(required)") {
			_ = cmd.MarkFlagRequired(p.flag)
		}
	}
	return func(ctx context.Context, c *client.Client) (map[string]any, error) {
		m := map[string]any{}
		for i, p := range ps {
			switch x := vals[i].(type) {
			case *int64:
				if *x != 0 || p.kind == countParam && cmd.Flags().Changed(p.flag) {
					setKey(m, p.key, *x)
				}
			case *bool:
				if *x {
					setKey(m, p.key, true)
				}
			case *[]string:
				if len(*x) == 0 || p.kind == listParam {
					if len(*x) > 0 {
						setKey(m, p.key, *x)
					}
					continue
				}
				ids := make([]int64, len(*x))
				for j, ref := range *x {
					var err error
					if ids[j], err = (&accountFlag{ref}).id(ctx, c); err != nil {
						return nil, err
					}
				}
				setKey(m, p.key, ids)
			case *accountFlag:
				id, err := x.id(ctx, c)
				if err != nil {
					return nil, err
				}
				if id > 0 {
					setKey(m, p.key, id)
				}
			case *string:
				v := strings.TrimSpace(*x)
				if p.kind == givenParam && cmd.Flags().Changed(p.flag) {
					setKey(m, p.key, *x)
					continue
				}
				if v != "" && p.kind == fileParam {
					data, err := os.ReadFile(v)
					if err != nil {
						return nil, fmt.Errorf("--%s: %w", p.flag, err)
					}
					v = strings.TrimRight(string(data), "\r\n")
				}
				if p.kind == wordParam {
					v = strings.ToLower(v)
				}
				if v != "" && p.kind == applyToParam {
					list, err := parseApplyTo(v)
					if err != nil {
						return nil, err
					}
					setKey(m, p.key, list)
				} else if v != "" {
					setKey(m, p.key, v)
				}
			}
		}
		return m, nil
	}
}

// setDefaults gives flags (name, value pairs) of cmd a default value.
func setDefaults(cmd *cobra.Command, nameValues ...string) {
	for i := 0; i+1 < len(nameValues); i += 2 {
		_ = cmd.Flags().Set(nameValues[i], nameValues[i+1])
		cmd.Flags().Lookup(nameValues[i]).DefValue = nameValues[i+1]
	}
}

// setKey sets m[key] to v; a dotted key ("address.line1") sets a field
// of a nested object.
func setKey(m map[string]any, key string, v any) {
	if outer, inner, ok := strings.Cut(key, "."); ok {
		sub, _ := m[outer].(map[string]any)
		if sub == nil {
			sub = map[string]any{}
			m[outer] = sub
		}
		setKey(sub, inner, v)
		return
	}
	m[key] = v
}

// asQuery is values as query parameters.
func asQuery(m map[string]any) url.Values {
	q := url.Values{}
	for k, v := range m {
		q.Set(k, fmt.Sprint(v))
	}
	return q
}

// listing describes a listing command.
type listing[T any] struct {
	use, short, long, example string
	args                      []string // the kinds of the id arguments, for the path's %d
	path                      string   // GET, paged with after= and next_after
	params                    []param  // flags sent as query parameters
	// limit, if set, adds --limit N (this default) and shows one page of
	// at most N items instead of every page.
	limit   int
	headers string        // the table's column headers, comma-separated
	row     func(T) []any // one item's cells
	// print, if set, prints the items instead of the table (JSON output
	// still prints them as they are).
	print func(w io.Writer, items []T) error
	// expand, if set, completes each item for the table (not for -o
	// json), with what the listing leaves out and the row shows.
	expand func(ctx context.Context, c *client.Client, item T) (T, error)
}

// listCmd makes a listing command: a GET change command whose answer is
// every page, or with limit one.
func listCmd[T any](g *globals, l listing[T]) *cobra.Command {
	limit := l.limit
	cmd := changeCmd(g, change[[]T]{use: l.use, short: l.short, long: l.long, example: l.example, args: l.args, method: http.MethodGet, params: l.params,
		send: func(ctx context.Context, c *client.Client, ids []int64, _ string, query map[string]any) ([]T, error) {
			path, q := l.path, asQuery(query)
			for _, id := range ids {
				path = strings.Replace(path, "%d", strconv.FormatInt(id, 10), 1)
			}
			p := pageOf[T]{Items: []T{}}
			var err error
			if l.limit == 0 {
				p.Items, err = listAll[T](ctx, c, path, q)
			} else {
				q.Set("limit", strconv.Itoa(limit))
				err = c.Do(ctx, http.MethodGet, path, q, "", nil, &p)
			}
			for i := 0; err == nil && l.expand != nil && !g.json() && i < len(p.Items); i++ {
				p.Items[i], err = l.expand(ctx, c, p.Items[i])
			}
			return p.Items, err
		},
		show: func(w io.Writer, items []T) error {
			if l.print != nil {
				return l.print(w, items)
			}
			return textout.Rows(w, items, l.headers, l.row)
		}})
	if l.limit > 0 {
		cmd.Flags().IntVar(&limit, "limit", l.limit, "how many to show")
	}
	return cmd
}

// printList prints items as JSON (-o json), else as a table (textout.Rows).
func printList[T any](w io.Writer, g *globals, items []T, headers string, row func(T) []any) error {
	if g.json() {
		if items == nil {
			items = []T{}
		}
		return printJSON(w, items)
	}
	return textout.Rows(w, items, headers, row)
}

// asTable prints one item as a table with these headers and its row.
func asTable[T any](headers string, row func(T) []any) func(io.Writer, T) error {
	return func(w io.Writer, v T) error { return textout.Rows(w, []T{v}, headers, row) }
}

// showCmd is a command that GETs one thing by its id (path/ID, or path
// with the id for its %d) and prints it as JSON (-o json) or with show.
func showCmd[T any](g *globals, use, short, example, kind, path string, show func(io.Writer, T) error) *cobra.Command {
	if !strings.Contains(path, "%d") {
		path += "/%d"
	}
	return changeCmd(g, change[T]{use: use, short: short, example: example, args: []string{kind}, method: http.MethodGet, show: show, path: path})
}

// change describes a command that sends one change: its arguments are ids
// of these kinds (withIDs; a "login" is a staff user's, kept as typed), then
// the text argument textArg if set; its flags (params) are its JSON body
// (GET: its query), and the answer is printed by print (-o json: as it is).
type change[T any] struct {
	use, short, long, example string
	args                      []string // the kinds of the id arguments
	textArg                   string   // if set, the body key of a last argument sent as typed
	method                    string
	path                      string // the arguments in order: a login for a %s, an id for a %d
	params                    []param
	defaults                  []string // flag, value pairs: the flags' defaults (setDefaults)
	// noKey: the request or its answer carries a secret (a password, a
	// token, a TOTP secret), so it takes no Idempotency-Key and has no
	// --idempotency-key.
	noKey bool
	// clear, if set, is the usage of --clear: DELETE the same path instead,
	// without a body; it excludes the params, and it or the first param is
	// needed.
	clear string
	// send, if set, sends the change instead of one request to path (to
	// send If-Match, or flags as query parameters).
	send  func(ctx context.Context, c *client.Client, ids []int64, key string, body map[string]any) (T, error)
	print func(cmd *cobra.Command, c *client.Client, ids []int64, v T) error
	show  func(w io.Writer, v T) error // prints the answer when print is not set
}

// changeCmd makes a change command.
func changeCmd[T any](g *globals, ch change[T]) *cobra.Command {
	var key string
	var clear bool
	nargs := len(ch.args)
	if ch.textArg != "" {
		nargs++
	}
	cmd := &cobra.Command{Use: ch.use, Short: ch.short, Long: ch.long, Example: ch.example, Args: cobra.ExactArgs(nargs)}
	if nargs == 0 {
		cmd.Args = cobra.NoArgs // a word after the command is an unknown subcommand
	}
	body := addParams(cmd, ch.params)
	setDefaults(cmd, ch.defaults...)
	if ch.method != http.MethodGet && !ch.noKey {
		addKeyFlag(cmd, &key)
	}
	if ch.clear != "" {
		cmd.Flags().BoolVar(&clear, "clear", false, ch.clear)
		for _, p := range ch.params {
			cmd.MarkFlagsMutuallyExclusive("clear", p.flag)
		}
		cmd.MarkFlagsOneRequired(ch.params[0].flag, "clear")
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return withIDs(g, ch.args, func(cmd *cobra.Command, c *client.Client, ids []int64) error {
			in, err := body(cmd.Context(), c)
			if err != nil {
				return err
			}
			if ch.textArg != "" {
				in[ch.textArg] = args[len(ch.args)]
			}
			var out T
			path, idemKey := ch.path, orNewKey(key)
			for i, kind := range ch.args {
				if kind == "login" {
					path = strings.Replace(path, "%s", url.PathEscape(args[i]), 1)
				} else {
					path = strings.Replace(path, "%d", strconv.FormatInt(ids[i], 10), 1)
				}
			}
			if ch.noKey {
				idemKey = ""
			}
			switch method, send := ch.method, any(in); {
			case ch.send != nil:
				out, err = ch.send(cmd.Context(), c, ids, idemKey, in)
			case method == http.MethodGet:
				err = c.Do(cmd.Context(), method, path, asQuery(in), "", nil, &out)
			default:
				if clear {
					method = http.MethodDelete
				}
				if len(ch.params) == 0 && ch.textArg == "" || clear {
					send = nil // no body
				}
				err = c.Do(cmd.Context(), method, path, nil, idemKey, send, &out)
			}
			if err != nil || g.json() {
				return orPrintJSON(cmd, out, err)
			} else if ch.show != nil {
				return ch.show(cmd.OutOrStdout(), out)
			}
			return ch.print(cmd, c, ids, out)
		})(cmd, args[:len(ch.args)])
	}
	return cmd
}

// sayf prints a sentence to the command's output. Errors: the writer's.
func sayf(cmd *cobra.Command, format string, a ...any) error {
	_, err := fmt.Fprintf(cmd.OutOrStdout(), format, a...)
	return err
}

// get GETs path into a T. Errors: the API's.
func get[T any](ctx context.Context, c *client.Client, path string) (T, error) {
	var v T
	err := c.Do(ctx, http.MethodGet, path, nil, "", nil, &v)
	return v, err
}

// parseApplyTo reads --apply-to INV:AMOUNT,… (invoice number or id, a
// decimal in the account's currency) as the API's apply_to.
func parseApplyTo(s string) ([]map[string]string, error) {
	var out []map[string]string
	for _, part := range strings.Split(s, ",") {
		inv, amount, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || inv == "" || amount == "" {
			return nil, fmt.Errorf("--apply-to %q: want INVOICE:AMOUNT[,INVOICE:AMOUNT…], e.g. INV-000012:25.00", part)
		}
		out = append(out, map[string]string{"invoice": inv, "amount": amount})
	}
	return out, nil
}
