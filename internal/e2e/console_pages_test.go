package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/oidctest"
)

// consoleCustomer creates a residential type (pauses of up to 30 days),
// plans Fiber 50 and Fiber 100, and Jane Doe's account with a Fiber 50
// service from the first of this month, invoiced by a billing run the
// controller's job runner finishes. It returns the account.
func consoleCustomer(t *testing.T, c *consoleEnv) billing.Account {
	t.Helper()
	ctx := context.Background()
	var typ billing.AccountType
	must(t, c.API.Do(ctx, http.MethodPost, "/api/v1/account-types", nil, client.NewIdempotencyKey(), map[string]any{
		"name": "residential", "billing_mode": "fixed_day", "billing_day": 1, "due_days": 14, "grace_days": 7, "time_zone": "UTC",
		"auto_suspend": true, "reactivation_rule": "past_due", "lifecycle": map[string]any{"max_pause_days": 30}}, &typ))
	var plans [2]billing.Plan
	for i, p := range []billing.Plan{{Name: "Fiber 50", Price: 5000, Currency: "USD"}, {Name: "Fiber 100", Price: 8000, Currency: "USD"}} {
		must(t, c.API.Do(ctx, http.MethodPost, "/api/v1/plans", nil, client.NewIdempotencyKey(), p, &plans[i]))
	}
	var a billing.Account
	must(t, c.API.Do(ctx, http.MethodPost, "/api/v1/accounts", nil, client.NewIdempotencyKey(), billing.NewAccount{
		Name: "Jane Doe", Email: "jane@example.net", Phone: "512-555-0142", AccountTypeID: typ.ID, Currency: "USD",
		Address: billing.Address{Line1: "12 Prairie Rd", City: "Austin", Region: "TX", PostalCode: "78701", Country: "US"}}, &a))
	today := billing.DateOf(time.Now().UTC())
	first := billing.NewDate(today.Year, today.Month, 1)
	_, err := c.API.CreateService(ctx, client.NewIdempotencyKey(), billing.NewService{POP: "north", Name: "fiber",
		Binding: billing.Binding{Method: "log", Addresses: []string{"100.64.0.10"}}, AccountID: &a.ID, PlanID: &plans[0].ID, StartDate: first})
	must(t, err)
	var runs struct {
		Items []billing.BillingRun `json:"items"`
	}
	must(t, c.API.Do(ctx, http.MethodPost, "/api/v1/billing-runs", nil, client.NewIdempotencyKey(),
		map[string]any{"account_type_id": typ.ID, "date": first}, &runs))
	waitFor(t, 30*time.Second, "the billing run to invoice Jane", func() bool {
		var inv struct {
			Items []billing.Invoice `json:"items"`
		}
		return c.API.Do(ctx, http.MethodGet, "/api/v1/invoices", map[string][]string{"account_id": {fmt.Sprint(a.ID)}}, "", nil, &inv) == nil && len(inv.Items) == 1
	})
	return a
}

// TestConsoleAccountPagesInTheBrowser walks an admin through search, the
// account page and the confirmation of every account action, the
// settings and the reports, in Chromium: axe-core finds nothing on any of them and each is
// kept as a screenshot. A reader's account page shows no action, and the
// server refuses the reader's post anyway.
func TestConsoleAccountPagesInTheBrowser(t *testing.T) {
	c := startConsole(t)
	a := consoleCustomer(t, c)
	admin := c.addStaff(t, "ada", "admin")
	ctx := newBrowser(t, true)
	c.signIn(ctx, t, admin, nil)
	checkPage(ctx, t, "dashboard-admin")

	// Search: "/" focuses the field; typing lists the account.
	do(ctx, t, "the / key", chromedp.KeyEvent("/"))
	waitFocus(ctx, t, "search")
	runJS(ctx, t, "clearing the field", `document.querySelector("#search").value = ""`) // the key's character, if the browser typed it too
	do(ctx, t, "typing a search", chromedp.SendKeys(`#search`, "jane\r"))
	waitJS(ctx, t, "the search results", `document.querySelector("#results table")`)
	waitText(ctx, t, "#results", a.Number)
	checkPage(ctx, t, "search-results")

	account := fmt.Sprintf("%s/accounts/%d", c.URL, a.ID)
	do(ctx, t, "the account page", chromedp.Navigate(account))
	waitText(ctx, t, "h1", "Jane Doe")
	waitText(ctx, t, "main", "100.64.0.10")
	checkPage(ctx, t, "account")
	runJS(ctx, t, "opening every action", `document.querySelectorAll("details").forEach(d => d.open = true)`)
	checkPage(ctx, t, "account-actions")

	// Each action's confirmation.
	today := billing.DateOf(time.Now().UTC())
	for _, c2 := range []struct{ action, fill string }{
		{"payment", `f.amount.value = "20.00"; f.reference.value = "1042"; f.payer.value = "Jane Doe"`},
		{"credit", `f.amount.value = "5.00"; f.memo.value = "outage on the 3rd"`},
		{"charge", `f.description.value = "Router"; f.amount.value = "79.00"`},
		{"promise", fmt.Sprintf(`f.until.value = %q; f.note.value = "pays Friday by phone"`, today.AddDays(5))},
		{"exemption", `f.reason.value = "hospital line"`},
		{"edit", `f.phone.value = "512-555-0199"; f.reason.value = "new number"`},
		{"plan-change", `f.plan_id.selectedIndex = 2; f.reason.value = "upgrade"`},
		{"pause", fmt.Sprintf(`f.from.value = %q; f.to.value = %q; f.reason.value = "travelling"`, today.AddDays(3), today.AddDays(10))},
		{"cancel", `f.reason.value = "moving away"`},
		{"move", `f.pop.value = "south"; f.reason.value = "moved house"`},
		{"close", `f.reason.value = "moving away"`},
	} {
		do(ctx, t, "the account page", chromedp.Navigate(account))
		waitJS(ctx, t, "the "+c2.action+" form", fmt.Sprintf(`document.querySelector('form[action$="/act/%s"]')`, c2.action))
		runJS(ctx, t, "reviewing "+c2.action, fmt.Sprintf(`const f = document.querySelector('form[action$="/act/%s"]'); %s; f.submit()`, c2.action, c2.fill))
		waitJS(ctx, t, "the confirmation of "+c2.action, `document.querySelector("h1").textContent.includes("confirm") || document.querySelector(".alert.error")`)
		if msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(".alert.error") ? document.querySelector(".alert.error").textContent : ""`)); msg != "" {
			t.Errorf("reviewing %s: %s", c2.action, msg)
			continue
		}
		checkPage(ctx, t, "confirm-"+c2.action)
	}

	// Confirm the payment for real: the account shows it, posted by ada.
	do(ctx, t, "the account page", chromedp.Navigate(account))
	runJS(ctx, t, "reviewing a payment", `const f = document.querySelector('form[action$="/act/payment"]'); f.amount.value = "20.00"; f.method.value = "cash"; f.submit()`)
	waitJS(ctx, t, "the payment's confirmation", `document.querySelector("h1").textContent.includes("confirm")`)
	do(ctx, t, "confirming", chromedp.Click(`form button.primary`))
	waitText(ctx, t, ".alert.notice", "Done: record a payment")
	waitText(ctx, t, "main", "user:ada")

	// Settings.
	for _, p := range []struct{ path, name, text string }{
		{"/settings", "settings", "Staff users"},
		{fmt.Sprintf("/settings/types/%d", 1), "settings-type", "is issued on"},
		{"/settings/plans/1", "settings-plan", "Price versions"},
		{"/password", "password", "Change the password"},
		{"/reports", "reports", "Closing the books"},
		{"/reports?report=ar-aging", "report-aging", "Aging as of"},
		{"/reports?report=tax&from=2026-01-01&to=2026-12-31", "report-tax", "Tax liability 2026-01-01 to 2026-12-31"},
		{"/reports?report=payments&from=2026-01-01&to=2026-12-31", "report-payments", "Payments 2026-01-01 to 2026-12-31"},
		{"/reports?report=revenue&from=2026-01-01&to=2026-12-31", "report-revenue", "Revenue 2026-01-01 to 2026-12-31"},
		{"/reports?report=collections&from=2026-01-01&to=2026-12-31", "report-collections", "Collections 2026-01-01 to 2026-12-31"},
	} {
		do(ctx, t, p.name, chromedp.Navigate(c.URL+p.path))
		waitText(ctx, t, "main", p.text)
		checkPage(ctx, t, p.name)
	}

	// A reader: no action on the account page, and the server refuses.
	reader := c.addStaff(t, "rita", "reader")
	rctx := newBrowser(t, true)
	c.signIn(rctx, t, reader, nil)
	do(rctx, t, "the reader's account page", chromedp.Navigate(account))
	waitText(rctx, t, "h1", "Jane Doe")
	checkPage(rctx, t, "account-reader")
	if n, _ := chromedp.Run(rctx, chromedp.Evaluate[int](`document.querySelectorAll('form[action*="/act/"], form[method="post"]:not([action$="/signout"])').length`)); n != 0 {
		t.Errorf("the reader's account page has %d forms that change something", n)
	}
	status, err := chromedp.Run(rctx, chromedp.Evaluate[int](fmt.Sprintf(`(async () => {
		const csrf = document.querySelector('input[name="csrf"]').value;
		const r = await fetch("/staff/accounts/%d/act/payment", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
			body: new URLSearchParams({csrf: csrf, amount: "5.00", method: "cash", step: "apply", idem: "reader-try-1"})});
		return r.status;
	})()`, a.ID), chromedp.EvalAwaitPromise))
	must(t, err)
	if status != http.StatusForbidden {
		t.Errorf("a reader's payment post: %d, want 403", status)
	}
	var pays struct {
		Items []billing.Payment `json:"items"`
	}
	must(t, c.API.Do(context.Background(), http.MethodGet, "/api/v1/payments", map[string][]string{"account_id": {fmt.Sprint(a.ID)}}, "", nil, &pays))
	if len(pays.Items) != 1 {
		t.Errorf("payments: %d, want the admin's one", len(pays.Items))
	}
}

// TestConsoleSSOInTheBrowser signs a person in through a real OpenID
// Connect provider (zitadel's, run by the test) from the console's sign-in
// page: the provider's login form, back to the dashboard with the role
// the rules give; a person no rule maps is shown why on the sign-in page.
func TestConsoleSSOInTheBrowser(t *testing.T) {
	httpAddr := freeAddr(t)
	callback := "http://" + httpAddr + "/staff/sso/callback"
	provider := oidctest.Start(t, []string{callback},
		oidctest.User{Username: "ann", Password: "ann's password", FirstName: "Ann", LastName: "Lee", Email: "ann@isp.example",
			EmailVerified: true, IDTokenClaims: map[string]any{"groups": []string{"tollgate-billing"}}},
		oidctest.User{Username: "mal", Password: "mal's password", FirstName: "Mal", Email: "mal@elsewhere.example", EmailVerified: true})
	c := startConsoleAt(t, httpAddr, fmt.Sprintf(`  sso:
    name: Prairie Fiber account
    issuer: %q
    client_id: %q
    client_secret: %q
    redirect_url: %q
    rules:
      - {claim: groups, value: tollgate-billing, role: billing}`, provider.Issuer, provider.ClientID, provider.ClientSecret, callback))

	for _, p := range []struct {
		user, password string
		ok             bool
	}{{"ann", "ann's password", true}, {"mal", "mal's password", false}} {
		ctx := newBrowser(t, true)
		do(ctx, t, "the sign-in page", chromedp.Navigate(c.URL+"/signin"), chromedp.WaitVisible(`#login`))
		do(ctx, t, "single sign-on", chromedp.Click(`a[href*="/sso/start"]`))
		waitJS(ctx, t, "the provider's login form", `document.querySelector('input[name="username"]')`)
		do(ctx, t, "signing in at the provider", chromedp.SendKeys(`input[name="username"]`, p.user),
			chromedp.SendKeys(`input[name="password"]`, p.password+"\r"))
		if p.ok {
			waitJS(ctx, t, "the dashboard", `location.pathname === "/staff/" && document.querySelector("h1").textContent === "Dashboard"`)
			waitText(ctx, t, "header", "Ann Lee · billing")
			checkPage(ctx, t, "sso-dashboard")
			continue
		}
		waitText(ctx, t, ".alert.error", "Single sign-on did not work")
		checkPage(ctx, t, "sso-refused")
		{ // the unmapped person got no staff user
			var users []map[string]any
			must(t, c.API.Do(context.Background(), http.MethodGet, "/api/v1/staff", nil, "", nil, &users))
			for _, u := range users {
				if u["login"] == "mal" {
					t.Errorf("a staff user was made for an unmapped person")
				}
			}
		}
	}
}

// runJS runs JavaScript statements in the page, failing the test on an
// exception.
func runJS(ctx context.Context, t *testing.T, what, code string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("(() => { "+code+"; return true })()")); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestConsoleRunsSuspensionsTicketsInTheBrowser: an admin previews and
// starts a billing run and watches it finish, approves a suspension batch
// the blast-radius guard held after a real sweep, and answers a ticket —
// axe-core finds nothing on each page, each kept as a screenshot.
func TestConsoleRunsSuspensionsTicketsInTheBrowser(t *testing.T) {
	// A guard that holds any sweep suspending more than one service at a POP.
	c := startConsoleConfig(t, freeAddr(t), "", "delinquency: {guard: {min_services: 1, pop_percent: 1, median_factor: 1}}")
	ctx0 := context.Background()
	var typ billing.AccountType
	must(t, c.API.Do(ctx0, http.MethodPost, "/api/v1/account-types", nil, client.NewIdempotencyKey(), billing.AccountType{
		Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1, DueDays: 14, GraceDays: 7, TimeZone: "UTC",
		DelinquencyWeekdays: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, AutoSuspend: true, ReactivationRule: billing.ReactivatePastDue}, &typ))
	var accts []billing.Account
	for i, name := range []string{"Jane Doe", "Joe Roe", "Ann Lee"} {
		var a billing.Account
		must(t, c.API.Do(ctx0, http.MethodPost, "/api/v1/accounts", nil, client.NewIdempotencyKey(), billing.NewAccount{
			Name: name, Email: fmt.Sprintf("sub%d@example.net", i), AccountTypeID: typ.ID, Currency: "USD"}, &a))
		_, err := c.API.CreateService(ctx0, client.NewIdempotencyKey(), billing.NewService{POP: "north", Name: "fiber",
			Binding: billing.Binding{Method: "log", Addresses: []string{fmt.Sprintf("100.64.0.%d", 10+i)}}, AccountID: &a.ID})
		must(t, err)
		accts = append(accts, a)
	}
	insertOverdueInvoice(t, c.DBURL, accts[0].ID, 6500)
	insertOverdueInvoice(t, c.DBURL, accts[1].ID, 4200)
	res, err := c.API.RunSweep(ctx0, client.NewIdempotencyKey(), typ.ID, false)
	must(t, err)
	if res.Held == 0 {
		t.Fatalf("the sweep held nothing: %+v", res)
	}
	var ticket int64
	conn := connectDB(t, c.DBURL)
	must(t, conn.QueryRow(ctx0, `WITH tk AS (INSERT INTO tickets (account_id, subject, created_at, updated_at) VALUES ($1, 'Slow in the evenings', now(), now()) RETURNING id)
		INSERT INTO ticket_messages (ticket_id, author_kind, author, body, created_at) SELECT id, 'subscriber', 'A-000003', 'Speeds drop after 7pm.', now() FROM tk RETURNING ticket_id`,
		accts[2].ID).Scan(&ticket))

	admin := c.addStaff(t, "ada", "admin")
	ctx := newBrowser(t, true)
	c.signIn(ctx, t, admin, nil)

	// Billing runs: preview (the confirmation), start, progress to the end.
	do(ctx, t, "the billing runs", chromedp.Navigate(c.URL+"/runs"))
	waitText(ctx, t, "h1", "Billing runs")
	checkPage(ctx, t, "runs")
	today := billing.DateOf(time.Now().UTC())
	runJS(ctx, t, "the preview form", fmt.Sprintf(`const f = document.querySelector('form[action$="/runs/preview"]'); f.date.value = %q; f.submit()`, today.AddDays(1)))
	waitJS(ctx, t, "the run's preview", `document.querySelector("#start-run")`)
	checkPage(ctx, t, "run-preview")
	do(ctx, t, "starting the run", chromedp.Click(`#start-run`))
	waitJS(ctx, t, "the run page", `/\/staff\/runs\/\d+$/.test(location.pathname)`)
	waitText(ctx, t, "#run-progress", "Completed")
	checkPage(ctx, t, "run")

	// Suspensions: the held batch, approve all after the confirmation.
	do(ctx, t, "the suspensions", chromedp.Navigate(c.URL+"/suspensions"))
	waitText(ctx, t, "main", "Batch #")
	checkPage(ctx, t, "suspensions")
	runJS(ctx, t, "opening the batch", `document.querySelector('main a[href*="/suspensions/"]').click()`)
	waitJS(ctx, t, "the batch", `document.querySelector('button[value="approve-all"]')`)
	checkPage(ctx, t, "suspension-batch")
	do(ctx, t, "approve all", chromedp.Click(`button[value="approve-all"]`))
	waitJS(ctx, t, "the confirmation", `document.querySelector("#confirm-decision")`)
	checkPage(ctx, t, "suspension-confirm")
	do(ctx, t, "confirming", chromedp.Click(`#confirm-decision`))
	waitJS(ctx, t, "the decision", `!document.querySelector("#confirm-decision")`)
	batches, err := c.API.SuspensionBatches(ctx0, "pending")
	must(t, err)
	if len(batches) != 0 {
		t.Errorf("after approving, %d batches still pending", len(batches))
	}

	// Tickets: the queue, the thread, a reply.
	do(ctx, t, "the tickets", chromedp.Navigate(c.URL+"/tickets"))
	waitText(ctx, t, "main", "Slow in the evenings")
	checkPage(ctx, t, "tickets")
	do(ctx, t, "the ticket", chromedp.Navigate(fmt.Sprintf("%s/tickets/%d", c.URL, ticket)))
	waitJS(ctx, t, "the reply field", `document.querySelector("#reply")`)
	checkPage(ctx, t, "ticket")
	do(ctx, t, "replying", chromedp.SendKeys(`#reply`, "We raised your line's priority; tell us if it helps."),
		chromedp.Click(`form[action$="/replies"] button`))
	waitText(ctx, t, "main", "We raised your line")
	var n int
	must(t, conn.QueryRow(ctx0, `SELECT count(*) FROM ticket_messages WHERE ticket_id = $1 AND author_kind = 'staff' AND author = 'ada'`, ticket).Scan(&n))
	if n != 1 {
		t.Errorf("staff replies by ada: %d, want 1", n)
	}
}
