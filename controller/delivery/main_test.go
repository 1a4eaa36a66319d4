package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/controller/documents"
	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
	"github.com/tollgate-isp/tollgate/internal/printmailsim"
	"github.com/tollgate-isp/tollgate/internal/smtptest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, pgtest.WithMigrate(postgres.Migrate))) }

var (
	quiet   = slog.New(slog.NewTextHandler(io.Discard, nil))
	t0      = time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	company = documents.Company{Name: "Prairie Fiber Co-op", Address: []string{"100 Main St", "Austin, TX 78701"}}
	from    = delivery.PostalAddress{Company: "Prairie Fiber Co-op", Line1: "100 Main St", City: "Austin", Region: "TX", PostalCode: "78701"}
)

const (
	apiToken      = "test-token-0123456789abcdef"
	webhookSecret = "whsec_print_mail_test"
	vendorKey     = "test_pm_key_123"
)

// subscriber is one account of a test world.
type subscriber struct {
	name, email string
	delivery    billing.Delivery
	line1, zip  string
}

// world is a database with a finished billing run: one invoice per
// subscriber.
type world struct {
	db       *postgres.DB
	clk      *clock.Fixed
	run      billing.BillingRun
	accounts []billing.Account
}

func newWorld(t *testing.T, subs []subscriber) *world {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	w := &world{db: db, clk: clock.NewFixed(t0)}
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago", RemittanceSlip: true,
		InvoiceMessage: "Our office is closed Dec 24-25.", DefaultDelivery: billing.DeliveryEmail}, t0)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber 100", Price: 4999, Currency: "USD", Interval: billing.IntervalMonthly, Taxable: true}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range subs {
		line1 := s.line1
		if line1 == "" {
			line1 = fmt.Sprintf("%d Elm St", 100+i)
		}
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: s.name, Email: s.email, AccountTypeID: typ.ID, Currency: "USD",
			Delivery: s.delivery, Address: billing.Address{Line1: line1, City: "Austin", Region: "TX", PostalCode: s.zip, Country: "US"}}, t0)
		if err != nil {
			t.Fatalf("account %q: %v", s.name, err)
		}
		aid, pid := a.ID, plan.ID
		if _, err := db.CreateService(ctx, billing.NewService{POP: "pop-1", Binding: billing.Binding{Method: "log"},
			AccountID: &aid, PlanID: &pid, StartDate: billing.NewDate(2026, 12, 1)}, "test", t0); err != nil {
			t.Fatal(err)
		}
		w.accounts = append(w.accounts, a)
	}
	err = pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		w.run, _, err = postgres.CreateBillingRunTx(ctx, tx, typ.ID, billing.NewDate(2026, 11, 26), billing.TriggerOnDemand, "test", 1000, t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for b := range w.run.TotalBatches {
		if _, err := db.RunBillingBatch(ctx, w.run.ID, b, t0); err != nil {
			t.Fatal(err)
		}
	}
	if w.run, err = db.BillingRun(ctx, w.run.ID); err != nil || w.run.InvoicesCreated != len(subs) {
		t.Fatalf("billing run: %+v %v", w.run, err)
	}
	return w
}

// source renders with the real invoice renderer.
func (w *world) source() delivery.Source {
	return delivery.DocumentSource{Loader: w.db, Company: company}
}

// smtp returns a sender to a fresh test SMTP server.
func (w *world) smtp(t *testing.T) (*smtptest.Server, notify.Sender) {
	t.Helper()
	srv := smtptest.Start(t)
	s, err := notify.NewSMTP(notify.SMTPConfig{Addr: srv.Addr(), From: "Prairie Fiber Billing <billing@prairiefiber.example>", TLS: notify.TLSNone}, w.clk)
	if err != nil {
		t.Fatal(err)
	}
	return srv, s
}

// api serves the admin API (deliveries and the vendor's webhook) over svc.
func (w *world) api(t *testing.T, svc *delivery.Service) *httptest.Server {
	t.Helper()
	s := api.NewServer(api.Config{Company: company}, api.Deps{Services: w.db, Idempotency: w.db, Delivery: svc},
		[]api.Token{api.NewToken("test", api.RoleAdmin, apiToken)}, w.clk, quiet, nil)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// queue queues the run's invoices by channels.
func (w *world) queue(t *testing.T, channels ...billing.DeliveryChannel) int {
	t.Helper()
	_, n, err := w.db.QueueRunDeliveries(context.Background(), w.run.ID, channels, w.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// drain plays River: it works every queued delivery whose job would run
// now (its next attempt has come), several at once, round after round
// until none is due, and returns how many attempts it made.
func drain(t *testing.T, w *world, wk *delivery.Worker) int {
	t.Helper()
	total := 0
	for range 1000 {
		var due []int64
		for _, d := range w.deliveries(t, "") {
			if d.Status == billing.DeliveryQueued && !d.NextAttemptAt.After(w.clk.Now()) {
				due = append(due, d.ID)
			}
		}
		if len(due) == 0 {
			return total
		}
		var wg sync.WaitGroup
		for _, id := range due {
			wg.Go(func() {
				if _, err := wk.Deliver(context.Background(), id, 1000+id); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		total += len(due)
		// A retry is due after its backoff: the next round finds none
		// until the clock moves.
	}
	t.Fatal("deliveries never ran out")
	return total
}

// deliveries lists the run's deliveries by channel ("" for all).
func (w *world) deliveries(t *testing.T, channel billing.DeliveryChannel) []billing.InvoiceDelivery {
	t.Helper()
	ds, err := w.db.Deliveries(context.Background(), billing.DeliveryFilter{RunID: w.run.ID, Channel: channel, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// call makes an admin API request and decodes the JSON answer into out.
func call(t *testing.T, srv *httptest.Server, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set("Idempotency-Key", fmt.Sprintf("test-%d", time.Now().UnixNano()))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, data)
		}
	}
	if resp.StatusCode >= 300 && out != nil {
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode
}

// pdfText extracts a PDF's text with pdftotext -layout.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatalf("pdftotext is not installed; run `bash scripts/setup.sh` (it installs poppler-utils): %v", err)
	}
	cmd := exec.Command(bin, "-layout", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// vendor returns a client for sim.
func vendor(t *testing.T, sim *printmailsim.Sim, timeout time.Duration) (*delivery.PrintMail, delivery.PrintMailConfig) {
	t.Helper()
	cfg := delivery.PrintMailConfig{BaseURL: sim.URL(), APIKeyFile: "unused", From: from, ReturnEnvelope: true, Timeout: timeout}
	pm, err := delivery.NewPrintMail(cfg, vendorKey)
	if err != nil {
		t.Fatal(err)
	}
	return pm, cfg
}

func contains(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}
