package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/textout"
)

// Service lifecycle and plan price commands, in the service and plan
// groups: service change|cancel|pause|coverage ID and plan
// price|prices|retire|profile ID. Every change takes --preview.

// reasonParam is --reason, kept in the audit log.
var reasonParam = param{"reason", "reason", "why, for the audit log", textParam}

func newServiceLifecycleCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{
		lifecycleCmd(g, "change", "Change a service's plan or quantity (prorated)", param{"plan", "plan_id", "plan id to move to", idParam},
			param{"quantity", "quantity", "new quantity", idParam}, param{"from", "effective_date", "first day at the new terms, YYYY-MM-DD (default today)", dateParam},
			param{"next-period", "at_next_period", "take effect at the next billing period", switchParam}, reasonParam),
		lifecycleCmd(g, "cancel", "Cancel a service from a date, crediting invoiced days after it",
			param{"on", "date", "first day without service, YYYY-MM-DD (default today)", dateParam},
			param{"end-of-period", "end_of_period", "cancel at the end of the current billing period", switchParam}, reasonParam),
		lifecycleCmd(g, "pause", "Pause a service (vacation hold) from --from until --to", param{"from", "from", "first paused day, YYYY-MM-DD (required)", dateParam},
			param{"to", "to", "the day service resumes, YYYY-MM-DD (required)", dateParam}, reasonParam),
		changeCmd(g, change[[]billing.BilledSpan]{use: "coverage ID", short: "List the days invoices have charged for a service", args: []string{"service"},
			method: http.MethodGet, path: "/api/v1/services/%d/coverage",
			print: func(cmd *cobra.Command, _ *client.Client, _ []int64, spans []billing.BilledSpan) error {
				return textout.Rows(cmd.OutOrStdout(), spans, "FROM,TO,PLAN,QTY,PRICE,PERIOD", func(s billing.BilledSpan) []any {
					return []any{s.From, s.To.AddDays(-1), s.PlanName, s.Quantity, billing.FormatAmount(s.Price, ""), s.Period}
				})
			}}),
	}
}

func newPlanPriceCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{
		changeCmd(g, change[client.LifecycleResult]{use: "price ID --price AMOUNT --from DATE", short: "Change a plan's price from a date (admin)",
			args: []string{"plan"}, params: []param{{"price", "price", "new price per the plan's interval (49.99)", textParam},
				{"from", "effective_date", "services move to it from their first period starting on or after this date", dateParam},
				{"grandfather", "grandfather", "services started before --from keep their price", switchParam}, reasonParam,
				{"preview", "preview", "show what the change affects without changing anything", switchParam}},
			send: postToPlan[client.LifecycleResult]("/prices"), show: printLifecycle}),
		changeCmd(g, change[[]billing.PriceVersion]{use: "prices ID", short: "List a plan's price versions", args: []string{"plan"},
			method: http.MethodGet, path: "/api/v1/plans/%d/prices",
			print: func(cmd *cobra.Command, _ *client.Client, _ []int64, v []billing.PriceVersion) error {
				return textout.Rows(cmd.OutOrStdout(), v, "FROM,PRICE,GRANDFATHER", func(x billing.PriceVersion) []any {
					return []any{x.EffectiveFrom, billing.FormatAmount(x.Price, ""), yesNo(x.Grandfather)}
				})
			}}),
		changeCmd(g, change[billing.Plan]{use: "retire ID", short: "Retire a plan: no new services on it (admin)", args: []string{"plan"},
			method: http.MethodPost, path: "/api/v1/plans/%d/retire", params: []param{reasonParam},
			print: func(cmd *cobra.Command, _ *client.Client, _ []int64, p billing.Plan) error {
				return sayf(cmd, "plan %d (%s) retired\n", p.ID, p.Name)
			}}),
	}
}

// previewParam is --preview, sent as the query parameter preview=true
// (takePreview).
var previewParam = param{"preview", "preview", "show the lines without changing anything", switchParam}

// takePreview takes --preview out of a change's body: whether it was given.
func takePreview(body map[string]any) bool {
	preview := body["preview"] == true
	delete(body, "preview")
	return preview
}

// lifecycleCmd is "service ACTION ID": the flags are the body, sent with
// If-Match (the version read now); --preview shows the lines without
// changing anything.
func lifecycleCmd(g *globals, action, short string, params ...param) *cobra.Command {
	path := cmp.Or(map[string]string{"change": "plan-change"}[action], action)
	return changeCmd(g, change[client.LifecycleResult]{use: action + " ID", short: short, args: []string{"service"}, params: append(params, previewParam),
		send: func(ctx context.Context, c *client.Client, ids []int64, key string, body map[string]any) (client.LifecycleResult, error) {
			return c.ServiceLifecycle(ctx, key, ids[0], 0, path, body, takePreview(body))
		},
		show: printLifecycle})
}

// postToPlan sends a change's body to the plan's path + suffix, with
// ?preview=true for --preview (takePreview).
func postToPlan[T any](suffix string) func(context.Context, *client.Client, []int64, string, map[string]any) (T, error) {
	return func(ctx context.Context, c *client.Client, ids []int64, key string, body map[string]any) (r T, err error) {
		var q url.Values
		if takePreview(body) {
			q = url.Values{"preview": {"true"}}
		}
		err = c.Do(ctx, http.MethodPost, idPath("/api/v1/plans", ids[0], suffix), q, key, body, &r)
		return r, err
	}
}

// newPlanProfileCmd is "plan profile ID": a new profile version, effective at once, or --remove.
func newPlanProfileCmd(g *globals) *cobra.Command {
	rate := func(flag, key, usage string) param { return param{flag, "profile." + key, usage + ", bit/s", idParam} }
	vendor := func(flag, key, usage string) param { return param{flag, "profile.vendor." + key, usage, textParam} }
	return changeCmd(g, change[profileAnswer]{use: "profile ID (--download BPS --upload BPS [bursts, priority, vendor names] | --remove)",
		short:   "Give a plan a new speed profile, or take it away (admin): its active services get it at once",
		example: "  tollgatectl plan profile 3 --download 100000000 --upload 20000000 --preview\n  tollgatectl plan profile 3 --remove --reason \"sold as best effort\"",
		args:    []string{"plan"}, params: []param{rate("download", "download_rate", "download rate (towards the subscriber)"), rate("upload", "upload_rate", "upload rate"),
			rate("download-burst", "download_burst_rate", "download burst rate"), rate("upload-burst", "upload_burst_rate", "upload burst rate"),
			rate("download-burst-threshold", "download_burst_threshold", "download burst threshold"), rate("upload-burst-threshold", "upload_burst_threshold", "upload burst threshold"),
			{"burst-time", "profile.burst_time", "burst window, seconds", idParam}, {"priority", "profile.priority", "priority, 1 (highest) to 8", idParam},
			vendor("cisco-service", "cisco_service", "Cisco ISG service to activate"), vendor("cisco-policy-in", "cisco_policy_in", "Cisco input (upload) policy map"),
			vendor("cisco-policy-out", "cisco_policy_out", "Cisco output (download) policy map"), vendor("juniper-service", "juniper_service", "Juniper service to activate"),
			vendor("filter-id", "filter_id", "Filter-Id to send"), {"remove", "remove", "take the plan's profile away (Tollgate then sets no speed)", switchParam},
			reasonParam, {"allow-access-only", "allow_access_only", "accept that SNMP-bound services keep access only", switchParam}, {"preview", "preview", "show what the change reaches without changing anything", switchParam}},
		send: postToPlan[profileAnswer]("/profile"),
		show: func(w io.Writer, r profileAnswer) error {
			v, name := r.Change.Version, "none (access only)"
			if v.Profile != nil {
				name = v.Profile.Name + ": " + v.Profile.SpeedWords()
			}
			err := textout.Fields(w, "Version", v.Version, "Profile", name, "Receive it now", r.Change.ReceiveNow, "When restored", r.Change.Later,
				"Access only", orDash(joinNumbers(r.Change.AccessOnly, ", ")), "Preview", textout.Only(r.Preview, "nothing was changed"))
			textout.Bullets(w, "Why", r.Change.Why, false)
			return err
		}})
}

// profileAnswer is POST /api/v1/plans/{id}/profile's answer.
type profileAnswer struct {
	Preview bool                  `json:"preview"`
	Change  billing.ProfileChange `json:"change"`
}

// printLifecycle prints a change's lines, where they go and why.
func printLifecycle(w io.Writer, r client.LifecycleResult) error {
	p := r.Plan
	if err := textout.Rows(w, p.Lines, "KIND,DAYS,DESCRIPTION,AMOUNT", func(l billing.ProratedLine) []any {
		return []any{l.Kind, fmt.Sprintf("%s..%s", l.PeriodStart, l.PeriodEnd.AddDays(-1)), l.Description, money(l.Amount, p.Currency)}
	}); err != nil {
		return err
	}
	fields := []any{"Preview", textout.Only(r.Preview, "nothing was changed"), "Effective", dateOrDash(p.Effective),
		"Net", fmt.Sprintf("%s (%s)", money(p.Net, p.Currency), p.Invoicing)}
	if pv := p.Preview; pv != nil {
		fields = append(fields, "Affects", fmt.Sprintf("%d services of %d accounts (%d grandfathered); revenue per period %s → %s", pv.Services, pv.Accounts,
			pv.Grandfathered, money(pv.RevenueBefore, p.Currency), money(pv.RevenueAfter, p.Currency)))
	}
	for _, why := range p.Why {
		fields = append(fields, "Why", why)
	}
	return textout.Fields(w, fields...)
}
