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

func isUnprocessable(err error) bool {
	var p *client.Problem
	return errors.As(err, &p) && p.Status == http.StatusUnprocessableEntity
}

// findAccount finds the account a command's ACCOUNT argument (or --account
// flag) names, the way the controller resolves a batch line's account: an
// id (all digits), else an account number (A-000042), else an external id
// (exact matches, after trimming spaces). Commands that need only the id
// use resolveIDOf and accountIDOf, which follow the same rule. Errors: an
// empty ref, no such account, or the API's.
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
	found, err := listAll[billing.Account](ctx, c, "/api/v1/accounts", url.Values{"q": {ref}})
	if err != nil {
		return billing.Account{}, err
	}
	var ext *billing.Account
	for i, a := range found {
		if a.Number == ref {
			return a, nil
		}
		if a.ExternalID == ref && ext == nil {
			ext = &found[i]
		}
	}
	if ext != nil {
		return *ext, nil
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
