package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// SearchResults is the answer of a staff search.
type SearchResults struct {
	// Query is the query as searched (trimmed, inner spaces collapsed).
	Query string              `json:"query"`
	Items []billing.SearchHit `json:"items"`
}

// Search finds accounts by number, name, company, e-mail, phone, address,
// external id, service IP or RADIUS user name, invoice number or check
// number (see billing.PlanSearch): at most limit (0: 20) hits, exact
// matches first, each with its status, balance, past-due amount and what
// matched.
func (c *Client) Search(ctx context.Context, q string, limit int) (SearchResults, error) {
	v := url.Values{"q": {q}}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var r SearchResults
	err := c.Do(ctx, http.MethodGet, "/api/v1/search", v, "", nil, &r)
	return r, err
}
