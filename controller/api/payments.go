package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/reports"
)

// The payment endpoints' ports, one per group of handlers. Every method's
// error is a coded billing error (billing.ErrorCode) where the doc says so
// and a store failure (EINTERNAL) otherwise.

// PaymentStore records, reads, reverses and refunds by hand the payments
// of accounts (the payment endpoints; the refund endpoints read payments
// through it).
type PaymentStore interface {
	// PostPayment posts a manual payment and allocates it to the oldest
	// open invoices in one transaction: EINVALID names the bad field,
	// ENOTFOUND for an unknown account.
	PostPayment(ctx context.Context, in billing.NewPayment, by string, now time.Time) (billing.Payment, error)
	// PostPaymentIdempotent is PostPayment under an Idempotency-Key in one
	// transaction with the key's claim and the response respond makes (see
	// postgres.DB.PostPaymentIdempotent). A key already used is decided as
	// [billing.IdempotencyStore.BeginIdempotent] decides it, in the result
	// (replayed or refused), not as an error. An error means nothing was
	// written and the key is free: EINVALID names the bad field, ENOTFOUND
	// for an unknown account.
	PostPaymentIdempotent(ctx context.Context, r billing.IdempotentRequest, in billing.NewPayment, by string, now time.Time,
		lockTimeout time.Duration, respond func(billing.Payment) (billing.StoredResponse, error)) (billing.IdempotentResult, error)
	// Payment reads a payment with its allocations: ENOTFOUND if it does
	// not exist.
	Payment(ctx context.Context, id int64) (billing.Payment, error)
	// Payments lists at most limit payments (without allocations) in id
	// order after afterID, of one account and one batch when those are not
	// 0; no coded errors.
	Payments(ctx context.Context, accountID, batchID, afterID int64, limit int) ([]billing.Payment, error)
	// ReversePayment reverses a posted payment (its invoices reopen):
	// ENOTFOUND for an unknown payment, EINVALID naming a bad field of r,
	// ECONFLICT if it is already reversed.
	ReversePayment(ctx context.Context, id int64, r billing.Reversal, by string, now time.Time) (billing.Payment, error)
	// RefundPayment refunds part of a manual payment's unapplied credit,
	// completed at once (no gateway): ENOTFOUND for an unknown payment,
	// EINVALID for a bad request, more than is refundable or a gateway
	// payment, ECONFLICT if the payment is reversed.
	RefundPayment(ctx context.Context, id, amount int64, memo, by string, now time.Time) (billing.Payment, error)
}

// RefundStore reads refunds and settles by hand those flagged for staff
// (the refund endpoints; the charge service makes gateway refunds).
type RefundStore interface {
	// Refund reads one refund: ENOTFOUND if it does not exist.
	Refund(ctx context.Context, id int64) (billing.Refund, error)
	// Refunds lists the refunds matching f in id order; no coded errors.
	Refunds(ctx context.Context, f billing.RefundFilter) ([]billing.Refund, error)
	// CompleteRefund posts the journal of a refund the gateway made
	// (completing a completed one returns it): ENOTFOUND for an unknown
	// refund, ECONFLICT for a released one.
	CompleteRefund(ctx context.Context, id int64, gatewayRefund string, now time.Time) (billing.Refund, error)
	// ReleaseRefund gives a pending refund's amount back to the payment's
	// credit (releasing a released one returns it): ENOTFOUND for an
	// unknown refund, ECONFLICT for a completed one.
	ReleaseRefund(ctx context.Context, id int64, reason string, now time.Time) (billing.Refund, error)
}

// BatchStore keeps deposit batches: entering, correcting, validating and
// posting their lines (the deposit-batch endpoints; deposit slips read
// batches through it).
type BatchStore interface {
	// CreateBatch opens a batch: EINVALID without a deposit date.
	// The control figures, when given, must be positive (EINVALID).
	CreateBatch(ctx context.Context, nb billing.NewBatch, by string, now time.Time) (billing.PaymentBatch, error)
	// Batch reads a batch with its lines: ENOTFOUND if it does not exist.
	Batch(ctx context.Context, id int64) (billing.PaymentBatch, error)
	// Batches lists at most limit batches with status (""; all), newest
	// first; no coded errors.
	Batches(ctx context.Context, status billing.BatchStatus, limit int) ([]billing.PaymentBatch, error)
	// AddBatchLines appends lines to an open batch, unchecked until
	// validation: ENOTFOUND for an unknown batch, ECONFLICT once it is
	// posted.
	AddBatchLines(ctx context.Context, batchID int64, lines []billing.BatchLine) (billing.PaymentBatch, error)
	// UpdateBatchLine replaces one line of an open batch: ENOTFOUND for an
	// unknown batch or line, ECONFLICT once it is posted.
	UpdateBatchLine(ctx context.Context, batchID int64, l billing.BatchLine) (billing.PaymentBatch, error)
	// RemoveBatchLine deletes one line of an open batch: ENOTFOUND for an
	// unknown batch or line, ECONFLICT once it is posted.
	RemoveBatchLine(ctx context.Context, batchID int64, lineNo int) (billing.PaymentBatch, error)
	// ValidateBatch checks every line (errors and warnings are in the
	// result): ENOTFOUND for an unknown batch.
	ValidateBatch(ctx context.Context, batchID int64) (billing.BatchValidation, error)
	// PostBatch posts every payment of an open batch in one transaction, or
	// none: ENOTFOUND for an unknown batch, ECONFLICT if it is already
	// posted, EINVALID if it is empty, naming every bad line, or naming
	// both the lines' and the control figures when they differ.
	PostBatch(ctx context.Context, batchID int64, by string, now time.Time) (billing.PaymentBatch, error)
}

// PaymentPorts is every port of the payment endpoints in one, for wiring
// the one store that implements them all ([Deps].Payments; postgres.DB
// does). It is not a port itself: [NewServer] hands each group of handlers
// only the port it uses.
type PaymentPorts interface {
	PaymentStore
	RefundStore
	BatchStore
}

// BatchLinePath is {id}/lines/{line}; exported for huma (see IDPath).
type BatchLinePath struct {
	ID     int64 `path:"id" minimum:"1"`
	LineNo int   `path:"line" minimum:"1"`
}

// registerPayments registers the payment endpoints: posting, listing,
// reading and reversing payments.
// paymentsFilterer lists payments by method and received date too
// (*postgres.DB): list-payments uses it when those filters are given.
type paymentsFilterer interface {
	// PaymentsFiltered is [PaymentStore].Payments with f's filters; no
	// coded errors.
	PaymentsFiltered(ctx context.Context, f reports.PaymentListFilter, afterID int64, limit int) ([]billing.Payment, error)
}

func (s *Server) registerPayments(payments PaymentStore) {
	api := s.api
	// A manual payment's Idempotency-Key is claimed, and its response
	// stored, in the payment's transaction (see [Server.idempotentInTx]).
	huma.Register(api, storesKeyInTx(op("post-payment", http.MethodPost, "/api/v1/accounts/{id}/payments",
		"Record a check, cash, wire, money order or other payment; applied to the oldest open invoices, overpayment kept as credit", RoleBilling, "payments")),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				billing.NewPayment
				Amount  amountField     `json:"amount"`
				ApplyTo []applyToChoice `json:"apply_to,omitempty" maxItems:"100" doc:"Invoices staff chose to pay first, with their amounts; what is left pays the oldest open invoices."`
			}
		}) (*body[billing.Payment], error) {
			np := in.Body.NewPayment
			np.AccountID = in.ID
			if err := s.checkNotFuture("body.received_date", np.ReceivedDate); err != nil {
				return nil, err
			}
			if !np.Method.Manual() && np.Method.Valid() {
				return nil, huma.Error422UnprocessableEntity("method " + string(np.Method) + " payments are charged through the payment gateway, not recorded by hand")
			}
			var err error
			if np.Amount, err = s.accountAmount(ctx, "post-payment", "body.amount", in.ID, in.Body.Amount); err != nil {
				return nil, err
			}
			if np.ApplyTo, err = s.applyToChoices(ctx, "post-payment", in.ID, in.Body.ApplyTo); err != nil {
				return nil, err
			}
			if c := txClaimFrom(ctx); c != nil {
				return s.postPaymentOnce(ctx, payments, c, np)
			}
			p, err := payments.PostPayment(ctx, np, actor(ctx), s.clock.Now())
			return wrap(s, "post-payment", p, err)
		})
	huma.Register(api, op("list-payments", http.MethodGet, "/api/v1/payments", "List payments", RoleReader, "payments"),
		func(ctx context.Context, in *struct {
			AccountID int64  `query:"account_id" minimum:"0"`
			BatchID   int64  `query:"batch_id" minimum:"0"`
			Method    string `query:"method" enum:"check,cash,wire,money_order,other,card,ach," doc:"Only this method."`
			From      string `query:"from" doc:"Only payments received on or after this day, YYYY-MM-DD."`
			To        string `query:"to" doc:"Only payments received on or before this day, YYYY-MM-DD."`
			After     int64  `query:"after" minimum:"0"`
			Limit     int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		}) (*body[page[billing.Payment]], error) {
			var ps []billing.Payment
			var err error
			if pf, ok := payments.(paymentsFilterer); ok && (in.Method != "" || in.From != "" || in.To != "") {
				f := reports.PaymentListFilter{AccountID: in.AccountID, BatchID: in.BatchID, Method: in.Method}
				if f.From, err = queryDate("from", in.From, billing.Date{}); err != nil {
					return nil, err
				}
				if f.To, err = queryDate("to", in.To, billing.Date{}); err != nil {
					return nil, err
				}
				ps, err = pf.PaymentsFiltered(ctx, f, in.After, in.Limit)
			} else {
				ps, err = payments.Payments(ctx, in.AccountID, in.BatchID, in.After, in.Limit)
			}
			return wrap(s, "list-payments", newPage(ps, in.Limit, func(p billing.Payment) int64 { return p.ID }), err)
		})
	huma.Register(api, op("get-payment", http.MethodGet, "/api/v1/payments/{id}", "Show a payment and the invoices it paid", RoleReader, "payments"),
		func(ctx context.Context, in *IDPath) (*body[billing.Payment], error) {
			p, err := payments.Payment(ctx, in.ID)
			return wrap(s, "get-payment", p, err)
		})
	huma.Register(api, op("reverse-payment", http.MethodPost, "/api/v1/payments/{id}/reverse",
		"Reverse a payment (returned check, chargeback, entry error), optionally with a returned-payment fee; its invoices reopen", RoleBilling, "payments"),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				billing.Reversal
				Fee feeField `json:"fee,omitempty" doc:"A returned-payment fee charged to the account, in the payment's currency; 0 or absent for none."`
			}
		}) (*body[billing.Payment], error) {
			r := in.Body.Reversal
			r.Fee = in.Body.Fee.minor
			if in.Body.Fee.isText {
				orig, err := payments.Payment(ctx, in.ID)
				if err != nil {
					return nil, s.toHTTPError("reverse-payment", err)
				}
				if r.Fee, err = in.Body.Fee.in("body.fee", orig.Currency); err != nil {
					return nil, err
				}
			}
			p, err := payments.ReversePayment(ctx, in.ID, r, actor(ctx), s.clock.Now())
			return wrap(s, "reverse-payment", p, err)
		})
}

// registerRefunds registers the refund endpoints: a payment's refund
// (by hand for manual payments, through the charge service for gateway
// ones), listing, reading and settling refunds.
func (s *Server) registerRefunds(payments PaymentStore, refunds RefundStore) {
	api := s.api
	huma.Register(api, op("refund-payment", http.MethodPost, "/api/v1/payments/{id}/refund",
		"Refund part of a payment's unapplied credit: through the gateway for card and ACH payments, recorded for the others", RoleBilling, "payments"),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Amount amountField `json:"amount" required:"true" doc:"In the payment's currency."`
				Memo   string      `json:"memo,omitempty" maxLength:"500"`
			}
		}) (*body[billing.Payment], error) {
			// Validation first: nothing is reserved, and no gateway is
			// called, for a request the ledger would refuse.
			orig, err := payments.Payment(ctx, in.ID)
			if err != nil {
				return nil, s.toHTTPError("refund-payment", err)
			}
			amount, err := in.Body.Amount.in("body.amount", orig.Currency)
			if err != nil {
				return nil, err
			}
			req := billing.RefundRequest{PaymentID: in.ID, Amount: amount, Memo: in.Body.Memo, IdempotencyKey: idempotencyKeyFrom(ctx)}
			if err := req.Validate(); err != nil {
				return nil, s.toHTTPError("refund-payment", err)
			}
			if orig.Gateway == "" || orig.GatewayCharge == "" {
				p, err := payments.RefundPayment(ctx, in.ID, amount, in.Body.Memo, actor(ctx), s.clock.Now())
				return wrap(s, "refund-payment", p, err)
			}
			// Card and ACH money goes back through the gateway, the ledger
			// first: reserved under the payment's lock, then the gateway
			// with the request's key and the refund's id, then the journal.
			if s.charger == nil {
				return nil, huma.Error422UnprocessableEntity("no payment gateway is configured to refund a " + string(orig.Method) + " payment")
			}
			if _, err := s.charger.Refund(ctx, req, actor(ctx)); err != nil {
				if errors.Is(err, charge.ErrRefundUnsettled) {
					s.log.Warn("refund left pending", "payment_id", in.ID, "err", err)
					return nil, huma.Error503ServiceUnavailable(billing.ErrorMessage(err) +
						"; retry with the same Idempotency-Key, or see GET /api/v1/refunds?payment_id=" + strconv.FormatInt(in.ID, 10))
				}
				return nil, s.toHTTPError("refund-payment", err)
			}
			p, err := payments.Payment(ctx, in.ID)
			return wrap(s, "refund-payment", p, err)
		})
	huma.Register(api, op("list-refunds", http.MethodGet, "/api/v1/refunds",
		"List refunds: pending ones hold their amount on the payment until the gateway confirms; needs_attention=true lists those recovery could not settle", RoleReader, "payments"),
		func(ctx context.Context, in *struct {
			PaymentID      int64  `query:"payment_id" minimum:"0"`
			Status         string `query:"status" enum:"pending,completed,released,"`
			NeedsAttention bool   `query:"needs_attention" doc:"Only refunds flagged for staff: the gateway has no refund with their id and their key is too old to send again."`
			After          int64  `query:"after" minimum:"0"`
			Limit          int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		}) (*body[page[billing.Refund]], error) {
			rs, err := refunds.Refunds(ctx, billing.RefundFilter{PaymentID: in.PaymentID, Status: billing.RefundStatus(in.Status),
				NeedsAttention: in.NeedsAttention, AfterID: in.After, Limit: in.Limit})
			return wrap(s, "list-refunds", newPage(rs, in.Limit, func(r billing.Refund) int64 { return r.ID }), err)
		})
	huma.Register(api, op("get-refund", http.MethodGet, "/api/v1/refunds/{id}", "Show a refund", RoleReader, "payments"),
		func(ctx context.Context, in *IDPath) (*body[billing.Refund], error) {
			r, err := refunds.Refund(ctx, in.ID)
			return wrap(s, "get-refund", r, err)
		})
	huma.Register(api, op("settle-refund", http.MethodPost, "/api/v1/refunds/{id}/settle",
		"Settle a refund flagged for staff after checking the gateway: completed (the gateway made it; the journal is posted) or released (it did not; the amount goes back to the payment's credit)", RoleBilling, "payments"),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Outcome       string `json:"outcome" enum:"completed,released" required:"true"`
				GatewayRefund string `json:"gateway_refund,omitempty" maxLength:"255" doc:"The gateway's refund id (re_…), for outcome completed."`
				Reason        string `json:"reason,omitempty" maxLength:"500"`
			}
		}) (*body[billing.Refund], error) {
			r, err := refunds.Refund(ctx, in.ID)
			if err != nil {
				return nil, s.toHTTPError("settle-refund", err)
			}
			if r.Status == billing.RefundPending && r.NeedsAttention == "" {
				return nil, s.toHTTPError("settle-refund", billing.Errorf(billing.ECONFLICT,
					"refund %d is being settled automatically; only a refund flagged for staff is settled by hand", in.ID))
			}
			for _, f := range []struct{ name, value string }{{"reason", in.Body.Reason}, {"gateway_refund", in.Body.GatewayRefund}} {
				if err := billing.CheckMemoText(f.name, f.value, 500); err != nil {
					return nil, s.toHTTPError("settle-refund", err)
				}
			}
			if in.Body.Outcome == "completed" && in.Body.GatewayRefund == "" {
				return nil, s.toHTTPError("settle-refund", billing.Errorf(billing.EINVALID, "gateway_refund is required to complete a refund: the gateway's id of the refund it made"))
			}
			if in.Body.Outcome == "completed" {
				r, err = refunds.CompleteRefund(ctx, in.ID, in.Body.GatewayRefund, s.clock.Now())
			} else {
				r, err = refunds.ReleaseRefund(ctx, in.ID, "released by "+actor(ctx)+optionalText(": ", in.Body.Reason), s.clock.Now())
			}
			return wrap(s, "settle-refund", r, err)
		})
}

// newBatch is the body that opens a deposit batch.
type newBatch struct {
	DepositDate    billing.Date `json:"deposit_date" required:"true"`
	DepositAccount string       `json:"deposit_account,omitempty" maxLength:"100" doc:"The bank account the deposit goes to."`
	Memo           string       `json:"memo,omitempty" maxLength:"500"`
	ControlCount   *int         `json:"control_count,omitempty" minimum:"1" maximum:"20000" doc:"How many payments the deposit holds, as counted before entering it; posting is refused until the lines match."`
	ControlTotal   *int64       `json:"control_total,omitempty" minimum:"1" maximum:"100000000000000" doc:"The deposit's total in minor units of its currency, as added up before entering it; posting is refused until the lines match."`
}

// registerBatches registers the deposit-batch endpoints.
func (s *Server) registerBatches(batches BatchStore) {
	api := s.api
	huma.Register(api, op("create-batch", http.MethodPost, "/api/v1/payment-batches",
		"Open a deposit batch for entering check, cash and other payments", RoleBilling, "payment batches"),
		func(ctx context.Context, in *body[newBatch]) (*body[billing.PaymentBatch], error) {
			if err := s.checkNotFuture("body.deposit_date", in.Body.DepositDate); err != nil {
				return nil, err
			}
			b, err := batches.CreateBatch(ctx, billing.NewBatch{DepositDate: in.Body.DepositDate, DepositAccount: in.Body.DepositAccount,
				Memo: in.Body.Memo, ControlCount: in.Body.ControlCount, ControlTotal: in.Body.ControlTotal}, actor(ctx), s.clock.Now())
			return wrap(s, "create-batch", b, err)
		})
	huma.Register(api, op("list-batches", http.MethodGet, "/api/v1/payment-batches", "List deposit batches, newest first", RoleReader, "payment batches"),
		func(ctx context.Context, in *struct {
			Status string `query:"status" enum:"open,posted,"`
			Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		}) (*body[page[billing.PaymentBatch]], error) {
			bs, err := batches.Batches(ctx, billing.BatchStatus(in.Status), in.Limit)
			return wrap(s, "list-batches", newPage(bs, 0, func(b billing.PaymentBatch) int64 { return b.ID }), err)
		})
	huma.Register(api, op("get-batch", http.MethodGet, "/api/v1/payment-batches/{id}", "Show a deposit batch with its lines", RoleReader, "payment batches"),
		func(ctx context.Context, in *IDPath) (*body[billing.PaymentBatch], error) {
			b, err := batches.Batch(ctx, in.ID)
			return wrap(s, "get-batch", b, err)
		})
	huma.Register(api, op("add-batch-lines", http.MethodPost, "/api/v1/payment-batches/{id}/lines",
		"Add payments to an open batch (checked at validation and posting)", RoleBilling, "payment batches"),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Lines []batchLineIn `json:"lines" minItems:"1" maxItems:"20000" required:"true"`
			}
		}) (*body[billing.PaymentBatch], error) {
			lines := make([]billing.BatchLine, len(in.Body.Lines))
			for i, l := range in.Body.Lines {
				var err error
				if lines[i], err = s.batchLine(ctx, fmt.Sprintf("body.lines[%d]", i), l, nil); err != nil {
					return nil, err
				}
			}
			b, err := batches.AddBatchLines(ctx, in.ID, lines)
			return wrap(s, "add-batch-lines", b, err)
		})
	huma.Register(api, op("update-batch-line", http.MethodPut, "/api/v1/payment-batches/{id}/lines/{line}",
		"Correct one line of an open batch", RoleBilling, "payment batches"),
		func(ctx context.Context, in *struct {
			BatchLinePath
			Body batchLineIn
		}) (*body[billing.PaymentBatch], error) {
			old, err := batches.Batch(ctx, in.ID)
			if err != nil {
				return nil, s.toHTTPError("update-batch-line", err)
			}
			i := slices.IndexFunc(old.Lines, func(l billing.BatchLine) bool { return l.LineNo == in.LineNo })
			if i < 0 {
				return nil, huma.Error404NotFound(fmt.Sprintf("batch %d has no line %d", in.ID, in.LineNo))
			}
			line, err := s.batchLine(ctx, "body", in.Body, &old.Lines[i])
			if err != nil {
				return nil, err
			}
			line.LineNo = in.LineNo
			b, err := batches.UpdateBatchLine(ctx, in.ID, line)
			return wrap(s, "update-batch-line", b, err)
		})
	huma.Register(api, op("remove-batch-line", http.MethodDelete, "/api/v1/payment-batches/{id}/lines/{line}",
		"Remove one line of an open batch", RoleBilling, "payment batches"),
		func(ctx context.Context, in *BatchLinePath) (*body[billing.PaymentBatch], error) {
			b, err := batches.RemoveBatchLine(ctx, in.ID, in.LineNo)
			return wrap(s, "remove-batch-line", b, err)
		})
	huma.Register(api, op("validate-batch", http.MethodGet, "/api/v1/payment-batches/{id}/validation",
		"Check every line of a batch: errors stop posting, warnings do not", RoleReader, "payment batches"),
		func(ctx context.Context, in *IDPath) (*body[billing.BatchValidation], error) {
			v, err := batches.ValidateBatch(ctx, in.ID)
			return wrap(s, "validate-batch", v, err)
		})
	huma.Register(api, described(op("post-batch", http.MethodPost, "/api/v1/payment-batches/{id}/post",
		"Post every payment of a batch as one unit; a batch with any bad line posts nothing", RoleBilling, "payment batches"),
		"Every line is posted in one transaction, or none is: a line that does not validate, or lines whose count or total "+
			"differ from the batch's control_count or control_total (when it has them), refuse the whole post with 422 naming "+
			"what differs; nothing is written."),
		func(ctx context.Context, in *IDPath) (*body[billing.PaymentBatch], error) {
			b, err := batches.PostBatch(ctx, in.ID, actor(ctx), s.clock.Now())
			return wrap(s, "post-batch", b, err)
		})
}

// postPaymentOnce posts a payment under the request's Idempotency-Key, the
// key's claim and the stored response in the payment's transaction (see
// [Server.idempotentInTx]). The response stored, and answered, is the
// payment as huma would write it: the negotiated format, status 200.
func (s *Server) postPaymentOnce(ctx context.Context, payments PaymentStore, c *txClaim, in billing.NewPayment) (*body[billing.Payment], error) {
	// Negotiated before anything is posted, so that no payment is made
	// whose response cannot be written.
	ct, err := s.api.Negotiate(c.accept)
	if err != nil {
		return nil, huma.Error406NotAcceptable("unable to marshal response", err)
	}
	respond := func(p billing.Payment) (billing.StoredResponse, error) {
		// The API has no response transformers (no create hooks): the
		// body is the marshalled value.
		var b bytes.Buffer
		if err := s.api.Marshal(&b, ct, p); err != nil {
			return billing.StoredResponse{}, err
		}
		return billing.StoredResponse{StatusCode: http.StatusOK, ContentType: ct, Body: b.Bytes()}, nil
	}
	res, err := payments.PostPaymentIdempotent(ctx, c.req, in, actor(ctx), s.clock.Now(), s.cfg.IdempotencyLockTimeout, respond)
	if err != nil {
		return nil, s.toHTTPError("post-payment", err)
	}
	c.decided(res)
	return nil, nil // the middleware answers with res
}

func optionalText(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}
