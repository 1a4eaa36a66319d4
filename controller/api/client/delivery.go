package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Invoice delivery: the delivery outbox, re-sends and printed batches.

func deliveryPath(id int64, suffix string) string {
	return "/api/v1/deliveries/" + strconv.FormatInt(id, 10) + suffix
}

// DeliveryPage is one page of deliveries.
type DeliveryPage struct {
	Items     []billing.InvoiceDelivery `json:"items"`
	NextAfter int64                     `json:"next_after"`
}

// Deliveries lists one page of invoice deliveries.
func (c *Client) Deliveries(ctx context.Context, f billing.DeliveryFilter) (DeliveryPage, error) {
	q := url.Values{}
	for k, v := range map[string]int64{"billing_run_id": f.RunID, "invoice_id": f.InvoiceID, "account_id": f.AccountID, "after": f.AfterID} {
		if v > 0 {
			q.Set(k, strconv.FormatInt(v, 10))
		}
	}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	if f.Channel != "" {
		q.Set("channel", string(f.Channel))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var p DeliveryPage
	err := c.Do(ctx, http.MethodGet, "/api/v1/deliveries", q, "", nil, &p)
	return p, err
}

// DeliveryCounts counts deliveries by channel and status: of one billing
// run, or of all (runID 0).
func (c *Client) DeliveryCounts(ctx context.Context, runID int64) ([]billing.DeliveryCount, error) {
	q := url.Values{}
	if runID > 0 {
		q.Set("billing_run_id", strconv.FormatInt(runID, 10))
	}
	var cs []billing.DeliveryCount
	err := c.Do(ctx, http.MethodGet, "/api/v1/deliveries/summary", q, "", nil, &cs)
	return cs, err
}

// Delivery fetches one delivery.
func (c *Client) Delivery(ctx context.Context, id int64) (billing.InvoiceDelivery, error) {
	var d billing.InvoiceDelivery
	err := c.Do(ctx, http.MethodGet, deliveryPath(id, ""), nil, "", nil, &d)
	return d, err
}

// ResendDelivery queues a delivery again.
func (c *Client) ResendDelivery(ctx context.Context, idemKey string, id int64) (billing.InvoiceDelivery, error) {
	var d billing.InvoiceDelivery
	err := c.Do(ctx, http.MethodPost, deliveryPath(id, "/resend"), nil, idemKey, nil, &d)
	return d, err
}

// ResendRunDeliveries queues again a billing run's deliveries in status
// (failed when empty) and channel (both when empty), and returns how many.
func (c *Client) ResendRunDeliveries(ctx context.Context, idemKey string, runID int64, status billing.DeliveryStatus, channel billing.DeliveryChannel) (int, error) {
	body := map[string]string{}
	if status != "" {
		body["status"] = string(status)
	}
	if channel != "" {
		body["channel"] = string(channel)
	}
	var out struct {
		Queued int `json:"queued"`
	}
	err := c.Do(ctx, http.MethodPost, "/api/v1/billing-runs/"+strconv.FormatInt(runID, 10)+"/deliveries/resend", nil, idemKey, body, &out)
	return out.Queued, err
}

// DeliverInvoice delivers an invoice (again) by channels (nil: the
// account's preference) and returns its deliveries by them.
func (c *Client) DeliverInvoice(ctx context.Context, idemKey string, invoiceID int64, channels []billing.DeliveryChannel) ([]billing.InvoiceDelivery, error) {
	body := map[string]any{}
	if len(channels) > 0 {
		body["channels"] = channels
	}
	var ds []billing.InvoiceDelivery
	err := c.Do(ctx, http.MethodPost, "/api/v1/invoices/"+strconv.FormatInt(invoiceID, 10)+"/deliveries", nil, idemKey, body, &ds)
	return ds, err
}

// PrintedInvoices downloads a billing run's printed-invoice batch (one PDF
// in mailing order) and says how many invoices it holds.
func (c *Client) PrintedInvoices(ctx context.Context, runID int64) (pdf []byte, count int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		c.BaseURL+"/api/v1/billing-runs/"+strconv.FormatInt(runID, 10)+"/printed-invoices.pdf", nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	hc := *c.HTTP
	hc.Timeout = 0 // a batch of thousands of invoices takes a while; ctx bounds it
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		p := &Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
		if json.Unmarshal(data, p) != nil || p.Detail == "" {
			p.Detail = strings.TrimSpace(string(data))
		}
		return nil, 0, p
	}
	count, _ = strconv.Atoi(resp.Header.Get("X-Invoice-Count"))
	return data, count, nil
}
