package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// tollgatectl runs the real CLI against base as the admin and decodes its
// -o json answer into out (when not nil).
func tollgatectl(t *testing.T, base string, out any, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "tollgatectl"), append([]string{"--server", base, "-o", "json"}, args...)...)
	cmd.Env = append(cmd.Environ(), "TOLLGATE_TOKEN="+adminToken)
	b, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("tollgatectl %s: %v\n%s%s", strings.Join(args, " "), err, b, stderr)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("tollgatectl %s -o json: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	return string(b)
}

// lineAmounts is an invoice's lines as "description = amount".
func lineAmounts(lines []billing.InvoiceLine) []string {
	var out []string
	for _, l := range lines {
		out = append(out, fmt.Sprintf("%s = %d", l.Description, l.Amount))
	}
	return out
}

// TestMovedServiceCancelledAndPlanChangedOnTheNextInvoice drives a
// service's life through the real binaries on the controller's dev clock
// (UTC, periods on the 1st, invoices 3 days ahead, on_cancel: remove):
// two services of one account on Fiber 50 (50.00) from Mar 1 2027 are
// invoiced for March; on Mar 10 the suspended one moves from north-1 to
// south-1 (read back there) and the other goes to Fiber 100 (80.00) from
// Mar 10; on Mar 15 the moved one is cancelled (tollgatectl service
// cancel), so south-1's agent removes its address-list entry; the April
// invoice then carries Fiber 100 for April, the plan change's credit of
// 22 of 31 days of Fiber 50 (-35.48) and charge of 22 of 31 days of
// Fiber 100 (56.77), and the cancellation's credit of the 17 invoiced days
// from Mar 15 (-27.42) — and nothing for the cancelled service in April.
func TestMovedServiceCancelledAndPlanChangedOnTheNextInvoice(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "controller.yaml")
	write(t, cfg, fmt.Sprintf(`
database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true, heartbeat_interval: 500ms}
dev: {clock_api: true, clock_start: "2027-02-20T12:00:00Z"}
api:
  tokens:
    - {name: ops, role: admin, token: %q}
`, dbURL, httpAddr, grpcAddr, adminToken))
	start(t, "tollgate-controller", nil, "--config", cfg)
	base := "http://" + httpAddr
	waitHTTP(t, base+"/readyz", 200, 60*time.Second)
	api := client.New(base, adminToken)
	north, south := startRouterPOP(t, "north-1", grpcAddr), startRouterPOP(t, "south-1", grpcAddr)

	// The type: nobody is swept (the invoices stay unpaid), changes go on
	// the next invoice as requested, a cancelled service leaves its POP.
	var typ billing.AccountType
	must(t, api.Do(ctx, http.MethodPost, "/api/v1/account-types", nil, client.NewIdempotencyKey(), map[string]any{
		"name": "residential", "billing_mode": "fixed_day", "billing_day": 1, "invoice_lead_days": 3, "due_days": 14, "grace_days": 30,
		"time_zone": "UTC", "auto_suspend": false,
		"lifecycle": map[string]any{"plan_change_timing": "as_requested", "change_invoicing": "next_invoice", "on_cancel": "remove"},
	}, &typ))
	var fiber50, fiber100 billing.Plan
	must(t, api.Do(ctx, http.MethodPost, "/api/v1/plans", nil, client.NewIdempotencyKey(),
		billing.Plan{Name: "Fiber 50", Price: 5000, Currency: "USD", Interval: billing.IntervalMonthly}, &fiber50))
	must(t, api.Do(ctx, http.MethodPost, "/api/v1/plans", nil, client.NewIdempotencyKey(),
		billing.Plan{Name: "Fiber 100", Price: 8000, Currency: "USD", Interval: billing.IntervalMonthly}, &fiber100))
	var acct billing.Account
	must(t, api.Do(ctx, http.MethodPost, "/api/v1/accounts", nil, client.NewIdempotencyKey(), map[string]any{
		"name": "Jane Doe", "email": "jane@example.net", "account_type_id": typ.ID, "currency": "USD"}, &acct))

	const oldAddr, newAddr, upgradedAddr = "100.64.1.20", "100.64.9.20", "100.64.9.30"
	march := billing.NewDate(2027, 3, 1)
	moving, err := api.CreateService(ctx, client.NewIdempotencyKey(), billing.NewService{POP: "north-1", Name: "Jane, fiber", State: billing.StateSuspended,
		Binding:   billing.Binding{Method: billing.MethodRouterOS, Device: "edge", Addresses: []string{oldAddr}},
		AccountID: &acct.ID, PlanID: &fiber50.ID, StartDate: march})
	must(t, err)
	upgraded, err := api.CreateService(ctx, client.NewIdempotencyKey(), billing.NewService{POP: "south-1", Name: "Jane, shop",
		Binding:   billing.Binding{Method: billing.MethodRouterOS, Device: "edge", Addresses: []string{upgradedAddr}},
		AccountID: &acct.ID, PlanID: &fiber50.ID, StartDate: march})
	must(t, err)
	waitFor(t, 15*time.Second, "the suspension confirmed at north-1", func() bool {
		s, err := api.Service(ctx, moving.ID)
		return err == nil && s.Confirmed() && north.listed(oldAddr)
	})

	// Feb 27: March was invoiced on Feb 26, both services at 50.00.
	tollgatectl(t, base, nil, "dev", "advance", "7d")
	invoices := func() []billing.Invoice {
		t.Helper()
		var list []billing.Invoice
		tollgatectl(t, base, &list, "invoice", "list", "--account", strconv.FormatInt(acct.ID, 10))
		return list
	}
	if got := invoices(); len(got) != 1 || got[0].Total != 10000 || got[0].Period.Start != march {
		t.Fatalf("after Feb 26's run: invoices %+v, want March's of USD 100.00", got)
	}

	// Mar 10: the suspended service moves to south-1, confirmed there by
	// read-back; the other goes to Fiber 100 from today.
	tollgatectl(t, base, nil, "dev", "advance", "11d")
	var moved client.ServiceChange
	tollgatectl(t, base, &moved, "service", "move", strconv.FormatInt(moving.ID, 10),
		"--pop", "south-1", "--address", newAddr, "--reason", "subscriber moved house", "--wait", "15s")
	if !moved.Changed || moved.RemovedFrom != "north-1" || !moved.Service.Confirmed() || !south.listed(newAddr) {
		t.Fatalf("move: %+v; south-1 lists %+v", moved, south.sim.Entries(suspendedList))
	}
	waitFor(t, 15*time.Second, "the old entry gone from north-1's router", func() bool { return !north.listed(oldAddr) })

	var change client.LifecycleResult
	tollgatectl(t, base, &change, "service", "change", strconv.FormatInt(upgraded.ID, 10),
		"--plan", strconv.FormatInt(fiber100.ID, 10), "--from", "2027-03-10", "--reason", "upgrade")
	wantChange := []string{
		"Fiber 50 → Fiber 100 from Mar 10: credit 22 of 31 days",
		"Fiber 50 → Fiber 100 from Mar 10: charge 22 of 31 days",
	}
	if got := change.Plan.Lines; change.Preview || change.Service == nil || change.Service.PlanID == nil || *change.Service.PlanID != fiber100.ID ||
		len(got) != 2 || got[0].Amount != -3548 || got[1].Amount != 5677 || change.Plan.Invoicing != billing.InvoiceOnNext ||
		!strings.HasPrefix(got[0].Description, wantChange[0]) || !strings.HasPrefix(got[1].Description, wantChange[1]) {
		t.Fatalf("plan change answered %+v, want credit -3548 and charge 5677 on the next invoice", change)
	}

	// Mar 15: the moved service is cancelled from today; on_cancel remove
	// takes its entry off south-1's router, and the 17 invoiced days from
	// today (of 31 at 50.00) are credited on the next invoice, since the
	// account's other service is still billed.
	tollgatectl(t, base, nil, "dev", "advance", "5d")
	revisionBefore := metricOr0(t, "http://"+south.metricsAddr+"/metrics", "tollgate_agent_applied_revision")
	var cancel client.LifecycleResult
	tollgatectl(t, base, &cancel, "service", "cancel", strconv.FormatInt(moving.ID, 10), "--reason", "moving abroad")
	if got := cancel.Plan.Lines; cancel.Preview || len(got) != 1 || got[0].Amount != -2742 || got[0].Kind != billing.LineCredit ||
		!strings.HasPrefix(got[0].Description, "Fiber 50 cancelled from Mar 15: credit 17 of 31 days") ||
		cancel.Plan.Invoicing != billing.InvoiceOnNext || cancel.Plan.Effective != billing.NewDate(2027, 3, 15) {
		t.Fatalf("cancel answered %+v, want one credit of -2742 on the next invoice from Mar 15", cancel)
	}
	waitFor(t, 15*time.Second, "the cancelled service's entry removed from south-1's router and the removal acknowledged", func() bool {
		return !south.listed(newAddr) && metricOr0(t, "http://"+south.metricsAddr+"/metrics", "tollgate_agent_applied_revision") > revisionBefore
	})
	// It stays removed (south-1's reconcile leaves the router alone), and
	// north-1 never gets it back.
	time.Sleep(1500 * time.Millisecond)
	if south.listed(newAddr) || north.listed(oldAddr) || north.listed(newAddr) {
		t.Errorf("after the cancel: north %+v, south %+v", north.sim.Entries(suspendedList), south.sim.Entries(suspendedList))
	}

	// Mar 29: April's invoice (run 3 days ahead) bills the upgraded service
	// at 80.00 and carries the three lifecycle lines; the cancelled service
	// is not billed again.
	tollgatectl(t, base, nil, "dev", "advance", "14d")
	all := invoices()
	var april *billing.Invoice
	for i := range all {
		if all[i].Period.Start == billing.NewDate(2027, 4, 1) {
			april = &all[i]
		}
	}
	if len(all) != 2 || april == nil {
		t.Fatalf("after Mar 29's run: invoices %+v, want March's and April's", all)
	}
	var inv billing.Invoice
	tollgatectl(t, base, &inv, "invoice", "show", strconv.FormatInt(april.ID, 10))
	want := map[int64]string{
		8000:  "Fiber 100",
		-3548: wantChange[0],
		5677:  wantChange[1],
		-2742: "Fiber 50 cancelled from Mar 15: credit 17 of 31 days",
	}
	seen := map[int64]bool{}
	for _, l := range inv.Lines {
		prefix, ok := want[l.Amount]
		if !ok || seen[l.Amount] || !strings.HasPrefix(l.Description, prefix) {
			t.Errorf("April's invoice has an unexpected line %q = %d", l.Description, l.Amount)
		}
		seen[l.Amount] = true
		if l.ServiceID != nil && *l.ServiceID == moving.ID && l.Kind == billing.LineRecurring {
			t.Errorf("the cancelled service is billed in April: %+v", l)
		}
	}
	const total = 8000 - 3548 + 5677 - 2742 // 73.87
	if len(seen) != len(want) || inv.Total != total || inv.Tax != 0 {
		t.Errorf("April's invoice: total %d, lines %q; want total %d with exactly %v", inv.Total, lineAmounts(inv.Lines), total, want)
	}
}
