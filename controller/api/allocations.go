package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// AllocationStore is what the payment allocation endpoints need from
// storage: a payment's allocation moved between its account's invoices,
// and its allocation history.
type AllocationStore interface {
	// Payment reads a payment with its allocations.
	// Errors: ENOTFOUND for an unknown payment.
	Payment(ctx context.Context, id int64) (billing.Payment, error)
	// ReallocatePayment moves part of a posted payment's allocation from
	// one invoice to another open invoice of its account, in one
	// transaction with its allocation events and the account's
	// settlement. Errors: ENOTFOUND for an unknown payment; EINVALID
	// naming the field (from_invoice, to_invoice, amount); ECONFLICT for
	// a reversed payment. Nothing is written on an error.
	ReallocatePayment(ctx context.Context, id int64, r billing.Reallocation, by string, now time.Time) (billing.Payment, error)
	// AllocationEvents lists a payment's allocation events, oldest first.
	// Errors: ENOTFOUND for an unknown payment.
	AllocationEvents(ctx context.Context, paymentID int64) ([]billing.AllocationEvent, error)
	// InvoiceAllocationEvents lists an invoice's allocation events, oldest
	// first: a credit note's applications of its credit to invoices, and
	// every payment's or credit note's money applied to the invoice or
	// taken back. Errors: ENOTFOUND for an unknown invoice.
	InvoiceAllocationEvents(ctx context.Context, invoiceID int64) ([]billing.AllocationEvent, error)
}

// applyToChoice is one invoice staff chose for a payment, in a request:
// its amount in minor units or a decimal in the account's currency.
type applyToChoice struct {
	Invoice string      `json:"invoice" maxLength:"64" required:"true" doc:"The invoice's number (INV-000012) or id: an open invoice of the payment's account."`
	Amount  amountField `json:"amount" required:"true"`
}

// applyToChoices reads a manual payment's apply_to in account id's
// currency; a 422 names the bad amount.
func (s *Server) applyToChoices(ctx context.Context, op string, id int64, in []applyToChoice) ([]billing.AllocationChoice, error) {
	var out []billing.AllocationChoice
	for i, c := range in {
		n, err := s.accountAmount(ctx, op, fmt.Sprintf("body.apply_to[%d].amount", i), id, c.Amount)
		if err != nil {
			return nil, err
		}
		out = append(out, billing.AllocationChoice{Invoice: c.Invoice, Amount: n})
	}
	return out, nil
}

func (s *Server) registerAllocations(store AllocationStore) {
	huma.Register(s.api, described(op("reallocate-payment", http.MethodPost, "/api/v1/payments/{id}/reallocate",
		"Move part of a payment's allocation from one invoice to another open invoice of its account", RoleBilling, "payments"),
		"Re-allocates a posted payment: the amount it paid on from_invoice moves to to_invoice, an open invoice of the same "+
			"account, as two dated allocation events (never an edit; GET /api/v1/payments/{id}/allocations lists them). The "+
			"account's receivable does not change, so there is no journal entry; the invoices' paid or open status follows, and "+
			"the account is settled as after a payment (money moved onto a past-due invoice may restore service). 422 names "+
			"the bad field; 409 for a reversed payment; nothing is written on an error."),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				From   string      `json:"from_invoice" maxLength:"64" required:"true" doc:"The invoice (number or id) the payment paid, whose allocation is reduced."`
				To     string      `json:"to_invoice" maxLength:"64" required:"true" doc:"The open invoice (number or id) that receives the amount."`
				Amount amountField `json:"amount" required:"true" doc:"In the payment's currency."`
			}
		}) (*body[billing.Payment], error) {
			r := billing.Reallocation{From: in.Body.From, To: in.Body.To, Amount: in.Body.Amount.minor}
			if in.Body.Amount.isText {
				p, err := store.Payment(ctx, in.ID)
				if err != nil {
					return nil, s.toHTTPError("reallocate-payment", err)
				}
				if r.Amount, err = in.Body.Amount.in("body.amount", p.Currency); err != nil {
					return nil, err
				}
			}
			p, err := store.ReallocatePayment(ctx, in.ID, r, actor(ctx), s.clock.Now())
			return wrap(s, "reallocate-payment", p, err)
		})
	huma.Register(s.api, described(op("list-payment-allocations", http.MethodGet, "/api/v1/payments/{id}/allocations",
		"List a payment's allocation events", RoleReader, "payments"),
		"Every change of what the payment paid, oldest first: applied (oldest first or to chosen invoices), reallocated "+
			"(both sides), reversed. Each is dated (effective_date) and signed (actor); an invoice's allocation from this "+
			"payment is the sum of its events, and as of a date the sum of those effective by then. 404 for an unknown payment."),
		func(ctx context.Context, in *IDPath) (*body[page[billing.AllocationEvent]], error) {
			es, err := store.AllocationEvents(ctx, in.ID)
			return wrap(s, "list-payment-allocations", newPage(es, 0, func(billing.AllocationEvent) int64 { return 0 }), err)
		})
	huma.Register(s.api, described(op("list-invoice-allocations", http.MethodGet, "/api/v1/invoices/{id}/allocations",
		"List an invoice's allocation events (a credit note's: the invoices it paid)", RoleReader, "invoices"),
		"Every change of what paid the invoice, or, for a credit note (an invoice with a negative total), of what its "+
			"credit paid, oldest first. A credit note's events name it (credit_note_id, credit_note_number) and the "+
			"invoice it paid (invoice_id, invoice_number): applied (to the oldest open invoice, when the note is issued, "+
			"when a new invoice is issued, or when a payment reversal reopens one) and taken_over (a close's final credit "+
			"note taking over what a payment paid). A payment's events on the invoice name the payment (payment_id): "+
			"applied, reallocated, reversed, taken_over. Each is signed (actor) and dated (effective_date); amount is "+
			"positive when money is applied and negative when it is taken back. Applying a credit note moves no money, "+
			"so it has no journal entry. 404 for an unknown invoice."),
		func(ctx context.Context, in *IDPath) (*body[page[billing.AllocationEvent]], error) {
			es, err := store.InvoiceAllocationEvents(ctx, in.ID)
			return wrap(s, "list-invoice-allocations", newPage(es, 0, func(billing.AllocationEvent) int64 { return 0 }), err)
		})
}
