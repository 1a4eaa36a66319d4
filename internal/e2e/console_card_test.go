package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Staff taking a card over the phone type it into the processor's fields
// on the account page (the sandbox's iframe, its own origin), review, and
// confirm: the card is on file and the payment posted.
func TestConsoleTakesACardByPhoneInTheBrowser(t *testing.T) {
	c := startConsole(t)
	a := consoleCustomer(t, c)
	clerk := c.addStaff(t, "clara", "billing")
	ctx := newBrowser(t, true)
	c.signIn(ctx, t, clerk, nil)

	account := fmt.Sprintf("%s/accounts/%d", c.URL, a.ID)
	do(ctx, t, "the account page", chromedp.Navigate(account))
	runJS(ctx, t, "opening the card form", `document.querySelector('form[action$="/act/card"]').closest("details").open = true`)
	typeCard(ctx, t, "4242 4242 4242 4242", "12/34", "123")
	do(ctx, t, "the amount", chromedp.SendKeys(`#card-amount`, "12.00"), chromedp.Click(`#card-review`))
	waitText(ctx, t, "main", "Save the card or bank account")
	waitText(ctx, t, "main", "charge USD 12.00")
	do(ctx, t, "confirming", chromedp.Click(`main form button[type=submit]`))
	waitText(ctx, t, "main", "Done: take a card or bank account by phone")

	var methods struct {
		Items []billing.StoredMethod `json:"items"`
	}
	must(t, c.API.Do(context.Background(), "GET", fmt.Sprintf("/api/v1/accounts/%d/payment-methods", a.ID), nil, "", nil, &methods))
	if len(methods.Items) != 1 || methods.Items[0].Last4 != "4242" {
		t.Fatalf("methods on file: %+v", methods.Items)
	}
	var attempts struct {
		Items []billing.PaymentAttempt `json:"items"`
	}
	must(t, c.API.Do(context.Background(), "GET", fmt.Sprintf("/api/v1/accounts/%d/payment-attempts", a.ID), nil, "", nil, &attempts))
	if len(attempts.Items) != 1 || attempts.Items[0].Status != "succeeded" || attempts.Items[0].Amount != 1200 {
		t.Fatalf("attempts: %+v", attempts.Items)
	}
}
