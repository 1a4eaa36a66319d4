package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// consoleAccounts creates accounts A-000001…A-00000n (USD); the first
// owes one open invoice of 65.00, the one a clerk ticks.
func consoleAccounts(t *testing.T, c *consoleEnv, n int) {
	t.Helper()
	ctx := context.Background()
	var typ billing.AccountType
	must(t, c.API.Do(ctx, http.MethodPost, "/api/v1/account-types", nil, client.NewIdempotencyKey(), billing.AccountType{
		Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1, DueDays: 14, GraceDays: 7, TimeZone: "UTC"}, &typ))
	for i := range n {
		var a billing.Account
		must(t, c.API.Do(ctx, http.MethodPost, "/api/v1/accounts", nil, client.NewIdempotencyKey(), billing.NewAccount{
			Name: fmt.Sprintf("Subscriber %c", 'A'+i), Email: "sub@example.net", AccountTypeID: typ.ID, Currency: "USD"}, &a))
		if i == 0 {
			insertOverdueInvoice(t, c.DBURL, a.ID, 6500)
		}
	}
}

// openBatch opens a batch from the batch list with the keyboard and waits
// for its entry screen, returning its path.
func openBatch(ctx context.Context, t *testing.T, c *consoleEnv, count, total string) string {
	t.Helper()
	do(ctx, t, "the batch list", chromedp.Navigate(c.URL+"/batches"), chromedp.WaitVisible(`#control_count`))
	do(ctx, t, "opening a batch", chromedp.SendKeys(`#control_count`, count), chromedp.SendKeys(`#control_total`, total+kb.Enter))
	waitJS(ctx, t, "the new batch's entry screen", `/^\/staff\/batches\/\d+$/.test(location.pathname) && document.querySelector("#account")`)
	loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	must(t, err)
	return strings.TrimPrefix(loc, "/staff")
}

// TestConsoleBatchEntryFromTheKeyboard is the one-window batch entry in
// Chromium: a clerk signs in with password and TOTP, opens a batch for 10
// checks, enters each from the keyboard alone (the account typed, Enter
// picks it and shows its snapshot, Space ticks the invoice, Tab through
// method, check number, payer, amount, Enter adds the line and the cursor
// is back in the account field) while the running total climbs to the
// control total, meets a duplicate-check warning and a refused amount on
// the way, posts the batch and downloads its deposit slip. axe-core finds
// nothing on each page state; screenshots are kept.
func TestConsoleBatchEntryFromTheKeyboard(t *testing.T) {
	c := startConsole(t)
	consoleAccounts(t, c, 3)
	u := c.addStaff(t, "clara", "billing")
	ctx := newBrowser(t, true)
	c.signIn(ctx, t, u, func(page string) { checkPage(ctx, t, "console-"+page) })
	checkPage(ctx, t, "console-dashboard")

	// Ten checks: 10.00, 11.00, … 19.00 = 145.00, check 5 repeating check 2's number on the same account.
	do(ctx, t, "the batch list", chromedp.Navigate(c.URL+"/batches"), chromedp.WaitVisible(`#control_count`))
	checkPage(ctx, t, "console-batches")
	path := openBatch(ctx, t, c, "10", "145.00")
	waitFocus(ctx, t, "account")
	for i := range 10 {
		acct := fmt.Sprintf("A-%06d", i%3+1)
		number := fmt.Sprint(5001 + i)
		if i == 4 {
			number = "5002" // as line 2, on A-000002: a duplicate check
		}
		// The account, typed; Enter picks it and shows its snapshot. Line 3
		// is found by name instead: Down goes to the match, Enter picks it.
		waitFocus(ctx, t, "account")
		typed := acct
		if i == 2 {
			typed = "criber C"
		}
		do(ctx, t, "typing the account", chromedp.KeyEvent(typed))
		waitJS(ctx, t, "the search-as-you-type matches", fmt.Sprintf(`document.querySelector('#account-results button[value=%q]')`, acct))
		if i == 2 {
			do(ctx, t, "going to the match", chromedp.KeyEvent(kb.ArrowDown))
			waitJS(ctx, t, "the focus on the match", fmt.Sprintf(`document.activeElement.value === %q`, acct))
		}
		do(ctx, t, "picking the account", chromedp.KeyEvent(kb.Enter))
		waitText(ctx, t, "#snap-h", acct)
		if acct == "A-000001" {
			// A-000001 owes an invoice: the focus is on it; Space ticks it
			// (the first time), Tab leaves it and the method.
			waitFocus(ctx, t, "invoice-0")
			keys := kb.Tab + kb.Tab
			if i == 0 {
				keys = " " + keys
			}
			do(ctx, t, "the invoice", chromedp.KeyEvent(keys))
		} else {
			waitFocus(ctx, t, "method")
			do(ctx, t, "leaving the method", chromedp.KeyEvent(kb.Tab))
		}
		waitFocus(ctx, t, "reference")
		amount := fmt.Sprintf("%d.00", 10+i)
		if i == 6 {
			// A mistyped amount: refused, named, the line not added.
			do(ctx, t, "a bad amount", chromedp.KeyEvent(number+kb.Tab+"Payer "+acct+kb.Tab+"1.234"+kb.Enter))
			waitJS(ctx, t, "the amount's error", `document.querySelector("#amount-err")`)
			waitFocus(ctx, t, "amount")
			waitText(ctx, t, "#running-total", "6 payments")
			checkPage(ctx, t, "console-batch-error")
			do(ctx, t, "correcting the amount", chromedp.KeyEvent(strings.Repeat(kb.Backspace, 5)+amount+kb.Enter))
		} else {
			do(ctx, t, "the rest of the line", chromedp.KeyEvent(number+kb.Tab+"Payer "+acct+kb.Tab+amount+kb.Enter))
		}
		waitText(ctx, t, "#running-total", fmt.Sprintf("%d payments", i+1))
		switch i {
		case 2:
			checkPage(ctx, t, "console-batch-lines")
		case 4:
			waitText(ctx, t, "#line-5", "Warning:")
			waitText(ctx, t, "#batch-messages", "Line 5, check no.")
			checkPage(ctx, t, "console-batch-warning")
		}
	}
	waitText(ctx, t, "#difference", "balanced")
	waitText(ctx, t, "#running-total", "10 payments · 145.00")
	if applied, err := chromedp.Run(ctx, chromedp.Text(`#line-1`)); err != nil || !strings.Contains(applied, "INV-E2E-") {
		t.Fatalf("line 1 is applied to the ticked invoice: %q %v", applied, err)
	}

	// Post, after the confirmation.
	do(ctx, t, "the confirmation", chromedp.Navigate(c.URL+path+"/post"), chromedp.WaitVisible(`#post-confirm`))
	waitText(ctx, t, "#confirm-h", "Post batch")
	waitText(ctx, t, ".confirm", "The batch matches them.")
	checkPage(ctx, t, "console-batch-confirm")
	do(ctx, t, "posting", chromedp.Click(`#post-confirm`))
	waitJS(ctx, t, "the posted batch", `document.querySelector("#deposit-slip")`)
	waitText(ctx, t, "#batch-messages", "is posted: 10 payments")
	checkPage(ctx, t, "console-batch-posted")
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#deposit-slip").getAttribute("href")`))
	must(t, err)
	status, ctype, pdf := c.fetchAsBrowser(ctx, t, href)
	if status != http.StatusOK || ctype != "application/pdf" || !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatalf("the deposit slip: %d %s %.40q", status, ctype, pdf)
	}
}

// TestConsoleBatchWithoutJavaScript: the same flow on plain form posts,
// the page's scripts disabled: open, add lines (Enter picks the account,
// Enter adds), validate, post.
func TestConsoleBatchWithoutJavaScript(t *testing.T) {
	c := startConsole(t)
	consoleAccounts(t, c, 2)
	u := c.addStaff(t, "nora", "billing")
	ctx := newBrowser(t, false)
	c.signIn(ctx, t, u, nil)
	if on, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof htmx !== "undefined"`)); err != nil || on {
		t.Fatalf("htmx ran with the page's scripts disabled (%v)", err)
	}

	path := openBatch(ctx, t, c, "2", "30.00")
	for i, acct := range []string{"A-000001", "A-000002"} {
		waitFocus(ctx, t, "account")
		do(ctx, t, "typing the account", chromedp.KeyEvent(acct+kb.Enter))
		waitText(ctx, t, "#snap-h", acct)
		do(ctx, t, "the line", chromedp.SendKeys(`#reference`, fmt.Sprint(7001+i)), chromedp.SendKeys(`#amount`, fmt.Sprintf("%d.00", 10+10*i)+kb.Enter))
		waitText(ctx, t, "#running-total", fmt.Sprintf("%d payments", i+1))
	}
	waitText(ctx, t, "#difference", "balanced")
	do(ctx, t, "validating", chromedp.Navigate(c.URL+path+"/validation"))
	waitText(ctx, t, "#validation-h", "Validation")
	waitText(ctx, t, "main", "Every line is valid")
	do(ctx, t, "the confirmation", chromedp.Navigate(c.URL+path+"/post"), chromedp.WaitVisible(`#post-confirm`))
	do(ctx, t, "posting", chromedp.Click(`#post-confirm`))
	waitText(ctx, t, "#batch-messages", "is posted: 2 payments")
	status, _, pdf := c.fetchAsBrowser(ctx, t, "/staff"+path+"/deposit-slip.pdf")
	if status != http.StatusOK || !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatalf("the deposit slip: %d %.40q", status, pdf)
	}
}
