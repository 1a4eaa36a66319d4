package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Settings are for admins: account types (every billing setting, with
// the date rule shown on a calendar), plans and their price versions, tax
// rates and staff users. Every change goes through the API as the admin.

// staffUser is the API's view of a staff user.
type staffUser struct {
	Login     string    `json:"login"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Password  bool      `json:"password"`
	TOTP      bool      `json:"totp"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// enrolment is a new second factor, shown once.
type enrolment struct {
	Login         string   `json:"-"`
	Secret        string   `json:"secret"`
	URL           string   `json:"url"`
	RecoveryCodes []string `json:"recovery_codes"`
}

type settingsData struct {
	Types  []billing.AccountType
	Plans  []billing.Plan
	Taxes  []billing.TaxRate
	Staff  []staffUser
	Enrol  *enrolment // after adding a user or resetting a TOTP
	Form   url.Values
	Failed string // the form that failed
}

func (d settingsData) Value(f string) string { return d.Form.Get(f) }

func (s *Server) settings(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderSettings(w, r, sess, http.StatusOK, settingsData{}, "", doneSetting(r.URL.Query().Get("done")))
}

func doneSetting(done string) string {
	switch done {
	case "":
		return ""
	case "staff":
		return "Done: the staff user is changed."
	case "tax":
		return "Done: the tax rate is saved."
	case "plan":
		return "Done: the plan is saved."
	case "type":
		return "Done: the account type is saved; accounts that inherit a changed setting follow it."
	}
	return ""
}

func (s *Server) loadSettings(ctx context.Context, api *client.Client, d *settingsData) error {
	var types struct {
		Items []billing.AccountType `json:"items"`
	}
	var plans struct {
		Items []billing.Plan `json:"items"`
	}
	var taxes struct {
		Items []billing.TaxRate `json:"items"`
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/account-types", nil, "", nil, &types); err != nil {
		return err
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/plans", nil, "", nil, &plans); err != nil {
		return err
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/tax-rates", nil, "", nil, &taxes); err != nil {
		return err
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/staff", nil, "", nil, &d.Staff); err != nil {
		return err
	}
	d.Types, d.Plans, d.Taxes = types.Items, plans.Items, taxes.Items
	return nil
}

func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, sess *session, status int, d settingsData, errMsg, notice string) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	if err := s.loadSettings(ctx, api, &d); err != nil {
		s.apiErrorPage(w, r, sess, "reading the settings", err)
		return
	}
	s.render(w, r, sess, status, "settings", view{Title: "Settings", Nav: "settings", Error: errMsg, Notice: notice, Data: d})
}

// settingsFailed shows the settings again with the error and the failed
// form's values.
func (s *Server) settingsFailed(w http.ResponseWriter, r *http.Request, sess *session, form string, err error) {
	status, msg := s.apiProblem(r, "changing the settings", err)
	s.renderSettings(w, r, sess, status, settingsData{Form: r.PostForm, Failed: form}, msg, "")
}

// staffAction adds a staff user or changes one (disable, enable, unlock,
// reset-totp).
func (s *Server) staffAction(w http.ResponseWriter, r *http.Request, sess *session) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	verb := r.PathValue("verb")
	var out struct {
		User staffUser  `json:"user"`
		TOTP *enrolment `json:"totp"`
	}
	var err error
	switch verb {
	case "add":
		body := map[string]any{"login": strings.TrimSpace(r.PostFormValue("login")), "name": strings.TrimSpace(r.PostFormValue("name")),
			"role": r.PostFormValue("role"), "password": r.PostFormValue("password"), "totp": r.PostFormValue("totp") != ""}
		err = api.Do(ctx, http.MethodPost, "/api/v1/staff", nil, "", body, &out)
	case "disable", "enable", "unlock", "reset-totp":
		login := r.PostFormValue("login")
		key := "" // reset-totp returns a secret: it takes no key
		if verb != "reset-totp" {
			key = r.PostFormValue("idem")
		}
		var dst any // disable, enable and unlock answer with the user alone
		if verb == "reset-totp" {
			dst = &out
		}
		err = api.Do(ctx, http.MethodPost, "/api/v1/staff/"+url.PathEscape(login)+"/"+verb, nil, key, nil, dst)
	default:
		s.errorPage(w, r, sess, http.StatusNotFound, "There is no such staff action.")
		return
	}
	if err != nil {
		s.settingsFailed(w, r, sess, "staff-"+verb, err)
		return
	}
	if out.TOTP != nil {
		// The secret and recovery codes are shown now, once: not a
		// redirect, so they are never in a URL or a cache.
		out.TOTP.Login = out.User.Login
		s.renderSettings(w, r, sess, http.StatusOK, settingsData{Enrol: out.TOTP}, "",
			"Done. Give "+out.User.Login+" the TOTP secret and recovery codes below now: they are not shown again.")
		return
	}
	http.Redirect(w, r, s.p.path+"/settings?done=staff", http.StatusSeeOther)
}

// taxRate adds or replaces a tax rate.
func (s *Server) taxRate(w http.ResponseWriter, r *http.Request, sess *session) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	rate := billing.TaxRate{Jurisdiction: strings.TrimSpace(r.PostFormValue("jurisdiction")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Rate: strings.TrimSpace(r.PostFormValue("rate"))}
	if err := api.Do(ctx, http.MethodPost, "/api/v1/tax-rates", nil, r.PostFormValue("idem"), rate, nil); err != nil {
		s.settingsFailed(w, r, sess, "tax", err)
		return
	}
	http.Redirect(w, r, s.p.path+"/settings?done=tax", http.StatusSeeOther)
}

// createPlan adds a plan.
func (s *Server) createPlan(w http.ResponseWriter, r *http.Request, sess *session) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	body := map[string]any{"name": strings.TrimSpace(r.PostFormValue("name")), "currency": strings.TrimSpace(r.PostFormValue("currency")),
		"interval": r.PostFormValue("interval"), "taxable": r.PostFormValue("taxable") != ""}
	cur := billing.Currency(strings.ToUpper(strings.TrimSpace(r.PostFormValue("currency"))))
	price, err := billing.ParseAmount(strings.TrimSpace(r.PostFormValue("price")), cur)
	if err != nil {
		s.settingsFailed(w, r, sess, "plan", billing.Errorf(billing.EINVALID, "price: %q is not an amount of %s", r.PostFormValue("price"), cur))
		return
	}
	body["price"], body["currency"] = price, cur
	if err := api.Do(ctx, http.MethodPost, "/api/v1/plans", nil, r.PostFormValue("idem"), body, nil); err != nil {
		s.settingsFailed(w, r, sess, "plan", err)
		return
	}
	http.Redirect(w, r, s.p.path+"/settings?done=plan", http.StatusSeeOther)
}

// planData is a plan's page: its price versions and the forms to change
// the price (previewed) or retire it.
type planData struct {
	Plan    billing.Plan
	Prices  []billing.PriceVersion
	Preview *billing.LifecyclePlan
	Form    url.Values
}

func (d planData) Value(f string) string { return d.Form.Get(f) }

func (s *Server) plan(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderPlan(w, r, sess, http.StatusOK, planData{}, "", "")
}

func (s *Server) renderPlan(w http.ResponseWriter, r *http.Request, sess *session, status int, d planData, errMsg, notice string) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	id := pathID(r, "id")
	if err := api.Do(ctx, http.MethodGet, "/api/v1/plans/"+itoa(id), nil, "", nil, &d.Plan); err != nil {
		s.apiErrorPage(w, r, sess, "reading the plan", err)
		return
	}
	prices, err := api.PlanPrices(ctx, id)
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading the plan's prices", err)
		return
	}
	d.Prices = prices
	if r.URL.Query().Get("done") != "" {
		notice = "Done: the plan is changed."
	}
	s.render(w, r, sess, status, "plan", view{Title: "Plan " + d.Plan.Name, Nav: "settings", Error: errMsg, Notice: notice, Data: d})
}

// planAction changes a plan's price (step review: the API's preview of
// what every service on it gets; step apply: the change) or retires it.
func (s *Server) planAction(w http.ResponseWriter, r *http.Request, sess *session) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	id := pathID(r, "id")
	var err error
	switch r.PathValue("verb") {
	case "price":
		eff, perr := billing.ParseDate(strings.TrimSpace(r.PostFormValue("effective_date")))
		if perr != nil {
			err = billing.Errorf(billing.EINVALID, "effective date: %q is not a date (YYYY-MM-DD)", r.PostFormValue("effective_date"))
			break
		}
		in := client.PriceChange{Price: strings.TrimSpace(r.PostFormValue("price")), EffectiveDate: eff,
			Grandfather: r.PostFormValue("grandfather") != "", Reason: strings.TrimSpace(r.PostFormValue("reason"))}
		if r.PostFormValue("step") != "apply" {
			res, perr := api.ChangePlanPrice(ctx, client.NewIdempotencyKey(), id, in, true)
			if perr != nil {
				err = perr
				break
			}
			s.renderPlan(w, r, sess, http.StatusOK, planData{Preview: &res.Plan, Form: r.PostForm}, "", "")
			return
		}
		_, err = api.ChangePlanPrice(ctx, r.PostFormValue("idem"), id, in, false)
	case "retire":
		_, err = api.RetirePlan(ctx, r.PostFormValue("idem"), id, strings.TrimSpace(r.PostFormValue("reason")))
	default:
		s.errorPage(w, r, sess, http.StatusNotFound, "There is no such plan action.")
		return
	}
	if err != nil {
		status, msg := http.StatusUnprocessableEntity, billing.ErrorMessage(err)
		if billing.ErrorCode(err) != billing.EINVALID {
			status, msg = s.apiProblem(r, "changing the plan", err)
		}
		s.renderPlan(w, r, sess, status, planData{Form: r.PostForm}, msg, "")
		return
	}
	http.Redirect(w, r, s.p.path+"/settings/plans/"+itoa(id)+"?done=1", http.StatusSeeOther)
}

// typeData is an account type's page: every setting in a form, the date
// rule on a calendar, and after a review the changed settings and how
// many accounts they reach.
type typeData struct {
	Type      billing.AccountType
	Calendars []string // holiday calendars to choose from
	Calendar  calendar
	Changed   []string
	Impact    *typeImpact
	Form      url.Values
}

type typeImpact struct {
	Accounts int64 `json:"accounts"`
	Settings []struct {
		Setting   string `json:"setting"`
		Inherit   int64  `json:"inherit"`
		Overrides int64  `json:"overrides"`
	} `json:"settings"`
}

// Weekday reports whether the type allows delinquency on day w (no
// weekdays listed: every day).
func (d typeData) Weekday(w int) bool {
	return len(d.Type.DelinquencyWeekdays) == 0 || slices.Contains(d.Type.DelinquencyWeekdays, time.Weekday(w))
}

// HasCalendar reports whether the type uses holiday calendar c.
func (d typeData) HasCalendar(c string) bool { return slices.Contains(d.Type.HolidayCalendars, c) }

// Exclusions is the type's exclusions as the form's text, one a line.
func (d typeData) Exclusions() string {
	var b strings.Builder
	for _, e := range d.Type.Exclusions {
		fmt.Fprintf(&b, "%s %s", e.Date, e.Name)
		if e.Yearly {
			b.WriteString(" (yearly)")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Ints formats a list of days ("7, 3, 1").
func (d typeData) Ints(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func (s *Server) accountType(w http.ResponseWriter, r *http.Request, sess *session) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	var d typeData
	if err := api.Do(ctx, http.MethodGet, "/api/v1/account-types/"+itoa(pathID(r, "id")), nil, "", nil, &d.Type); err != nil {
		s.apiErrorPage(w, r, sess, "reading the account type", err)
		return
	}
	notice := ""
	if r.URL.Query().Get("done") != "" {
		notice = doneSetting("type")
	}
	s.renderType(w, r, sess, http.StatusOK, d, "", notice)
}

func (s *Server) renderType(w http.ResponseWriter, r *http.Request, sess *session, status int, d typeData, errMsg, notice string) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	if err := api.Do(ctx, http.MethodGet, "/api/v1/holiday-calendars", nil, "", nil, &d.Calendars); err != nil {
		s.apiErrorPage(w, r, sess, "reading the holiday calendars", err)
		return
	}
	d.Calendar = typeCalendar(d.Type, s.clock.Now())
	s.render(w, r, sess, status, "accounttype", view{Title: "Account type " + d.Type.Name, Nav: "settings", Error: errMsg, Notice: notice, Data: d})
}

// saveAccountType reads the form over the type as stored: step review
// shows the changed settings, how many accounts inherit each and the new
// calendar; step apply saves it.
func (s *Server) saveAccountType(w http.ResponseWriter, r *http.Request, sess *session) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	id := pathID(r, "id")
	var old billing.AccountType
	if err := api.Do(ctx, http.MethodGet, "/api/v1/account-types/"+itoa(id), nil, "", nil, &old); err != nil {
		s.apiErrorPage(w, r, sess, "reading the account type", err)
		return
	}
	t, err := typeFromForm(old, r.PostForm)
	d := typeData{Type: t, Form: r.PostForm}
	if err != nil {
		s.renderType(w, r, sess, http.StatusUnprocessableEntity, d, billing.ErrorMessage(err), "")
		return
	}
	if r.PostFormValue("step") != "apply" {
		d.Changed = billing.ChangedSettings(old, t)
		if len(d.Changed) == 0 {
			s.renderType(w, r, sess, http.StatusUnprocessableEntity, d, "Nothing to change: every setting is as it was.", "")
			return
		}
		var imp typeImpact
		if err := api.Do(ctx, http.MethodGet, "/api/v1/account-types/"+itoa(id)+"/impact",
			url.Values{"settings": {strings.Join(d.Changed, ",")}}, "", nil, &imp); err != nil {
			status, msg := s.apiProblem(r, "reading the change's impact", err)
			s.renderType(w, r, sess, status, d, msg, "")
			return
		}
		d.Impact = &imp
		s.renderType(w, r, sess, http.StatusOK, d, "", "")
		return
	}
	if err := api.Do(ctx, http.MethodPut, "/api/v1/account-types/"+itoa(id), nil, r.PostFormValue("idem"), t, nil); err != nil {
		status, msg := s.apiProblem(r, "saving the account type", err)
		s.renderType(w, r, sess, status, d, msg, "")
		return
	}
	http.Redirect(w, r, s.p.path+"/settings/types/"+itoa(id)+"?done=1", http.StatusSeeOther)
}

// typeFromForm is the type t with the form's settings. Amounts are in
// minor units, as the API takes them.
func typeFromForm(t billing.AccountType, f url.Values) (billing.AccountType, error) {
	get := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	num := func(k string, dst *int) error {
		if _, ok := f[k]; !ok {
			return nil
		}
		v, err := strconv.Atoi(get(k))
		if err != nil {
			return billing.Errorf(billing.EINVALID, "%s: %q is not a whole number", k, get(k))
		}
		*dst = v
		return nil
	}
	num64 := func(k string, dst *int64) error {
		var v int
		if _, ok := f[k]; !ok {
			return nil
		}
		if err := num(k, &v); err != nil {
			return err
		}
		*dst = int64(v)
		return nil
	}
	list := func(k string, dst *[]int) error {
		if _, ok := f[k]; !ok {
			return nil
		}
		var out []int
		for _, p := range strings.FieldsFunc(get(k), func(r rune) bool { return r == ',' || r == ' ' }) {
			v, err := strconv.Atoi(p)
			if err != nil {
				return billing.Errorf(billing.EINVALID, "%s: %q is not a list of whole numbers", k, get(k))
			}
			out = append(out, v)
		}
		*dst = out
		return nil
	}
	t.Name = get("name")
	t.BillingMode = billing.BillingMode(get("billing_mode"))
	t.TimeZone = get("time_zone")
	t.SweepAt = get("sweep_at")
	t.InvoiceMessage = f.Get("invoice_message")
	t.ReactivationRule = billing.ReactivationRule(get("reactivation_rule"))
	t.DefaultDelivery = billing.Delivery(get("default_delivery"))
	t.AutoSuspend = f.Get("auto_suspend") != ""
	t.RemittanceSlip = f.Get("remittance_slip") != ""
	t.ApplyDateRuleToIssue = f.Get("apply_date_rule_to_issue") != ""
	if _, ok := f["locale"]; ok {
		t.Locale = billing.Locale(get("locale"))
	}
	// setEnum sets a setting with a default from the form, leaving an
	// unset one unset when the form shows its default (so that the review
	// does not call it changed).
	setEnum := func(dst *string, k, def string) {
		if _, ok := f[k]; ok && !(*dst == "" && get(k) == def) {
			*dst = get(k)
		}
	}
	sa := string(t.SuspendAction)
	setEnum(&sa, "suspend_action", string(billing.SuspendBlock))
	t.SuspendAction = billing.SuspendAction(sa)
	pp := string(t.PendingPayments)
	setEnum(&pp, "pending_payments", string(billing.PendingIgnore))
	t.PendingPayments = billing.PendingPaymentsMode(pp)
	if _, ok := f["receipts_for_shown"]; ok {
		chosen := []billing.ReceiptChannel{}
		for _, v := range f["receipts_for"] {
			chosen = append(chosen, billing.ReceiptChannel(strings.TrimSpace(v)))
		}
		// Unset stays unset while the form shows the default.
		if t.ReceiptsFor != nil || !slices.Equal(chosen, billing.DefaultReceiptChannels) {
			t.ReceiptsFor = chosen
		}
	}
	if _, ok := f["plan_change_timing"]; ok {
		lc := &t.Lifecycle
		pct, ci, oc := string(lc.PlanChangeTiming), string(lc.ChangeInvoicing), string(lc.OnCancel)
		setEnum(&pct, "plan_change_timing", string(billing.PlanChangeAsRequested))
		setEnum(&ci, "change_invoicing", string(billing.InvoiceOnNext))
		setEnum(&oc, "on_cancel", "keep_suspended")
		lc.PlanChangeTiming, lc.ChangeInvoicing, lc.OnCancel = billing.PlanChangeTiming(pct), billing.ChangeInvoicing(ci), billing.OnCancel(oc)
		lc.SuspendWhilePaused = f.Get("suspend_while_paused") != ""
		lc.StopInvoicingWhileSuspended = f.Get("stop_invoicing_while_suspended") != ""
		if err := num("max_pause_days", &lc.MaxPauseDays); err != nil {
			return t, err
		}
		if err := num64("immediate_invoice_minimum", &lc.ImmediateInvoiceMinimum); err != nil {
			return t, err
		}
		if err := num64("pause_hold_fee", &lc.PauseHoldFee); err != nil {
			return t, err
		}
	}
	t.LateFee.Kind = billing.LateFeeKind(get("late_fee_kind"))
	t.LateFee.Percent = get("late_fee_percent")
	for _, err := range []error{
		num("billing_day", &t.BillingDay), num("invoice_lead_days", &t.InvoiceLeadDays), num("due_days", &t.DueDays),
		num("grace_days", &t.GraceDays), num64("min_delinquent_balance", &t.MinDelinquentBalance),
		num64("reconnection_fee", &t.ReconnectionFee), num64("late_fee_amount", &t.LateFee.Amount), num("late_fee_after_days", &t.LateFee.AfterDays),
		num("business_hours_start", &t.BusinessHours.Start), num("business_hours_end", &t.BusinessHours.End),
		list("reminder_days_before", &t.ReminderDaysBefore), list("autopay_retry_days", &t.AutopayRetryDays),
	} {
		if err != nil {
			return t, err
		}
	}
	t.DelinquencyWeekdays = nil
	for _, v := range f["weekday"] {
		w, err := strconv.Atoi(v)
		if err != nil || w < 0 || w > 6 {
			return t, billing.Errorf(billing.EINVALID, "weekday: %q is not a weekday", v)
		}
		t.DelinquencyWeekdays = append(t.DelinquencyWeekdays, time.Weekday(w))
	}
	if len(t.DelinquencyWeekdays) == 7 {
		t.DelinquencyWeekdays = nil // every day, as the API spells it
	}
	t.HolidayCalendars = slices.Clone(f["holiday_calendar"])
	t.Exclusions = nil
	for i, line := range strings.Split(f.Get("exclusions"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		date, name, _ := strings.Cut(line, " ")
		d, err := billing.ParseDate(date)
		if err != nil {
			return t, billing.Errorf(billing.EINVALID, "exclusions line %d: %q does not start with a date (YYYY-MM-DD)", i+1, line)
		}
		name = strings.TrimSpace(name)
		yearly := strings.HasSuffix(name, "(yearly)")
		t.Exclusions = append(t.Exclusions, billing.Exclusion{Date: d, Name: strings.TrimSpace(strings.TrimSuffix(name, "(yearly)")), Yearly: yearly})
	}
	return t, nil
}
