package portal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// A captive token whose expiry lies more than 10 minutes (+60 s of clock
// skew) ahead of the portal's clock is refused, though correctly signed.
func TestCaptiveTokenLifetimeIsBounded(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Ivy", "p1", "10.1.0.40", due(-30), 5000)
	e.suspend()
	for _, life := range []time.Duration{10 * 365 * 24 * time.Hour, 24 * time.Hour, 11*time.Minute + time.Second} {
		p := e.browser().get(strings.TrimPrefix(e.captiveURL(s.service, life), e.url)).must(t, 401, "not valid", "Sign in")
		if strings.Contains(p.text(), "Account "+s.account.Number) {
			t.Fatalf("a token living %s signed in", life)
		}
	}
	// An agent whose clock runs 60 s ahead still gets its subscribers in.
	e.browser().get(strings.TrimPrefix(e.captiveURL(s.service, 11*time.Minute), e.url)).must(t, 200, "Account "+s.account.Number)
}

// A captive token works once: a replay (from another browser, or after the
// session ended) opens the sign-in page saying the link was used; the used
// ids are in PostgreSQL, kept until the token expires, then purged.
func TestCaptiveTokenIsSingleUse(t *testing.T) {
	e := newEnv(t)
	s := e.owing("Jan", "p1", "10.1.0.41", due(-30), 5000)
	e.suspend()
	u := strings.TrimPrefix(e.captiveURL(s.service, 5*time.Minute), e.url)
	e.browser().get(u).must(t, 200, "Account "+s.account.Number)
	for range 2 {
		p := e.browser().get(u).must(t, 401, "already used", "Sign in")
		if strings.Contains(p.text(), "Account "+s.account.Number) {
			t.Fatal("a replayed token signed in")
		}
	}
	count := func() int {
		var n int
		if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM captive_token_uses`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("%d used token rows, want 1", n)
	}
	// Once the first token expired (and the skew passed), using another
	// purges its row.
	e.clock.Add(7 * time.Minute)
	e.browser().get(strings.TrimPrefix(e.captiveURL(s.service, 5*time.Minute), e.url)).must(t, 200, "Account "+s.account.Number)
	if n := count(); n != 1 {
		t.Fatalf("%d used token rows after the first expired, want 1 (purged)", n)
	}
}

// A captive link signs in only while its service is suspended; for an
// active service it shows the sign-in page.
func TestCaptiveTokenOnlyForSuspendedService(t *testing.T) {
	e := newEnv(t)
	active := e.owing("Kim", "p1", "10.1.0.42", due(20), 5000)
	p := e.browser().get(strings.TrimPrefix(e.captiveURL(active.service, 5*time.Minute), e.url)).
		must(t, 401, "only while your service is suspended", "Sign in", "Account number")
	if strings.Contains(p.text(), "Account "+active.account.Number) {
		t.Fatal("a captive token for an active service signed in")
	}
	svc, err := e.db.Service(context.Background(), active.service.ID)
	if err != nil || svc.DesiredState != billing.StateActive {
		t.Fatalf("service state %s (%v), want active", svc.DesiredState, err)
	}
}

// A paused service on a type that suspends paused services is suspended
// on the device, but not for money: its captive link opens the account
// page saying "paused until" the day it resumes (in the subscriber's
// words), never "suspended for non-payment".
func TestCaptivePageSaysPausedUntil(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	typ, err := e.db.CreateAccountType(ctx, billing.AccountType{Name: "vacationers", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago",
		Lifecycle: billing.LifecyclePolicy{SuspendWhilePaused: true, MaxPauseDays: 60}}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := e.db.CreatePlan(ctx, billing.Plan{Name: "Fiber 100", Price: 8000, Currency: "USD", Interval: billing.IntervalMonthly}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := e.db.CreateAccount(ctx, billing.NewAccount{Name: "Pia", Email: "pia@example.net", AccountTypeID: typ.ID, Currency: "USD"}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	today := billing.DateIn(testNow, mustChicago(t))
	svc, err := e.db.CreateService(ctx, billing.NewService{POP: "p1", Name: "fiber", Binding: billing.Binding{Method: "routeros", Addresses: []string{"10.1.0.60"}, Device: "r1"},
		AccountID: &a.ID, PlanID: &plan.ID, StartDate: today.AddDays(-10)}, "test", testNow)
	if err != nil {
		t.Fatal(err)
	}
	resumes := today.AddDays(20)
	if _, err := e.db.PauseService(ctx, svc.ID, 0, billing.PauseRequest{
		Context: billing.LifecycleContext{Now: testNow, Actor: "staff:ana", Reason: "vacation"},
		From:    today, To: resumes}, false); err != nil {
		t.Fatal(err)
	}
	p := e.browser().get(strings.TrimPrefix(e.captiveURL(svc, 5*time.Minute), e.url)).
		must(t, 200, "Account "+a.Number, "paused until "+billing.Locale("en-US").Date(resumes, today))
	if strings.Contains(p.text(), "non-payment") || strings.Contains(p.text(), "Service suspended") {
		t.Fatalf("a paused subscriber is told of non-payment:\n%s", p.text())
	}
}

func mustChicago(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
