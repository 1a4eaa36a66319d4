package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// AccountSearcher is staff search (GET /api/v1/search): accounts found by
// number, name, company, e-mail, phone, address, external id, service
// address or RADIUS user name, invoice number or check number.
// NewServer serves it when Deps.Billing implements it.
type AccountSearcher interface {
	// SearchAccounts answers at most limit (0: the default) hits, exact
	// matches first; EINVALID naming q or limit for a bad query.
	SearchAccounts(ctx context.Context, q string, limit int, now time.Time) ([]billing.SearchHit, error)
}

// searchResults is the answer of GET /api/v1/search.
type searchResults struct {
	// Query is the query as searched (trimmed, inner spaces collapsed).
	Query string              `json:"query"`
	Items []billing.SearchHit `json:"items"`
}

func (s *Server) registerSearch(search AccountSearcher) {
	huma.Register(s.api, described(op("search-accounts", http.MethodGet, "/api/v1/search",
		"Search accounts", RoleReader, "accounts"),
		"One box for everything staff look accounts up by. What q is searched for depends on its shape: an IP "+
			"address or CIDR prefix finds services holding it (their binding's addresses, addresses bound from a "+
			"pool or learned from DHCP leases); all digits find the account number and invoice number with those "+
			"digits (42: A-000042, INV-0000042), a check number or payment reference, an external id and, from 7 "+
			"digits, phone numbers containing them; letters then digits (A-000042, inv42) find account and invoice "+
			"numbers, references, external ids and RADIUS user names; a phone number with separators finds phone "+
			"numbers by their digits; text with @ finds e-mail addresses containing it and RADIUS user names; other "+
			"text finds exact external ids, references and user names and (3 characters or more) names, company "+
			"names, e-mail addresses, billing and service addresses containing it, case-insensitively. Each "+
			"account comes once, with its best match (match.field, match.text, match.exact), its status, balance "+
			"and past-due amount (minor units of its currency): exact matches first, then by similarity to the "+
			"query. A field matching more than 500 accounts ranks 500 of them: type more. 422 naming q for an empty "+
			"or too long query."),
		func(ctx context.Context, in *struct {
			Q     string `query:"q" required:"true" maxLength:"1000" doc:"What to search for (at most 200 characters once trimmed)."`
			Limit int    `query:"limit" minimum:"1" maximum:"100" default:"20" doc:"How many accounts at most."`
		}) (*body[searchResults], error) {
			plan, err := billing.PlanSearch(in.Q, in.Limit)
			if err != nil {
				return nil, s.toHTTPError("search-accounts", err)
			}
			hits, err := search.SearchAccounts(ctx, plan.Query, plan.Limit, s.clock.Now())
			return wrap(s, "search-accounts", searchResults{Query: plan.Query, Items: hits}, err)
		})
}
