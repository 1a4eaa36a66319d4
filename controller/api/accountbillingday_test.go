package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// An account's billing-day override can be set when it is created and in
// the import, as account edit sets it: a day of the month, and only on a
// fixed_day account type; anything else is refused naming billing_day,
// with nothing written.
func TestBillingDayOverrideOnCreateAndImport(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	ctx := context.Background()
	fixed, err := e.db.CreateAccountType(ctx, billing.AccountType{Name: "fixed", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		DueDays: 14, TimeZone: "America/Chicago"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	anniversary, err := e.db.CreateAccountType(ctx, billing.AccountType{Name: "anniversary", BillingMode: billing.BillingAnniversary,
		DueDays: 14, TimeZone: "America/Chicago"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	before, _ := e.counts()
	for _, c := range []struct {
		typ  int64
		day  string
		want string
	}{
		{fixed.ID, "40", `"location":"body.billing_day"`}, // the schema's range
		{fixed.ID, "-1", `"location":"body.billing_day"`},
		{anniversary.ID, "15", `billing_day: account type \"anniversary\" bills on each account's anniversary`},
	} {
		body := `{"name":"Jane","currency":"USD","account_type_id":` + strconv.FormatInt(c.typ, 10) + `,"billing_day":` + c.day + `}`
		r := e.do("POST", "/api/v1/accounts", billingToken, "bad-"+c.day+strconv.FormatInt(c.typ, 10), body)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), c.want) {
			t.Errorf("billing_day %s on type %d: %d %s, want 422 saying %q", c.day, c.typ, r.status, r.body, c.want)
		}
	}
	if a, _ := e.counts(); a != before {
		t.Fatalf("refused creates wrote %d accounts", a-before)
	}
	r := e.do("POST", "/api/v1/accounts", billingToken, "good", `{"name":"Jane","currency":"USD","account_type_id":`+strconv.FormatInt(fixed.ID, 10)+`,"billing_day":15}`)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created billing.Account
	if err := json.Unmarshal(r.body, &created); err != nil {
		t.Fatal(err)
	}
	if got, err := e.db.Account(ctx, created.ID); err != nil || got.BillingDay != 15 || created.BillingDay != 15 {
		t.Fatalf("stored billing day %d (answered %d) %v, want 15", got.BillingDay, created.BillingDay, err)
	}

	const header = "external_id,name,account_type,currency,billing_day\n"
	bad := header + "d-1,Day X,fixed,USD,x\n" + "d-2,Day 32,fixed,USD,32\n" + "d-3,Anniversary,anniversary,USD,10\n"
	before, _ = e.counts()
	r = e.importCSV("", "bad-days", bad)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad file: %d %s", r.status, r.body)
	}
	var problem struct{ Errors []struct{ Message string } }
	if err := json.Unmarshal(r.body, &problem); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, m := range problem.Errors {
		msgs = append(msgs, m.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{`line 2, column billing_day: billing_day "x" is not a day of the month`,
		"line 3, column billing_day: billing_day 32 is not a day of the month",
		`line 4, column billing_day: billing_day: account type "anniversary" bills on each account's anniversary`} {
		if !strings.Contains(all, want) {
			t.Errorf("the refusal lacks %q: %s", want, all)
		}
	}
	if len(msgs) != 3 {
		t.Errorf("%d problems, want one per bad line: %s", len(msgs), all)
	}
	if a, _ := e.counts(); a != before {
		t.Fatalf("a refused file wrote %d accounts", a-before)
	}
	res := e.result(e.importCSV("", "good-days", header+"d-4,Day 20,fixed,USD,20\n"+"d-5,Type's Day,fixed,USD,\n"))
	if res.AccountsCreated != 2 || len(res.Errors) != 0 {
		t.Fatalf("import: %+v", res)
	}
	for ext, want := range map[string]int{"d-4": 20, "d-5": 0} {
		as, err := e.db.Accounts(ctx, billing.AccountFilter{Search: ext})
		if err != nil || len(as) != 1 || as[0].BillingDay != want {
			t.Errorf("%s: %+v %v, want billing day %d", ext, as, err, want)
		}
	}
}
