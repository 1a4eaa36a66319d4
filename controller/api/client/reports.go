package client

import (
	"context"
	"net/url"

	"github.com/tollgate-isp/tollgate/controller/reports"
)

// AccountingExport builds and records an export of a period for QuickBooks
// Online or Xero (POST /api/v1/accounting-exports) and returns its CSV.
func (c *Client) AccountingExport(ctx context.Context, idemKey, target, from, to string, all bool) ([]byte, error) {
	var data []byte
	err := c.Do(ctx, "POST", "/api/v1/accounting-exports", nil, idemKey,
		map[string]any{"target": target, "from": from, "to": to, "all": all}, &data)
	return data, err
}

// ClosePeriod closes the books through a month ("2026-10").
func (c *Client) ClosePeriod(ctx context.Context, idemKey, month string) (reports.PeriodClose, error) {
	var out reports.PeriodClose
	err := c.Do(ctx, "POST", "/api/v1/period-closes", nil, idemKey, map[string]string{"month": month}, &out)
	return out, err
}

// Report GETs a report (ar-aging, tax, payments, revenue, collections)
// with its query in format: "csv", "json", or "pdf" (ar-aging only), as
// the API wrote it.
func (c *Client) Report(ctx context.Context, name string, query url.Values, format string) ([]byte, error) {
	path := "/api/v1/reports/" + name
	if format != "json" {
		path += "." + format
	}
	var data []byte
	err := c.send(ctx, c.HTTP, "GET", path, query, "", "", nil, &data)
	return data, err
}
