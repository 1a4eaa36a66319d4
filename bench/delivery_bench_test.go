package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/controller/documents"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
	"github.com/tollgate-isp/tollgate/internal/printmailsim"
)

// BenchmarkDelivery10k delivers a finished billing run of 10,000 seeded
// invoices (each with a service line and a tax line, and its journal
// transaction) end to end, with the production delivery settings: the
// jobs runner queues the run's deliveries by each account's preference (40%
// email, 30% mail, 30% both: 7,000 emails and 6,000 letters), and the
// delivery worker loads and renders every invoice PDF once, emails it with
// the PDF attached to a real SMTP server in this process (go-smtp, counting
// and discarding), and has the fake print-and-mail vendor (printmailsim,
// over HTTP) verify the address and create the letter, recording every
// outcome. delivery_10k_s is from queueing to the last outcome recorded.
// Run with -benchtime=1x.
func BenchmarkDelivery10k(b *testing.B) {
	const invoices = 10_000
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago", RemittanceSlip: true,
		InvoiceMessage: "Our office is closed Dec 24-25. Pay any time at the customer portal."}, now)
	if err != nil {
		b.Fatal(err)
	}
	var runID int64
	if err := db.Pool.QueryRow(ctx, `INSERT INTO billing_runs (account_type_id, run_date, trigger, requested_by, status,
			total_accounts, done_accounts, total_batches, done_batches, invoices_created, amount_invoiced, created_at, finished_at)
		VALUES ($1, '2026-11-26', 'on_demand', 'bench', 'completed', $2, $2, 4, 4, $2, $2 * 5311, $3, $3) RETURNING id`,
		typ.ID, invoices, now).Scan(&runID); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO accounts (number, name, email, address, account_type_id, currency, tax_jurisdiction, delivery, anchor_date, created_at)
			SELECT 'A-' || lpad(g::text, 7, '0'), 'Subscriber ' || g, 'subscriber' || g || '@example.net',
				jsonb_build_object('line1', (100 + g) || ' Elm St', 'city', 'Austin', 'region', 'TX',
					'postal_code', '787' || lpad((g %% 100)::text, 2, '0'), 'country', 'US'),
				%d, 'USD', 'US-TX', CASE WHEN g %% 10 < 4 THEN 'email' WHEN g %% 10 < 7 THEN 'mail' ELSE 'both' END,
				'2026-12-01', now()
			FROM generate_series(1, %d) g`, typ.ID, invoices),
		fmt.Sprintf(`INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
				currency, subtotal, tax, total, why, billing_run_id, created_at)
			SELECT id, 'INV-' || lpad(id::text, 7, '0'), id, '2026-12-01', '2027-01-01', '2026-11-26', '2026-12-10', '2026-12-17',
				'USD', 4999, 312, 5311, '{}', %d, now()
			FROM accounts`, runID),
		`SELECT setval('invoices_id_seq', (SELECT max(id) FROM invoices))`,
		`INSERT INTO invoice_lines (invoice_id, line_no, kind, description, period_start, period_end, amount, taxable)
			SELECT id, 1, 'recurring', 'Fiber 100 — Dec 1, 2026 to Dec 31, 2026', '2026-12-01'::date, '2027-01-01'::date, 4999, true FROM invoices
			UNION ALL
			SELECT id, 2, 'tax', 'TX sales tax 6.25%', NULL, NULL, 312, false FROM invoices`,
		`WITH tx AS (
				INSERT INTO journal_transactions (kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
				SELECT 'invoice_issued', account_id, id, 'USD', 'invoice ' || number, issue_date, now() FROM invoices
				RETURNING id, account_id
			)
			INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
			SELECT tx.id, u.no, tx.account_id, u.ledger, u.amount FROM tx,
				(VALUES (1::smallint, 'accounts_receivable', 5311::bigint), (2::smallint, 'service_revenue', -4999::bigint),
					(3::smallint, 'tax_payable', -312::bigint)) u(no, ledger, amount)`,
		`VACUUM ANALYZE`,
	} {
		if _, err := db.Pool.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}

	sink := startSMTPSink(b)
	clk := clock.NewFixed(now)
	sender, err := notify.NewSMTP(notify.SMTPConfig{Addr: sink.addr, From: "Prairie Fiber Billing <billing@prairiefiber.example>", TLS: notify.TLSNone}, clk)
	if err != nil {
		b.Fatal(err)
	}
	sim := printmailsim.Start(b, printmailsim.Options{APIKey: "bench_key"})
	pmCfg := delivery.PrintMailConfig{BaseURL: sim.URL(), APIKeyFile: "unused", ReturnEnvelope: true,
		From: delivery.PostalAddress{Company: "Prairie Fiber Co-op", Line1: "100 Main St", City: "Austin", Region: "TX", PostalCode: "78701"}}
	pm, err := delivery.NewPrintMail(pmCfg, "bench_key")
	if err != nil {
		b.Fatal(err)
	}
	company := documents.Company{Name: "Prairie Fiber Co-op", Address: []string{"100 Main St", "Austin, TX 78701"}}
	wk, err := delivery.NewWorker(delivery.Config{}, db, delivery.DocumentSource{Loader: db, Company: company},
		delivery.WorkerOptions{Email: sender, Vendor: pm, PrintMail: pmCfg, Company: company.Name}, clk, quiet)
	if err != nil {
		b.Fatal(err)
	}
	runner, err := app.NewJobRunner(jobs.Config{DisableSchedule: true}, db, clk, quiet)
	if err != nil {
		b.Fatal(err)
	}
	runner.UseDeliverer(wk)
	if err := runner.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = runner.Stop(ctx) }()

	// Timed: queueing the run's deliveries with their River jobs, and the
	// jobs delivering them (delivery.concurrency at once).
	b.ResetTimer()
	start := time.Now()
	if err := runner.QueueDeliveries(ctx, runID); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var queued int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM invoice_deliveries WHERE billing_run_id = $1 AND status = 'queued'`,
			runID).Scan(&queued); err != nil {
			b.Fatal(err)
		}
		if queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d deliveries still queued after 30 minutes", queued)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()

	counts, err := db.DeliveryCounts(ctx, runID)
	if err != nil {
		b.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range counts {
		got[string(c.Channel)+" "+string(c.Status)] = c.Count
	}
	if got["email sent"] != 7000 || got["mail sent_to_vendor"] != 6000 || len(got) != 2 {
		b.Fatalf("deliveries by channel and status: %v; want 7000 emails sent and 6000 letters sent to the vendor", got)
	}
	if n := sink.messages.Load(); n != 7000 {
		b.Fatalf("the SMTP server accepted %d messages, want 7000", n)
	}
	creations := sim.Creations()
	if len(creations) != 6000 {
		b.Fatalf("the vendor has letters under %d keys, want 6000", len(creations))
	}
	for k, n := range creations {
		if n != 1 {
			b.Fatalf("key %s: %d letters", k, n)
		}
	}
	b.ReportMetric(elapsed.Seconds(), "delivery_10k_s")
	b.ReportMetric(0, "ns/op")
	b.Logf("delivered %d invoices (7000 emails, 6000 letters; %d MiB of email) in %s: %.0f invoices/s",
		invoices, sink.bytes.Load()>>20, elapsed.Round(time.Millisecond), invoices/elapsed.Seconds())
}

// smtpSink is an SMTP server in this process that counts and discards
// what it accepts.
type smtpSink struct {
	addr     string
	messages atomic.Int64
	bytes    atomic.Int64
}

func startSMTPSink(b *testing.B) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &smtpSink{addr: ln.Addr().String()}
	srv := smtp.NewServer(s)
	srv.Domain = "sink.localhost"
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	srv.MaxMessageBytes = 32 << 20
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			b.Log(err)
		}
	}()
	b.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return sinkSession{s}, nil }

type sinkSession struct{ s *smtpSink }

func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x sinkSession) Data(r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	if err == nil {
		x.s.messages.Add(1)
		x.s.bytes.Add(n)
	}
	return err
}
func (sinkSession) Reset()        {}
func (sinkSession) Logout() error { return nil }
