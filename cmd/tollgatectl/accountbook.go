package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

func isNotFound(err error) bool {
	var p *client.Problem
	return errors.As(err, &p) && p.Status == http.StatusNotFound
}

func isUnprocessable(err error) bool {
	var p *client.Problem
	return errors.As(err, &p) && p.Status == http.StatusUnprocessableEntity
}

// bookListAllOver is how many unknown accounts an accountBook looks up one
// by one; more, and it lists every account instead (1,000 per request).
const bookListAllOver = 50

// accountBook finds accounts the way the controller resolves a batch line's
// account: by account number first, else by external id, else by numeric
// id (exact matches, after trimming spaces). It keeps what it fetched.
type accountBook struct {
	c     *client.Client
	byID  map[int64]*billing.Account
	byRef map[string]*billing.Account // nil: no such account
	// all is set once every account was listed; then byNumber and byExt
	// index them.
	all             bool
	byNumber, byExt map[string]*billing.Account
}

func newAccountBook(c *client.Client) *accountBook {
	return &accountBook{c: c, byID: map[int64]*billing.Account{}, byRef: map[string]*billing.Account{}}
}

func (b *accountBook) keep(a billing.Account) *billing.Account {
	p := &a
	b.byID[a.ID] = p
	return p
}

func (b *accountBook) loadAll(ctx context.Context) error {
	if b.all {
		return nil
	}
	all, err := listAll[billing.Account](ctx, b.c, "/api/v1/accounts", nil)
	if err != nil {
		return err
	}
	b.byNumber, b.byExt = make(map[string]*billing.Account, len(all)), make(map[string]*billing.Account, len(all))
	for _, a := range all {
		p := b.keep(a)
		b.byNumber[a.Number] = p
		if a.ExternalID != "" {
			b.byExt[a.ExternalID] = p
		}
	}
	b.all = true
	return nil
}

// numericRef reports whether ref is an account id as the controller reads
// one: 1 to 18 digits.
func numericRef(ref string) (int64, bool) {
	if len(ref) == 0 || len(ref) > 18 {
		return 0, false
	}
	for _, r := range ref {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	return id, err == nil
}

// fetchIDs makes sure the accounts with these ids are known (ids of
// accounts that do not exist stay unknown).
func (b *accountBook) fetchIDs(ctx context.Context, ids []int64) error {
	var missing []int64
	seen := map[int64]bool{}
	for _, id := range ids {
		if id > 0 && b.byID[id] == nil && !seen[id] {
			seen[id] = true
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 || b.all {
		return nil
	}
	if len(missing) > bookListAllOver {
		return b.loadAll(ctx)
	}
	for _, id := range missing {
		a, err := getAccount(ctx, b.c, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		b.keep(a.Account)
	}
	return nil
}

// resolve looks up the accounts refs name; lookup then answers.
func (b *accountBook) resolve(ctx context.Context, refs []string) error {
	var missing []string
	long := false
	seen := map[string]bool{}
	for _, r := range refs {
		r = strings.TrimSpace(r)
		if _, known := b.byRef[r]; known || r == "" || seen[r] {
			continue
		}
		seen[r] = true
		missing = append(missing, r)
		long = long || len(r) > 100 // longer than a search may be
	}
	if len(missing) == 0 {
		return nil
	}
	if len(missing) > bookListAllOver || long {
		if err := b.loadAll(ctx); err != nil {
			return err
		}
	}
	for _, r := range missing {
		if b.all {
			b.byRef[r] = b.match(r)
			continue
		}
		a, err := b.search(ctx, r)
		if err != nil {
			return err
		}
		b.byRef[r] = a
	}
	return nil
}

func (b *accountBook) match(ref string) *billing.Account {
	if a := b.byNumber[ref]; a != nil {
		return a
	}
	if a := b.byExt[ref]; a != nil {
		return a
	}
	if id, ok := numericRef(ref); ok {
		return b.byID[id]
	}
	return nil
}

func (b *accountBook) search(ctx context.Context, ref string) (*billing.Account, error) {
	found, err := listAll[billing.Account](ctx, b.c, "/api/v1/accounts", url.Values{"q": {ref}})
	if err != nil {
		return nil, err
	}
	var ext *billing.Account
	for _, a := range found {
		p := b.keep(a)
		if a.Number == ref {
			return p, nil
		}
		if a.ExternalID == ref && ext == nil {
			ext = p
		}
	}
	if ext != nil {
		return ext, nil
	}
	id, ok := numericRef(ref)
	if !ok {
		return nil, nil
	}
	if a := b.byID[id]; a != nil {
		return a, nil
	}
	a, err := getAccount(ctx, b.c, id)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return b.keep(a.Account), nil
}

// lookup returns the account ref names (after resolve), or nil.
func (b *accountBook) lookup(ref string) *billing.Account { return b.byRef[strings.TrimSpace(ref)] }

// findAccount finds the account a command's ACCOUNT argument (or --account
// flag) names: an id (all digits), or an account number (A-000042) or
// external id. Commands that need only the id use resolveIDOf and
// accountIDOf, which follow the same rule. Errors: an empty ref, no such
// account, or the API's.
func findAccount(ctx context.Context, c *client.Client, ref string) (billing.Account, error) {
	ref = strings.TrimSpace(ref)
	if _, err := strconv.ParseUint(ref, 10, 64); err == nil {
		id, err := parseIDOf("account", ref)
		if err != nil {
			return billing.Account{}, err
		}
		a, err := getAccount(ctx, c, id)
		return a.Account, err
	}
	if ref == "" {
		return billing.Account{}, fmt.Errorf("ACCOUNT is empty: give an account id, number (A-000042) or external id")
	}
	book := newAccountBook(c)
	if err := book.resolve(ctx, []string{ref}); err != nil {
		return billing.Account{}, err
	}
	if a := book.lookup(ref); a != nil {
		return *a, nil
	}
	return billing.Account{}, fmt.Errorf("account %q: no account has this number or external id", ref)
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
