package main

import (
	"context"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TestAccountEditAndHistoryEndToEnd edits an account through the real API
// (the CLI reads the version and sends it as If-Match) and reads the edit
// back in the account's history.
func TestAccountEditAndHistoryEndToEnd(t *testing.T) {
	db, url, accts := newCollectionsController(t)
	c := cli{t, url}
	jane := jsonInt(accts[0].ID)

	c.fails("nothing to change", "account", "edit", jane, "--reason", "just because")
	c.fails(`email "not-an-address" is not an email address`, "account", "edit", jane, "--email", "not-an-address")
	out := c.ok("account", "edit", jane, "--email", "jane@example.org", "--company", "Doe Farms", "--city", "Austin", "--reason", "customer called")
	expectRow(t, out, "email", `"sub@example.net"`, `"jane@example.org"`)
	expectRow(t, out, "company_name", `""`, `"Doe Farms"`)
	expectOut(t, out, "address", `"city":"Austin"`, "Account A-000001 is at version 2 (changed: yes).")
	expectOut(t, c.ok("account", "edit", "A-000001", "--email", "jane@example.org"), "version 2 (changed: no)")

	a, err := db.Account(context.Background(), accts[0].ID)
	if err != nil || a.Email != "jane@example.org" || a.CompanyName != "Doe Farms" || a.Address.City != "Austin" || a.Version != 2 {
		t.Fatalf("stored %+v (%v)", a, err)
	}
	// Someone else's edit between the CLI's read and its PATCH is refused:
	// here, an edit from the version before.
	if _, err := db.EditAccount(context.Background(), accts[0].ID, 1, billing.AccountEdit{Phone: new(string)}, "other", collectionsNow); billing.ErrorCode(err) != billing.EPRECONDITION {
		t.Errorf("stale edit: %v", err)
	}
	out = c.ok("account", "history", jane)
	expectOut(t, out, "AT", "KIND", "edit", "user:root", "changed address, company_name, email: customer called")
}

// TestAccountCloseAndReopenEndToEnd closes an account through the real API
// (the client reads the version and sends it as If-Match) and reopens it.
func TestAccountCloseAndReopenEndToEnd(t *testing.T) {
	db, url, accts := newCollectionsController(t)
	c := cli{t, url}
	jane := jsonInt(accts[0].ID)
	expectOut(t, c.ok("account", "close", jane, "--reason", "moving away"), `"status": "closed"`, `"account_close"`)
	c.fails("already closed", "account", "close", jane)
	if a, err := db.Account(context.Background(), accts[0].ID); err != nil || a.Status != billing.AccountClosed {
		t.Fatalf("stored %+v (%v)", a, err)
	}
	expectOut(t, c.ok("account", "reopen", jane), `"status": "current"`)
	expectOut(t, c.ok("account", "history", jane), "moving away")
}

// TestAccountEditOverridesAndTaxExemption sets, changes and clears an
// account's own billing settings and its tax exemption through the CLI.
func TestAccountEditOverridesAndTaxExemption(t *testing.T) {
	db, url, accts := newCollectionsController(t)
	c := cli{t, url}
	jane := jsonInt(accts[0].ID)
	c.fails(`overrides "grace=3"`, "account", "edit", jane, "--overrides", "grace=3")
	c.fails("overrides.grace_days -3", "account", "edit", jane, "--overrides", "grace_days=-3")
	out := c.ok("account", "edit", jane, "--overrides", "grace_days=14; reactivation_rule=full_balance;invoice_message=Thank you, neighbour", "--tax-exempt", "TX-9")
	expectOut(t, out, "overrides", "tax_exempt", "exemption_certificate", "version 2 (changed: yes)")
	c.ok("account", "edit", jane, "--overrides", "grace_days=inherit;late_fee=false")
	a, err := db.Account(context.Background(), accts[0].ID)
	if err != nil || a.Overrides.GraceDays != nil || a.Overrides.LateFee == nil || *a.Overrides.LateFee ||
		a.Overrides.ReactivationRule == nil || *a.Overrides.ReactivationRule != billing.ReactivateFullBalance ||
		a.Overrides.InvoiceMessage == nil || *a.Overrides.InvoiceMessage != "Thank you, neighbour" || !a.TaxExempt || a.ExemptionCertificate != "TX-9" {
		t.Fatalf("stored %+v (%v)", a, err)
	}
	c.ok("account", "edit", jane, "--tax-exempt", "")
	if a, err = db.Account(context.Background(), accts[0].ID); err != nil || a.TaxExempt || a.ExemptionCertificate != "" {
		t.Errorf("after ending the exemption: %+v (%v)", a, err)
	}
}
