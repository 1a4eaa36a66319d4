package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

var chicago = mustZone("America/Chicago")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// local is a wall-clock time in Chicago on a date of December 2026 (or
// later, with day past 31 rolling over).
func local(month time.Month, day, hour int) time.Time {
	return time.Date(2026, month, day, hour, 0, 0, 0, chicago)
}

// collections is a scenario: one account type and its accounts, each with
// one service.
type collections struct {
	t   *testing.T
	db  *postgres.DB
	typ billing.AccountType
}

func residential() billing.AccountType {
	return billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1, DueDays: 14, GraceDays: 7,
		TimeZone: "America/Chicago", AutoSuspend: true, ReactivationRule: billing.ReactivatePastDue, ReconnectionFee: 1000,
		DelinquencyWeekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}
}

func newCollections(t *testing.T, typ billing.AccountType) *collections {
	t.Helper()
	db := newDB(t)
	typ, err := db.CreateAccountType(context.Background(), typ, t0)
	if err != nil {
		t.Fatal(err)
	}
	return &collections{t: t, db: db, typ: typ}
}

// account creates an account with one service at pop.
func (c *collections) account(pop string) (account, service int64) {
	c.t.Helper()
	ctx := context.Background()
	a, _, err := c.db.CreateAccount(ctx, billing.NewAccount{Name: "Subscriber", Email: "sub@example.net", AccountTypeID: c.typ.ID, Currency: "USD"}, t0)
	if err != nil {
		c.t.Fatal(err)
	}
	aid := a.ID
	s, err := c.db.CreateService(ctx, billing.NewService{POP: pop, Binding: billing.Binding{Method: "log"}, AccountID: &aid}, "test", t0)
	if err != nil {
		c.t.Fatal(err)
	}
	return a.ID, s.ID
}

// owe issues an invoice of amount due on due, posted to the ledger.
func (c *collections) owe(account int64, due billing.Date, amount int64) int64 {
	c.t.Helper()
	var id int64
	err := c.db.Pool.QueryRow(context.Background(), `WITH i AS (
			INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
				currency, subtotal, tax, total, created_at)
			SELECT n, 'INV-' || n, $1, $2::date - 14, $2::date + 16, $2::date - 14, $2, $2::date + 7, 'USD', $3, 0, $3, now()
			FROM nextval('invoices_id_seq') n RETURNING id, issue_date
		), t AS (
			INSERT INTO journal_transactions (kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
			SELECT 'invoice_issued', $1, i.id, 'USD', 'invoice', i.issue_date, now() FROM i RETURNING id
		), e AS (
			INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
			SELECT t.id, u.no, $1, u.ledger, u.amount FROM t,
				(VALUES (1::smallint, 'accounts_receivable', $3::bigint), (2::smallint, 'service_revenue', -$3::bigint)) u(no, ledger, amount)
		)
		SELECT id FROM i`, account, due.String(), amount).Scan(&id)
	if err != nil {
		c.t.Fatal(err)
	}
	return id
}

func (c *collections) sweep(now time.Time, guard billing.SuspensionGuard) billing.SweepResult {
	c.t.Helper()
	res, err := c.db.Sweep(context.Background(), billing.SweepRequest{AccountTypeID: c.typ.ID, Trigger: billing.SweepManual, Actor: "test", Guard: guard}, now)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

func (c *collections) status(account int64) billing.AccountStatus {
	c.t.Helper()
	a, err := c.db.Account(context.Background(), account)
	if err != nil {
		c.t.Fatal(err)
	}
	return a.Status
}

func (c *collections) desired(service int64) billing.DesiredState {
	c.t.Helper()
	s, err := c.db.Service(context.Background(), service)
	if err != nil {
		c.t.Fatal(err)
	}
	return s.DesiredState
}

// outbox lists the desired states the outbox holds for a service, oldest
// first (the creation's "active" included).
func (c *collections) outbox(service int64) []string {
	c.t.Helper()
	rows, err := c.db.Pool.Query(context.Background(), `SELECT desired_state FROM enforcement_changes WHERE service_id = $1 ORDER BY revision`, service)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func (c *collections) want(account int64, want billing.AccountStatus, when string) {
	c.t.Helper()
	if got := c.status(account); got != want {
		st, _ := c.db.AccountStanding(context.Background(), account, t0)
		c.t.Fatalf("%s: account is %s, want %s; why: %s", when, got, want, strings.Join(st.Why, " | "))
	}
}

func TestSweepSkipsTheWeekendForResidential(t *testing.T) {
	t.Parallel()
	c := newCollections(t, residential())
	a, svc := c.account("pop-1")
	// Due Sat Dec 5; + 7 days' grace = Sat Dec 12, moved to Mon Dec 14.
	c.owe(a, billing.NewDate(2026, 12, 5), 5000)

	c.sweep(local(12, 7, 6), billing.SuspensionGuard{})
	c.want(a, billing.AccountPastDue, "two days after the due date")
	for _, day := range []int{12, 13} {
		res := c.sweep(local(12, day, 6), billing.SuspensionGuard{})
		c.want(a, billing.AccountPastDue, fmt.Sprintf("on the weekend (Dec %d)", day))
		if res.Suspended != 0 {
			t.Fatalf("Dec %d: %d suspended on a weekend", day, res.Suspended)
		}
	}
	st, err := c.db.AccountStanding(context.Background(), a, local(12, 13, 6))
	if err != nil {
		t.Fatal(err)
	}
	why := strings.Join(st.Why, " ")
	if !strings.Contains(why, "moved from Sat 2026-12-12 to Mon 2026-12-14") || !strings.Contains(why, "Saturday is not an allowed weekday") {
		t.Fatalf("why does not explain the weekend skip: %q", why)
	}
	res := c.sweep(local(12, 14, 6), billing.SuspensionGuard{})
	c.want(a, billing.AccountSuspended, "Monday")
	if res.Suspended != 1 || c.desired(svc) != billing.StateSuspended || !slices.Equal(c.outbox(svc), []string{"active", "suspended"}) {
		t.Fatalf("Monday: result %+v, desired %s, outbox %v", res, c.desired(svc), c.outbox(svc))
	}
	// The audit log names the sweep and why.
	hist, err := c.db.StatusHistory(context.Background(), a)
	if err != nil || len(hist) != 2 || hist[0].To != billing.AccountSuspended || hist[0].Cause != "sweep" || len(hist[0].Why) == 0 {
		t.Fatalf("history %+v %v", hist, err)
	}
}

func TestSweepLenientCommercialGrace(t *testing.T) {
	t.Parallel()
	typ := residential()
	typ.Name, typ.GraceDays = "commercial", 30
	c := newCollections(t, typ)
	a, _ := c.account("pop-1")
	c.owe(a, billing.NewDate(2026, 12, 4), 50000) // Fri Dec 4 + 30 = Sun Jan 3, moved to Mon Jan 4
	c.sweep(local(12, 14, 6), billing.SuspensionGuard{})
	c.want(a, billing.AccountPastDue, "10 days late (a residential account would be suspended)")
	c.sweep(local(12, 31, 6), billing.SuspensionGuard{})
	c.want(a, billing.AccountPastDue, "Dec 31")
	c.sweep(local(13, 4, 6), billing.SuspensionGuard{}) // Jan 4
	c.want(a, billing.AccountSuspended, "Jan 4, after 30 days' grace and a weekend")
}

func TestSweepYearlyExclusionAndHoliday(t *testing.T) {
	t.Parallel()
	typ := residential()
	typ.Exclusions = []billing.Exclusion{{Date: billing.NewDate(2026, 12, 25), Yearly: true, Name: "Christmas"}}
	typ.HolidayCalendars = []string{"US"}
	c := newCollections(t, typ)
	christmas, _ := c.account("pop-1")
	newYear, _ := c.account("pop-1")
	c.owe(christmas, billing.NewDate(2026, 12, 18), 5000) // + 7 = Fri Dec 25 (exclusion) → Sat, Sun → Mon Dec 28
	c.owe(newYear, billing.NewDate(2026, 12, 25), 5000)   // + 7 = Fri Jan 1 2027 (US holiday) → Mon Jan 4
	c.sweep(local(12, 25, 6), billing.SuspensionGuard{})
	c.want(christmas, billing.AccountPastDue, "on Christmas Day")
	c.sweep(local(12, 28, 6), billing.SuspensionGuard{})
	c.want(christmas, billing.AccountSuspended, "Dec 28")
	c.want(newYear, billing.AccountPastDue, "Dec 28")
	c.sweep(local(13, 1, 6), billing.SuspensionGuard{})
	c.want(newYear, billing.AccountPastDue, "New Year's Day")
	st, _ := c.db.AccountStanding(context.Background(), newYear, local(13, 1, 6))
	if why := strings.Join(st.Why, " "); !strings.Contains(why, "New Year") {
		t.Fatalf("why does not name the holiday: %q", why)
	}
	c.sweep(local(13, 4, 6), billing.SuspensionGuard{})
	c.want(newYear, billing.AccountSuspended, "Jan 4")
}

func TestSweepPromiseToPayAndExemption(t *testing.T) {
	t.Parallel()
	c := newCollections(t, residential())
	ctx := context.Background()
	promised, psvc := c.account("pop-1")
	exempt, esvc := c.account("pop-1")
	for _, a := range []int64{promised, exempt} {
		c.owe(a, billing.NewDate(2026, 12, 4), 5000) // delinquent Fri Dec 11
	}
	if _, err := c.db.SetPromise(ctx, promised, billing.NewDate(2026, 12, 16), "pays on payday", "user:alice", local(12, 10, 12)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.SetPromise(ctx, promised, billing.NewDate(2026, 12, 1), "", "user:alice", local(12, 10, 12)); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("a promise in the past: %v", err)
	}
	if _, err := c.db.SetExempt(ctx, exempt, true, "hospital", "user:alice", local(12, 10, 12)); err != nil {
		t.Fatal(err)
	}
	for _, day := range []int{11, 14, 16} {
		c.sweep(local(12, day, 6), billing.SuspensionGuard{})
		c.want(promised, billing.AccountPastDue, fmt.Sprintf("Dec %d, promise until Dec 16", day))
		c.want(exempt, billing.AccountPastDue, fmt.Sprintf("Dec %d, exempt", day))
	}
	c.sweep(local(12, 17, 6), billing.SuspensionGuard{})
	c.want(promised, billing.AccountSuspended, "the day after the promise")
	c.want(exempt, billing.AccountPastDue, "exempt, Dec 17")
	if c.desired(esvc) != billing.StateActive || c.desired(psvc) != billing.StateSuspended {
		t.Fatal("wrong services suspended")
	}
	// A new promise restores the suspended account at once.
	if _, err := c.db.SetPromise(ctx, promised, billing.NewDate(2026, 12, 20), "", "user:bob", local(12, 17, 10)); err != nil {
		t.Fatal(err)
	}
	c.want(promised, billing.AccountPastDue, "after a new promise")
	if c.desired(psvc) != billing.StateActive {
		t.Fatal("a promise did not restore service")
	}
	hist, _ := c.db.StatusHistory(ctx, promised)
	var causes []string
	for _, h := range hist {
		causes = append(causes, h.Cause+":"+h.Actor)
	}
	if !slices.Contains(causes, "promise:user:alice") || !slices.Contains(causes, "promise:user:bob") {
		t.Fatalf("audit log lacks the promises: %v", causes)
	}
}

func TestPaymentsRestoreInTheirTransactionByTheRule(t *testing.T) {
	t.Parallel()
	c := newCollections(t, residential())
	ctx := context.Background()
	a, svc := c.account("pop-1")
	c.owe(a, billing.NewDate(2026, 11, 20), 5000)
	c.owe(a, billing.NewDate(2026, 12, 4), 5000)
	c.owe(a, billing.NewDate(2026, 12, 28), 5000) // not yet due
	c.sweep(local(12, 14, 6), billing.SuspensionGuard{})
	c.want(a, billing.AccountSuspended, "after the sweep")

	// A partial payment does not meet the past_due rule (10000 past due).
	if _, err := c.db.PostPayment(ctx, billing.NewPayment{AccountID: a, Method: billing.PayCash, Amount: 6000}, "user:alice", local(12, 14, 10)); err != nil {
		t.Fatal(err)
	}
	c.want(a, billing.AccountSuspended, "after a partial payment")
	// The rest of the past-due amount restores service in the payment's
	// transaction: the outbox has it when the call returns.
	p, err := c.db.PostPayment(ctx, billing.NewPayment{AccountID: a, Method: billing.PayCash, Amount: 4000}, "user:alice", local(12, 14, 11))
	if err != nil {
		t.Fatal(err)
	}
	c.want(a, billing.AccountCurrent, "after paying the past-due amount")
	if got := c.outbox(svc); !slices.Equal(got, []string{"active", "suspended", "active"}) {
		t.Fatalf("outbox %v right after the payment", got)
	}
	if bal, _ := c.db.Balance(ctx, a); bal != 5000+1000 {
		t.Fatalf("balance %d: want the unpaid invoice plus the 10.00 reconnection fee", bal)
	}
	hist, _ := c.db.StatusHistory(ctx, a)
	if hist[0].Cause != "payment" || hist[0].PaymentID != p.ID {
		t.Fatalf("restore not attributed to the payment: %+v", hist[0])
	}

	// The payment bounces: reversal does not suspend; the next sweep does.
	if _, err := c.db.ReversePayment(ctx, p.ID, billing.Reversal{Reason: billing.ReverseNSF}, "user:alice", local(12, 15, 9)); err != nil {
		t.Fatal(err)
	}
	if c.desired(svc) != billing.StateActive {
		t.Fatal("a reversal suspended service")
	}
	c.want(a, billing.AccountDelinquent, "after the reversal")
	// Its why says what the next sweep will do, not that it was done.
	hist, _ = c.db.StatusHistory(ctx, a)
	if h := hist[0]; h.Cause != "reversal" || h.PaymentID != p.ID || h.To != billing.AccountDelinquent ||
		slices.ContainsFunc(h.Why, func(w string) bool { return strings.Contains(w, "suspended automatically") }) ||
		!slices.ContainsFunc(h.Why, func(w string) bool { return strings.Contains(w, "The next delinquency sweep will suspend") }) {
		t.Fatalf("the reversal's status change: %+v", h)
	}
	c.sweep(local(12, 16, 6), billing.SuspensionGuard{})
	c.want(a, billing.AccountSuspended, "the sweep after the reversal")
}

func TestFullBalanceRuleNeedsEverythingPaid(t *testing.T) {
	t.Parallel()
	typ := residential()
	typ.ReactivationRule, typ.ReconnectionFee = billing.ReactivateFullBalance, 0
	c := newCollections(t, typ)
	ctx := context.Background()
	a, svc := c.account("pop-1")
	c.owe(a, billing.NewDate(2026, 12, 4), 5000)
	c.owe(a, billing.NewDate(2026, 12, 28), 5000)
	c.sweep(local(12, 14, 6), billing.SuspensionGuard{})
	c.want(a, billing.AccountSuspended, "after the sweep")
	if _, err := c.db.PostPayment(ctx, billing.NewPayment{AccountID: a, Method: billing.PayCheck, Amount: 5000, Reference: "77"}, "user:alice", local(12, 14, 10)); err != nil {
		t.Fatal(err)
	}
	c.want(a, billing.AccountSuspended, "past due paid, balance not")
	if _, err := c.db.PostCredit(ctx, a, 5000, "goodwill", billing.NewDate(2026, 12, 14), "user:clerk", local(12, 14, 11)); err != nil {
		t.Fatal(err)
	}
	c.want(a, billing.AccountCurrent, "after a credit for the rest")
	if c.desired(svc) != billing.StateActive {
		t.Fatal("the credit did not restore service")
	}
}

func TestGuardHoldsASweepThatWouldCutOffMostOfAPOP(t *testing.T) {
	t.Parallel()
	c := newCollections(t, residential())
	ctx := context.Background()
	var accounts, services []int64
	for i := range 50 {
		a, s := c.account("pop-1")
		accounts, services = append(accounts, a), append(services, s)
		if i < 30 { // a "bug" makes 60% of the POP delinquent
			c.owe(a, billing.NewDate(2026, 12, 4), 5000)
		}
	}
	other, otherSvc := c.account("pop-2")
	c.owe(other, billing.NewDate(2026, 12, 4), 5000)

	var revBefore int64
	_ = c.db.Pool.QueryRow(ctx, `SELECT revision FROM pops WHERE id = 'pop-1'`).Scan(&revBefore)
	guard := billing.SuspensionGuard{MinServices: 5, POPPercent: 10, MedianFactor: 3}
	res := c.sweep(local(12, 14, 6), guard)
	if res.Held != 30 || res.HeldBatchID == 0 || res.Suspended != 1 || len(res.HeldReasons) != 1 || !strings.Contains(res.HeldReasons[0], "POP pop-1: 30 suspensions exceed the limit of 5") {
		t.Fatalf("sweep result %+v", res)
	}
	var revAfter int64
	_ = c.db.Pool.QueryRow(ctx, `SELECT revision FROM pops WHERE id = 'pop-1'`).Scan(&revAfter)
	if revAfter != revBefore || count(t, c.db, "enforcement_changes WHERE pop_id = 'pop-1' AND desired_state = 'suspended'") != 0 {
		t.Fatal("suspensions reached pop-1's outbox before approval")
	}
	if c.desired(otherSvc) != billing.StateSuspended {
		t.Fatal("the guard held another POP's ordinary suspension")
	}
	c.want(accounts[0], billing.AccountDelinquent, "held")
	// The next day's sweep does not hold them twice.
	if res := c.sweep(local(12, 15, 6), guard); res.Held != 0 || res.Suspended != 0 {
		t.Fatalf("second sweep %+v", res)
	}
	batches, err := c.db.SuspensionBatches(ctx, "pending")
	if err != nil || len(batches) != 1 || batches[0].Pending != 30 {
		t.Fatalf("pending batches %+v %v", batches, err)
	}
	// One account pays meanwhile; approving a part, then the rest.
	if _, err := c.db.PostPayment(ctx, billing.NewPayment{AccountID: accounts[1], Method: billing.PayCash, Amount: 5000}, "user:alice", local(12, 15, 9)); err != nil {
		t.Fatal(err)
	}
	b, err := c.db.DecideSuspensionBatch(ctx, res.HeldBatchID, true, []int64{accounts[0]}, "user:alice", local(12, 15, 10))
	if err != nil || b.Status != "pending" || b.Pending != 28 { // accounts[1] was skipped when it paid
		t.Fatalf("partial approval %+v %v", b, err)
	}
	if c.desired(services[0]) != billing.StateSuspended || c.desired(services[2]) != billing.StateActive {
		t.Fatal("partial approval suspended the wrong services")
	}
	if _, err := c.db.DecideSuspensionBatch(ctx, res.HeldBatchID, false, []int64{accounts[1]}, "user:alice", local(12, 15, 10)); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("cancelling an account that is not pending: %v", err)
	}
	b, err = c.db.DecideSuspensionBatch(ctx, res.HeldBatchID, true, nil, "user:alice", local(12, 15, 11))
	if err != nil || b.Status != "decided" || b.Pending != 0 {
		t.Fatalf("approving the rest %+v %v", b, err)
	}
	if n := count(t, c.db, "services WHERE pop_id = 'pop-1' AND desired_state = 'suspended'"); n != 29 {
		t.Fatalf("%d services suspended after approval, want 29", n)
	}
	if _, err := c.db.DecideSuspensionBatch(ctx, res.HeldBatchID, true, nil, "user:alice", local(12, 15, 12)); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("deciding twice: %v", err)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	c := newCollections(t, residential())
	a, svc := c.account("pop-1")
	c.owe(a, billing.NewDate(2026, 12, 4), 5000)
	res, err := c.db.Sweep(context.Background(), billing.SweepRequest{AccountTypeID: c.typ.ID, DryRun: true}, local(12, 14, 6))
	if err != nil || res.Suspended != 1 || len(res.Suspensions) != 1 || res.Suspensions[0].AccountID != a {
		t.Fatalf("preview %+v %v", res, err)
	}
	c.want(a, billing.AccountCurrent, "after a preview")
	if c.desired(svc) != billing.StateActive || count(t, c.db, "delinquency_sweeps") != 0 {
		t.Fatal("a preview wrote")
	}
}

func TestScheduledSweepRunsOncePerLocalDay(t *testing.T) {
	t.Parallel()
	c := newCollections(t, residential())
	req := billing.SweepRequest{AccountTypeID: c.typ.ID, Trigger: billing.SweepScheduled}
	if res, err := c.db.Sweep(context.Background(), req, local(12, 14, 6)); err != nil || res.AlreadyRan {
		t.Fatalf("first %+v %v", res, err)
	}
	if res, err := c.db.Sweep(context.Background(), req, local(12, 14, 23)); err != nil || !res.AlreadyRan {
		t.Fatalf("second the same local day %+v %v", res, err)
	}
}

// TestSweepReadsInPartsOrInItsTransaction: the same sweep over many
// accounts (read in parts on connections of their own) and on a pool of
// one connection (read in the sweep's transaction) decides the same.
func TestSweepReadsInPartsOrInItsTransaction(t *testing.T) {
	t.Parallel()
	for _, conns := range []int{16, 1} {
		t.Run(fmt.Sprint(conns), func(t *testing.T) {
			t.Parallel()
			c := newCollections(t, residential())
			if conns == 1 {
				db, err := postgres.Open(context.Background(), strings.Replace(c.db.Pool.Config().ConnString(), "?", "?pool_max_conns=1&", 1))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(db.Close)
				c.db = db
			}
			var late, ok []int64
			for i := range 40 {
				a, _ := c.account(fmt.Sprintf("pop-%d", i%3))
				if i%4 == 0 {
					c.owe(a, billing.NewDate(2026, 12, 10), 5000) // within its grace on Dec 14
					ok = append(ok, a)
				} else {
					c.owe(a, billing.NewDate(2026, 11, 20), 5000)
					late = append(late, a)
				}
			}
			res := c.sweep(local(12, 14, 6), billing.SuspensionGuard{Disabled: true})
			if res.Examined != 40 || res.Suspended != len(late) || res.StatusChanges != 40 {
				t.Fatalf("examined %d, suspended %d, status changes %d; want 40, %d, 40", res.Examined, res.Suspended, res.StatusChanges, len(late))
			}
			for _, a := range late {
				c.want(a, billing.AccountSuspended, "a month late")
			}
			for _, a := range ok {
				c.want(a, billing.AccountPastDue, "within its grace")
			}
		})
	}
}

// An invoice with a negative total (more credited than charged: a plan
// change, cancel or pause) is credit that pays the oldest invoice first,
// like any credit: a suspended account whose past-due invoice a credit
// note covers is restored, and the reconnection fee the restore charges is
// owed but never past due — the next sweep does not suspend it again.
func TestCreditNotePaysTheOldestInvoice(t *testing.T) {
	t.Parallel()
	c := newCollections(t, residential())
	a, svc := c.account("pop-1")
	c.owe(a, billing.NewDate(2026, 12, 1), 5000)
	c.sweep(local(12, 10, 12), billing.SuspensionGuard{})
	c.want(a, billing.AccountSuspended, "past the delinquency date")
	c.owe(a, billing.NewDate(2026, 12, 11), -5000) // a credit note
	c.sweep(local(12, 14, 12), billing.SuspensionGuard{})
	c.want(a, billing.AccountCurrent, "after the credit note")
	if got := c.desired(svc); got != billing.StateActive {
		t.Fatalf("service %s after the credit note, want active", got)
	}
	c.sweep(local(12, 15, 12), billing.SuspensionGuard{})
	c.want(a, billing.AccountCurrent, "the day after: the reconnection fee is owed, never past due")
	if got := c.desired(svc); got != billing.StateActive {
		t.Fatalf("service %s the day after, want active", got)
	}
}
