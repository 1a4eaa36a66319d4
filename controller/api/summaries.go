package api

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The staff dashboard's totals: accounts receivable, payments posted on a
// day, notices by kind and status, and the services agents have not
// confirmed. Each is one query; all are read-only (reader role).

// SummaryStore computes the dashboard's totals (*postgres.DB implements
// it). The endpoints are served when [Deps.Billing] implements it.
type SummaryStore interface {
	// Receivables totals what owing accounts owe and the credit others
	// hold, by currency; no coded errors.
	Receivables(ctx context.Context) ([]billing.ReceivableTotal, error)
	// PaymentTotals counts the payments posted in [from, to) that are not
	// reversed, and their amount, by currency; no coded errors.
	PaymentTotals(ctx context.Context, from, to time.Time) ([]billing.PaymentTotal, error)
	// NoticeCounts counts notices by kind and status; no coded errors.
	NoticeCounts(ctx context.Context) ([]billing.NoticeCount, error)
	// UnconfirmedServices counts, for every POP, the services whose
	// desired state its agent has not confirmed, and of them those whose
	// result is pending; no coded errors.
	UnconfirmedServices(ctx context.Context) (map[string]billing.UnconfirmedCount, error)
}

// paymentTotals is the answer of GET /api/v1/payments/summary.
type paymentTotals struct {
	Date     billing.Date `json:"date" doc:"The day counted."`
	TimeZone string       `json:"time_zone" doc:"The time zone the day is counted in."`
	// From and To bound the day: payments posted at or after From and
	// before To.
	From   time.Time              `json:"from"`
	To     time.Time              `json:"to"`
	Totals []billing.PaymentTotal `json:"totals" doc:"By currency; currencies with no payment that day are left out."`
}

// popUnconfirmed is one POP's services not confirmed by its agent.
type popUnconfirmed struct {
	POP string `json:"pop"`
	// Unconfirmed services have no applied result at their revision, or a
	// failed or outdated one, or an observed state that differs.
	Unconfirmed int64 `json:"unconfirmed"`
	// Pending services are applied but take effect at a later event (a
	// RADIUS suspension without a session: at the next login).
	Pending int64 `json:"pending"`
}

// unconfirmedServices is the answer of GET /api/v1/services/unconfirmed.
type unconfirmedServices struct {
	Unconfirmed int64            `json:"unconfirmed" doc:"Services not confirmed, at every POP (pending ones not counted)."`
	Pending     int64            `json:"pending" doc:"Services whose result is pending, at every POP."`
	POPs        []popUnconfirmed `json:"pops" doc:"Every POP, by id, with zeros when all its services are confirmed."`
}

func (s *Server) registerSummaries(st SummaryStore) {
	api := s.api
	huma.Register(api, described(op("receivables-summary", http.MethodGet, "/api/v1/receivables/summary",
		"Accounts receivable totals by currency", RoleReader, "receivables"),
		"What the accounts that owe owe (owed: the sum of their positive balances, accounts_owing: how many), the credit "+
			"other accounts hold (credit, accounts_in_credit) and the receivable ledger's net, by currency, in minor "+
			"units, from the journal as it is now. Accounts with a zero balance are not counted."),
		func(ctx context.Context, _ *struct{}) (*body[[]billing.ReceivableTotal], error) {
			ts, err := st.Receivables(ctx)
			if ts == nil {
				ts = []billing.ReceivableTotal{}
			}
			return wrap(s, "receivables-summary", ts, err)
		})
	huma.Register(api, described(op("payments-summary", http.MethodGet, "/api/v1/payments/summary",
		"Count and total the payments posted on a day", RoleReader, "payments"),
		"How many payments were posted (recorded) on a day, by anyone or anything (staff, batches, gateways, autopay), "+
			"and their amount, by currency; reversed payments are left out. The day runs from midnight to midnight in "+
			"time_zone (default UTC); date defaults to today there. 422 names a bad date or time zone."),
		func(ctx context.Context, in *struct {
			Date     string `query:"date" doc:"YYYY-MM-DD; default today in time_zone."`
			TimeZone string `query:"time_zone" maxLength:"64" doc:"IANA time zone the day is counted in (America/Chicago); default UTC."`
		}) (*body[paymentTotals], error) {
			zone := in.TimeZone
			if zone == "" {
				zone = "UTC"
			}
			loc, err := time.LoadLocation(zone)
			if err != nil {
				msg := "time_zone " + zone + " is not a known IANA time zone"
				return nil, huma.Error422UnprocessableEntity(msg, &huma.ErrorDetail{Location: "query.time_zone", Message: msg, Value: in.TimeZone})
			}
			day := billing.DateIn(s.clock.Now(), loc)
			if in.Date != "" {
				if day, err = billing.ParseDate(in.Date); err != nil {
					return nil, huma.Error422UnprocessableEntity(billing.ErrorMessage(err), &huma.ErrorDetail{Location: "query.date", Message: billing.ErrorMessage(err), Value: in.Date})
				}
			}
			from, to := day.StartIn(loc), day.AddDays(1).StartIn(loc)
			ts, err := st.PaymentTotals(ctx, from, to)
			if ts == nil {
				ts = []billing.PaymentTotal{}
			}
			return wrap(s, "payments-summary", paymentTotals{Date: day, TimeZone: loc.String(), From: from.UTC(), To: to.UTC(), Totals: ts}, err)
		})
	huma.Register(api, described(op("notices-summary", http.MethodGet, "/api/v1/notices/summary",
		"Count notices to subscribers by kind and status", RoleReader, "notices"),
		"How many notices of each kind are queued, sent, failed (given up) or superseded; kinds and statuses with none "+
			"are left out. GET /api/v1/notices?status=failed lists the failed ones."),
		func(ctx context.Context, _ *struct{}) (*body[[]billing.NoticeCount], error) {
			cs, err := st.NoticeCounts(ctx)
			if cs == nil {
				cs = []billing.NoticeCount{}
			}
			return wrap(s, "notices-summary", cs, err)
		})
	huma.Register(api, described(op("unconfirmed-services", http.MethodGet, "/api/v1/services/unconfirmed",
		"Count the services agents have not confirmed, by POP", RoleReader, "services"),
		"For every POP, how many services its agent has not confirmed in their current desired state (no applied result "+
			"at the service's revision, a failed one, or a device that reads back another state), and apart from them "+
			"those whose result is pending (applied, taking effect at the subscriber's next login). The same counts as "+
			"the tollgate_push_unconfirmed_services metric."),
		func(ctx context.Context, _ *struct{}) (*body[unconfirmedServices], error) {
			counts, err := st.UnconfirmedServices(ctx)
			if err != nil {
				return nil, s.toHTTPError("unconfirmed-services", err)
			}
			out := unconfirmedServices{POPs: make([]popUnconfirmed, 0, len(counts))}
			for pop, c := range counts {
				out.POPs = append(out.POPs, popUnconfirmed{POP: pop, Unconfirmed: c.Unconfirmed, Pending: c.Pending})
				out.Unconfirmed += c.Unconfirmed
				out.Pending += c.Pending
			}
			sort.Slice(out.POPs, func(i, j int) bool { return out.POPs[i].POP < out.POPs[j].POP })
			return &body[unconfirmedServices]{Body: out}, nil
		})
}
