package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/delivery"
)

// DeliveryService is what the invoice delivery endpoints need
// (*delivery.Service implements it): the delivery outbox, re-sends, the
// printed-invoice batch of a billing run and the print-and-mail vendor's
// status webhooks.
type DeliveryService interface {
	// Deliveries lists the deliveries matching f in id order: EINVALID for
	// an unknown status or channel.
	Deliveries(ctx context.Context, f billing.DeliveryFilter) ([]billing.InvoiceDelivery, error)
	// Delivery reads one delivery: ENOTFOUND if it does not exist.
	Delivery(ctx context.Context, id int64) (billing.InvoiceDelivery, error)
	// ResendDelivery queues a delivery again with a new job (a queued one
	// is returned unchanged): ENOTFOUND if it does not exist; the job's
	// insert error (uncoded; nothing changed then).
	ResendDelivery(ctx context.Context, id int64, now time.Time) (billing.InvoiceDelivery, error)
	// ResendRunDeliveries queues again every delivery of a billing run in
	// status (failed when empty) and channel (any when empty), returning
	// how many: EINVALID for status queued or an unknown status or
	// channel, ENOTFOUND for an unknown run.
	ResendRunDeliveries(ctx context.Context, runID int64, status billing.DeliveryStatus, channel billing.DeliveryChannel, now time.Time) (int, error)
	// DeliverInvoice delivers one invoice (again) by channels (nil: its
	// account's preference): ENOTFOUND for an unknown invoice, EINVALID if
	// it is void or a channel is unknown or not configured.
	DeliverInvoice(ctx context.Context, invoiceID int64, channels []billing.DeliveryChannel, now time.Time) ([]billing.InvoiceDelivery, error)
	// DeliveryCounts counts deliveries by channel and status, of one run
	// (0: of all); no coded errors.
	DeliveryCounts(ctx context.Context, runID int64) ([]billing.DeliveryCount, error)
	// PrintedInvoices writes a run's printed-invoice batch (one PDF) to w
	// and returns how many invoices it holds: ENOTFOUND if the run does not
	// exist or has no invoice by mail.
	PrintedInvoices(ctx context.Context, runID int64, w io.Writer) (int, error)
	// HandleWebhook verifies and applies one print-and-mail status
	// webhook: EUNAUTHORIZED for a missing, malformed or mismatching
	// signature or a stale timestamp, EINVALID for a body that is not an
	// event, EINTERNAL when no secret is configured.
	HandleWebhook(ctx context.Context, body []byte, signature, timestamp string, now time.Time) (delivery.WebhookResult, error)
	// Kick asks for queued deliveries to be worked soon; it cannot fail.
	Kick(ctx context.Context)
}

// resendRunRequest is the optional body of re-sending a run's deliveries.
type resendRunRequest struct {
	Status  billing.DeliveryStatus  `json:"status,omitempty" enum:"failed,returned,sent,sent_to_vendor,mailed" doc:"Re-send the run's deliveries in this status (default failed)."`
	Channel billing.DeliveryChannel `json:"channel,omitempty" enum:"email,mail" doc:"Only this channel (default both)."`
}

// deliverInvoiceRequest is the optional body of delivering one invoice.
type deliverInvoiceRequest struct {
	Channels []billing.DeliveryChannel `json:"channels,omitempty" maxItems:"2" enum:"email,mail" doc:"Deliver by these channels (default: the account's delivery preference)."`
}

type resendCount struct {
	Queued int `json:"queued" doc:"How many deliveries were queued again."`
}

// printedOutput is the printed-invoice batch; Count goes in a header.
type printedOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Count              int    `header:"X-Invoice-Count"`
	Body               []byte
}

func (s *Server) registerDelivery(d DeliveryService) {
	api := s.api
	huma.Register(api, described(op("list-deliveries", http.MethodGet, "/api/v1/deliveries",
		"List invoice deliveries", RoleReader, "delivery"),
		"The invoice delivery outbox, oldest first: one delivery per invoice and channel (email, or mail through the "+
			"print-and-mail vendor), with its status (email: queued → sent; mail: queued → sent_to_vendor → mailed or "+
			"returned; failed when given up), attempts, next attempt and last error. Filter by billing run, invoice, "+
			"account, status and channel; page with after=."),
		func(ctx context.Context, in *struct {
			RunID     int64  `query:"billing_run_id" minimum:"0" doc:"Only this billing run's deliveries."`
			InvoiceID int64  `query:"invoice_id" minimum:"0" doc:"Only this invoice's deliveries."`
			AccountID int64  `query:"account_id" minimum:"0" doc:"Only this account's deliveries."`
			Status    string `query:"status" enum:"queued,sent,sent_to_vendor,mailed,returned,failed," doc:"Only deliveries in this status."`
			Channel   string `query:"channel" enum:"email,mail," doc:"Only this channel."`
			After     int64  `query:"after" minimum:"0" doc:"Cursor: deliveries with id greater than this (the previous page's next_after)."`
			Limit     int    `query:"limit" minimum:"0" maximum:"1000" default:"100"`
		}) (*body[page[billing.InvoiceDelivery]], error) {
			ds, err := d.Deliveries(ctx, billing.DeliveryFilter{RunID: in.RunID, InvoiceID: in.InvoiceID, AccountID: in.AccountID,
				Status: billing.DeliveryStatus(in.Status), Channel: billing.DeliveryChannel(in.Channel), AfterID: in.After, Limit: in.Limit})
			return wrap(s, "list-deliveries", newPage(ds, in.Limit, func(x billing.InvoiceDelivery) int64 { return x.ID }), err)
		})
	huma.Register(api, described(op("count-deliveries", http.MethodGet, "/api/v1/deliveries/summary",
		"Count invoice deliveries by channel and status", RoleReader, "delivery"),
		"How many deliveries are in each channel and status: of one billing run, or of all."),
		func(ctx context.Context, in *struct {
			RunID int64 `query:"billing_run_id" minimum:"0" doc:"Only this billing run's deliveries."`
		}) (*body[[]billing.DeliveryCount], error) {
			cs, err := d.DeliveryCounts(ctx, in.RunID)
			if cs == nil {
				cs = []billing.DeliveryCount{}
			}
			return wrap(s, "count-deliveries", cs, err)
		})
	huma.Register(api, op("get-delivery", http.MethodGet, "/api/v1/deliveries/{id}", "Show an invoice delivery", RoleReader, "delivery"),
		func(ctx context.Context, in *IDPath) (*body[billing.InvoiceDelivery], error) {
			x, err := d.Delivery(ctx, in.ID)
			return wrap(s, "get-delivery", x, err)
		})
	huma.Register(api, described(op("resend-delivery", http.MethodPost, "/api/v1/deliveries/{id}/resend",
		"Deliver an invoice again by one channel", RoleBilling, "delivery"),
		"Queues a delivery that is not queued again, due now, with its attempts and error cleared: an email is sent "+
			"again; a letter is printed and mailed again (with a new idempotency key, so the vendor makes a new letter). "+
			"A delivery that is still queued is answered unchanged: it is on its way."),
		func(ctx context.Context, in *IDPath) (*body[billing.InvoiceDelivery], error) {
			x, err := d.ResendDelivery(ctx, in.ID, s.clock.Now())
			if err == nil {
				d.Kick(ctx)
			}
			return wrap(s, "resend-delivery", x, err)
		})
	huma.Register(api, described(op("resend-run-deliveries", http.MethodPost, "/api/v1/billing-runs/{id}/deliveries/resend",
		"Deliver a billing run's failed invoices again", RoleBilling, "delivery"),
		"Queues again, due now, every delivery of the run in a status (failed by default; returned to re-mail letters "+
			"that came back, once the address is fixed) and, optionally, one channel."),
		func(ctx context.Context, in *struct {
			IDPath
			Body *resendRunRequest
		}) (*body[resendCount], error) {
			var req resendRunRequest
			if in.Body != nil {
				req = *in.Body
			}
			n, err := d.ResendRunDeliveries(ctx, in.ID, req.Status, req.Channel, s.clock.Now())
			if err == nil && n > 0 {
				d.Kick(ctx)
			}
			return wrap(s, "resend-run-deliveries", resendCount{Queued: n}, err)
		})
	huma.Register(api, described(op("deliver-invoice", http.MethodPost, "/api/v1/invoices/{id}/deliveries",
		"Deliver an invoice (again)", RoleBilling, "delivery"),
		"Delivers the invoice by the given channels, or by its account's delivery preference: a channel it was never "+
			"delivered by gets a new delivery, one it was is queued again (as re-sending it does). Answers the "+
			"invoice's deliveries by those channels."),
		func(ctx context.Context, in *struct {
			IDPath
			Body *deliverInvoiceRequest
		}) (*body[[]billing.InvoiceDelivery], error) {
			var channels []billing.DeliveryChannel
			if in.Body != nil {
				channels = in.Body.Channels
			}
			ds, err := d.DeliverInvoice(ctx, in.ID, channels, s.clock.Now())
			if err == nil {
				d.Kick(ctx)
			}
			return wrap(s, "deliver-invoice", ds, err)
		})
	huma.Register(api, described(op("get-printed-invoices", http.MethodGet, "/api/v1/billing-runs/{id}/printed-invoices.pdf",
		"The billing run's invoices for accounts that get them by mail, as one PDF in mailing order", RoleReader, "delivery"),
		"For ISPs that print in-house: every invoice of the run whose account gets invoices by mail (delivery mail or "+
			"both), merged into one PDF sorted by postal code, then name (each invoice starts on a new page). "+
			"X-Invoice-Count says how many it holds. 404 when the run has none."),
		func(ctx context.Context, in *IDPath) (*printedOutput, error) {
			var buf bytes.Buffer
			n, err := d.PrintedInvoices(ctx, in.ID, &buf)
			if err != nil {
				return nil, s.toHTTPError("get-printed-invoices", err)
			}
			return &printedOutput{ContentType: "application/pdf", Count: n, Body: buf.Bytes(),
				ContentDisposition: fmt.Sprintf("attachment; filename=%q", fmt.Sprintf("printed-invoices-run-%d.pdf", in.ID))}, nil
		})

	// The vendor's status webhooks: no bearer token; the signature is the
	// credential.
	huma.Register(api, takesNoKey(huma.Operation{OperationID: "print-mail-webhook", Security: signedNotBearer, Method: http.MethodPost, Path: "/api/v1/webhooks/print-mail",
		Summary: "Print-and-mail vendor status webhooks (letter.mailed, letter.returned_to_sender, …), verified by " +
			"signature (Lob-Signature: HMAC-SHA256 of timestamp.body; 5 min tolerance) and deduplicated by event id",
		Description: "Lob-Signature carries the hex signature and Lob-Signature-Timestamp the signed timestamp (Unix " +
			"milliseconds; seconds are accepted). " + webhookSignatureDoc + " 422: a verified body that is not an event.",
		Tags: []string{"delivery"}, Errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity}}),
		func(ctx context.Context, in *struct {
			Signature string `header:"Lob-Signature"`
			Timestamp string `header:"Lob-Signature-Timestamp"`
			RawBody   []byte
		}) (*body[delivery.WebhookResult], error) {
			// Real time, not the controller's clock: the vendor signs with
			// real time, and a demo clock may be months ahead.
			res, err := d.HandleWebhook(ctx, in.RawBody, in.Signature, in.Timestamp, time.Now())
			if mapped, ok := s.webhookSignatureError("print-mail-webhook", "delivery.print_mail.webhook_secret_file", err); ok {
				return nil, mapped
			}
			if err != nil {
				return nil, s.toHTTPError("print-mail-webhook", err)
			}
			s.log.Info("print-mail webhook", "event_id", res.Event, "type", res.Type, "letter", res.Letter,
				"applied", res.Applied, "duplicate", res.Duplicate)
			return &body[delivery.WebhookResult]{Body: res}, nil
		})
}
