package client

import (
	"context"
	"net/http"
	"strconv"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Reallocation moves Amount of a payment's allocation from one invoice to
// another open invoice of its account; the invoices are numbers or ids, the
// amount a decimal in the payment's currency ("15.00").
type Reallocation struct {
	From   string `json:"from_invoice"`
	To     string `json:"to_invoice"`
	Amount string `json:"amount"`
}

// ReallocatePayment moves part of payment id's allocation (see
// [Reallocation]) and returns the payment. A bad field is a *Problem with
// Status 422 naming it; a reversed payment 409.
func (c *Client) ReallocatePayment(ctx context.Context, idemKey string, id int64, r Reallocation) (billing.Payment, error) {
	var p billing.Payment
	err := c.Do(ctx, http.MethodPost, "/api/v1/payments/"+strconv.FormatInt(id, 10)+"/reallocate", nil, idemKey, r, &p)
	return p, err
}

// PaymentAllocations fetches a payment's allocation events, oldest first.
func (c *Client) PaymentAllocations(ctx context.Context, id int64) ([]billing.AllocationEvent, error) {
	var p items[billing.AllocationEvent]
	err := c.Do(ctx, http.MethodGet, "/api/v1/payments/"+strconv.FormatInt(id, 10)+"/allocations", nil, "", nil, &p)
	return p.Items, err
}

// InvoiceAllocations fetches an invoice's allocation events, oldest
// first: for a credit note, the invoices its credit paid (CreditNoteID
// set); for any invoice, the payments and credit notes that paid it.
func (c *Client) InvoiceAllocations(ctx context.Context, id int64) ([]billing.AllocationEvent, error) {
	var p items[billing.AllocationEvent]
	err := c.Do(ctx, http.MethodGet, "/api/v1/invoices/"+strconv.FormatInt(id, 10)+"/allocations", nil, "", nil, &p)
	return p.Items, err
}
