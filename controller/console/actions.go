package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// An account action is a change staff make from the account page. Each
// is two posts: the first (step "review") shows a confirmation of what
// will happen — the API's own preview where it has one (the proration
// lines of a plan change, pause or cancel), else the entry restated — and
// the second (step "apply", from the confirmation, with the same
// Idempotency-Key) makes the change and returns to the account page.
type action struct {
	Title string
	// Service: the action is on one of the account's services
	// (form field service_id).
	Service bool
	// run makes the change, or with preview shows what it would do;
	// nothing is written with preview.
	run func(c actionCall) (confirmation, error)
}

// actionCall is one run of an action.
type actionCall struct {
	ctx     context.Context
	api     *client.Client
	account accountView
	service billing.Service // for a service action
	form    url.Values
	idem    string
	preview bool
}

// confirmation is what an action will do, shown before it is applied.
type confirmation struct {
	// Summary is the change in sentences.
	Summary []string
	// Plan is the API's preview of a lifecycle change (proration lines),
	// if any.
	Plan *billing.LifecyclePlan
}

// actions are the account page's actions, by the name in their URL.
var actions = map[string]action{
	"payment":         {Title: "Record a payment", run: recordPayment},
	"card":            {Title: "Take a card or bank account by phone", run: takeCard},
	"credit":          {Title: "Give a credit", run: giveCredit},
	"charge":          {Title: "Add a one-time charge", run: addCharge},
	"promise":         {Title: "Record a promise to pay", run: setPromise},
	"clear-promise":   {Title: "Clear the promise to pay", run: clearPromise},
	"exemption":       {Title: "Exempt from suspension", run: setExemption},
	"clear-exemption": {Title: "End the exemption", run: clearExemption},
	"edit":            {Title: "Edit the account", run: editAccount},
	"close":           {Title: "Close the account", run: closeAccount},
	"plan-change":     {Title: "Change plan or quantity", Service: true, run: changePlan},
	"pause":           {Title: "Pause a service", Service: true, run: pauseService},
	"cancel":          {Title: "Cancel a service", Service: true, run: cancelService},
	"move":            {Title: "Move a service", Service: true, run: moveService},
}

// doneNotice is the sentence shown on the account page after an action.
func doneNotice(name string) string {
	if a, ok := actions[name]; ok {
		return "Done: " + strings.ToLower(a.Title[:1]) + a.Title[1:] + "."
	}
	return ""
}

// confirmData is what the confirmation page shows.
type confirmData struct {
	Account  accountView
	Action   string
	Title    string
	Service  *billing.Service
	Confirm  confirmation
	Hidden   [][2]string // the form's fields, posted again with step=apply
	Currency billing.Currency
}

// act runs the review or the apply step of an account action.
func (s *Server) act(w http.ResponseWriter, r *http.Request, sess *session) {
	id, name := pathID(r, "id"), r.PathValue("action")
	a, ok := actions[name]
	if id == 0 || !ok {
		s.errorPage(w, r, sess, http.StatusNotFound, "There is no such account action.")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, sess, http.StatusBadRequest, "The form could not be read: "+err.Error())
		return
	}
	api, ctx := s.apiFor(r.Context(), sess.User)
	c := actionCall{ctx: ctx, api: api, form: r.PostForm, idem: r.PostForm.Get("idem"), preview: r.PostForm.Get("step") != "apply"}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/accounts/"+itoa(id), nil, "", nil, &c.account); err != nil {
		s.apiErrorPage(w, r, sess, "reading the account", err)
		return
	}
	if a.Service {
		sid, _ := strconv.ParseInt(c.form.Get("service_id"), 10, 64)
		svc, err := api.Service(ctx, sid)
		if err == nil && (svc.AccountID == nil || *svc.AccountID != id) {
			err = billing.Errorf(billing.ENOTFOUND, "service_id: service %d is not this account's", sid)
		}
		if err != nil {
			s.actionFailed(w, r, sess, id, name, err)
			return
		}
		c.service = svc
	}
	if c.idem == "" {
		c.idem = client.NewIdempotencyKey()
	}
	conf, err := a.run(c)
	if err != nil {
		s.actionFailed(w, r, sess, id, name, err)
		return
	}
	if !c.preview {
		http.Redirect(w, r, s.p.path+"/accounts/"+itoa(id)+"?done="+url.QueryEscape(name), http.StatusSeeOther)
		return
	}
	d := confirmData{Account: c.account, Action: name, Title: a.Title, Confirm: conf, Currency: c.account.Currency}
	if a.Service {
		d.Service = &c.service
	}
	for k, vs := range c.form {
		if k == "csrf" || k == "step" || k == "idem" {
			continue
		}
		for _, v := range vs {
			d.Hidden = append(d.Hidden, [2]string{k, v})
		}
	}
	s.render(w, r, sess, http.StatusOK, "confirm", view{Title: a.Title + " — confirm", Nav: "accounts", Idem: c.idem, Data: d})
}

// actionFailed shows the account page again with the error beside the
// action's form, its values as typed.
func (s *Server) actionFailed(w http.ResponseWriter, r *http.Request, sess *session, id int64, name string, err error) {
	var status int
	var msg string
	if code := billing.ErrorCode(err); code == billing.EINVALID || code == billing.ENOTFOUND {
		status, msg = statusOf(err), billing.ErrorMessage(err) // the console's own check of the form
	} else {
		status, msg = s.apiProblem(r, "changing the account", err)
	}
	d, lerr := s.loadAccount(r.Context(), sess, id)
	if lerr != nil {
		s.apiErrorPage(w, r, sess, "reading the account", lerr)
		return
	}
	d.Open, d.Form = name, r.PostForm
	s.render(w, r, sess, status, "account", view{Title: d.Account.Number + " · " + d.Account.Name, Nav: "accounts", Error: msg, Data: d})
}

// statusOf maps a domain error made by the console itself to a status.
func statusOf(err error) int {
	switch billing.ErrorCode(err) {
	case billing.ENOTFOUND:
		return http.StatusNotFound
	case billing.EINVALID:
		return http.StatusUnprocessableEntity
	}
	return http.StatusBadRequest
}

// text is a trimmed form value.
func (c actionCall) text(name string) string { return strings.TrimSpace(c.form.Get(name)) }

// date reads an optional date field (zero when empty).
func (c actionCall) date(name string) (billing.Date, error) {
	v := c.text(name)
	if v == "" {
		return billing.Date{}, nil
	}
	d, err := billing.ParseDate(v)
	if err != nil {
		return d, billing.Errorf(billing.EINVALID, "%s: %q is not a date (YYYY-MM-DD)", strings.ReplaceAll(name, "_", " "), v)
	}
	return d, nil
}

// amount reads a money field in the account's currency, for the
// confirmation's wording; the API parses the text itself.
func (c actionCall) amount(name string) (int64, error) {
	v := c.text(name)
	a, err := billing.ParseAmount(v, c.account.Currency)
	if err != nil || a <= 0 {
		return 0, billing.Errorf(billing.EINVALID, "%s: %q is not an amount of %s greater than zero", name, v, c.account.Currency)
	}
	return a, nil
}

func (c actionCall) money(v int64) string {
	return string(c.account.Currency) + " " + billing.FormatAmount(v, c.account.Currency)
}

func (c actionCall) path(suffix string) string {
	return "/api/v1/accounts/" + itoa(c.account.ID) + suffix
}

func recordPayment(c actionCall) (confirmation, error) {
	amount, err := c.amount("amount")
	if err != nil {
		return confirmation{}, err
	}
	received, err := c.date("received_date")
	if err != nil {
		return confirmation{}, err
	}
	// The ticked invoices (NUMBER:OWED, in the order shown) are paid in
	// turn, each up to what it owes, as the batch screen does
	// ([billing.SplitOverChosen]); what is left pays the oldest.
	var chosen []billing.OpenInvoice
	for _, v := range c.form["apply"] {
		num, open, ok := strings.Cut(v, ":")
		n, err := strconv.ParseInt(open, 10, 64)
		if !ok || err != nil || n <= 0 {
			return confirmation{}, billing.Errorf(billing.EINVALID, "apply: %q is not an invoice to apply to", v)
		}
		chosen = append(chosen, billing.OpenInvoice{Number: num, Amount: n})
	}
	apply := billing.SplitOverChosen(amount, chosen)
	var names []string
	for _, a := range apply {
		names = append(names, a.Invoice+" ("+c.money(a.Amount)+")")
	}
	method := c.text("method")
	what := fmt.Sprintf("Record %s received by %s", c.money(amount), strings.ReplaceAll(method, "_", " "))
	if ref := c.text("reference"); ref != "" {
		what += " (reference " + ref + ")"
	}
	if payer := c.text("payer"); payer != "" {
		what += " from " + payer
	}
	if !received.IsZero() {
		what += " on " + received.String()
	}
	sum := []string{what + " for account " + c.account.Number + "."}
	if len(names) > 0 {
		sum = append(sum, "It pays "+strings.Join(names, ", ")+" first; anything left pays the oldest open invoices.")
	} else {
		sum = append(sum, "It pays the oldest open invoices first; anything left stays as credit.")
	}
	sum = append(sum, "Balance now "+c.money(c.account.Balance)+", after "+c.money(c.account.Balance-amount)+".")
	if c.preview {
		return confirmation{Summary: sum}, nil
	}
	body := map[string]any{"amount": c.text("amount"), "method": method, "reference": c.text("reference"),
		"payer": c.text("payer"), "memo": c.text("memo")}
	if !received.IsZero() {
		body["received_date"] = received
	}
	if len(apply) > 0 {
		body["apply_to"] = apply
	}
	return confirmation{}, c.api.Do(c.ctx, http.MethodPost, c.path("/payments"), nil, c.idem, body, nil)
}

func giveCredit(c actionCall) (confirmation, error) {
	amount, err := c.amount("amount")
	if err != nil {
		return confirmation{}, err
	}
	eff, err := c.date("effective_date")
	if err != nil {
		return confirmation{}, err
	}
	if c.text("memo") == "" {
		return confirmation{}, billing.Errorf(billing.EINVALID, "memo: say why the credit is given")
	}
	if c.preview {
		return confirmation{Summary: []string{fmt.Sprintf("Credit %s to account %s: %q.", c.money(amount), c.account.Number, c.text("memo")),
			"Balance now " + c.money(c.account.Balance) + ", after " + c.money(c.account.Balance-amount) + "."}}, nil
	}
	body := map[string]any{"amount": c.text("amount"), "memo": c.text("memo")}
	if !eff.IsZero() {
		body["effective_date"] = eff
	}
	return confirmation{}, c.api.Do(c.ctx, http.MethodPost, c.path("/credits"), nil, c.idem, body, nil)
}

func addCharge(c actionCall) (confirmation, error) {
	amount, err := c.amount("amount")
	if err != nil {
		return confirmation{}, err
	}
	day, err := c.date("charge_date")
	if err != nil {
		return confirmation{}, err
	}
	if c.text("description") == "" {
		return confirmation{}, billing.Errorf(billing.EINVALID, "description: say what the charge is for")
	}
	if c.preview {
		tax := "not taxable"
		if c.form.Get("taxable") != "" {
			tax = "taxable"
		}
		return confirmation{Summary: []string{fmt.Sprintf("Charge %s (%s) to account %s: %q.", c.money(amount), tax, c.account.Number, c.text("description")),
			"It goes on the account's next invoice."}}, nil
	}
	body := map[string]any{"amount": c.text("amount"), "description": c.text("description"), "taxable": c.form.Get("taxable") != ""}
	if !day.IsZero() {
		body["charge_date"] = day
	}
	return confirmation{}, c.api.Do(c.ctx, http.MethodPost, c.path("/charges"), nil, c.idem, body, nil)
}

func setPromise(c actionCall) (confirmation, error) {
	until, err := c.date("until")
	if err != nil {
		return confirmation{}, err
	}
	if until.IsZero() {
		return confirmation{}, billing.Errorf(billing.EINVALID, "until: the last day the promise holds the account is required")
	}
	if c.preview {
		return confirmation{Summary: []string{fmt.Sprintf("Hold account %s from suspension until %s on the promise %q.", c.account.Number, until, c.text("note"))}}, nil
	}
	_, err = c.api.SetPromise(c.ctx, c.idem, c.account.ID, until, c.text("note"))
	return confirmation{}, err
}

func clearPromise(c actionCall) (confirmation, error) {
	if c.preview {
		return confirmation{Summary: []string{"End the promise to pay of account " + c.account.Number + ": the next sweep treats it as any other."}}, nil
	}
	_, err := c.api.ClearPromise(c.ctx, c.idem, c.account.ID)
	return confirmation{}, err
}

func setExemption(c actionCall) (confirmation, error) {
	if c.text("reason") == "" {
		return confirmation{}, billing.Errorf(billing.EINVALID, "reason: say why the account is exempt")
	}
	if c.preview {
		return confirmation{Summary: []string{fmt.Sprintf("Exempt account %s from suspension: %q. It is never suspended until the exemption ends.", c.account.Number, c.text("reason"))}}, nil
	}
	_, err := c.api.SetExemption(c.ctx, c.idem, c.account.ID, c.text("reason"))
	return confirmation{}, err
}

func clearExemption(c actionCall) (confirmation, error) {
	if c.preview {
		return confirmation{Summary: []string{"End the exemption of account " + c.account.Number + ": the next sweep may suspend it if it is past due."}}, nil
	}
	_, err := c.api.ClearExemption(c.ctx, c.idem, c.account.ID)
	return confirmation{}, err
}

// editAccount changes the contact and billing fields that differ from
// the account as read.
func editAccount(c actionCall) (confirmation, error) {
	a := c.account
	var e billing.AccountEdit
	var sum []string
	text := func(field, label, old string, set func(string)) {
		if _, ok := c.form[field]; !ok {
			return
		}
		if v := c.text(field); v != old {
			set(v)
			sum = append(sum, fmt.Sprintf("%s: %q → %q", label, old, v))
		}
	}
	text("name", "Name", a.Name, func(v string) { e.Name = &v })
	text("company_name", "Company", a.CompanyName, func(v string) { e.CompanyName = &v })
	text("email", "E-mail", a.Email, func(v string) { e.Email = &v })
	text("phone", "Phone", a.Phone, func(v string) { e.Phone = &v })
	text("external_id", "External id", a.ExternalID, func(v string) { e.ExternalID = &v })
	text("delivery", "Delivery", string(a.Delivery), func(v string) { d := billing.Delivery(v); e.Delivery = &d })
	addr := billing.Address{Line1: c.text("line1"), Line2: c.text("line2"), City: c.text("city"), Region: c.text("region"),
		PostalCode: c.text("postal_code"), Country: c.text("country")}
	if _, ok := c.form["line1"]; ok && addr != a.Address {
		e.Address = &addr
		sum = append(sum, "Billing address: "+addressLine(a.Address)+" → "+addressLine(addr))
	}
	if v := c.text("account_type_id"); v != "" && v != itoa(a.AccountTypeID) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return confirmation{}, billing.Errorf(billing.EINVALID, "account_type_id: %q is not an account type", v)
		}
		e.AccountTypeID = &n
		sum = append(sum, "Account type: #"+itoa(a.AccountTypeID)+" → #"+v+" (its rules apply from the next billing period)")
	}
	if v := c.text("billing_day"); v != "" && v != strconv.Itoa(a.BillingDay) {
		n, err := strconv.Atoi(v)
		if err != nil {
			return confirmation{}, billing.Errorf(billing.EINVALID, "billing_day: %q is not a day of the month", v)
		}
		e.BillingDay = &n
		sum = append(sum, fmt.Sprintf("Billing day: %d → %d (the changed period is prorated)", a.BillingDay, n))
	}
	text("locale", "Locale", string(a.Locale), func(v string) { l := billing.Locale(v); e.Locale = &l })
	if _, ok := c.form["exemption_certificate"]; ok {
		exempt := c.form.Get("tax_exempt") != ""
		if exempt != a.TaxExempt {
			e.TaxExempt = &exempt
			sum = append(sum, fmt.Sprintf("Tax exempt: %v → %v", a.TaxExempt, exempt))
		}
		text("exemption_certificate", "Exemption certificate", a.ExemptionCertificate, func(v string) { e.ExemptionCertificate = &v })
	}
	if _, ok := c.form["ov_due_days"]; ok {
		ov, err := c.overrides()
		if err != nil {
			return confirmation{}, err
		}
		if ov.OverridesKey() != a.Overrides.OverridesKey() {
			e.Overrides = &ov
			sum = append(sum, "Own billing settings: "+overridesLine(a.Overrides)+" → "+overridesLine(ov)+" (the others inherit the account type's, and follow its changes)")
		}
	}
	e.Reason = c.text("reason")
	if len(sum) == 0 {
		return confirmation{}, billing.Errorf(billing.EINVALID, "nothing to change: every field is as it was")
	}
	if c.preview {
		return confirmation{Summary: append([]string{"Change account " + a.Number + ":"}, sum...)}, nil
	}
	_, err := c.api.EditAccount(c.ctx, c.idem, a.ID, a.Version, e)
	return confirmation{}, err
}

// overrides reads the form's per-setting overrides: an empty field or
// "inherit" inherits the account type's setting.
func (c actionCall) overrides() (billing.AccountOverrides, error) {
	var ov billing.AccountOverrides
	num := func(name string) (*int, error) {
		v := c.text(name)
		if v == "" {
			return nil, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, billing.Errorf(billing.EINVALID, "%s: %q is not a whole number of days (empty inherits the type's)", strings.TrimPrefix(name, "ov_"), v)
		}
		return &n, nil
	}
	var err error
	if ov.DueDays, err = num("ov_due_days"); err != nil {
		return ov, err
	}
	if ov.GraceDays, err = num("ov_grace_days"); err != nil {
		return ov, err
	}
	switch v := c.text("ov_reminder_days_before"); v {
	case "":
	case "none":
		ov.ReminderDaysBefore = &[]int{}
	default:
		var days []int
		for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
			n, err := strconv.Atoi(p)
			if err != nil {
				return ov, billing.Errorf(billing.EINVALID, "reminder_days_before: %q is not a list of days (or none; empty inherits)", v)
			}
			days = append(days, n)
		}
		ov.ReminderDaysBefore = &days
	}
	yesNo := func(name string) *bool {
		switch c.text(name) {
		case "yes":
			t := true
			return &t
		case "no":
			f := false
			return &f
		}
		return nil
	}
	ov.AutoSuspend, ov.LateFee = yesNo("ov_auto_suspend"), yesNo("ov_late_fee")
	if v := c.text("ov_reactivation_rule"); v != "" && v != "inherit" {
		r := billing.ReactivationRule(v)
		ov.ReactivationRule = &r
	}
	if c.form.Get("ov_invoice_message_own") != "" {
		m := c.form.Get("ov_invoice_message")
		ov.InvoiceMessage = &m
	}
	return ov, nil
}

// overridesLine names the settings an account overrides, with values.
func overridesLine(ov billing.AccountOverrides) string {
	var parts []string
	if ov.DueDays != nil {
		parts = append(parts, fmt.Sprintf("due days %d", *ov.DueDays))
	}
	if ov.GraceDays != nil {
		parts = append(parts, fmt.Sprintf("grace days %d", *ov.GraceDays))
	}
	if ov.ReminderDaysBefore != nil {
		parts = append(parts, fmt.Sprintf("reminders %v days before", *ov.ReminderDaysBefore))
	}
	if ov.AutoSuspend != nil {
		parts = append(parts, fmt.Sprintf("auto-suspend %v", *ov.AutoSuspend))
	}
	if ov.ReactivationRule != nil {
		parts = append(parts, "reactivation "+string(*ov.ReactivationRule))
	}
	if ov.LateFee != nil {
		parts = append(parts, fmt.Sprintf("late fee %v", *ov.LateFee))
	}
	if ov.InvoiceMessage != nil {
		parts = append(parts, fmt.Sprintf("invoice message %q", *ov.InvoiceMessage))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func addressLine(a billing.Address) string {
	var parts []string
	for _, p := range []string{a.Line1, a.Line2, a.City, a.Region, a.PostalCode, a.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, ", ")
}

func closeAccount(c actionCall) (confirmation, error) {
	if c.preview {
		sum := []string{"Close account " + c.account.Number + ": its services are cancelled and it is invoiced one last time.",
			"Balance now " + c.money(c.account.Balance) + "."}
		if c.form.Get("refund_credit") != "" {
			sum = append(sum, "Credit left after the final invoice is refunded to the payments it came from.")
		}
		return confirmation{Summary: sum}, nil
	}
	_, err := c.api.AccountLifecycle(c.ctx, c.idem, c.account.ID, c.account.Version, "close",
		client.AccountClose{RefundCredit: c.form.Get("refund_credit") != "", Reason: c.text("reason")})
	return confirmation{}, err
}

// lifecycle runs a service lifecycle change with the API's preview as the
// confirmation.
func (c actionCall) lifecycle(kind string, body any, sentence string) (confirmation, error) {
	version, key := c.service.Version, c.idem
	if c.preview {
		// A preview writes nothing, but is a request of its own: it must
		// not take the key the change will be made with.
		version, key = 0, client.NewIdempotencyKey()
	}
	res, err := c.api.ServiceLifecycle(c.ctx, key, c.service.ID, version, kind, body, c.preview)
	if err != nil || !c.preview {
		return confirmation{}, err
	}
	return confirmation{Summary: []string{sentence}, Plan: &res.Plan}, nil
}

func changePlan(c actionCall) (confirmation, error) {
	eff, err := c.date("effective_date")
	if err != nil {
		return confirmation{}, err
	}
	req := client.PlanChangeRequest{EffectiveDate: eff, AtNextPeriod: c.form.Get("at_next_period") != "", Reason: c.text("reason")}
	if v := c.text("plan_id"); v != "" {
		if req.PlanID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return confirmation{}, billing.Errorf(billing.EINVALID, "plan_id: %q is not a plan", v)
		}
	}
	if v := c.text("quantity"); v != "" {
		if req.Quantity, err = strconv.ParseInt(v, 10, 64); err != nil || req.Quantity < 1 {
			return confirmation{}, billing.Errorf(billing.EINVALID, "quantity: %q is not a whole number of at least 1", v)
		}
	}
	return c.lifecycle("plan-change", req, fmt.Sprintf("Change service %q (#%d).", c.service.Name, c.service.ID))
}

func pauseService(c actionCall) (confirmation, error) {
	from, err := c.date("from")
	if err != nil {
		return confirmation{}, err
	}
	to, err := c.date("to")
	if err != nil {
		return confirmation{}, err
	}
	return c.lifecycle("pause", client.ServicePause{From: from, To: to, Reason: c.text("reason")},
		fmt.Sprintf("Pause service %q (#%d) from %s; it resumes on %s.", c.service.Name, c.service.ID, from, to))
}

func cancelService(c actionCall) (confirmation, error) {
	day, err := c.date("date")
	if err != nil {
		return confirmation{}, err
	}
	when := "today"
	if !day.IsZero() {
		when = "from " + day.String()
	}
	if c.form.Get("end_of_period") != "" {
		when = "at the end of the billing period"
	}
	return c.lifecycle("cancel", client.ServiceCancel{Date: day, EndOfPeriod: c.form.Get("end_of_period") != "", Reason: c.text("reason")},
		fmt.Sprintf("Cancel service %q (#%d) %s.", c.service.Name, c.service.ID, when))
}

func moveService(c actionCall) (confirmation, error) {
	svc := c.service
	mv := billing.ServiceMove{POP: c.text("pop"), Binding: svc.Binding, Reason: c.text("reason")}
	if mv.POP == "" {
		return confirmation{}, billing.Errorf(billing.EINVALID, "pop: the POP the service moves to is required")
	}
	if v := c.text("device"); v != "" {
		mv.Binding.Device = v
	}
	if v, ok := c.form["addresses"]; ok {
		mv.Binding.Addresses = strings.FieldsFunc(strings.Join(v, ","), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })
	}
	if c.preview {
		return confirmation{Summary: []string{
			fmt.Sprintf("Move service %q (#%d) from POP %s to %s.", svc.Name, svc.ID, svc.POP, mv.POP),
			fmt.Sprintf("Device %q, addresses %s; the agent at %s enforces it from its next revision, and the old POP's agent removes it.",
				mv.Binding.Device, strings.Join(mv.Binding.Addresses, ", "), mv.POP)}}, nil
	}
	_, err := c.api.MoveService(c.ctx, c.idem, svc.ID, svc.Version, mv)
	return confirmation{}, err
}
