package billing

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Closing and reopening an account. A close cancels every service still
// billed from the close day (each by [PlanCancel]: invoiced days from then
// on are credited, enforcement follows the type's on_cancel) and issues the
// account's final invoice: the days before the close that no invoice has
// charged (at each service's current plan and quantity, prorated like the
// billing run), the credits of invoiced days from the close on, and the
// one-time charges no invoice has taken — each day once, whatever was
// invoiced before. The account's status becomes closed — read-only, never
// billed or swept again, its history kept. The credit left after the final
// invoice is kept on the account, or refunded when staff ask: out of the
// payments' unapplied credit, newest payment first, then out of what
// payments paid on invoices for days the close credits (the final credit
// note takes over their allocations, [PlanCreditNoteTakeover], freeing
// the money), through the refund machinery (a card/ACH payment's refund goes back through its gateway,
// any other is recorded as a completed manual refund). A reopen (admin)
// sets the status back to current; its services stay cancelled.

// Account lifecycle kinds (audit actions).
const (
	LifecycleAccountClose  LifecycleKind = "account_close"
	LifecycleAccountReopen LifecycleKind = "account_reopen"
)

// StatusCauseClosed and StatusCauseReopened are the causes of the status
// history rows a close and a reopen write.
const (
	StatusCauseClosed   = "closed"
	StatusCauseReopened = "reopened"
)

// InvoiceOnClose: a cancel that is part of an account close has its lines
// on the close's final invoice ([AccountClosePlan].FinalInvoice); the
// store writes nothing else for them.
const InvoiceOnClose ChangeInvoicing = "close_invoice"

// InvoiceClosing is the kind of an account's final invoice, issued by its
// close.
const InvoiceClosing InvoiceKind = "final"

// CloseCredit is a posted payment's unapplied credit before the close:
// Amount is what is neither allocated, refunded nor reserved by a refund
// in progress.
type CloseCredit struct {
	PaymentID int64         `json:"payment_id"`
	Amount    int64         `json:"amount"`
	Method    PaymentMethod `json:"method"`
	// Gateway is set for a payment taken through a payment gateway: its
	// money goes back through the gateway.
	Gateway bool `json:"gateway"`
}

// CloseRefund is a refund a close makes of a payment's unapplied credit.
type CloseRefund struct {
	PaymentID int64         `json:"payment_id"`
	Amount    int64         `json:"amount"`
	Method    PaymentMethod `json:"method"`
	// Gateway: the refund is reserved in the close's transaction and sent
	// to the gateway when it has committed (as POST
	// /api/v1/payments/{id}/refund does); otherwise it is recorded
	// completed in the close's transaction (a check, cash, wire, money
	// order or other payment paid back by hand).
	Gateway bool   `json:"gateway"`
	Memo    string `json:"memo"`
	// RefundID and Status are the refund's once the store has written it
	// (a gateway refund is pending until the gateway confirms it).
	RefundID int64        `json:"refund_id,omitempty"`
	Status   RefundStatus `json:"status,omitempty"`
	// IdempotencyKey is the gateway refund's key, set by the store: the
	// gateway is called with it, and a retry resumes the same refund.
	IdempotencyKey string `json:"-"`
}

// AccountCloseRequest asks to close an account. The store fills Services
// with one [CancelRequest] per service still billed on the close day (its
// Context and Service read under locks), Charges, TaxRates, Balance,
// Credits and OpenInvoices; Date, EndOfPeriod and OtherServicesBilled of
// each cancel are set here.
type AccountCloseRequest struct {
	Account   Account
	Type      AccountType
	IfVersion int64
	Now       time.Time
	Actor     string
	Reason    string
	// RefundCredit asks to refund the credit left after the final
	// invoice; false keeps it on the closed account.
	RefundCredit bool
	Services     []CancelRequest
	// Charges are the account's one-time charges no invoice has taken
	// yet: the final invoice takes them.
	Charges []OneTimeCharge
	// TaxRates are the rates of the account's jurisdiction.
	TaxRates []TaxRate
	// Balance is the account's receivable balance before the close
	// (negative: credit).
	Balance int64
	// Credits are the account's payments with unapplied credit, and
	// OpenInvoices what its open invoices still owe (oldest due first), as
	// allocation reads them.
	Credits      []CloseCredit
	OpenInvoices []OpenInvoice
	// Histories are the services as the billing run bills them (terms
	// history, pause, price versions), by service id: the days no invoice
	// charged are charged as the billing run would have. A service
	// without one is charged at its current plan and quantity.
	Histories map[int64]ServiceHistory
	// CreditNotes are the account's open credit notes with credit left,
	// oldest first: with the final invoice, when it is one, they pay the
	// open invoices first. Held are what its posted payments have paid on
	// its invoices: with refund_credit, the credit notes' credit left
	// takes them over so the payments' freed money can be refunded.
	CreditNotes []CreditNote
	Held        []HeldAllocation
	// StatusInitial and StatusHistory are the account's status before its
	// first status change and its changes in time order: on a type that
	// stops invoicing while suspended, the invoiced days before the close
	// on which the account was suspended at local midnight are credited on
	// the final invoice, as the next billing run would have
	// ([PlanSuspendedDaysCredit]); such days no invoice charged are not
	// charged (a day a billing run credited before is one of them).
	StatusInitial AccountStatus
	StatusHistory []AccountStatusAt
}

// AccountClosePlan is what a close decides: one cancel plan per service
// (applied as [PlanCancel] plans are, their lines on the final invoice),
// the final invoice, the refunds, the account's status change and new
// version, and its audit entry.
type AccountClosePlan struct {
	AccountID  int64           `json:"account_id"`
	Closed     Date            `json:"closed"`
	Version    int64           `json:"version"`
	FromStatus AccountStatus   `json:"from_status"`
	Cancels    []LifecyclePlan `json:"cancels"`
	// FinalInvoice is the account's final invoice (nil when nothing is
	// left to invoice or credit). A final invoice of zero is paid as
	// issued; one below zero is a credit note, applied to the open
	// invoices (CreditNoteAllocations) and paid once its credit is used
	// up.
	FinalInvoice *Invoice `json:"final_invoice,omitempty"`
	RefundCredit bool     `json:"refund_credit"`
	// Charged is the sum of the final invoice's charges for days before
	// the close no invoice had charged; Credited the sum of its credits
	// for invoiced days from the close on (minor units, positive).
	Charged  int64 `json:"charged"`
	Credited int64 `json:"credited"`
	// CreditedSuspended is the sum of its credits for invoiced days
	// before the close on which the account was suspended (types that
	// stop invoicing while suspended; positive).
	CreditedSuspended int64 `json:"credited_suspended,omitempty"`
	// CreditNoteAllocations apply the credit notes (the final invoice's
	// among them, as credit note 0) to the open invoices, oldest first;
	// PaidInvoices are the invoices they pay in full and UsedCreditNotes
	// the notes they (or the takeover) use up.
	CreditNoteAllocations []CreditNoteAllocation `json:"credit_note_allocations"`
	PaidInvoices          []int64                `json:"paid_invoices,omitempty"`
	UsedCreditNotes       []int64                `json:"used_credit_notes,omitempty"`
	// TakenOver are the credit notes' allocations that replace payments'
	// on paid invoices (refund_credit only), Released the payments' side
	// (negative amounts, pair by pair): the money they free is refunded.
	TakenOver []CreditNoteAllocation `json:"taken_over,omitempty"`
	Released  []PlannedAllocation    `json:"released,omitempty"`
	// Refunds are made with refund_credit; Refunded is their sum.
	Refunds  []CloseRefund `json:"refunds"`
	Refunded int64         `json:"refunded"`
	// CreditKept is the credit left on the closed account after the final
	// invoice and the refunds.
	CreditKept int64          `json:"credit_kept"`
	Why        []string       `json:"why"`
	Audit      LifecycleAudit `json:"audit"`
}

// PlanAccountClose decides the close of an account on its local today.
//
// Errors: EPRECONDITION when IfVersion is not the account's version;
// EINVALID naming the field: the account is already closed; a service of
// another account; any refusal of PlanCancel or of composing the final
// invoice (a broken tax rate, an amount overflow).
func PlanAccountClose(req AccountCloseRequest) (AccountClosePlan, error) {
	a := req.Account
	if req.IfVersion != a.Version {
		return AccountClosePlan{}, StaleVersionError(EntityAccount, a.ID, req.IfVersion, a.Version)
	}
	if a.Status == AccountClosed {
		return AccountClosePlan{}, Errorf(EINVALID, "account %d is already closed", a.ID)
	}
	loc, err := req.Type.Location()
	if err != nil {
		return AccountClosePlan{}, err
	}
	today := DateIn(req.Now, loc)
	anchorDay, anchorMonth := AccountAnchor(req.Type, a)
	plan := AccountClosePlan{AccountID: a.ID, Closed: today, Version: a.Version + 1, FromStatus: a.Status,
		Cancels: []LifecyclePlan{}, RefundCredit: req.RefundCredit, Refunds: []CloseRefund{}}
	var lines []ProratedLine
	for _, c := range req.Services {
		if c.Service.Ref.AccountID != a.ID {
			return AccountClosePlan{}, Errorf(EINVALID, "service %d belongs to account %d, not %d", c.Service.Ref.ID, c.Service.Ref.AccountID, a.ID)
		}
		h, ok := req.Histories[c.Service.Ref.ID]
		if !ok {
			h = ServiceHistory{Service: BillableService{ServiceID: c.Service.Ref.ID, Name: c.Service.Name, Plan: c.Service.Plan,
				Quantity: c.Service.quantity(), Start: c.Service.Start, End: c.Service.End}, PauseFrom: c.Service.PauseFrom, PauseTo: c.Service.PauseTo}
		}
		charges, spans, err := uninvoicedLines(c.Service, h, a, today, anchorDay, anchorMonth, req.Type.Lifecycle.PauseHoldFee, req.suspendedRuns(c, today))
		if err != nil {
			return AccountClosePlan{}, err
		}
		c.Service.Coverage = addCoverage(c.Service.Coverage, spans...)
		suspended, err := req.suspendedDaysCredit(&c, today)
		if err != nil {
			return AccountClosePlan{}, err
		}
		c.Date, c.EndOfPeriod, c.OtherServicesBilled, c.OnCloseInvoice = today, false, false, true
		p, err := PlanCancel(c)
		if err != nil {
			return AccountClosePlan{}, err
		}
		plan.Charged += sumLines(charges)
		plan.Credited -= p.Net
		plan.CreditedSuspended -= sumLines(suspended)
		if len(suspended) > 0 {
			p.Why = append(p.Why, fmt.Sprintf("%s for invoiced days before the close on which the account was suspended goes on the account's final invoice (the account type stops invoicing while suspended)",
				FormatAmount(-sumLines(suspended), a.Currency)))
		}
		p.Lines = append(append(charges, suspended...), p.Lines...)
		p.Net = 0
		for _, l := range p.Lines {
			p.Net += l.Amount
		}
		if len(charges) > 0 {
			p.Why = append(p.Why, fmt.Sprintf("%s for days before the close no invoice had charged goes on the account's final invoice", FormatAmount(sumLines(charges), a.Currency)))
		}
		lines = append(lines, p.Lines...)
		plan.Cancels = append(plan.Cancels, p)
	}
	plan.Why = append(plan.Why, fmt.Sprintf("account %d closed on %s: %d services cancelled from then, never billed or swept again", a.ID, today.Label(), len(plan.Cancels)))
	if plan.Charged > 0 {
		plan.Why = append(plan.Why, fmt.Sprintf("%s for days before the close that no invoice had charged is on the final invoice", FormatAmount(plan.Charged, a.Currency)))
	}
	if plan.Credited > 0 {
		plan.Why = append(plan.Why, fmt.Sprintf("%s for invoiced days from the close on is credited on the final invoice", FormatAmount(plan.Credited, a.Currency)))
	}
	if plan.CreditedSuspended > 0 {
		plan.Why = append(plan.Why, fmt.Sprintf("%s for invoiced days before the close on which the account was suspended at local midnight is credited on the final invoice", FormatAmount(plan.CreditedSuspended, a.Currency)))
	}
	if len(req.Charges) > 0 {
		plan.Why = append(plan.Why, fmt.Sprintf("%d one-time charges no invoice had taken are on the final invoice", len(req.Charges)))
	}
	final, err := composeFinalInvoice(a, req.Type, lines, req.Charges, req.TaxRates, today)
	if err != nil {
		return AccountClosePlan{}, err
	}
	after := req.Balance
	invoices := slices.Clone(req.OpenInvoices)
	notes := slices.Clone(req.CreditNotes)
	if final != nil {
		plan.FinalInvoice = final
		after += final.Total
		switch {
		case final.Total > 0:
			invoices = append(invoices, OpenInvoice{Amount: final.Total, Number: "final"})
		case final.Total < 0:
			notes = append(notes, CreditNote{Number: "final", Credit: -final.Total})
		}
	}
	plan.applyCreditNotes(req, invoices, notes)
	plan.planRefunds(req, invoices, notes, after)
	if final != nil && (final.Total < 0 && slices.Contains(plan.UsedCreditNotes, 0) || final.Total > 0 && slices.Contains(plan.PaidInvoices, 0)) {
		final.Status = InvoicePaid
	}
	ctx := LifecycleContext{Account: a, Type: req.Type, Now: req.Now, Actor: req.Actor, Reason: req.Reason}
	plan.Audit = ctx.audit(LifecycleAccountClose, auditEntityAccount, a.ID)
	plan.Audit.Before["status"], plan.Audit.After["status"] = a.Status, AccountClosed
	plan.Audit.Before["version"], plan.Audit.After["version"] = a.Version, plan.Version
	plan.Audit.After["refund_credit"], plan.Audit.After["credited"] = req.RefundCredit, plan.Credited
	plan.Audit.After["charged"], plan.Audit.After["refunded"], plan.Audit.After["credit_kept"] = plan.Charged, plan.Refunded, plan.CreditKept
	return plan, nil
}

// applyCreditNotes applies the credit notes (the final one among them) to
// the open invoices, oldest first, and takes what they pay off invoices
// and notes (both modified in place).
func (plan *AccountClosePlan) applyCreditNotes(req AccountCloseRequest, invoices []OpenInvoice, notes []CreditNote) {
	allocs, paid, used := PlanCreditNoteAllocations(notes, invoices)
	plan.CreditNoteAllocations, plan.PaidInvoices, plan.UsedCreditNotes = allocs, paid, used
	if plan.CreditNoteAllocations == nil {
		plan.CreditNoteAllocations = []CreditNoteAllocation{}
	}
	var sum int64
	for _, al := range allocs {
		for i := range invoices {
			if invoices[i].InvoiceID == al.InvoiceID && invoices[i].Number == al.InvoiceNumber && invoices[i].Amount > 0 {
				invoices[i].Amount -= al.Amount
				break
			}
		}
		for i := range notes {
			if notes[i].InvoiceID == al.CreditNoteID && notes[i].Number == al.CreditNoteNumber {
				notes[i].Credit -= al.Amount
				break
			}
		}
		sum += al.Amount
	}
	if sum > 0 {
		plan.Why = append(plan.Why, fmt.Sprintf("%s of credit notes applied to open invoices", FormatAmount(sum, req.Account.Currency)))
	}
}

// planRefunds decides what the close refunds: the credit the account has
// once the final invoice is issued (−after, when after is negative), out
// of the payments' credit that allocation leaves unapplied once it has
// paid the open invoices (the final invoice among them), newest payment
// first; then, while some is left, out of what payments paid on invoices
// that the credit notes' credit left takes over (newest invoice first).
// What is not refunded is kept on the closed account.
func (plan *AccountClosePlan) planRefunds(req AccountCloseRequest, invoices []OpenInvoice, notes []CreditNote, after int64) {
	c := req.Account.Currency
	credit := max(0, -after)
	credits := make([]OpenCredit, len(req.Credits))
	for i, cr := range req.Credits {
		credits[i] = OpenCredit{PaymentID: cr.PaymentID, Amount: cr.Amount}
	}
	allocs, _ := PlanAllocations(credits, invoices)
	applied := map[int64]int64{}
	for _, al := range allocs {
		applied[al.PaymentID] += al.Amount
	}
	if !req.RefundCredit {
		plan.CreditKept = credit
		if credit > 0 {
			plan.Why = append(plan.Why, fmt.Sprintf("the remaining credit of %s is kept on the closed account (refund_credit false)", FormatAmount(credit, c)))
		}
		return
	}
	budget := credit
	byNewest := slices.Clone(req.Credits)
	slices.SortFunc(byNewest, func(x, y CloseCredit) int { return cmp.Compare(y.PaymentID, x.PaymentID) })
	for _, cr := range byNewest {
		left := min(cr.Amount-applied[cr.PaymentID], budget)
		if left <= 0 {
			continue
		}
		how := "recorded as a manual refund (paid back by hand)"
		if cr.Gateway {
			how = "sent back through the payment gateway"
		}
		plan.Refunds = append(plan.Refunds, CloseRefund{PaymentID: cr.PaymentID, Amount: left, Method: cr.Method, Gateway: cr.Gateway,
			Memo: fmt.Sprintf("account %d closed on %s: remaining credit refunded", req.Account.ID, plan.Closed.Label())})
		plan.Refunded += left
		budget -= left
		plan.Why = append(plan.Why, fmt.Sprintf("%s of %s payment %d's unapplied credit refunded, %s", FormatAmount(left, c), cr.Method, cr.PaymentID, how))
	}
	if budget > 0 {
		plan.refundTakenOver(req, notes, budget)
	}
	plan.CreditKept = credit - plan.Refunded
	switch {
	case credit == 0:
		plan.Why = append(plan.Why, "refund_credit: the account has no credit left after the final invoice; nothing is refunded")
	case plan.CreditKept > 0:
		plan.Why = append(plan.Why, fmt.Sprintf("%s of the credit is neither payment money left unapplied nor a credit note's that could take over a payment's allocation (a credit or write-off, or no payment to give back) and is kept on the closed account", FormatAmount(plan.CreditKept, c)))
	}
}

// refundTakenOver lets the credit notes' credit left take over up to
// budget of what payments paid on invoices ([PlanCreditNoteTakeover]) and
// refunds the money it frees, each payment's added to its refund of
// unapplied credit, if it has one (a payment is refunded once per close).
func (plan *AccountClosePlan) refundTakenOver(req AccountCloseRequest, notes []CreditNote, budget int64) {
	c := req.Account.Currency
	tk := PlanCreditNoteTakeover(notes, req.Held, budget)
	if len(tk.Applied) == 0 {
		return
	}
	plan.TakenOver, plan.Released = tk.Applied, tk.Released
	for _, al := range tk.Applied {
		for i := range notes {
			if notes[i].InvoiceID == al.CreditNoteID && notes[i].Number == al.CreditNoteNumber {
				if notes[i].Credit -= al.Amount; notes[i].Credit == 0 {
					plan.UsedCreditNotes = append(plan.UsedCreditNotes, notes[i].InvoiceID)
				}
				break
			}
		}
	}
	payments := make([]int64, 0, len(tk.Freed))
	for id := range tk.Freed {
		payments = append(payments, id)
	}
	slices.SortFunc(payments, func(x, y int64) int { return cmp.Compare(y, x) })
	for _, id := range payments {
		freed := tk.Freed[id]
		h := req.Held[slices.IndexFunc(req.Held, func(h HeldAllocation) bool { return h.PaymentID == id })]
		how := "recorded as a manual refund (paid back by hand)"
		if h.Gateway {
			how = "sent back through the payment gateway"
		}
		plan.Refunded += freed
		plan.Why = append(plan.Why, fmt.Sprintf("%s that %s payment %d paid on invoices is taken over by credit notes (credited days it had paid for) and refunded, %s",
			FormatAmount(freed, c), h.Method, id, how))
		if k := slices.IndexFunc(plan.Refunds, func(r CloseRefund) bool { return r.PaymentID == id }); k >= 0 {
			plan.Refunds[k].Amount += freed
			continue
		}
		plan.Refunds = append(plan.Refunds, CloseRefund{PaymentID: id, Amount: freed, Method: h.Method, Gateway: h.Gateway,
			Memo: fmt.Sprintf("account %d closed on %s: credit for paid days after the close refunded", req.Account.ID, plan.Closed.Label())})
	}
}

// suspendedRuns are the runs of days from c's service start to today on
// which the account was suspended at local midnight, when c's type stops
// invoicing while suspended (none otherwise): the close charges none of
// them, and credits those invoiced (suspendedDaysCredit).
func (req AccountCloseRequest) suspendedRuns(c CancelRequest, today Date) []Period {
	if !c.Context.Policy.StopInvoicingWhileSuspended || c.Service.Start.IsZero() {
		return nil
	}
	loc, err := req.Type.Location()
	if err != nil {
		return nil
	}
	var runs []Period
	status, k := req.StatusInitial, 0
	for d := c.Service.Start; d.Before(today); d = d.AddDays(1) {
		midnight := d.StartIn(loc)
		for k < len(req.StatusHistory) && !req.StatusHistory[k].At.After(midnight) {
			status = req.StatusHistory[k].Status
			k++
		}
		if status != AccountSuspended {
			continue
		}
		if n := len(runs); n > 0 && runs[n-1].End == d {
			runs[n-1].End = d.AddDays(1)
		} else {
			runs = append(runs, Period{Start: d, End: d.AddDays(1)})
		}
	}
	return runs
}

// withoutPeriods is ps (in date order, not overlapping) less the days of
// skip (likewise).
func withoutPeriods(ps, skip []Period) []Period {
	if len(skip) == 0 {
		return ps
	}
	var out []Period
	for _, p := range ps {
		cur := p.Start
		for _, s := range skip {
			if !s.End.After(cur) || !s.Start.Before(p.End) {
				continue
			}
			if s.Start.After(cur) {
				out = append(out, Period{Start: cur, End: s.Start})
			}
			cur = laterDate(cur, s.End)
		}
		if cur.Before(p.End) {
			out = append(out, Period{Start: cur, End: p.End})
		}
	}
	return out
}

// suspendedDaysCredit credits, when c's type stops invoicing while
// suspended, the invoiced days of c's service before the close day on
// which the account was suspended at local midnight (the days the billing
// run would credit next, were the account not closed), and takes them
// off c's coverage, so the cancel does not credit them again.
func (req AccountCloseRequest) suspendedDaysCredit(c *CancelRequest, today Date) ([]ProratedLine, error) {
	cov := c.Service.Coverage
	if !c.Context.Policy.StopInvoicingWhileSuspended || len(cov) == 0 {
		return nil, nil
	}
	from := cov[0].From
	if !from.Before(today) {
		return nil, nil
	}
	ctx := c.Context
	ctx.Account = req.Account
	p, err := PlanSuspendedDaysCredit(SuspendedDaysRequest{Context: ctx, Service: c.Service, From: from, To: today,
		Initial: req.StatusInitial, History: req.StatusHistory})
	if err != nil {
		return nil, err
	}
	c.Service.Coverage = p.Coverage
	return p.Lines, nil
}

func sumLines(lines []ProratedLine) (sum int64) {
	for _, l := range lines {
		sum += l.Amount
	}
	return sum
}

// uninvoicedLines charges the days of svc before the close day (and before
// its end) that no invoice has charged, except the skip runs (days a type
// that stops invoicing while suspended does not charge), as the billing
// run would have: per
// account period, each run of days on the same terms at its price version
// (h.BillableIn), a pause's days at the hold fee (none without one),
// prorated over their plan periods. It returns the lines and the coverage
// spans they add.
func uninvoicedLines(svc LifecycleService, h ServiceHistory, a Account, closed Date, anchorDay int, anchorMonth time.Month, holdFee int64,
	skip []Period) ([]ProratedLine, []BilledSpan, error) {
	end := closed
	if !svc.End.IsZero() && svc.End.Before(end) {
		end = svc.End
	}
	var gaps []Period
	cursor := svc.Start
	for _, s := range svc.Coverage {
		if s.From.After(cursor) && cursor.Before(end) {
			gaps = append(gaps, Period{Start: cursor, End: earlierDate(s.From, end)})
		}
		if s.To.After(cursor) {
			cursor = s.To
		}
	}
	if cursor.Before(end) {
		gaps = append(gaps, Period{Start: cursor, End: end})
	}
	gaps = withoutPeriods(gaps, skip)
	var lines []ProratedLine
	var spans []BilledSpan
	label := fmt.Sprintf("Final invoice, account closed %s: ", shortDate(closed))
	for _, g := range gaps {
		for ap := PeriodAt(g.Start, anchorDay, anchorMonth, IntervalMonthly); ap.Start.Before(g.End); ap = ap.Next(anchorDay, anchorMonth, IntervalMonthly) {
			sub := Period{Start: laterDate(g.Start, ap.Start), End: earlierDate(g.End, ap.End)}
			for _, bs := range h.BillableIn(ap, holdFee) {
				bs.CoveredUntil = Date{} // the gaps are this function's
				bs.Start = laterDate(bs.Start, sub.Start)
				if bs.End.IsZero() || bs.End.After(sub.End) {
					bs.End = sub.End
				}
				if !bs.Start.Before(bs.End) {
					continue
				}
				ls, sps, _, err := recurringLines(bs, a, sub, anchorDay, anchorMonth)
				if err != nil {
					return nil, nil, err
				}
				for i, l := range ls {
					l.Description = label + l.Description + " (not invoiced before)"
					lines = append(lines, ProratedLine{InvoiceLine: l, Period: sps[i].Period, FullAmount: sps[i].Price})
				}
				spans = append(spans, sps...)
			}
		}
	}
	return lines, spans, nil
}

func earlierDate(a, b Date) Date {
	if b.Before(a) {
		return b
	}
	return a
}

func laterDate(a, b Date) Date {
	if b.After(a) {
		return b
	}
	return a
}

// composeFinalInvoice builds the final invoice of an account closed on
// today: lines (charges for days no invoice had charged, credits for
// invoiced days from the close on) and the pending one-time charges, tax
// as [ComposeInvoice] computes it, issued today, due today + due_days. Its
// period runs from its earliest line to its latest (at least today). nil
// when no line has an amount; a total of zero or less is paid as issued.
func composeFinalInvoice(a Account, t AccountType, lines []ProratedLine, pending []OneTimeCharge, rates []TaxRate, today Date) (*Invoice, error) {
	p := Period{Start: today, End: today.AddDays(1)}
	widen := func(from, to Date) {
		if !from.IsZero() && from.Before(p.Start) {
			p.Start = from
		}
		if to.After(p.End) {
			p.End = to
		}
	}
	var charges []OneTimeCharge
	for _, l := range lines {
		if l.Amount == 0 {
			continue
		}
		widen(l.PeriodStart, l.PeriodEnd)
		charges = append(charges, OneTimeCharge{AccountID: a.ID, Description: l.Description, Amount: l.Amount, Taxable: l.Taxable,
			ServiceID: l.ServiceID, PeriodStart: l.PeriodStart, PeriodEnd: l.PeriodEnd})
	}
	for _, c := range pending {
		widen(c.ChargeDate, c.ChargeDate.AddDays(1))
		charges = append(charges, c)
	}
	for i := range charges {
		if charges[i].ID == 0 {
			charges[i].ChargeDate = p.Start
		}
	}
	inv, ok, err := ComposeInvoice(InvoiceRequest{Account: a, Type: t, Period: p, Charges: charges, TaxRates: rates})
	if err != nil || !ok {
		return nil, err
	}
	for i := range inv.Lines {
		if inv.Lines[i].ChargeID != nil && *inv.Lines[i].ChargeID == 0 {
			inv.Lines[i].ChargeID = nil
		}
	}
	rule, err := NewDateRule(t)
	if err != nil {
		return nil, err
	}
	inv.Kind = InvoiceClosing
	inv.IssueDate = today
	inv.DueDate = today.AddDays(t.DueDays)
	del0 := inv.DueDate.AddDays(t.GraceDays)
	inv.DelinquencyDate, _ = rule.Next(del0)
	inv.Why = []string{fmt.Sprintf("final invoice of account %d, closed on %s: the days before the close no invoice had charged, credits for invoiced days from the close on, and the one-time charges no invoice had taken; issued %s, due %s",
		a.ID, today.Label(), today.Label(), inv.DueDate.Label())}
	switch {
	case inv.Total == 0:
		inv.Status = InvoicePaid
		inv.Why = append(inv.Why, "its total is zero: the invoice is paid as issued")
	case inv.Total < 0:
		inv.Why = append(inv.Why, fmt.Sprintf("its total %s is not owed: it is a credit note, applied to the account's open invoices; the credit left stays on the account unless it is refunded", FormatAmount(inv.Total, a.Currency)))
	}
	return &inv, nil
}

// AccountReopenPlan is what a reopen decides: the account current again
// at a new version, and its audit entry.
type AccountReopenPlan struct {
	AccountID int64          `json:"account_id"`
	Version   int64          `json:"version"`
	Why       []string       `json:"why"`
	Audit     LifecycleAudit `json:"audit"`
}

// PlanAccountReopen decides the reopening of a closed account: its status
// becomes current; its services stay cancelled (new ones are added as
// usual).
//
// Errors: EPRECONDITION when ifVersion is not the account's version;
// EINVALID when the account is not closed.
func PlanAccountReopen(a Account, ifVersion int64, actor, reason string, now time.Time) (AccountReopenPlan, error) {
	if ifVersion != a.Version {
		return AccountReopenPlan{}, StaleVersionError(EntityAccount, a.ID, ifVersion, a.Version)
	}
	if a.Status != AccountClosed {
		return AccountReopenPlan{}, Errorf(EINVALID, "account %d is %s, not closed: only a closed account is reopened", a.ID, a.Status)
	}
	p := AccountReopenPlan{AccountID: a.ID, Version: a.Version + 1,
		Why: []string{fmt.Sprintf("account %d reopened: current again; its cancelled services stay cancelled", a.ID)}}
	ctx := LifecycleContext{Account: a, Now: now, Actor: actor, Reason: reason}
	p.Audit = ctx.audit(LifecycleAccountReopen, auditEntityAccount, a.ID)
	p.Audit.Before["status"], p.Audit.After["status"] = a.Status, AccountCurrent
	p.Audit.Before["version"], p.Audit.After["version"] = a.Version, p.Version
	return p, nil
}

// PaymentOnAccount says how a payment to account id of status s posts: to
// a closed account it is not allocated to any invoice — it stays credit on
// the account — and staff get a warning to refund it or reopen the
// account; otherwise it is allocated as usual and there is no warning.
func PaymentOnAccount(id int64, s AccountStatus) (allocate bool, warnings []string) {
	if s != AccountClosed {
		return true, nil
	}
	return false, []string{fmt.Sprintf("account %d is closed: the payment is posted as credit on it and allocated to no invoice; refund it or reopen the account (admin)", id)}
}
