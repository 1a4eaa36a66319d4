package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

// throttledList is the RouterOS driver's default throttle address list.
const throttledList = "tollgate-throttled"

// Max-limits as RouterOS writes them: the subscriber's upload first.
const (
	fiber50Limit  = "10000000/50000000"  // 50 Mbit/s down, 10 up
	fiber100Limit = "20000000/100000000" // 100 Mbit/s down, 20 up
	throttleLimit = "1000000/1000000"
)

// profilePlan creates a monthly plan that sells down/up bit/s.
func profilePlan(t *testing.T, api *client.Client, name string, price, down, up int64) billing.Plan {
	t.Helper()
	var p billing.Plan
	must(t, api.Do(context.Background(), http.MethodPost, "/api/v1/plans", nil, client.NewIdempotencyKey(), billing.Plan{
		Name: name, Price: price, Currency: "USD", Interval: billing.IntervalMonthly,
		Profile: &billing.EdgeProfile{ServiceProfile: billing.ServiceProfile{DownloadRate: down, UploadRate: up}}}, &p))
	if p.Profile == nil || p.ProfileVersion != 1 {
		t.Fatalf("plan %s created without its profile: %+v", name, p)
	}
	return p
}

// queue returns the simulator's simple queue of service id, if any.
func (p routerPOP) queue(id int64) (routerossim.SimpleQueue, bool) {
	for _, q := range p.sim.SimpleQueues() {
		if q.Name == "tollgate-svc-"+strconv.FormatInt(id, 10) {
			return q, true
		}
	}
	return routerossim.SimpleQueue{}, false
}

// queueAt reports whether service id's queue is the driver's, enabled, at
// maxLimit, for the named profile.
func (p routerPOP) queueAt(id int64, maxLimit, profile string) bool {
	q, ok := p.queue(id)
	return ok && !q.Disabled && q.MaxLimit == maxLimit && strings.Contains(q.Comment, "profile="+profile)
}

// onList reports whether addr is on the router's address list.
func (p routerPOP) onList(list, addr string) bool {
	return slices.ContainsFunc(p.sim.Entries(list), func(e routerossim.Entry) bool { return e.Address == addr || e.Address == addr+"/32" })
}

// TestPlanUpgradeChangesTheQueueAndTheNextInvoice drives a service's speed
// through the real binaries on the controller's dev clock (UTC, periods on
// the 1st, invoices 3 days ahead): an active RouterOS-bound service on
// Fiber 50 (50/10 Mbit/s, 50.00) gets a simple queue at 10M/50M on the
// router; on Mar 10 it goes to Fiber 100 (100/20 Mbit/s, 80.00) from that
// day (tollgatectl service change), and the queue follows to 20M/100M; a
// technician's hand edit of the queue's max-limit is set back by the
// agent's reconcile; April's invoice carries Fiber 100 and the change's
// proration: a credit of 22 of 31 days of Fiber 50 (-35.48) and a charge of
// 22 of 31 days of Fiber 100 (56.77).
func TestPlanUpgradeChangesTheQueueAndTheNextInvoice(t *testing.T) {
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
	pop := startRouterPOPWith(t, "north-1", grpcAddr, "reconcile_interval: 1s")

	var typ billing.AccountType
	must(t, api.Do(ctx, http.MethodPost, "/api/v1/account-types", nil, client.NewIdempotencyKey(), map[string]any{
		"name": "residential", "billing_mode": "fixed_day", "billing_day": 1, "invoice_lead_days": 3, "due_days": 14, "grace_days": 30,
		"time_zone": "UTC", "auto_suspend": false,
		"lifecycle": map[string]any{"plan_change_timing": "as_requested", "change_invoicing": "next_invoice", "on_cancel": "remove"},
	}, &typ))
	fiber50 := profilePlan(t, api, "Fiber 50", 5000, 50_000_000, 10_000_000)
	fiber100 := profilePlan(t, api, "Fiber 100", 8000, 100_000_000, 20_000_000)
	var acct billing.Account
	must(t, api.Do(ctx, http.MethodPost, "/api/v1/accounts", nil, client.NewIdempotencyKey(), map[string]any{
		"name": "Jane Doe", "email": "jane@example.net", "account_type_id": typ.ID, "currency": "USD"}, &acct))

	const addr = "100.64.1.30"
	svc, err := api.CreateService(ctx, client.NewIdempotencyKey(), billing.NewService{POP: "north-1", Name: "Jane, fiber",
		Binding:   billing.Binding{Method: billing.MethodRouterOS, Device: "edge", Addresses: []string{addr}},
		AccountID: &acct.ID, PlanID: &fiber50.ID, StartDate: billing.NewDate(2027, 3, 1)})
	must(t, err)
	waitFor(t, 15*time.Second, "Fiber 50's queue on the router, confirmed", func() bool {
		s, err := api.Service(ctx, svc.ID)
		return err == nil && s.Confirmed() && pop.queueAt(svc.ID, fiber50Limit, "fiber-50.v1")
	})
	if q, _ := pop.queue(svc.ID); q.Target != addr+"/32" && q.Target != addr {
		t.Errorf("the queue targets %q, want %s", q.Target, addr)
	}
	if pop.onList(suspendedList, addr) || pop.onList(throttledList, addr) {
		t.Errorf("an active service's address is listed: %+v %+v", pop.sim.Entries(suspendedList), pop.sim.Entries(throttledList))
	}

	// Mar 10: the upgrade, from today.
	tollgatectl(t, base, nil, "dev", "advance", "18d")
	var change client.LifecycleResult
	tollgatectl(t, base, &change, "service", "change", strconv.FormatInt(svc.ID, 10),
		"--plan", strconv.FormatInt(fiber100.ID, 10), "--from", "2027-03-10", "--reason", "upgrade")
	if got := change.Plan.Lines; change.Preview || len(got) != 2 || got[0].Amount != -3548 || got[1].Amount != 5677 {
		t.Fatalf("plan change answered %+v, want credit -3548 and charge 5677", change)
	}
	waitFor(t, 15*time.Second, "the queue at Fiber 100's speed, confirmed", func() bool {
		s, err := api.Service(ctx, svc.ID)
		return err == nil && s.Confirmed() && pop.queueAt(svc.ID, fiber100Limit, "fiber-100.v1")
	})

	// A technician halves the subscriber's speed by hand; the agent's
	// reconcile (every second here) sets the queue back.
	name := "tollgate-svc-" + strconv.FormatInt(svc.ID, 10)
	must(t, pop.sim.SetSimpleQueue(name, map[string]string{"max-limit": "10M/50M"}))
	if q, _ := pop.queue(svc.ID); q.MaxLimit == fiber100Limit {
		t.Fatalf("the hand edit did not change the queue: %+v", q)
	}
	waitFor(t, 15*time.Second, "the hand-edited queue set back to Fiber 100's speed", func() bool {
		return pop.queueAt(svc.ID, fiber100Limit, "fiber-100.v1")
	})
	if n := len(pop.sim.SimpleQueues()); n != 1 {
		t.Errorf("the router has %d simple queues, want the service's one: %+v", n, pop.sim.SimpleQueues())
	}

	// Mar 29: April's invoice bills Fiber 100 and carries the proration.
	tollgatectl(t, base, nil, "dev", "advance", "19d")
	var list []billing.Invoice
	tollgatectl(t, base, &list, "invoice", "list", "--account", strconv.FormatInt(acct.ID, 10))
	var april *billing.Invoice
	for i := range list {
		if list[i].Period.Start == billing.NewDate(2027, 4, 1) {
			april = &list[i]
		}
	}
	if april == nil {
		t.Fatalf("after Mar 29's run: invoices %+v, want April's", list)
	}
	var inv billing.Invoice
	tollgatectl(t, base, &inv, "invoice", "show", strconv.FormatInt(april.ID, 10))
	want := map[int64]string{
		8000:  "Fiber 100",
		-3548: "Fiber 50 → Fiber 100 from Mar 10: credit 22 of 31 days",
		5677:  "Fiber 50 → Fiber 100 from Mar 10: charge 22 of 31 days",
	}
	seen := map[int64]bool{}
	for _, l := range inv.Lines {
		prefix, ok := want[l.Amount]
		if !ok || seen[l.Amount] || !strings.HasPrefix(l.Description, prefix) {
			t.Errorf("April's invoice has an unexpected line %q = %d", l.Description, l.Amount)
		}
		seen[l.Amount] = true
	}
	if len(seen) != len(want) || inv.Total != 8000-3548+5677 {
		t.Errorf("April's invoice: total %d, lines %q; want %v", inv.Total, lineAmounts(inv.Lines), want)
	}
}

// TestThrottlingAccountTypeSlowsAndPayingRestoresThePlansSpeed: an account
// type that suspends by throttling (1 Mbit/s each way); its subscriber on
// Fiber 50, 23 days past the delinquency date, is slowed by the sweep —
// the service's queue at 1M/1M and its address on the throttle list (whose
// plain HTTP the router sends to the portal), not on the suspended list —
// and a payment (tollgatectl payment add) brings the queue back to Fiber
// 50's speed and the address off the throttle list.
func TestThrottlingAccountTypeSlowsAndPayingRestoresThePlansSpeed(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "controller.yaml")
	write(t, cfg, fmt.Sprintf(`
database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true, heartbeat_interval: 500ms}
api:
  tokens:
    - {name: ops, role: admin, token: %q}
delinquency: {guard: {disabled: true}}
`, dbURL, httpAddr, grpcAddr, adminToken))
	start(t, "tollgate-controller", nil, "--config", cfg)
	base := "http://" + httpAddr
	waitHTTP(t, base+"/readyz", 200, 60*time.Second)
	api := client.New(base, adminToken)
	pop := startRouterPOP(t, "north-1", grpcAddr)

	var typ billing.AccountType
	must(t, api.Do(ctx, http.MethodPost, "/api/v1/account-types", nil, client.NewIdempotencyKey(), billing.AccountType{
		Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1, DueDays: 14, GraceDays: 7, TimeZone: "UTC",
		DelinquencyWeekdays: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, AutoSuspend: true, ReactivationRule: billing.ReactivatePastDue,
		SuspendAction:   "throttle",
		ThrottleProfile: &billing.EdgeProfile{ServiceProfile: billing.ServiceProfile{DownloadRate: 1_000_000, UploadRate: 1_000_000}},
	}, &typ))
	if !typ.Throttles() || typ.ThrottleProfile == nil {
		t.Fatalf("account type created as %+v, want one that throttles", typ)
	}
	fiber50 := profilePlan(t, api, "Fiber 50", 5000, 50_000_000, 10_000_000)
	var acct billing.Account
	must(t, api.Do(ctx, http.MethodPost, "/api/v1/accounts", nil, client.NewIdempotencyKey(), billing.NewAccount{
		Name: "Robin Subscriber", Email: "robin@example.net", AccountTypeID: typ.ID, Currency: "USD"}, &acct))
	const addr = "100.64.2.40"
	now := time.Now().UTC()
	svc, err := api.CreateService(ctx, client.NewIdempotencyKey(), billing.NewService{POP: "north-1", Name: "fiber 50",
		Binding: billing.Binding{Method: billing.MethodRouterOS, Device: "edge", Addresses: []string{addr}}, AccountID: &acct.ID, PlanID: &fiber50.ID,
		StartDate: billing.NewDate(now.Year(), now.Month(), now.Day())})
	must(t, err)
	waitFor(t, 15*time.Second, "Fiber 50's queue on the router, confirmed", func() bool {
		s, err := api.Service(ctx, svc.ID)
		return err == nil && s.Confirmed() && pop.queueAt(svc.ID, fiber50Limit, "fiber-50.v1")
	})

	insertOverdueInvoice(t, dbURL, acct.ID, 5000)
	res, err := api.RunSweep(ctx, client.NewIdempotencyKey(), typ.ID, false)
	must(t, err)
	if res.Suspended != 1 || res.SuspendedServices != 1 {
		t.Fatalf("the sweep slowed %d accounts (%d services), want 1 (1): %+v", res.Suspended, res.SuspendedServices, res)
	}
	waitFor(t, 15*time.Second, "the service throttled on the router and confirmed", func() bool {
		s, err := api.Service(ctx, svc.ID)
		return err == nil && s.DesiredState == billing.StateThrottled && s.Confirmed() &&
			pop.queueAt(svc.ID, throttleLimit, "throttle-residential") && pop.onList(throttledList, addr)
	})
	if pop.onList(suspendedList, addr) {
		t.Errorf("a throttled service's address is on the suspended list: %+v", pop.sim.Entries(suspendedList))
	}

	tollgatectl(t, base, nil, "payment", "add", strconv.FormatInt(acct.ID, 10), "--method", "cash", "--amount", "50.00")
	waitFor(t, 15*time.Second, "the plan's speed back on the router and confirmed", func() bool {
		s, err := api.Service(ctx, svc.ID)
		return err == nil && s.DesiredState == billing.StateActive && s.Confirmed() &&
			pop.queueAt(svc.ID, fiber50Limit, "fiber-50.v1") && !pop.onList(throttledList, addr)
	})
	if pop.onList(suspendedList, addr) || len(pop.sim.SimpleQueues()) != 1 {
		t.Errorf("after paying: suspended %+v, queues %+v", pop.sim.Entries(suspendedList), pop.sim.SimpleQueues())
	}
}
