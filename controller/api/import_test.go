package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// importEnv is newEnv's database and tokens behind a server that also
// serves imports, with an account type and plans to import against.
type importEnv struct {
	*env
	basic, euro billing.Plan
}

func newImportEnv(t *testing.T) *importEnv {
	t.Helper()
	e := newEnv(t)
	tokens := []api.Token{
		api.NewToken("root", api.RoleAdmin, adminToken),
		api.NewToken("clerk", api.RoleBilling, billingToken),
		api.NewToken("viewer", api.RoleReader, readerToken),
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.NewServer(api.Config{}, api.Deps{Services: e.db, Idempotency: e.db, Billing: e.db, Importer: e.db}, tokens, clock.Real{}, quiet, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL

	ctx, now := context.Background(), time.Now()
	for _, name := range []string{"residential", "Commercial"} {
		if _, err := e.db.CreateAccountType(ctx, billing.AccountType{Name: name, DueDays: 14, TimeZone: "America/Chicago"}, now); err != nil {
			t.Fatal(err)
		}
	}
	ie := &importEnv{env: e}
	var err error
	if ie.basic, err = e.db.CreatePlan(ctx, billing.Plan{Name: "Basic 25", Price: 4999, Currency: "USD"}, now); err != nil {
		t.Fatal(err)
	}
	if ie.euro, err = e.db.CreatePlan(ctx, billing.Plan{Name: "Euro 50", Price: 3900, Currency: "EUR"}, now); err != nil {
		t.Fatal(err)
	}
	return ie
}

func (e *importEnv) importCSV(query, key, csv string) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/api/v1/imports/accounts"+query, strings.NewReader(csv))
	req.Header.Set("Authorization", "Bearer "+billingToken)
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *importEnv) result(r response) billing.ImportResult {
	e.t.Helper()
	if r.status != http.StatusOK {
		e.t.Fatalf("import: %d %s", r.status, r.body)
	}
	var res billing.ImportResult
	if err := json.Unmarshal(r.body, &res); err != nil {
		e.t.Fatalf("import result: %v: %s", err, r.body)
	}
	return res
}

func (e *importEnv) counts() (accounts, services int) {
	e.t.Helper()
	ctx := context.Background()
	as, err := e.db.Accounts(ctx, billing.AccountFilter{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	ss, err := e.db.Services(ctx, billing.ServiceFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(as), len(ss)
}

const goodImport = `external_id,name,email,account_type,currency,address_line1,city,service_name,pop,plan,start_date,method,addresses,radius_username
c-1,Jane Doe,jane@example.net,residential,USD,"1 Main St
Apt 2",Austin,home,north-1,Basic 25,2025-03-15,routeros,100.64.1.20;100.64.1.21,
c-1,Jane Doe,jane@example.net,residential,USD,"1 Main St
Apt 2",Austin,cabin,south-1,Basic 25,2025-02-01,radius,,jane@isp
c-2,ACME Corp,,commercial,usd,,,,,,,,,
c-3,Hans Euro,,residential,EUR,,,fiber,north-1,Euro 50,2025-04-01,log,,
`

func TestImportAccountsCSV(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	res := e.result(e.importCSV("", "import-1", goodImport))
	if res.Rows != 4 || res.Accounts != 3 || res.AccountsCreated != 3 || res.AccountsExisting != 0 ||
		res.ServicesCreated != 3 || res.ServicesExisting != 0 || res.Skipped != 0 || len(res.Errors) != 0 || res.DryRun {
		t.Fatalf("first import: %+v", res)
	}
	ctx := context.Background()
	accounts, _ := e.db.Accounts(ctx, billing.AccountFilter{Search: "c-1"})
	if len(accounts) != 1 {
		t.Fatalf("accounts for c-1: %+v", accounts)
	}
	jane := accounts[0]
	if jane.Name != "Jane Doe" || jane.Email != "jane@example.net" || jane.Currency != "USD" || jane.Address.Line1 != "1 Main St\nApt 2" {
		t.Errorf("jane = %+v", jane)
	}
	if want := billing.NewDate(2025, 2, 1); jane.AnchorDate != want {
		t.Errorf("jane's anchor date %s, want her earliest service start %s", jane.AnchorDate, want)
	}
	services, _ := e.db.Services(ctx, billing.ServiceFilter{})
	byName := map[string]billing.Service{}
	for _, s := range services {
		byName[s.Name] = s
	}
	home := byName["home"]
	if home.AccountID == nil || *home.AccountID != jane.ID || home.PlanID == nil || *home.PlanID != e.basic.ID ||
		home.StartDate != billing.NewDate(2025, 3, 15) || home.POP != "north-1" || home.Binding.Method != billing.MethodRouterOS ||
		len(home.Binding.Addresses) != 2 || home.DesiredState != billing.StateActive {
		t.Errorf("home = %+v", home)
	}
	if cabin := byName["cabin"]; cabin.Binding.RADIUSUsername != "jane@isp" || cabin.StartDate != billing.NewDate(2025, 2, 1) {
		t.Errorf("cabin = %+v", cabin)
	}
	if fiber := byName["fiber"]; fiber.PlanID == nil || *fiber.PlanID != e.euro.ID {
		t.Errorf("fiber = %+v", fiber)
	}

	// The same key replays the first answer; a new key imports again and
	// creates nothing.
	if r := e.importCSV("", "import-1", goodImport); r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("same key was not replayed: %d %s", r.status, r.body)
	}
	again := e.result(e.importCSV("", "import-2", goodImport))
	if again.AccountsCreated != 0 || again.ServicesCreated != 0 || again.AccountsExisting != 3 || again.ServicesExisting != 3 {
		t.Fatalf("re-import: %+v, want nothing created", again)
	}
	// A file adding a service to an existing account creates just that.
	more := goodImport + "c-2,ACME Corp,,commercial,USD,,,office,north-1,Basic 25,2025-05-01,log,,\n"
	res = e.result(e.importCSV("", "import-3", more))
	if res.AccountsCreated != 0 || res.ServicesCreated != 1 || res.ServicesExisting != 3 {
		t.Fatalf("import of one more service: %+v", res)
	}
	if a, s := e.counts(); a != 3 || s != 4 {
		t.Fatalf("%d accounts and %d services, want 3 and 4", a, s)
	}

	// The operation is documented with its CSV body and its parameters.
	doc := e.do("GET", "/api/v1/openapi.json", "", "", "").json(t)
	post, _ := doc["paths"].(map[string]any)["/api/v1/imports/accounts"].(map[string]any)["post"].(map[string]any)
	if post == nil {
		t.Fatal("openapi.json lacks POST /api/v1/imports/accounts")
	}
	if _, ok := post["requestBody"].(map[string]any)["content"].(map[string]any)["text/csv"]; !ok {
		t.Errorf("the import's request body is not documented as text/csv: %v", post["requestBody"])
	}
	params, _ := json.Marshal(post["parameters"])
	for _, p := range []string{"dry_run", "skip_invalid", "Idempotency-Key"} {
		if !strings.Contains(string(params), p) {
			t.Errorf("the import does not document %s: %s", p, params)
		}
	}
}

const badImport = `external_id,name,email,account_type,currency,service_name,pop,plan,start_date,method,addresses,device,if_index,shoe_size
ok-1,Good Person,good@example.net,residential,USD,home,north-1,Basic 25,2025-01-01,log,,,,
b-1,Neg Index,,residential,USD,port,north-1,,,snmp,,olt-1,-4,
b-2,Garbled Index,,residential,USD,port,north-1,,,snmp,,olt-1,4x,
b-3,Unknown Type,,platinum,USD,,,,,,,,,
b-4,Unknown Plan,,residential,USD,home,north-1,Gold 1000,2025-01-01,log,,,,
b-5,Bad Currency,,residential,DOLLARS,,,,,,,,,
b-6,Bad Email,jane@@example,residential,USD,,,,,,,,,
b-7,Bad Date,,residential,USD,home,north-1,Basic 25,2025-13-01,log,,,,
b-8,Bad "Quote",,residential,USD,,,,,,,,,
b-9,Wrong Currency Plan,,residential,USD,home,north-1,Euro 50,2025-01-01,log,,,,
`

func TestImportAccountsCSVRefusesBadFile(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	e.result(e.importCSV("", "seed", "external_id,name,account_type,currency\nseed-1,Already Here,residential,USD\n"))
	beforeA, beforeS := e.counts()

	r := e.importCSV("", "bad-1", badImport)
	if r.status != http.StatusUnprocessableEntity || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("bad file: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var p struct {
		Detail string
		Errors []struct{ Message, Location string }
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	want := []struct{ location, fragment string }{
		{"line 1/shoe_size", `unknown column "shoe_size"`},
		{"line 3/if_index", "if_index -4 must be a positive"},
		{"line 4/if_index", `if_index "4x" is not a whole number`},
		{"line 5/account_type", `account_type "platinum" does not exist; the account types are "residential", "Commercial"`},
		{"line 6/plan", `plan "Gold 1000" does not exist`},
		{"line 7/currency", `currency "DOLLARS" is not a supported ISO 4217 code`},
		{"line 8/email", `email "jane@@example" is not an email address`},
		{"line 9/start_date", `start_date "2025-13-01" is not a calendar date`},
		{"line 10/name", `a " inside a field that is not quoted`},
		{"line 11/plan", `plan "Euro 50" is priced in EUR but the account is billed in USD`},
	}
	if len(p.Errors) != len(want) {
		t.Errorf("%d errors, want %d: %s", len(p.Errors), len(want), r.body)
	}
	for i := range min(len(p.Errors), len(want)) {
		g, w := p.Errors[i], want[i]
		line, col, _ := strings.Cut(strings.TrimPrefix(w.location, "line "), "/")
		if g.Location != w.location || !strings.Contains(g.Message, w.fragment) || !strings.HasPrefix(g.Message, "line "+line+", column "+col+": ") {
			t.Errorf("error %d = %q at %q; want %q containing %q", i, g.Message, g.Location, w.location, w.fragment)
		}
	}
	if !strings.Contains(p.Detail, "nothing was imported") {
		t.Errorf("detail %q", p.Detail)
	}
	if a, s := e.counts(); a != beforeA || s != beforeS {
		t.Fatalf("a refused file wrote: %d/%d accounts, %d/%d services", a, beforeA, s, beforeS)
	}
	// Header problems refuse the file even with skip_invalid.
	if r := e.importCSV("?skip_invalid=true", "bad-2", badImport); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad header with skip_invalid: %d %s", r.status, r.body)
	}
	if a, s := e.counts(); a != beforeA || s != beforeS {
		t.Fatalf("a refused file wrote: %d/%d accounts, %d/%d services", a, beforeA, s, beforeS)
	}
	// Reader tokens may not import; a file without a header is 422.
	if r := e.do("POST", "/api/v1/imports/accounts", readerToken, "reader-1", "x"); r.status != http.StatusForbidden {
		t.Errorf("reader import: %d %s", r.status, r.body)
	}
	if r := e.importCSV("", "empty", "\n\n"); r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "empty") {
		t.Errorf("empty file: %d %s", r.status, r.body)
	}
}

func TestImportAccountsCSVSkipInvalidAndDryRun(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	// Without the unknown column, and with a good row of b-1 as well: b-1
	// has a bad row, so it is skipped whole.
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSuffix(badImport, "\n"), "\n") {
		if i == 0 {
			line = strings.TrimSuffix(line, ",shoe_size")
		} else {
			line = strings.TrimSuffix(line, ",")
		}
		b.WriteString(line + "\n")
	}
	file := b.String() +
		"b-1,Neg Index,,residential,USD,other,north-1,,,log,,,\n" +
		"ok-2,Also Good,,Commercial,USD,,,,,,,,\n"

	dry := e.result(e.importCSV("?dry_run=true&skip_invalid=true", "dry-1", file))
	if !dry.DryRun || dry.AccountsCreated != 2 || dry.ServicesCreated != 1 || dry.Skipped != 9 || len(dry.Errors) != 9 || dry.Rows != 12 || dry.Accounts != 11 {
		t.Fatalf("dry run: %+v", dry)
	}
	if a, s := e.counts(); a != 0 || s != 0 {
		t.Fatalf("dry run wrote %d accounts and %d services", a, s)
	}
	if r := e.importCSV("?dry_run=true", "dry-2", file); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("dry run of a bad file without skip_invalid: %d %s", r.status, r.body)
	}

	res := e.result(e.importCSV("?skip_invalid=true", "skip-1", file))
	if res.DryRun || res.AccountsCreated != 2 || res.ServicesCreated != 1 || res.Skipped != 9 || len(res.Errors) != 9 {
		t.Fatalf("skip_invalid: %+v", res)
	}
	as, _ := e.db.Accounts(context.Background(), billing.AccountFilter{})
	var got []string
	for _, a := range as {
		got = append(got, a.ExternalID)
	}
	if strings.Join(got, ",") != "ok-1,ok-2" {
		t.Fatalf("imported %v, want only ok-1 and ok-2", got)
	}

	// A good file's dry run counts what it would create and writes nothing.
	dry = e.result(e.importCSV("?dry_run=true", "dry-3", goodImport))
	if dry.AccountsCreated != 3 || dry.ServicesCreated != 3 || !dry.DryRun {
		t.Fatalf("dry run of a good file: %+v", dry)
	}
	if a, _ := e.counts(); a != 2 {
		t.Fatalf("dry run wrote: %d accounts", a)
	}
}

// An account whose rows are spread over the file is imported as if its
// rows were together: its anchor date is its earliest billed service's
// start, and with skip_invalid a problem on a later row skips all of it.
func TestImportAccountsCSVSpreadAccount(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	const file = `external_id,name,account_type,currency,service_name,pop,plan,start_date,method
s-1,Split One,residential,USD,late,north-1,Basic 25,2025-06-01,log
s-2,Other,residential,USD,,,,,
s-1,Split One,residential,USD,early,north-1,Basic 25,2025-02-01,log
`
	res := e.result(e.importCSV("", "spread-1", file))
	if res.Rows != 3 || res.Accounts != 2 || res.AccountsCreated != 2 || res.ServicesCreated != 2 {
		t.Fatalf("import: %+v", res)
	}
	as, err := e.db.Accounts(context.Background(), billing.AccountFilter{Search: "s-1"})
	if err != nil || len(as) != 1 {
		t.Fatalf("s-1: %v %+v", err, as)
	}
	if want := billing.NewDate(2025, 2, 1); as[0].AnchorDate != want {
		t.Errorf("s-1's anchor date %s, want its earliest service start %s", as[0].AnchorDate, want)
	}

	const bad = `external_id,name,account_type,currency,service_name,pop,method
k-1,Keep,residential,USD,,,
x-1,Spread,residential,USD,a,north-1,log
k-2,Keep Two,residential,USD,,,
x-1,Spread Differs,residential,USD,b,north-1,log
`
	res = e.result(e.importCSV("?skip_invalid=true", "spread-2", bad))
	if res.AccountsCreated != 2 || res.Skipped != 1 || res.ServicesCreated != 0 || len(res.Errors) != 1 ||
		res.Errors[0].Line != 5 || !strings.Contains(res.Errors[0].Reason, `differs from "Spread" on line 3`) {
		t.Fatalf("skip_invalid: %+v", res)
	}
	if as, _ := e.db.Accounts(context.Background(), billing.AccountFilter{Search: "x-1"}); len(as) != 0 {
		t.Errorf("x-1 was imported: %+v", as)
	}
}
