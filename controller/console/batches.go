package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Batch payment entry: a clerk opens a deposit batch with the control total
// and count of the paper in front of them, enters each check in one window
// (account, its snapshot and open invoices, method, check number, payer,
// amount; Enter adds the line and puts the cursor back in the account
// field), watches the running total reach the control total, validates,
// posts and prints the deposit slip. Every step is a form post that
// re-renders the page; htmx swaps the work area in place instead.

// batchControl is what the clerk counted before entering, as the batch
// keeps it (control_count, control_total), written for the screen.
type batchControl struct {
	// Text is "10 payments · 145.00" (either part alone when only one
	// figure was given); Set whether any was.
	Text string
	Set  bool
}

// controlOf writes b's control figures, the total in currency c (a plain
// two-decimal number when c is not known).
func controlOf(b billing.PaymentBatch, c billing.Currency) batchControl {
	var parts []string
	if b.ControlCount != nil {
		parts = append(parts, fmt.Sprintf("%d payments", *b.ControlCount))
	}
	if b.ControlTotal != nil {
		parts = append(parts, amountText(*b.ControlTotal, c))
	}
	return batchControl{Text: strings.Join(parts, " · "), Set: len(parts) > 0}
}

// amountText writes minor units n in currency c, or with two decimals
// when c is not known.
func amountText(n int64, c billing.Currency) string {
	if c == "" {
		return minorText(n, 2)
	}
	return billing.FormatAmount(n, c)
}

// minorText writes minor units n with dec decimal places.
func minorText(n int64, dec int) string {
	s := strconv.FormatInt(n, 10)
	if dec <= 0 {
		return s
	}
	for len(s) <= dec {
		s = "0" + s
	}
	return s[:len(s)-dec] + "." + s[len(s)-dec:]
}

// batchCurrencies are the currencies the plans are priced in (with no
// plan yet, those of the first accounts), sorted: a deposit's control
// total is typed in one of them and kept in its minor units (the batch has
// no currency of its own).
func batchCurrencies(ctx context.Context, api *client.Client) ([]billing.Currency, error) {
	var out []billing.Currency
	add := func(c billing.Currency) {
		if c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	var plans struct {
		Items []billing.Plan `json:"items"`
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/plans", nil, "", nil, &plans); err != nil {
		return nil, err
	}
	for _, pl := range plans.Items {
		add(pl.Currency)
	}
	if len(out) == 0 {
		var accounts struct {
			Items []billing.Account `json:"items"`
		}
		if err := api.Do(ctx, http.MethodGet, "/api/v1/accounts", url.Values{"limit": {"100"}}, "", nil, &accounts); err != nil {
			return nil, err
		}
		for _, a := range accounts.Items {
			add(a.Currency)
		}
	}
	slices.Sort(out)
	return out, nil
}

// soleCurrency is the one currency in cs, or "".
func soleCurrency(cs []billing.Currency) billing.Currency {
	if len(cs) == 1 {
		return cs[0]
	}
	return ""
}

// batchRow is a batch in the list.
type batchRow struct {
	billing.PaymentBatch
	Control batchControl
	// TotalText is the total in the lines' currency (the list has no
	// lines: the total is shown as the control figures are, a decimal).
	TotalText string
}

// openBatchForm is the form that opens a batch, as typed.
type openBatchForm struct {
	DepositDate, DepositAccount, ControlCount, ControlTotal, Memo, Currency string
	Errors                                                                  map[string]string
}

type batchesData struct {
	Lists []batchList
	Form  openBatchForm
	// Currencies are those the control total may be in: a choice is
	// offered only when there are several.
	Currencies []billing.Currency
}

// batchList is a table of batches.
type batchList struct {
	ID, Title, Empty string
	Rows             []batchRow
}

// batches lists open and posted batches and offers to open one.
func (s *Server) batches(w http.ResponseWriter, r *http.Request, sess *session) {
	form := openBatchForm{DepositDate: s.clock.Now().UTC().Format("2006-01-02")}
	s.renderBatches(w, r, sess, http.StatusOK, form, "")
}

func (s *Server) renderBatches(w http.ResponseWriter, r *http.Request, sess *session, status int, form openBatchForm, errMsg string) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	d := batchesData{Form: form, Lists: []batchList{
		{ID: "open-list", Title: "Open batches", Empty: "No batch is open."},
		{ID: "posted-list", Title: "Posted batches", Empty: "No batch has been posted yet."},
	}}
	currencies, err := batchCurrencies(ctx, api)
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading the plans' currencies", err)
		return
	}
	d.Currencies = currencies
	if d.Form.Currency == "" && len(currencies) > 0 {
		d.Form.Currency = string(currencies[0])
	}
	sole := soleCurrency(currencies)
	for i, st := range []billing.BatchStatus{billing.BatchOpen, billing.BatchPosted} {
		var p struct {
			Items []billing.PaymentBatch `json:"items"`
		}
		if err := api.Do(ctx, http.MethodGet, "/api/v1/payment-batches", url.Values{"status": {string(st)}, "limit": {"50"}}, "", nil, &p); err != nil {
			s.apiErrorPage(w, r, sess, "reading payment batches", err)
			return
		}
		for _, b := range p.Items {
			d.Lists[i].Rows = append(d.Lists[i].Rows, batchRow{PaymentBatch: b, Control: controlOf(b, sole), TotalText: amountText(b.Total, sole)})
		}
	}
	focus := ""
	for _, f := range []string{"deposit_date", "control_count", "control_total", "currency", "deposit_account", "memo"} {
		if form.Errors[f] != "" {
			focus = f
			break
		}
	}
	s.render(w, r, sess, status, "batches", view{Title: "Payment batches", Nav: "batches", Error: errMsg, Focus: focus, Data: d})
}

// openBatch opens a batch with the clerk's control figures and goes to
// its entry screen.
func (s *Server) openBatch(w http.ResponseWriter, r *http.Request, sess *session) {
	f := openBatchForm{
		DepositDate: strings.TrimSpace(r.PostFormValue("deposit_date")), DepositAccount: strings.TrimSpace(r.PostFormValue("deposit_account")),
		ControlCount: strings.TrimSpace(r.PostFormValue("control_count")), ControlTotal: strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("control_total"), ",", "")),
		Memo: strings.TrimSpace(r.PostFormValue("memo")), Currency: r.PostFormValue("currency"), Errors: map[string]string{},
	}
	date, err := billing.ParseDate(f.DepositDate)
	if err != nil {
		f.Errors["deposit_date"] = "The deposit date must be a date like 2026-12-15."
	}
	n, err := strconv.Atoi(f.ControlCount)
	if err != nil || n < 1 || n > 20000 {
		f.Errors["control_count"] = "The control count must be the number of payments in the deposit (1 to 20000)."
	}
	// The control total is typed in the deposit's currency (the only one
	// the plans are priced in, else the one chosen) and sent in its minor
	// units.
	api, ctx := s.apiFor(r.Context(), sess.User)
	currencies, err := batchCurrencies(ctx, api)
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading the plans' currencies", err)
		return
	}
	cur := soleCurrency(currencies)
	if len(currencies) > 1 {
		if c := billing.Currency(f.Currency); slices.Contains(currencies, c) {
			cur = c
		} else {
			f.Errors["currency"] = "Choose the deposit's currency."
		}
	}
	if len(currencies) == 0 {
		f.Errors["control_total"] = "No plan or account has a currency yet, so the deposit's is not known: add a plan first."
	}
	total, err := billing.ParsePositiveAmount(f.ControlTotal, cur)
	if err != nil && cur != "" {
		f.Errors["control_total"] = fmt.Sprintf("The control total must be the deposit's total in %s, like %s.", cur, billing.FormatAmount(123450, cur))
	}
	if len(f.Errors) > 0 {
		s.renderBatches(w, r, sess, http.StatusUnprocessableEntity, f, "The batch was not opened: fix the fields marked below.")
		return
	}
	var b billing.PaymentBatch
	err = api.Do(ctx, http.MethodPost, "/api/v1/payment-batches", nil, r.PostFormValue("idem"),
		map[string]any{"deposit_date": date, "deposit_account": f.DepositAccount, "memo": f.Memo, "control_count": n, "control_total": total}, &b)
	if err != nil {
		status, msg := s.apiProblem(r, "opening a batch", err)
		s.renderBatches(w, r, sess, status, f, msg)
		return
	}
	http.Redirect(w, r, s.p.path+"/batches/"+itoa(b.ID), http.StatusSeeOther)
}

// entryForm is the entry line as the clerk typed it.
type entryForm struct {
	// LineNo is the line being corrected (0: a new line).
	LineNo int
	// Account is what is in the account field; Selected the account
	// number whose snapshot is shown (the clerk picked it).
	Account, Selected                      string
	Method, Reference, Payer, Amount, Memo string
	Ticked                                 []string // invoice numbers
	Errors                                 map[string]string
	Idem                                   string
}

func (f entryForm) IsTicked(number string) bool { return slices.Contains(f.Ticked, number) }

// accountSnapshot is what the clerk sees of the selected account.
type accountSnapshot struct {
	Account  billing.Account
	Standing billing.AccountStanding
	Invoices []billing.Invoice // open, oldest first
	// BillingDay is the day of the month its invoices' periods start
	// (billing.AccountAnchor of its type); 0 if the type was unreadable.
	BillingDay int
}

// openInvoice is an open invoice with what it still owes.
type openInvoice struct {
	billing.Invoice
	Owed int64
}

// Open lists the open invoices with what each still owes.
func (s accountSnapshot) Open() []openInvoice {
	out := make([]openInvoice, len(s.Invoices))
	for i, inv := range s.Invoices {
		out[i] = openInvoice{Invoice: inv, Owed: inv.Total - inv.Paid}
	}
	return out
}

// fieldError is a problem with one field of the entry line.
type fieldError struct{ Field, Label, Message string }

// LineErrors are the entry line's problems below the line, in its order
// (the account's and the invoices' are shown where they are).
func (f entryForm) LineErrors() []fieldError {
	var out []fieldError
	for _, e := range []fieldError{{Field: "method", Label: "Method"}, {Field: "reference", Label: "Check no."},
		{Field: "payer", Label: "Payer"}, {Field: "amount", Label: "Amount"}, {Field: "memo", Label: "Memo"}} {
		if m := f.Errors[e.Field]; m != "" {
			e.Message = m
			out = append(out, e)
		}
	}
	return out
}

// Methods are the payment methods a clerk enters by hand.
func (batchData) Methods() []string {
	return []string{string(billing.PayCheck), string(billing.PayCash), string(billing.PayMoneyOrder), string(billing.PayWire), string(billing.PayOther)}
}

// lineRow is a line of the batch with its problems.
type lineRow struct {
	billing.BatchLine
	Problems   []billing.BatchProblem
	RemoveIdem string
}

// batchData is the one-window screen.
type batchData struct {
	Batch    billing.PaymentBatch
	Control  batchControl
	Currency billing.Currency
	// Difference is how far the lines are from the control figures.
	Difference       billing.ControlDifference
	Lines            []lineRow
	Warnings, Errors int
	Entry            entryForm
	Matches          []billing.SearchHit
	Snapshot         *accountSnapshot
	// Validated is set after the clerk asked to validate.
	Validated  *billing.BatchValidation
	Confirming bool
	Import     struct {
		Idem     string
		Problems []string
	}
	PostIdem string
	Notice   string
	// Warning is what is wrong with the line just added (it was added).
	Warning string
	Error   string
	Focus   string
}

// Balanced reports whether the entered lines match the control figures
// (false when none were given).
func (d batchData) Balanced() bool { return d.Control.Set && d.Difference.Balanced }

// DifferenceText says how far the lines are from the control figures:
// what is still to enter, or how much they are over them.
func (d batchData) DifferenceText() string {
	if !d.Control.Set {
		return "no control total"
	}
	if d.Difference.Balanced {
		return "0 — balanced"
	}
	text := "0 still to enter"
	if t := d.Difference.TotalDifference; t != nil && *t > 0 {
		text = amountText(*t, d.Currency) + " still to enter"
	} else if t != nil && *t < 0 {
		text = amountText(-*t, d.Currency) + " over the control total"
	} else if t == nil {
		text = "no control total"
	}
	switch n := d.Difference.CountDifference; {
	case n != nil && *n > 0:
		text += fmt.Sprintf(", %d payments", *n)
	case n != nil && *n < 0:
		text += fmt.Sprintf(", %d payments too many", -*n)
	}
	return text
}

// Open reports whether lines may still change.
func (d batchData) Open() bool { return d.Batch.Status == billing.BatchOpen }

// onBatch runs a batch page's handler with the batch's id from the path,
// or answers 404 for a path that names no batch.
func (s *Server) onBatch(h func(w http.ResponseWriter, r *http.Request, sess *session, id int64)) page {
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		id, ok := batchID(r)
		if !ok {
			s.errorPage(w, r, sess, http.StatusNotFound, "There is no such batch.")
			return
		}
		h(w, r, sess, id)
	}
}

func batchID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// loadBatch reads the batch (and, while it is open, its validation for the
// lines' warnings and errors) into d.
func (s *Server) loadBatch(ctx context.Context, api *client.Client, id int64, d *batchData) error {
	if err := api.Do(ctx, http.MethodGet, "/api/v1/payment-batches/"+itoa(id), nil, "", nil, &d.Batch); err != nil {
		return err
	}
	var v billing.BatchValidation
	if d.Batch.Status == billing.BatchOpen && len(d.Batch.Lines) > 0 {
		if err := api.Do(ctx, http.MethodGet, "/api/v1/payment-batches/"+itoa(id)+"/validation", nil, "", nil, &v); err != nil {
			return err
		}
	}
	d.Lines = make([]lineRow, len(d.Batch.Lines))
	for i, l := range d.Batch.Lines {
		d.Lines[i] = lineRow{BatchLine: l, RemoveIdem: client.NewIdempotencyKey()}
		for _, p := range append(slices.Clone(v.Errors), v.Warnings...) {
			if p.LineNo == l.LineNo {
				d.Lines[i].Problems = append(d.Lines[i].Problems, p)
			}
		}
		if d.Currency == "" {
			d.Currency = l.Currency
		}
	}
	d.Errors, d.Warnings = len(v.Errors), len(v.Warnings)
	for _, t := range d.Batch.Totals {
		if t.Method == "all" {
			d.Currency = t.Currency
		}
	}
	if d.Currency == "" {
		// No line yet: the control total is in the plans' currency.
		if cs, err := batchCurrencies(ctx, api); err == nil {
			d.Currency = soleCurrency(cs)
		}
	}
	d.Control, d.Difference = controlOf(d.Batch, d.Currency), d.Batch.Control()
	d.Import.Idem, d.PostIdem = client.NewIdempotencyKey(), client.NewIdempotencyKey()
	return nil
}

// renderBatch shows the one-window screen. Inline errors keep status 200
// for htmx (which swaps only successful answers) and 422 otherwise.
func (s *Server) renderBatch(w http.ResponseWriter, r *http.Request, sess *session, status int, d batchData) {
	if status == http.StatusUnprocessableEntity && r.Header.Get("HX-Request") != "" {
		status = http.StatusOK
	}
	if d.Entry.Idem == "" {
		d.Entry.Idem = client.NewIdempotencyKey()
	}
	if d.Entry.Method == "" {
		d.Entry.Method = string(billing.PayCheck)
	}
	if d.Focus == "" && d.Open() {
		d.Focus = "account"
	}
	title := "Batch #" + itoa(d.Batch.ID)
	s.render(w, r, sess, status, "batch", view{Title: title, Nav: "batches", Focus: d.Focus, Data: d})
}

// batch shows a batch's one-window screen.
func (s *Server) batch(w http.ResponseWriter, r *http.Request, sess *session, id int64) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	var d batchData
	if err := s.loadBatch(ctx, api, id, &d); err != nil {
		s.apiErrorPage(w, r, sess, "reading the batch", err)
		return
	}
	switch r.URL.Query().Get("done") {
	case "posted":
		d.Notice = fmt.Sprintf("Batch %d is posted: %d payments, %s. Print the deposit slip for the bank.", d.Batch.ID, d.Batch.Count, billing.FormatAmount(d.Batch.Total, d.Currency))
	case "removed":
		d.Notice = "The line was removed."
	}
	s.renderBatch(w, r, sess, http.StatusOK, d)
}

// findAccounts is the account picker's lookup: what the clerk typed
// against the staff search (GET /api/v1/search), which finds an account by
// number, name, e-mail, phone, address, external id, service IP, invoice
// number or check number, exact matches first.
func (s *Server) findAccounts(ctx context.Context, api *client.Client, q string) ([]billing.SearchHit, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, nil
	}
	if len(q) > 100 {
		q = q[:100]
	}
	res, err := api.Search(ctx, q, 8)
	return res.Items, err
}

// pickAccount is the account q names among the search's hits: the one
// whose number it is, or whose external id, invoice or check number it is
// exactly when no other hit shares that; else the only hit.
func pickAccount(q string, hits []billing.SearchHit) (billing.SearchHit, bool) {
	q = strings.TrimSpace(q)
	for _, h := range hits {
		if strings.EqualFold(h.Number, q) {
			return h, true
		}
	}
	var exact []billing.SearchHit
	for _, h := range hits {
		if h.Match.Exact && h.Match.Field != billing.MatchName && h.Match.Field != billing.MatchCompany {
			exact = append(exact, h)
		}
	}
	if len(exact) == 1 {
		return exact[0], true
	}
	if len(hits) == 1 {
		return hits[0], true
	}
	return billing.SearchHit{}, false
}

// snapshot reads what the clerk sees of account a.
func (s *Server) snapshot(ctx context.Context, api *client.Client, a billing.Account) (*accountSnapshot, error) {
	snap := &accountSnapshot{Account: a}
	st, err := api.AccountStanding(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	snap.Standing = st
	var typ billing.AccountType
	if err := api.Do(ctx, http.MethodGet, "/api/v1/account-types/"+itoa(a.AccountTypeID), nil, "", nil, &typ); err != nil {
		return nil, err
	}
	snap.BillingDay, _ = billing.AccountAnchor(typ, a)
	var p struct {
		Items []billing.Invoice `json:"items"`
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/invoices", url.Values{"account_id": {itoa(a.ID)}, "status": {"open"}, "limit": {"20"}}, "", nil, &p); err != nil {
		return nil, err
	}
	snap.Invoices = p.Items
	return snap, nil
}

// accountResults answers the search-as-you-type request of the account
// field with the matches (an htmx fragment).
func (s *Server) accountResults(w http.ResponseWriter, r *http.Request, sess *session, id int64) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	q := r.URL.Query().Get("account")
	matches, err := s.findAccounts(ctx, api, q)
	if err != nil {
		s.apiErrorPage(w, r, sess, "searching accounts", err)
		return
	}
	d := batchData{Matches: matches, Entry: entryForm{Account: q}}
	d.Batch.ID = id
	v := view{Base: s.p.path, Data: d}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.pages["batch"].ExecuteTemplate(w, "account-results", v); err != nil {
		s.log.Error("console: rendering account results", "err", err)
	}
}

// readEntry reads the entry form.
func readEntry(r *http.Request) entryForm {
	f := entryForm{
		Account: strings.TrimSpace(r.PostFormValue("account")), Selected: r.PostFormValue("selected"),
		Method: r.PostFormValue("method"), Reference: strings.TrimSpace(r.PostFormValue("reference")),
		Payer: strings.TrimSpace(r.PostFormValue("payer")), Amount: strings.TrimSpace(r.PostFormValue("amount")),
		Memo: strings.TrimSpace(r.PostFormValue("memo")), Idem: r.PostFormValue("idem"), Errors: map[string]string{},
	}
	if pick := r.PostFormValue("pick"); pick != "" {
		f.Account = pick
	}
	if !strings.EqualFold(f.Account, f.Selected) {
		f.Selected = "" // another account: its invoices were not the ones ticked
	} else {
		f.Ticked = r.PostForm["invoice"]
	}
	return f
}

// addLine is the entry line's post: it adds the line (or corrects line
// {line}); or, when the account field names an account not yet picked,
// picks it and shows its snapshot; or lists the accounts that match.
func (s *Server) addLine(w http.ResponseWriter, r *http.Request, sess *session, id int64) {
	lineNo := 0
	if v := r.PathValue("line"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.errorPage(w, r, sess, http.StatusNotFound, "There is no such line.")
			return
		}
		lineNo = n
	}
	api, ctx := s.apiFor(r.Context(), sess.User)
	f := readEntry(r)
	f.LineNo = lineNo
	d := batchData{Entry: f}
	picking := r.PostFormValue("pick") != ""

	// The account: the one already picked, else the one the field names.
	var acct billing.Account
	matches, err := s.findAccounts(ctx, api, f.Account)
	if err != nil {
		s.apiErrorPage(w, r, sess, "searching accounts", err)
		return
	}
	hit, found := pickAccount(f.Account, matches)
	if found {
		if acct, err = api.Account(ctx, hit.AccountID); err != nil {
			s.apiErrorPage(w, r, sess, "reading the account", err)
			return
		}
		if d.Snapshot, err = s.snapshot(ctx, api, acct); err != nil {
			s.apiErrorPage(w, r, sess, "reading the account", err)
			return
		}
	}
	newlyPicked := found && !strings.EqualFold(f.Selected, acct.Number)
	switch {
	case f.Account == "":
		d.Entry.Errors["account"] = "Type the account's number or name."
	case !found && len(matches) == 0:
		d.Entry.Errors["account"] = fmt.Sprintf("No account matches %q.", f.Account)
	case !found:
		d.Matches = matches
		d.Entry.Errors["account"] = fmt.Sprintf("%d accounts match %q: pick one.", len(matches), f.Account)
	}
	if found {
		d.Entry.Account, d.Entry.Selected = acct.Number, acct.Number
	}
	// Enter in the account field, or a picked result, picks the account and
	// moves on; with an amount typed already, the line is added at once.
	if len(d.Entry.Errors) > 0 || picking || (newlyPicked && f.Amount == "") {
		if err := s.loadBatch(ctx, api, id, &d); err != nil {
			s.apiErrorPage(w, r, sess, "reading the batch", err)
			return
		}
		d.Entry.Idem = "" // a fresh key for the line still to be added
		if len(d.Entry.Errors) > 0 {
			d.Focus = "account"
			s.renderBatch(w, r, sess, http.StatusUnprocessableEntity, d)
			return
		}
		d.Focus = "method"
		if d.Snapshot != nil && len(d.Snapshot.Invoices) > 0 {
			d.Focus = "invoice-0"
		}
		s.renderBatch(w, r, sess, http.StatusOK, d)
		return
	}

	line := map[string]any{"account": acct.Number, "method": f.Method, "reference": f.Reference, "payer": f.Payer, "memo": f.Memo}
	if f.Amount != "" {
		line["amount"] = strings.ReplaceAll(f.Amount, ",", "")
	} else if lineNo == 0 {
		d.Entry.Errors["amount"] = "Type the amount of the payment."
	}
	if choices := applyTo(d.Entry, d.Snapshot, acct.Currency); len(choices) > 0 {
		line["apply_to"] = choices
	}
	if len(d.Entry.Errors) == 0 {
		var b billing.PaymentBatch
		if lineNo == 0 {
			err = api.Do(ctx, http.MethodPost, "/api/v1/payment-batches/"+itoa(id)+"/lines", nil, f.Idem, map[string]any{"lines": []any{line}}, &b)
		} else {
			err = api.Do(ctx, http.MethodPut, "/api/v1/payment-batches/"+itoa(id)+"/lines/"+strconv.Itoa(lineNo), nil, f.Idem, line, &b)
		}
		if err != nil {
			status, msg := s.apiProblem(r, "adding the line", err)
			if status == http.StatusForbidden || status >= 500 || status == http.StatusNotFound {
				s.errorPage(w, r, sess, status, msg)
				return
			}
			if fieldErrors(err, d.Entry.Errors) {
				msg = "fix the field marked below."
			}
			d.Error = "The line was not added: " + msg
		}
	}
	if err := s.loadBatch(ctx, api, id, &d); err != nil {
		s.apiErrorPage(w, r, sess, "reading the batch", err)
		return
	}
	if len(d.Entry.Errors) > 0 || d.Error != "" {
		d.Entry.Idem = ""
		for _, f := range []string{"account", "method", "reference", "payer", "amount", "apply_to", "memo"} {
			if d.Entry.Errors[f] != "" {
				d.Focus = f
				break
			}
		}
		if d.Focus == "apply_to" {
			d.Focus = "invoice-0"
		}
		s.renderBatch(w, r, sess, http.StatusUnprocessableEntity, d)
		return
	}
	added := len(d.Batch.Lines)
	if lineNo != 0 {
		added = lineNo
	}
	d.Notice = fmt.Sprintf("Line %d: %s %s from %s.", added, methodLabel(f.Method), f.Amount, acct.Number)
	if lineNo != 0 {
		d.Notice = fmt.Sprintf("Line %d was corrected.", lineNo)
	}
	// The line's own warnings (a duplicate check) right where the clerk
	// looks; every line's are in the table.
	for _, l := range d.Lines {
		if l.LineNo == added {
			for _, pr := range l.Problems {
				d.Warning = strings.TrimSpace(d.Warning + fmt.Sprintf(" Line %d, %s: %s", l.LineNo, problemField(pr.Field), pr.Message))
			}
		}
	}
	d.Entry, d.Snapshot = entryForm{Method: f.Method}, nil
	d.Focus = "account"
	s.renderBatch(w, r, sess, http.StatusOK, d)
}

// problemField names a line's field as the entry line labels it.
func problemField(f string) string {
	switch f {
	case "reference":
		return "check no."
	case "apply_to":
		return "invoices"
	}
	return strings.ReplaceAll(f, "_", " ")
}

// methodLabel is a payment method as a clerk reads it ("money order").
func methodLabel(m string) string {
	if m == "" {
		m = string(billing.PayCheck)
	}
	m = strings.ReplaceAll(m, "_", " ")
	return strings.ToUpper(m[:1]) + m[1:]
}

// applyTo is how the line's amount pays the ticked invoices, in the order
// they are shown (oldest first), as [billing.SplitOverChosen] decides; what
// is left the API applies oldest first. Nothing when the amount cannot be
// read (the API names the field).
func applyTo(f entryForm, snap *accountSnapshot, c billing.Currency) []billing.AllocationChoice {
	if snap == nil || len(f.Ticked) == 0 {
		return nil
	}
	amount, err := billing.ParsePositiveAmount(strings.ReplaceAll(f.Amount, ",", ""), c)
	if err != nil {
		return nil
	}
	var chosen []billing.OpenInvoice
	for _, inv := range snap.Invoices {
		if f.IsTicked(inv.Number) {
			chosen = append(chosen, billing.OpenInvoice{InvoiceID: inv.ID, Number: inv.Number, Amount: inv.Total - inv.Paid})
		}
	}
	return billing.SplitOverChosen(amount, chosen)
}

var fieldRE = regexp.MustCompile(`^body(?:\.lines\[\d+\])?\.([a-z_]+)`)

// fieldErrors puts the API's problems with the line's fields next to
// them, reporting whether every problem found its field.
func fieldErrors(err error, into map[string]string) bool {
	var p *client.Problem
	if !errors.As(err, &p) || len(p.Errors) == 0 {
		return false
	}
	all := true
	for _, e := range p.Errors {
		if m := fieldRE.FindStringSubmatch(e.Location); m != nil {
			f := m[1]
			if f == "reference" || f == "account" || f == "amount" || f == "payer" || f == "method" || f == "memo" || f == "apply_to" {
				into[f] = strings.TrimSpace(into[f] + " " + e.Message)
				continue
			}
		}
		all = false
	}
	return all
}

// editLine shows the entry form filled with line {line}, to correct it.
func (s *Server) editLine(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := batchID(r)
	n, err := strconv.Atoi(r.PathValue("line"))
	if !ok || err != nil {
		s.errorPage(w, r, sess, http.StatusNotFound, "There is no such line.")
		return
	}
	api, ctx := s.apiFor(r.Context(), sess.User)
	var d batchData
	if err := s.loadBatch(ctx, api, id, &d); err != nil {
		s.apiErrorPage(w, r, sess, "reading the batch", err)
		return
	}
	i := slices.IndexFunc(d.Batch.Lines, func(l billing.BatchLine) bool { return l.LineNo == n })
	if i < 0 {
		s.errorPage(w, r, sess, http.StatusNotFound, fmt.Sprintf("Batch %d has no line %d.", id, n))
		return
	}
	l := d.Batch.Lines[i]
	d.Entry = entryForm{LineNo: n, Account: l.Account, Method: string(l.Method), Reference: l.Reference, Payer: l.Payer,
		Amount: billing.FormatAmount(l.Amount, l.Currency), Memo: l.Memo}
	for _, c := range l.ApplyTo {
		d.Entry.Ticked = append(d.Entry.Ticked, c.Invoice)
	}
	if l.AccountID != 0 {
		if a, err := api.Account(ctx, l.AccountID); err == nil {
			d.Entry.Account, d.Entry.Selected = a.Number, a.Number
			d.Snapshot, _ = s.snapshot(ctx, api, a)
		}
	}
	d.Focus = "amount"
	s.renderBatch(w, r, sess, http.StatusOK, d)
}

// removeLine removes line {line} of an open batch.
func (s *Server) removeLine(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := batchID(r)
	n, err := strconv.Atoi(r.PathValue("line"))
	if !ok || err != nil {
		s.errorPage(w, r, sess, http.StatusNotFound, "There is no such line.")
		return
	}
	api, ctx := s.apiFor(r.Context(), sess.User)
	var b billing.PaymentBatch
	if err := api.Do(ctx, http.MethodDelete, "/api/v1/payment-batches/"+itoa(id)+"/lines/"+strconv.Itoa(n), nil, r.PostFormValue("idem"), nil, &b); err != nil {
		s.apiErrorPage(w, r, sess, "removing the line", err)
		return
	}
	http.Redirect(w, r, s.p.path+"/batches/"+itoa(id)+"?done=removed", http.StatusSeeOther)
}

// importFile adds a lockbox CSV file's rows to the batch, all or nothing.
func (s *Server) importFile(w http.ResponseWriter, r *http.Request, sess *session, id int64) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	var d batchData
	var data []byte
	file, _, err := r.FormFile("file")
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		s.errorPage(w, r, sess, http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than the console takes (%d MiB); split it.", tooLarge.Limit>>20))
		return
	}
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(file, billing.MaxBatchImportBytes+1))
		file.Close()
	}
	status := http.StatusOK
	switch {
	case err != nil || len(data) == 0:
		d.Error, status = "Choose the lockbox CSV file to import.", http.StatusUnprocessableEntity
	case len(data) > billing.MaxBatchImportBytes:
		d.Error, status = fmt.Sprintf("The file is larger than %d MiB; split it.", billing.MaxBatchImportBytes>>20), http.StatusUnprocessableEntity
	default:
		res, err := api.ImportBatchCSV(ctx, r.PostFormValue("idem"), id, data, false)
		if err != nil {
			var p *client.Problem
			if errors.As(err, &p) && p.Status == http.StatusUnprocessableEntity {
				d.Error, status = p.Detail, http.StatusUnprocessableEntity
				for _, e := range p.Errors {
					d.Import.Problems = append(d.Import.Problems, e.Location+": "+e.Message)
				}
				break
			}
			s.apiErrorPage(w, r, sess, "importing the file", err)
			return
		}
		d.Notice = fmt.Sprintf("Imported %d payments from the file (lines %d to %d).", res.Added, res.FirstLine, res.FirstLine+res.Added-1)
		if len(res.Warnings) > 0 {
			d.Notice += fmt.Sprintf(" %d warning(s): see the lines.", len(res.Warnings))
		}
	}
	problems := d.Import.Problems
	if err := s.loadBatch(ctx, api, id, &d); err != nil {
		s.apiErrorPage(w, r, sess, "reading the batch", err)
		return
	}
	d.Import.Problems = problems
	if status != http.StatusOK {
		d.Focus = "file"
	}
	s.renderBatch(w, r, sess, status, d)
}

// validate shows the batch with every line checked.
func (s *Server) validate(w http.ResponseWriter, r *http.Request, sess *session, id int64) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	var d batchData
	if err := s.loadBatch(ctx, api, id, &d); err != nil {
		s.apiErrorPage(w, r, sess, "reading the batch", err)
		return
	}
	var v billing.BatchValidation
	if err := api.Do(ctx, http.MethodGet, "/api/v1/payment-batches/"+itoa(id)+"/validation", nil, "", nil, &v); err != nil {
		s.apiErrorPage(w, r, sess, "validating the batch", err)
		return
	}
	d.Validated = &v
	d.Focus = "validation-h"
	s.renderBatch(w, r, sess, http.StatusOK, d)
}

// confirmPost shows what posting will do: the count and total against the
// control figures, and any line that stops it.
func (s *Server) confirmPost(w http.ResponseWriter, r *http.Request, sess *session, id int64) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	var d batchData
	if err := s.loadBatch(ctx, api, id, &d); err != nil {
		s.apiErrorPage(w, r, sess, "reading the batch", err)
		return
	}
	if !d.Open() {
		http.Redirect(w, r, s.p.path+"/batches/"+itoa(id), http.StatusSeeOther)
		return
	}
	d.Confirming = true
	d.Focus = "confirm-h"
	s.renderBatch(w, r, sess, http.StatusOK, d)
}

// postBatch posts the batch as one unit.
func (s *Server) postBatch(w http.ResponseWriter, r *http.Request, sess *session, id int64) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	var b billing.PaymentBatch
	if err := api.Do(ctx, http.MethodPost, "/api/v1/payment-batches/"+itoa(id)+"/post", nil, r.PostFormValue("idem"), nil, &b); err != nil {
		status, msg := s.apiProblem(r, "posting the batch", err)
		if status == http.StatusForbidden || status >= 500 {
			s.errorPage(w, r, sess, status, msg)
			return
		}
		var d batchData
		if err := s.loadBatch(ctx, api, id, &d); err != nil {
			s.apiErrorPage(w, r, sess, "reading the batch", err)
			return
		}
		d.Error, d.Confirming = "The batch was not posted: "+msg, d.Open()
		s.renderBatch(w, r, sess, http.StatusUnprocessableEntity, d)
		return
	}
	http.Redirect(w, r, s.p.path+"/batches/"+itoa(id)+"?done=posted", http.StatusSeeOther)
}

// depositSlip streams the posted batch's deposit slip (PDF) from the API.
func (s *Server) depositSlip(w http.ResponseWriter, r *http.Request, sess *session, id int64) {
	s.pdf(w, r, sess, "/api/v1/deposit-slips", url.Values{"batch": {itoa(id)}, "format": {"pdf"}}, fmt.Sprintf("deposit-slip-%d.pdf", id))
}
