package delivery_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/internal/printmailsim"
)

// TestEmailedInvoiceCarriesItsPDF delivers a run's invoices by email to a
// real SMTP server: each message has the invoice PDF attached as
// INV-….pdf, whose text names the invoice; an account without an email
// address fails at once, visibly; mail deliveries are not queued without a
// vendor.
func TestEmailedInvoiceCarriesItsPDF(t *testing.T) {
	t.Parallel()
	w := newWorld(t, []subscriber{
		{name: "Ana Nguyen", email: "ana@example.net", delivery: billing.DeliveryEmail, zip: "78701"},
		{name: "Ben Smith", email: "ben@example.net", delivery: billing.DeliveryBoth, zip: "78702"},
		{name: "Chloe Garcia", zip: "78703"}, // the type's default (email), but no address
	})
	srv, sender := w.smtp(t)
	wk, err := delivery.NewWorker(delivery.Config{}, w.db, w.source(), delivery.WorkerOptions{Email: sender,
		Company: company.Name, PortalURL: "https://pay.prairiefiber.example"}, w.clk, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if n := w.queue(t, wk.Channels()...); n != 3 {
		t.Fatalf("queued %d email deliveries, want 3", n)
	}
	if n := drain(t, w, wk); n != 3 {
		t.Fatalf("worked %d deliveries, want 3", n)
	}
	msgs := srv.WaitFor(t, 2, 10*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	byTo := map[string]billing.InvoiceDelivery{}
	for _, d := range w.deliveries(t, "") {
		byTo[d.To] = d
		if d.Channel != billing.ChannelEmail {
			t.Errorf("delivery %d by %s without a vendor", d.ID, d.Channel)
		}
	}
	for _, m := range msgs {
		if m.Err != nil {
			t.Fatalf("message to %v: %v", m.To, m.Err)
		}
		d := byTo[m.To[0]]
		if d.Status != billing.DeliverySent || d.SentAt == nil || d.Attempts != 1 {
			t.Errorf("delivery to %s: %+v", m.To[0], d)
		}
		contains(t, "subject", m.Subject, d.InvoiceNumber, "Prairie Fiber Co-op", "USD 49.99")
		contains(t, "body", m.Text, d.InvoiceNumber, "https://pay.prairiefiber.example", "attached")
		if len(m.Attachments) != 1 {
			t.Fatalf("message to %s has %d attachments", m.To[0], len(m.Attachments))
		}
		a := m.Attachments[0]
		if a.Name != d.InvoiceNumber+".pdf" || a.ContentType != "application/pdf" || !bytes.HasPrefix(a.Data, []byte("%PDF-")) {
			t.Errorf("attachment %q (%s) starts %q", a.Name, a.ContentType, a.Data[:min(8, len(a.Data))])
		}
		contains(t, "the attached PDF", pdfText(t, a.Data), d.InvoiceNumber, "Our office is closed Dec 24-25.")
	}
	failed := w.deliveries(t, "")
	var noEmail *billing.InvoiceDelivery
	for i := range failed {
		if failed[i].Status == billing.DeliveryFailed {
			noEmail = &failed[i]
		}
	}
	if noEmail == nil || noEmail.AccountID != w.accounts[2].ID || !strings.Contains(noEmail.LastError, "no email address") {
		t.Fatalf("the account without an email address: %+v", noEmail)
	}
}

// TestLetterCreatedOnceAndMovedByWebhooks mails invoices through the fake
// vendor: the first create-letter answer is lost (the letter exists but the
// worker sees 502), the retry gets the same letter back (one letter per
// idempotency key); an undeliverable address fails at verification; signed
// status webhooks through the admin API move letters to mailed and
// returned, once each; forged, stale and wrongly keyed ones are refused; a
// re-send prints a new letter.
func TestLetterCreatedOnceAndMovedByWebhooks(t *testing.T) {
	t.Parallel()
	w := newWorld(t, []subscriber{
		{name: "Dev Patel", delivery: billing.DeliveryMail, zip: "78701"},
		{name: "Elena Kim", email: "elena@example.net", delivery: billing.DeliveryBoth, zip: "78702"},
		{name: "Farid Okafor", delivery: billing.DeliveryMail, zip: "78799"}, // undeliverable
		{name: "Grace Rossi", delivery: billing.DeliveryMail, zip: "78704"},
	})
	svc := delivery.NewService(w.db, w.source(), delivery.ServiceOptions{WebhookSecrets: []string{"old-secret", webhookSecret}})
	apiSrv := w.api(t, svc)
	sim := printmailsim.Start(t, printmailsim.Options{APIKey: vendorKey, WebhookSecret: webhookSecret, KeepFiles: true,
		WebhookURL: apiSrv.URL + "/api/v1/webhooks/print-mail", UndeliverablePostalCodes: []string{"78799"}})
	pm, pmCfg := vendor(t, sim, 5*time.Second)
	smtpSrv, sender := w.smtp(t)
	wk, err := delivery.NewWorker(delivery.Config{}, w.db, w.source(), delivery.WorkerOptions{Email: sender, Vendor: pm,
		PrintMail: pmCfg, Company: company.Name}, w.clk, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if n := w.queue(t, wk.Channels()...); n != 5 {
		t.Fatalf("queued %d deliveries, want 5 (4 letters, 1 email)", n)
	}
	ctx := context.Background()

	// The vendor creates the letters but the answers are lost.
	sim.SetMode(printmailsim.AcceptThenFail)
	drain(t, w, wk)
	smtpSrv.WaitFor(t, 1, 10*time.Second)
	if got := len(sim.Letters()); got != 3 {
		t.Fatalf("the vendor has %d letters, want 3 (the undeliverable address is never sent)", got)
	}
	mail := w.deliveries(t, billing.ChannelMail)
	for _, d := range mail {
		switch {
		case d.AccountID == w.accounts[2].ID:
			if d.Status != billing.DeliveryFailed || !strings.Contains(d.LastError, "undeliverable") || d.Attempts != 1 {
				t.Errorf("undeliverable address: %+v", d)
			}
		case d.Status != billing.DeliveryQueued || d.Attempts != 1 || !strings.Contains(d.LastError, "502"):
			t.Errorf("after a lost answer: %+v", d)
		}
	}

	// A minute later the vendor answers again: the retries get the same
	// letters back.
	sim.SetMode(printmailsim.Up)
	w.clk.Add(time.Minute)
	drain(t, w, wk)
	letters := map[string]printmailsim.Letter{}
	for _, l := range sim.Letters() {
		letters[l.ID] = l
	}
	for key, n := range sim.Creations() {
		if n != 1 {
			t.Errorf("key %s: %d letters created", key, n)
		}
	}
	byAccount := map[int64]billing.InvoiceDelivery{}
	for _, d := range w.deliveries(t, billing.ChannelMail) {
		byAccount[d.AccountID] = d
		if d.AccountID == w.accounts[2].ID {
			continue
		}
		l, ok := letters[d.VendorLetterID]
		if d.Status != billing.DeliverySentToVendor || !ok || l.IdempotencyKey != d.IdempotencyKey || d.Attempts != 2 {
			t.Errorf("delivery %+v; vendor letter %+v", d, l)
			continue
		}
		if l.Metadata[delivery.MetaInvoice] != d.InvoiceNumber || l.UseType != "operational" || l.AddressPlacement != "insert_blank_page" ||
			!l.ReturnEnvelope || l.PerforatedPage != 1 || l.From.Company != "Prairie Fiber Co-op" || !bytes.HasPrefix(l.PDF, []byte("%PDF-")) {
			t.Errorf("letter as the vendor got it: %+v", l)
		}
		contains(t, "the letter's PDF", pdfText(t, l.PDF), d.InvoiceNumber)
	}
	if l := letters[byAccount[w.accounts[0].ID].VendorLetterID]; l.To.Name != "Dev Patel" || l.To.Zip != "78701" || l.To.State != "TX" {
		t.Errorf("letter to %+v", l.To)
	}

	// Status webhooks through the admin API.
	dev, elena, grace := byAccount[w.accounts[0].ID], byAccount[w.accounts[1].ID], byAccount[w.accounts[3].ID]
	if err := sim.Mail(ctx, dev.VendorLetterID); err != nil {
		t.Fatal(err)
	}
	if err := sim.Mail(ctx, grace.VendorLetterID); err != nil {
		t.Fatal(err)
	}
	if err := sim.ReturnToSender(ctx, grace.VendorLetterID); err != nil {
		t.Fatal(err)
	}
	body, sig, ts, err := sim.Event(elena.VendorLetterID, "letter.mailed")
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Repeat("0", 64)
	staleSig, staleTS := printmailsim.Sign(body, webhookSecret, time.Now().Add(-time.Hour))
	otherSig, _ := printmailsim.Sign(body, "not-the-secret", time.Now())
	for name, h := range map[string][2]string{"forged": {forged, ts}, "stale": {staleSig, staleTS}, "wrong key": {otherSig, ts},
		"tampered timestamp": {sig, fmt.Sprint(time.Now().UnixMilli() + 1)}, "missing": {"", ""}} {
		err := sim.Post(ctx, body, h[0], h[1])
		if err == nil || !strings.Contains(err.Error(), "answered 400 Bad Request") {
			t.Errorf("%s signature: %v, want 400", name, err)
		}
	}
	if d, _ := w.db.Delivery(ctx, elena.ID); d.Status != billing.DeliverySentToVendor {
		t.Fatalf("a refused webhook changed the delivery: %+v", d)
	}
	if err := sim.Post(ctx, body, sig, ts); err != nil {
		t.Fatal(err)
	}
	if err := sim.Post(ctx, body, sig, ts); err != nil { // a redelivery is acknowledged
		t.Fatal(err)
	}
	want := map[int64]billing.DeliveryStatus{dev.ID: billing.DeliveryMailed, elena.ID: billing.DeliveryMailed, grace.ID: billing.DeliveryReturned}
	for id, st := range want {
		var d billing.InvoiceDelivery
		if code := call(t, apiSrv, http.MethodGet, fmt.Sprintf("/api/v1/deliveries/%d", id), nil, &d); code != 200 || d.Status != st {
			t.Errorf("delivery %d: %d %+v, want %s", id, code, d, st)
		}
	}

	// Fix Farid's address and re-send his failed letter from the API: a new
	// key, a new letter.
	if _, err := w.db.Pool.Exec(ctx, `UPDATE accounts SET address = jsonb_set(address, '{postal_code}', '"78703"') WHERE id = $1`, w.accounts[2].ID); err != nil {
		t.Fatal(err)
	}
	var queued struct{ Queued int }
	if code := call(t, apiSrv, http.MethodPost, fmt.Sprintf("/api/v1/billing-runs/%d/deliveries/resend", w.run.ID), map[string]string{}, &queued); code != 200 || queued.Queued != 1 {
		t.Fatalf("resend the run's failed deliveries: %d %+v", code, queued)
	}
	drain(t, w, wk)
	farid, _ := w.db.Delivery(ctx, byAccount[w.accounts[2].ID].ID)
	if farid.Status != billing.DeliverySentToVendor || !strings.HasSuffix(farid.IdempotencyKey, "-r1") || sim.Creations()[farid.IdempotencyKey] != 1 {
		t.Fatalf("re-sent letter: %+v", farid)
	}
	if len(sim.Letters()) != 4 {
		t.Fatalf("%d letters at the vendor, want 4", len(sim.Letters()))
	}
}

// TestPrintedBatchInMailingOrder downloads a run's printed-invoice batch
// through the admin API: one PDF of the invoices of accounts that get them
// by mail (mail or both, not email), ordered by postal code, then name.
func TestPrintedBatchInMailingOrder(t *testing.T) {
	t.Parallel()
	w := newWorld(t, []subscriber{
		{name: "Zed Novak", delivery: billing.DeliveryMail, zip: "78705"},
		{name: "Amy Cohen", email: "amy@example.net", delivery: billing.DeliveryBoth, zip: "78705"},
		{name: "Eve Silva", email: "eve@example.net", delivery: billing.DeliveryEmail, zip: "78700"},
		{name: "Bob Murphy", delivery: billing.DeliveryMail, zip: "78701"},
	})
	srv := w.api(t, delivery.NewService(w.db, w.source(), delivery.ServiceOptions{}))
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/billing-runs/%d/printed-invoices.pdf", srv.URL, w.run.ID), nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || resp.Header.Get("X-Invoice-Count") != "3" ||
		!bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("printed batch: %d %v\n%.200s", resp.StatusCode, resp.Header, buf.String())
	}
	text := pdfText(t, buf.Bytes())
	last := -1
	for _, name := range []string{"Bob Murphy", "Amy Cohen", "Zed Novak"} {
		i := strings.Index(text, name)
		if i < 0 || i < last {
			t.Fatalf("%s is not next in the batch (at %d, after %d):\n%s", name, i, last, text)
		}
		last = i
	}
	if strings.Contains(text, "Eve Silva") {
		t.Error("the email-only account is in the printed batch")
	}
	if code := call(t, srv, http.MethodGet, "/api/v1/billing-runs/999/printed-invoices.pdf", nil, nil); code != http.StatusNotFound {
		t.Errorf("unknown run: %d", code)
	}
}
