package notify_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/smtptest"
)

// fakeStore is an in-memory notice record (the Postgres store's own tests
// cover the real thing; controller/jobs' tests run notices through River).
type fakeStore struct {
	mu      sync.Mutex
	notices []*billing.Notice
}

func (s *fakeStore) add(n billing.Notice, now time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n.ID = int64(len(s.notices) + 1)
	n.Status, n.NextAttemptAt, n.CreatedAt = billing.NoticeQueued, now, now
	s.notices = append(s.notices, &n)
	return n.ID
}

func (s *fakeStore) get(id int64) billing.Notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.notices[id-1]
}

func (s *fakeStore) NoticeToSend(_ context.Context, id, jobID int64) (billing.Notice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 1 || int(id) > len(s.notices) || s.notices[id-1].Status != billing.NoticeQueued {
		return billing.Notice{}, billing.Errorf(billing.ENOTFOUND, "no queued notice %d", id)
	}
	n := s.notices[id-1]
	n.JobID = jobID
	return *n, nil
}

// due lists the queued notices whose next attempt has come: those whose
// job River would run at now.
func (s *fakeStore) due(now time.Time) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*billing.Notice
	for _, n := range s.notices {
		if n.Status == billing.NoticeQueued && !n.NextAttemptAt.After(now) {
			due = append(due, n)
		}
	}
	slices.SortStableFunc(due, func(a, b *billing.Notice) int { return a.NextAttemptAt.Compare(b.NextAttemptAt) })
	ids := make([]int64, len(due))
	for i, n := range due {
		ids[i] = n.ID
	}
	return ids
}

func (s *fakeStore) MarkNoticeSent(_ context.Context, id int64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.notices[id-1]
	n.Status, n.SentAt, n.LastError = billing.NoticeSent, &at, ""
	n.Attempts++
	return nil
}

func (s *fakeStore) MarkNoticeSuperseded(_ context.Context, id int64, why string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.notices[id-1]
	n.Status, n.SupersededReason = billing.NoticeSuperseded, why
	return nil
}

func (s *fakeStore) RescheduleNotice(_ context.Context, id int64, next time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notices[id-1].NextAttemptAt = next
	return nil
}

func (s *fakeStore) MarkNoticeAttemptFailed(_ context.Context, id int64, attempts int, next time.Time, errText string, final bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.notices[id-1]
	n.Attempts, n.NextAttemptAt, n.LastError = attempts, next, errText
	if final {
		n.Status = billing.NoticeFailed
	}
	return nil
}

var chicago = func() *time.Location {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is a time in Chicago.
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, chicago)
	if err != nil {
		panic(err)
	}
	return t
}

type harness struct {
	srv   *smtptest.Server
	store *fakeStore
	clock *clock.Fixed
	d     *notify.Deliverer
	reg   *prometheus.Registry
}

func newHarness(t *testing.T, now time.Time, cfg notify.DelivererConfig) *harness {
	t.Helper()
	h := &harness{srv: smtptest.Start(t), store: &fakeStore{}, clock: clock.NewFixed(now), reg: prometheus.NewRegistry()}
	sender, err := notify.NewSMTP(notify.SMTPConfig{Addr: h.srv.Addr(), From: "Example ISP <billing@isp.example>", TLS: notify.TLSNone,
		Timeout: 5 * time.Second, HeloName: "controller.isp.example"}, h.clock)
	if err != nil {
		t.Fatal(err)
	}
	h.d, err = notify.NewDeliverer(cfg, h.store, sender, nil, h.clock, nil, h.reg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// run plays River: it calls Send for every notice whose job would run now
// (its notice's next attempt has come), several at once, and counts the
// notices sent and failed.
func (h *harness) run(t *testing.T, wantSent, wantFailed int) {
	t.Helper()
	var (
		mu           sync.Mutex
		sent, failed int
		firstErr     error
		wg           sync.WaitGroup
	)
	for _, id := range h.store.due(h.clock.Now()) {
		wg.Go(func() {
			res, err := h.d.Send(context.Background(), id, 1000+id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				firstErr = cmp.Or(firstErr, err)
			case res.Outcome == notify.Sent:
				sent++
			case res.Outcome == notify.Failed:
				failed++
			}
		})
	}
	wg.Wait()
	if firstErr != nil || sent != wantSent || failed != wantFailed {
		t.Fatalf("jobs at %s = %d sent, %d failed, %v; want %d, %d", h.clock.Now().In(chicago), sent, failed, firstErr, wantSent, wantFailed)
	}
}

func reminderNotice() billing.Notice {
	return billing.Notice{AccountID: 42, Kind: billing.NoticeReminder, InvoiceID: 123, DaysBefore: 3, To: "alex@example.net",
		BusinessHours: true, TimeZone: "America/Chicago", Hours: billing.BusinessHours{Start: 9, End: 17},
		Data: billing.NoticeData{AccountNumber: "A-000042", AccountName: "Alex Subscriber", Currency: "USD", Amount: 5311,
			Balance: 5311, DueDate: billing.NewDate(2026, 12, 10), DelinquencyDate: billing.NewDate(2026, 12, 17),
			InvoiceNumbers: []string{"INV-000123"}, PortalURL: "https://portal.isp.example/pay", Company: "Example ISP"},
		Current: billing.NoticeStanding{Status: billing.AccountPastDue, InvoiceRemaining: 5311}}
}

func TestReminderIsRenderedAndSent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, at("2026-12-14 10:00"), notify.DelivererConfig{})
	id := h.store.add(reminderNotice(), h.clock.Now())
	h.run(t, 1, 0)

	m := h.srv.WaitFor(t, 1, 5*time.Second)[0]
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	if m.From != "billing@isp.example" || !slices.Equal(m.To, []string{"alex@example.net"}) {
		t.Fatalf("envelope %s -> %v", m.From, m.To)
	}
	if want := "Payment past due for account A-000042 – Example ISP"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	for _, want := range []string{
		"Hello Alex Subscriber,",
		"Your account A-000042 is past due: $53.11 was due on Thursday, December 10.",
		"To avoid interruption of your internet service, please pay before Thursday, December 17.",
		"Invoice: INV-000123",
		"Pay online: https://portal.isp.example/pay",
	} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Text)
		}
	}
	for _, h := range []string{"Date", "Message-Id", "Mime-Version", "Auto-Submitted"} {
		if m.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if !strings.HasSuffix(m.Header.Get("Message-Id"), "@isp.example>") || !strings.Contains(m.Header.Get("From"), "<billing@isp.example>") {
		t.Errorf("headers: %v", m.Header)
	}
	n := h.store.get(id)
	if n.Status != billing.NoticeSent || n.Attempts != 1 || n.SentAt == nil || !n.SentAt.Equal(h.clock.Now()) {
		t.Fatalf("stored: %+v", n)
	}
	if got := metric(t, h.reg, "tollgate_notices_sent_total", "reminder"); got != 1 {
		t.Errorf("sent metric %v", got)
	}
	h.run(t, 0, 0) // nothing twice
}

func TestTemporaryFailureIsRetriedAfterBackoff(t *testing.T) {
	t.Parallel()
	h := newHarness(t, at("2026-12-14 10:00"), notify.DelivererConfig{})
	id := h.store.add(reminderNotice(), h.clock.Now())
	h.srv.FailNext(1, 451)
	h.run(t, 0, 0)
	n := h.store.get(id)
	if n.Status != billing.NoticeQueued || n.Attempts != 1 || !n.NextAttemptAt.Equal(h.clock.Now().Add(time.Minute)) ||
		!strings.Contains(n.LastError, "451") {
		t.Fatalf("after a 451: %+v", n)
	}
	h.clock.Add(59 * time.Second)
	h.run(t, 0, 0) // not yet
	h.clock.Add(time.Second)
	h.run(t, 1, 0)
	if n := h.store.get(id); n.Status != billing.NoticeSent || n.Attempts != 2 {
		t.Fatalf("after the retry: %+v", n)
	}
	h.clock.Add(time.Hour)
	h.run(t, 0, 0)
	if got := len(h.srv.WaitFor(t, 1, 5*time.Second)); got != 1 {
		t.Fatalf("%d messages, want exactly 1", got)
	}
	if got := metric(t, h.reg, "tollgate_notice_send_errors_total", ""); got != 1 {
		t.Errorf("send errors metric %v", got)
	}
}

func TestPermanentFailureIsNotRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, at("2026-12-14 10:00"), notify.DelivererConfig{})
	id := h.store.add(reminderNotice(), h.clock.Now())
	h.srv.FailNext(1, 550)
	h.run(t, 0, 1)
	n := h.store.get(id)
	if n.Status != billing.NoticeFailed || n.Attempts != 1 || !strings.Contains(n.LastError, "550") {
		t.Fatalf("after a 550: %+v", n)
	}
	h.clock.Add(24 * time.Hour)
	h.run(t, 0, 0)
	if got := len(h.srv.Messages()); got != 0 {
		t.Fatalf("%d messages", got)
	}
	if got := metric(t, h.reg, "tollgate_notices_failed_total", "reminder"); got != 1 {
		t.Errorf("failed metric %v", got)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, at("2026-12-14 10:00"), notify.DelivererConfig{MaxAttempts: 3, Backoff: []time.Duration{time.Minute, 10 * time.Minute}})
	id := h.store.add(reminderNotice(), h.clock.Now())
	h.srv.FailNext(10, 421)
	h.run(t, 0, 0)
	h.clock.Add(time.Minute)
	h.run(t, 0, 0)
	if n := h.store.get(id); n.Attempts != 2 || !n.NextAttemptAt.Equal(h.clock.Now().Add(10*time.Minute)) {
		t.Fatalf("second failure: %+v", n)
	}
	h.clock.Add(10 * time.Minute)
	h.run(t, 0, 1)
	if n := h.store.get(id); n.Status != billing.NoticeFailed || n.Attempts != 3 {
		t.Fatalf("third failure: %+v", n)
	}
}

func TestOutsideBusinessHoursIsDeferred(t *testing.T) {
	t.Parallel()
	h := newHarness(t, at("2026-12-14 22:00"), notify.DelivererConfig{})
	id := h.store.add(reminderNotice(), h.clock.Now())
	restored := reminderNotice()
	restored.Kind, restored.InvoiceID, restored.BusinessHours = billing.NoticeRestored, 0, false
	restoredID := h.store.add(restored, h.clock.Now())

	h.run(t, 1, 0) // the restore notice goes at once
	n := h.store.get(id)
	if n.Status != billing.NoticeQueued || n.Attempts != 0 || !n.NextAttemptAt.Equal(at("2026-12-15 09:00")) {
		t.Fatalf("deferred reminder: %+v (next %s)", n, n.NextAttemptAt.In(chicago))
	}
	msgs := h.srv.WaitFor(t, 1, 5*time.Second)
	if len(msgs) != 1 || msgs[0].Subject != "Internet service restored on account A-000042 – Example ISP" ||
		!strings.Contains(msgs[0].Text, "is back on") || h.store.get(restoredID).Status != billing.NoticeSent {
		t.Fatalf("restore notice: %d messages, %q", len(msgs), msgs[0].Subject)
	}
	if got := metric(t, h.reg, "tollgate_notices_deferred_total", ""); got != 1 {
		t.Errorf("deferred metric %v", got)
	}

	h.clock.Set(at("2026-12-15 08:59"))
	h.run(t, 0, 0)
	h.clock.Set(at("2026-12-15 09:00"))
	h.run(t, 1, 0)
	if got := len(h.srv.WaitFor(t, 2, 5*time.Second)); got != 2 {
		t.Fatalf("%d messages", got)
	}
}

func TestManyNoticesConcurrently(t *testing.T) {
	t.Parallel()
	h := newHarness(t, at("2026-12-14 10:00"), notify.DelivererConfig{})
	for i := range 30 {
		n := reminderNotice()
		n.InvoiceID = int64(i + 1)
		h.store.add(n, h.clock.Now())
	}
	h.srv.FailNext(3, 451)
	h.run(t, 27, 0)
	h.clock.Add(time.Minute)
	h.run(t, 3, 0)
	if got := len(h.srv.WaitFor(t, 30, 5*time.Second)); got != 30 {
		t.Fatalf("%d messages, want 30", got)
	}
}

func TestSendStopsWithTheContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, at("2026-12-14 10:00"), notify.DelivererConfig{})
	id := h.store.add(reminderNotice(), h.clock.Now())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.d.Send(ctx, id, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send on a cancelled context: %v", err)
	}
	if len(h.srv.Messages()) != 0 {
		t.Fatal("sent after cancellation")
	}
	if n := h.store.get(id); n.Status != billing.NoticeQueued || n.Attempts != 0 {
		t.Fatalf("after a cancelled send: %+v; want still queued, no attempt counted", n)
	}
}

// A notice that is no longer queued (sent meanwhile, or a duplicate
// reminder never stored) is left alone by its job.
func TestSendOfANoticeNoLongerQueuedDoesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, at("2026-12-14 10:00"), notify.DelivererConfig{})
	id := h.store.add(reminderNotice(), h.clock.Now())
	h.run(t, 1, 0)
	for _, id := range []int64{id, 99} {
		if res, err := h.d.Send(context.Background(), id, 2); err != nil || res.Outcome != notify.Gone {
			t.Fatalf("Send(%d) = %+v, %v; want Gone", id, res, err)
		}
	}
	if got := len(h.srv.WaitFor(t, 1, 5*time.Second)); got != 1 {
		t.Fatalf("%d messages, want 1", got)
	}
}

func TestNewDelivererChecksConfig(t *testing.T) {
	store, clk := &fakeStore{}, clock.NewFixed(time.Now())
	sender := senderFunc(func(context.Context, notify.Message) error { return nil })
	if _, err := notify.NewDeliverer(notify.DelivererConfig{Backoff: []time.Duration{time.Minute, 0}}, store, sender, nil, clk, nil, nil); err == nil ||
		!strings.Contains(err.Error(), "backoff[1]") {
		t.Errorf("zero backoff: %v", err)
	}
	if _, err := notify.NewDeliverer(notify.DelivererConfig{}, nil, sender, nil, clk, nil, nil); err == nil {
		t.Error("nil store accepted")
	}
	if _, err := notify.NewDeliverer(notify.DelivererConfig{TemplatesDir: t.TempDir() + "/missing"}, store, sender, nil, clk, nil, nil); err == nil {
		t.Error("missing templates dir accepted")
	}
}

type senderFunc func(context.Context, notify.Message) error

func (f senderFunc) Send(ctx context.Context, m notify.Message) error { return f(ctx, m) }

// metric reads a counter from reg (kind: the kind label, "" for none).
func metric(t *testing.T, reg *prometheus.Registry, name, kind string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := kind == ""
			for _, l := range m.GetLabel() {
				match = match || l.GetName() == "kind" && l.GetValue() == kind
			}
			if match {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s{kind=%q}", name, kind)
	return 0
}
