package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Billing runs: the list with a form to preview a run, the preview as the
// confirmation before starting one, and each run's live progress, results
// and invoice deliveries.

// runsData is the billing runs page.
type runsData struct {
	Runs  []billing.BillingRun
	Types []billing.AccountType
	// TypeNames names account types by id.
	TypeNames map[int64]string
	// Older is the cursor of the next page (0: none).
	Older int64
	// Form is the preview form's values.
	Form runForm
}

// runForm is what a run is previewed and started for.
type runForm struct {
	AccountTypeID int64
	Date          string
}

// runPreviewData is a run's preview: what it would invoice and why.
type runPreviewData struct {
	Form      runForm
	TypeName  string
	Date      billing.Date
	Invoices  int
	Failed    int
	Items     []billing.PreviewItem
	Totals    []currencyTotal
	Truncated int
}

// currencyTotal is an amount in one currency.
type currencyTotal struct {
	Currency billing.Currency
	Amount   int64
}

// runData is one run's page.
type runData struct {
	Run        billing.BillingRun
	TypeName   string
	Deliveries []billing.DeliveryCount
	// FailedDeliveries counts the run's deliveries in status failed.
	FailedDeliveries int64
	// ByMail says the run has invoices delivered by mail (a printed batch).
	ByMail bool
	// ConfirmResend asks to confirm re-sending the failed deliveries.
	ConfirmResend bool
	// Currency is the currency of the run's invoices ("" before the first).
	Currency billing.Currency
}

// Running reports whether the run is still working (its page refreshes).
func (d runData) Running() bool { return d.Run.Status == billing.RunRunning }

// previewItemsShown caps the preview's listed invoices; the totals count all.
const previewItemsShown = 500

func (s *Server) accountTypes(r *http.Request, sess *session) ([]billing.AccountType, map[int64]string, error) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	var types struct {
		Items []billing.AccountType `json:"items"`
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/account-types", nil, "", nil, &types); err != nil {
		return nil, nil, err
	}
	names := map[int64]string{}
	for _, t := range types.Items {
		names[t.ID] = t.Name
	}
	return types.Items, names, nil
}

// runs lists billing runs, newest first, with the form that previews one.
func (s *Server) runs(w http.ResponseWriter, r *http.Request, sess *session) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	types, names, err := s.accountTypes(r, sess)
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading account types", err)
		return
	}
	q := url.Values{"limit": {"50"}}
	if before := r.URL.Query().Get("before"); before != "" {
		q.Set("before", before)
	}
	var page struct {
		Items     []billing.BillingRun `json:"items"`
		NextAfter int64                `json:"next_after"`
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/billing-runs", q, "", nil, &page); err != nil {
		s.apiErrorPage(w, r, sess, "reading billing runs", err)
		return
	}
	// The form keeps what a preview was for (its "back" link), else today.
	form, bad := parseRunForm(r.URL.Query().Get)
	if bad != "" {
		form = runForm{}
	}
	if form.Date == "" {
		form.Date = s.clock.Now().UTC().Format("2006-01-02")
	}
	d := runsData{Runs: page.Items, Types: types, TypeNames: names, Form: form}
	if len(page.Items) == 50 {
		d.Older = page.Items[len(page.Items)-1].ID
	}
	v := view{Title: "Billing runs", Nav: "runs", Data: d}
	switch r.URL.Query().Get("started") {
	case "many":
		v.Notice = "Billing runs started, one for each account type: their progress is below."
	}
	s.render(w, r, sess, http.StatusOK, "runs", v)
}

// parseRunForm reads the account type and date of a run form.
func parseRunForm(get func(string) string) (runForm, string) {
	f := runForm{Date: strings.TrimSpace(get("date"))}
	if t := strings.TrimSpace(get("account_type_id")); t != "" && t != "0" {
		id, err := strconv.ParseInt(t, 10, 64)
		if err != nil || id < 0 {
			return f, "Account type: choose one from the list."
		}
		f.AccountTypeID = id
	}
	if f.Date != "" {
		if _, err := billing.ParseDate(f.Date); err != nil {
			return f, "Date: " + billing.ErrorMessage(err) + " (use YYYY-MM-DD)."
		}
	}
	return f, ""
}

// runPreview shows what a run would invoice and why: the confirmation
// before starting it.
func (s *Server) runPreview(w http.ResponseWriter, r *http.Request, sess *session) {
	f, bad := parseRunForm(r.URL.Query().Get)
	s.showRunPreview(w, r, sess, f, bad, http.StatusOK, "")
}

// showRunPreview renders the preview of f (or the error msg with status).
func (s *Server) showRunPreview(w http.ResponseWriter, r *http.Request, sess *session, f runForm, msg string, status int, idem string) {
	_, names, err := s.accountTypes(r, sess)
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading account types", err)
		return
	}
	d := runPreviewData{Form: f, TypeName: names[f.AccountTypeID]}
	if f.AccountTypeID != 0 && d.TypeName == "" && msg == "" {
		msg, status = fmt.Sprintf("Account type: there is no account type %d.", f.AccountTypeID), http.StatusUnprocessableEntity
	}
	if msg == "" {
		api, ctx := s.apiFor(r.Context(), sess.User)
		q := url.Values{}
		if f.AccountTypeID != 0 {
			q.Set("account_type_id", itoa(f.AccountTypeID))
		}
		if f.Date != "" {
			q.Set("date", f.Date)
		}
		var p struct {
			Date     billing.Date          `json:"date"`
			Invoices int                   `json:"invoices"`
			Failed   int                   `json:"failed"`
			Items    []billing.PreviewItem `json:"items"`
		}
		if err := api.Do(ctx, http.MethodGet, "/api/v1/billing-runs/preview", q, "", nil, &p); err != nil {
			status, msg = s.apiProblem(r, "previewing a billing run", err)
		} else {
			d.Date, d.Invoices, d.Failed = p.Date, p.Invoices, p.Failed
			totals := map[billing.Currency]int64{}
			var order []billing.Currency
			for _, it := range p.Items {
				if it.Error != "" {
					continue
				}
				if _, ok := totals[it.Currency]; !ok {
					order = append(order, it.Currency)
				}
				totals[it.Currency] += it.Total
			}
			for _, c := range order {
				d.Totals = append(d.Totals, currencyTotal{Currency: c, Amount: totals[c]})
			}
			d.Items = p.Items
			if len(d.Items) > previewItemsShown {
				d.Truncated = len(d.Items) - previewItemsShown
				d.Items = d.Items[:previewItemsShown]
			}
		}
	}
	title := "Preview: billing run"
	if d.TypeName != "" {
		title += " for " + d.TypeName
	} else {
		title += " for every account type"
	}
	s.render(w, r, sess, status, "runpreview", view{Title: title, Nav: "runs", Error: msg, Idem: idem, Data: d})
}

// startRun starts the previewed run (billing).
func (s *Server) startRun(w http.ResponseWriter, r *http.Request, sess *session) {
	f, bad := parseRunForm(r.PostFormValue)
	if bad != "" {
		s.showRunPreview(w, r, sess, f, bad, http.StatusUnprocessableEntity, "")
		return
	}
	body := map[string]any{}
	if f.AccountTypeID != 0 {
		body["account_type_id"] = f.AccountTypeID
	}
	if f.Date != "" {
		body["date"] = f.Date
	}
	api, ctx := s.apiFor(r.Context(), sess.User)
	var runs struct {
		Items []billing.BillingRun `json:"items"`
	}
	if err := api.Do(ctx, http.MethodPost, "/api/v1/billing-runs", nil, r.PostFormValue("idem"), body, &runs); err != nil {
		status, msg := s.apiProblem(r, "starting a billing run", err)
		s.showRunPreview(w, r, sess, f, msg, status, "")
		return
	}
	if len(runs.Items) == 1 {
		started := "new"
		if runs.Items[0].AlreadyExisted {
			started = "existing"
		}
		http.Redirect(w, r, s.p.path+"/runs/"+itoa(runs.Items[0].ID)+"?started="+started, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, s.p.path+"/runs?started=many", http.StatusSeeOther)
}

// pathID reads the {id} of the request's path; false (after a 404 page
// naming what) if it is not an id.
func (s *Server) pathID(w http.ResponseWriter, r *http.Request, sess *session, what string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.errorPage(w, r, sess, http.StatusNotFound, "There is no such "+what+".")
		return 0, false
	}
	return id, true
}

// loadRun reads a run with its deliveries.
func (s *Server) loadRun(r *http.Request, sess *session, id int64) (runData, error) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	var d runData
	if err := api.Do(ctx, http.MethodGet, "/api/v1/billing-runs/"+itoa(id), nil, "", nil, &d.Run); err != nil {
		return d, err
	}
	if _, names, err := s.accountTypes(r, sess); err == nil {
		d.TypeName = names[d.Run.AccountTypeID]
	}
	var invs struct {
		Items []billing.Invoice `json:"items"`
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/invoices", url.Values{"billing_run_id": {itoa(id)}, "limit": {"1"}}, "", nil, &invs); err != nil {
		return d, err
	}
	if len(invs.Items) > 0 {
		d.Currency = invs.Items[0].Currency
	}
	counts, err := api.DeliveryCounts(ctx, id)
	if err != nil {
		return d, err
	}
	d.Deliveries = counts
	for _, c := range counts {
		if c.Status == billing.DeliveryFailed {
			d.FailedDeliveries += c.Count
		}
		if c.Channel == billing.ChannelMail {
			d.ByMail = true
		}
	}
	return d, nil
}

// run shows a run: progress (refreshing itself while it runs), results
// and deliveries.
func (s *Server) run(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := s.pathID(w, r, sess, "billing run")
	if !ok {
		return
	}
	d, err := s.loadRun(r, sess, id)
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading a billing run", err)
		return
	}
	v := view{Title: fmt.Sprintf("Billing run #%d", id), Nav: "runs", Data: d}
	switch r.URL.Query().Get("started") {
	case "new":
		v.Notice = "The billing run has started."
	case "existing":
		v.Notice = "This account type already had a run for that date, so no new run was started: this is that run."
	}
	if n := r.URL.Query().Get("resent"); n != "" {
		v.Notice = "Queued again: " + n + " failed deliveries."
	}
	s.render(w, r, sess, http.StatusOK, "run", v)
}

// resendRunDeliveries asks to confirm, then queues again the run's failed
// deliveries (billing).
func (s *Server) resendRunDeliveries(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := s.pathID(w, r, sess, "billing run")
	if !ok {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		d, err := s.loadRun(r, sess, id)
		if err != nil {
			s.apiErrorPage(w, r, sess, "reading a billing run", err)
			return
		}
		d.ConfirmResend = true
		s.render(w, r, sess, http.StatusOK, "run", view{Title: fmt.Sprintf("Billing run #%d", id), Nav: "runs", Data: d, Focus: "confirm-resend"})
		return
	}
	api, ctx := s.apiFor(r.Context(), sess.User)
	n, err := api.ResendRunDeliveries(ctx, r.PostFormValue("idem"), id, billing.DeliveryFailed, "")
	if err != nil {
		s.apiErrorPage(w, r, sess, "re-sending deliveries", err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("%s/runs/%d?resent=%d", s.p.path, id, n), http.StatusSeeOther)
}

// printedInvoices downloads a run's printed-invoice batch (one PDF).
func (s *Server) printedInvoices(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := s.pathID(w, r, sess, "billing run")
	if !ok {
		return
	}
	s.pdf(w, r, sess, "/api/v1/billing-runs/"+itoa(id)+"/printed-invoices.pdf", nil, fmt.Sprintf("printed-invoices-run-%d.pdf", id))
}
