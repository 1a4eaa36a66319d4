package billing

import (
	"fmt"
	"slices"
	"time"
)

// BillableService is a service as the billing run sees it: what it costs
// and when it is active.
type BillableService struct {
	ServiceID int64  `json:"service_id"`
	Name      string `json:"name"`
	Plan      Plan   `json:"plan"`
	// Start is the first day of service (required).
	Start Date `json:"start"`
	// End is the first day without service: EXCLUSIVE; zero = open-ended.
	End Date `json:"end"`
	// Quantity multiplies the plan's price; 0 counts as 1.
	Quantity int64 `json:"quantity,omitempty"`
	// Hold marks a pause's hold fee billed in the service's place
	// ([PausedBillable]).
	Hold bool `json:"hold,omitempty"`
	// CoveredUntil is the first day after the last day any invoice
	// charged the service (the end of its coverage; zero: unknown or
	// none). A quarterly or annual plan is charged no day before it: when
	// its coverage ends inside one of its periods on the account's anchor
	// (the billing day moved, for the account or its type), the rest of
	// that period is charged from CoveredUntil, in the account period
	// containing CoveredUntil, and a period on the new anchor that began
	// before the coverage ended is charged from there: no day is left
	// uncharged, none charged twice.
	CoveredUntil Date `json:"covered_until,omitzero"`
}

// InvoiceRequest is everything [ComposeInvoice] needs for one account and
// billing period.
type InvoiceRequest struct {
	Account Account
	Type    AccountType
	// Period is the account's billing period being invoiced.
	Period   Period
	Services []BillableService
	// Charges are the account's uninvoiced one-time charges dated before
	// Period.End.
	Charges []OneTimeCharge
	// TaxRates are the rates of the account's tax jurisdiction.
	TaxRates []TaxRate
}

// LineKind classifies invoice lines (and so the ledger they are posted to).
type LineKind string

// Line kinds.
const (
	LineRecurring LineKind = "recurring"
	LineOneTime   LineKind = "one_time"
	LineFee       LineKind = "fee"
	LineTax       LineKind = "tax"
	LineCredit    LineKind = "credit"
)

// InvoiceLine is one line of an invoice.
type InvoiceLine struct {
	Kind        LineKind `json:"kind" enum:"recurring,one_time,fee,tax,credit"`
	Description string   `json:"description"`
	ServiceID   *int64   `json:"service_id,omitempty"`
	ChargeID    *int64   `json:"charge_id,omitempty"`
	// PeriodStart and PeriodEnd (exclusive) are the days a recurring line
	// charges for; zero otherwise.
	PeriodStart Date  `json:"period_start"`
	PeriodEnd   Date  `json:"period_end"`
	Amount      int64 `json:"amount"`
	Taxable     bool  `json:"taxable"`
}

// InvoiceStatus is an invoice's state.
type InvoiceStatus string

// Invoice statuses.
const (
	InvoiceOpen InvoiceStatus = "open"
	InvoicePaid InvoiceStatus = "paid"
	InvoiceVoid InvoiceStatus = "void"
)

// CheckVoidable reports whether invoice id of status s may be voided:
// only an open one may (ECONFLICT naming its status otherwise).
func CheckVoidable(id int64, s InvoiceStatus) error {
	if s != InvoiceOpen {
		return Errorf(ECONFLICT, "invoice %d is %s; only open invoices can be voided", id, s)
	}
	return nil
}

// Invoice bills one account for one billing period; there is at most one
// per (account, period).
type Invoice struct {
	ID int64 `json:"id"`
	// Number is assigned by the store.
	Number          string   `json:"number"`
	AccountID       int64    `json:"account_id"`
	Period          Period   `json:"period"`
	IssueDate       Date     `json:"issue_date"`
	DueDate         Date     `json:"due_date"`
	DelinquencyDate Date     `json:"delinquency_date"`
	Currency        Currency `json:"currency"`
	// Subtotal is the sum of the non-tax lines, Tax of the tax lines,
	// Total = Subtotal + Tax.
	Subtotal int64         `json:"subtotal"`
	Tax      int64         `json:"tax"`
	Total    int64         `json:"total"`
	Status   InvoiceStatus `json:"status" enum:"open,paid,void"`
	// Paid is how much of Total payments and credits have paid so far
	// (their allocations to this invoice); Total when Status is paid.
	Paid  int64         `json:"paid"`
	Lines []InvoiceLine `json:"lines"`
	// Why lists, in plain language, the decisions behind the invoice's
	// dates and amounts.
	Why       []string  `json:"why"`
	CreatedAt time.Time `json:"created_at"`
	// Kind is regular (the billing run's invoice of a period, one per
	// account and period) or adjustment (lifecycle lines invoiced at once,
	// beside the period's regular invoice) or final (an account close's
	// last invoice).
	Kind InvoiceKind `json:"kind,omitempty" enum:"regular,adjustment,final"`
	// Spans are the service days the invoice's recurring lines charge, with
	// their basis, for the store to keep as the services' coverage.
	Spans []ServiceSpan `json:"-"`
}

// ServiceSpan is a span of a service's coverage: the days a line charges.
type ServiceSpan struct {
	ServiceID int64 `json:"service_id"`
	BilledSpan
}

// InvoiceKind tells a period's regular invoice from an adjustment invoice.
type InvoiceKind string

// Invoice kinds.
const (
	InvoiceRegular    InvoiceKind = "regular"
	InvoiceAdjustment InvoiceKind = "adjustment"
)

// Unpaid is what is still to pay on the invoice: Total − Paid, and nothing
// once it is paid or void.
func (i Invoice) Unpaid() int64 {
	if i.Status == InvoicePaid || i.Status == InvoiceVoid {
		return 0
	}
	return max(i.Total-i.Paid, 0)
}

// InvoiceDates computes an invoice's dates for billing period p:
//
//	issue       = p.Start − invoice_lead_days, moved forward by rule if the
//	              type applies the date rule to issue dates
//	due         = issue + due_days
//	delinquency = due + grace_days, moved forward by rule
//
// why explains the arithmetic and every move with each skipped day and its
// reason. All counts are calendar days on civil dates. It never fails.
func InvoiceDates(t AccountType, rule DateRule, p Period) (issue, due, delinquency Date, why []string) {
	if rule.memo == nil {
		return invoiceDates(t, rule, p)
	}
	key := datesKey{p: p, lead: t.InvoiceLeadDays, due: t.DueDays, grace: t.GraceDays, applyToIssue: t.ApplyDateRuleToIssue}
	rule.memo.mu.Lock()
	a, ok := rule.memo.dates[key]
	rule.memo.mu.Unlock()
	if !ok {
		a.issue, a.due, a.delinquency, a.why = invoiceDates(t, rule, p)
		rule.memo.mu.Lock()
		rule.memo.dates[key] = a
		rule.memo.mu.Unlock()
	}
	return a.issue, a.due, a.delinquency, slices.Clone(a.why)
}

func invoiceDates(t AccountType, rule DateRule, p Period) (issue, due, delinquency Date, why []string) {
	issue0 := p.Start.AddDays(-t.InvoiceLeadDays)
	issue = issue0
	var issueSkips []Skip
	if t.ApplyDateRuleToIssue {
		issue, issueSkips = rule.Next(issue0)
	}
	due = issue.AddDays(t.DueDays)
	del0 := due.AddDays(t.GraceDays)
	delinquency, delSkips := rule.Next(del0)
	why = append(why, fmt.Sprintf("period %s: issue date %s (period start - %d lead days), due date %s (issue + %d due days), delinquency date %s (due + %d grace days)",
		p, issue0.Label(), t.InvoiceLeadDays, due.Label(), t.DueDays, del0.Label(), t.GraceDays))
	if len(issueSkips) > 0 {
		why = append(why, describeMove("issue date", issue0, issue, issueSkips))
	}
	if len(delSkips) > 0 {
		why = append(why, describeMove("delinquency date", del0, delinquency, delSkips))
	}
	return issue, due, delinquency, why
}

// ComposeInvoice builds the invoice of one account for one billing period.
//
// Lines, in order:
//   - per service, its plan's recurring charge for the days the service is
//     active in the period, [max(start, p.Start), min(end, p.End)), prorated
//     day-granular with [Prorate] (no line if it is inactive all period).
//     Plan periods are anchored like the account (see [AccountAnchor]), so a
//     monthly plan's period is p itself; were p not aligned to the anchor
//     (a transitional period after an anchor change), each overlapping
//     monthly plan period gets its own line prorated over its own length.
//     A quarterly or annual plan is charged, in advance, in the account
//     period in which its own interval period starts — or, for the first
//     one, in which the service starts — prorated over that interval period;
//   - one line per one-time charge (one_time; a negative amount becomes a
//     credit line);
//   - if the taxable lines' sum is not zero, one tax line per rate over that
//     sum, rounded half-even.
//
// Subtotal is the sum of the non-tax lines, Tax of the tax lines, Total their
// sum. Dates and Why come from [InvoiceDates]; Why also notes prorations. ID,
// Number and CreatedAt are left for the store; Status is open.
//
// ok is false (with a nil error) when there is nothing to bill: no line
// with a non-zero amount.
//
// Errors (EINVALID, naming the offending service, charge or rate): an empty
// period; an unsupported account currency; a plan whose currency differs
// from the account's, with a negative price or an unknown interval; a
// service without a start date; a charge of another account, already
// invoiced, dated on or after the period end, or of amount 0; a tax rate
// that fails [TaxRate.Validate] or is of another jurisdiction; a bad date
// rule setting; a total that overflows int64.
func ComposeInvoice(req InvoiceRequest) (inv Invoice, ok bool, err error) {
	a, p := req.Account, req.Period
	if p.Days() == 0 {
		return inv, false, Errorf(EINVALID, "billing period %s..%s is empty", p.Start, p.End)
	}
	if _, err := ParseCurrency(string(a.Currency)); err != nil {
		return inv, false, err
	}
	rule, err := NewDateRule(req.Type)
	if err != nil {
		return inv, false, err
	}
	for _, r := range req.TaxRates {
		if err := r.Validate(); err != nil {
			return inv, false, Errorf(EINVALID, "tax rate %q: %s", r.Name, ErrorMessage(err))
		}
		if r.Jurisdiction != a.TaxJurisdiction {
			return inv, false, Errorf(EINVALID, "tax rate %q is of jurisdiction %q, not the account's %q", r.Name, r.Jurisdiction, a.TaxJurisdiction)
		}
	}

	inv = Invoice{AccountID: a.ID, Period: p, Currency: a.Currency, Status: InvoiceOpen}
	inv.IssueDate, inv.DueDate, inv.DelinquencyDate, inv.Why = InvoiceDates(req.Type, rule, p)
	anchorDay, anchorMonth := AccountAnchor(req.Type, a)

	// A period that does not start on the anchor is transitional: the
	// billing day moved, and it runs from the end of the last invoiced
	// period to the first start on the new day. Its recurring lines say so.
	transitional := PeriodAt(p.Start, anchorDay, anchorMonth, IntervalMonthly).Start != p.Start
	if transitional && len(req.Services) > 0 {
		inv.Why = append(inv.Why, fmt.Sprintf("period %s is transitional: the billing day moved to day %d, so it runs from the end of the last invoiced period to the first start on day %d; each service is charged for its days in it prorated over its plan period on the new day, and no day already invoiced is charged again",
			p, anchorDay, anchorDay))
	}
	for _, s := range req.Services {
		lines, spans, why, err := recurringLines(s, a, p, anchorDay, anchorMonth)
		if err != nil {
			return Invoice{}, false, err
		}
		if transitional {
			for i := range lines {
				lines[i].Description = transitionLabel(anchorDay, p) + lines[i].Description
			}
		}
		inv.Lines = append(inv.Lines, lines...)
		for _, sp := range spans {
			inv.Spans = append(inv.Spans, ServiceSpan{ServiceID: s.ServiceID, BilledSpan: sp})
		}
		inv.Why = append(inv.Why, why...)
	}
	for _, c := range req.Charges {
		switch {
		case a.ID != 0 && c.AccountID != 0 && c.AccountID != a.ID:
			return Invoice{}, false, Errorf(EINVALID, "charge %d belongs to account %d, not %d", c.ID, c.AccountID, a.ID)
		case c.InvoiceID != nil:
			return Invoice{}, false, Errorf(EINVALID, "charge %d is already on invoice %d", c.ID, *c.InvoiceID)
		case !c.ChargeDate.Before(p.End):
			return Invoice{}, false, Errorf(EINVALID, "charge %d dated %s is not before the period's end %s", c.ID, c.ChargeDate, p.End)
		case c.Amount == 0:
			return Invoice{}, false, Errorf(EINVALID, "charge %d has amount 0", c.ID)
		}
		kind := LineOneTime
		switch {
		case c.Amount < 0:
			kind = LineCredit
		case c.ServiceID != nil:
			kind = LineRecurring
		}
		id := c.ID
		inv.Lines = append(inv.Lines, InvoiceLine{Kind: kind, Description: c.Description, ChargeID: &id, ServiceID: c.ServiceID,
			PeriodStart: c.PeriodStart, PeriodEnd: c.PeriodEnd, Amount: c.Amount, Taxable: c.Taxable})
	}

	var base int64
	overflow := false
	for _, l := range inv.Lines {
		if l.Taxable {
			base, overflow = addOverflow(base, l.Amount, overflow)
		}
	}
	if base != 0 && !a.TaxExempt {
		// A tax-exempt account (with its certificate on file) is invoiced
		// no tax.
		for _, r := range req.TaxRates {
			inv.Lines = append(inv.Lines, InvoiceLine{Kind: LineTax, Description: r.Name + " " + r.Percent(), Amount: r.Tax(base)})
		}
	}

	for _, l := range inv.Lines {
		if l.Kind == LineTax {
			inv.Tax, overflow = addOverflow(inv.Tax, l.Amount, overflow)
		} else {
			inv.Subtotal, overflow = addOverflow(inv.Subtotal, l.Amount, overflow)
		}
		ok = ok || l.Amount != 0
	}
	inv.Total, overflow = addOverflow(inv.Subtotal, inv.Tax, overflow)
	if overflow {
		return Invoice{}, false, Errorf(EINVALID, "invoice amounts for period %s overflow", p)
	}
	return inv, ok, nil
}

// recurringLines are a service's recurring lines in account period p.
func recurringLines(s BillableService, a Account, p Period, anchorDay int, anchorMonth time.Month) ([]InvoiceLine, []BilledSpan, []string, error) {
	plan := s.Plan
	switch {
	case plan.Currency != a.Currency:
		return nil, nil, nil, Errorf(EINVALID, "service %d: plan %q is priced in %s but the account is billed in %s", s.ServiceID, plan.Name, plan.Currency, a.Currency)
	case plan.Price < 0:
		return nil, nil, nil, Errorf(EINVALID, "service %d: plan %q price %d is negative", s.ServiceID, plan.Name, plan.Price)
	case s.Start.IsZero():
		return nil, nil, nil, Errorf(EINVALID, "service %d has no start date", s.ServiceID)
	}
	qty := max(s.Quantity, 1)
	price, err := periodPrice("quantity", plan.Price, qty)
	if err != nil {
		return nil, nil, nil, Errorf(EINVALID, "service %d: %s", s.ServiceID, ErrorMessage(err))
	}
	iv := plan.Interval
	if iv == "" {
		iv = IntervalMonthly
	}
	if iv.Months() == 0 {
		return nil, nil, nil, Errorf(EINVALID, "service %d: plan %q interval %q is not one of monthly, quarterly, annual", s.ServiceID, plan.Name, plan.Interval)
	}
	// active clamps [from, to) to the service's active days.
	active := func(from, to Date) (Date, Date) {
		if s.Start.After(from) {
			from = s.Start
		}
		if !s.End.IsZero() && s.End.Before(to) {
			to = s.End
		}
		return from, to
	}
	desc := termsWords(plan.Name, qty)
	if s.Name != "" && s.Name != plan.Name {
		desc += " - " + s.Name
	}
	var lines []InvoiceLine
	var spans []BilledSpan
	var why []string
	add := func(ip Period, from, to Date) {
		id := s.ServiceID
		amount := Prorate(price, ip, from, to)
		span := BilledSpan{Period: ip, From: from, To: to, PlanID: plan.ID, PlanName: plan.Name,
			UnitPrice: plan.Price, Quantity: qty, Price: price, Taxable: plan.Taxable, Hold: s.Hold}
		if s.Hold {
			span.PlanID = 0
		}
		spans = append(spans, span)
		d := fmt.Sprintf("%s (%s), %s", desc, iv, Period{from, to})
		if n := from.DaysUntil(to); n != ip.Days() {
			d += fmt.Sprintf(", %d of %d days", n, ip.Days())
			why = append(why, fmt.Sprintf("%s prorated: active %d of %d days of %s, %s of %s", desc, n, ip.Days(), ip,
				FormatAmount(amount, a.Currency), FormatAmount(price, a.Currency)))
		}
		lines = append(lines, InvoiceLine{Kind: LineRecurring, Description: d, ServiceID: &id,
			PeriodStart: from, PeriodEnd: to, Amount: amount, Taxable: plan.Taxable})
	}
	if iv == IntervalMonthly {
		// Normally p is one monthly period of the plan (both are anchored
		// like the account). A transitional account period (after an anchor
		// change) is charged per overlapping monthly period, each prorated
		// over its own length, so a short period is never charged a full
		// month.
		for ip := PeriodAt(p.Start, anchorDay, anchorMonth, iv); ip.Start.Before(p.End); ip = ip.Next(anchorDay, anchorMonth, iv) {
			from, to := ip.Start, ip.End
			if from.Before(p.Start) {
				from = p.Start
			}
			if to.After(p.End) {
				to = p.End
			}
			if from, to = active(from, to); from.Before(to) {
				add(ip, from, to)
			}
		}
		return lines, spans, why, nil
	}
	// Each interval period is charged in the account period containing its
	// first active day not charged yet: days before CoveredUntil are (a
	// period on the anchor that began before the coverage ended, as when
	// the anchor moved, is charged from there, prorated over the period).
	covered := s.CoveredUntil
	if s.Hold {
		covered = Date{}
	}
	first, _ := active(p.Start, p.End)
	for ip := PeriodAt(first, anchorDay, anchorMonth, iv); ip.Start.Before(p.End); ip = ip.Next(anchorDay, anchorMonth, iv) {
		from, to := active(ip.Start, ip.End)
		if covered.After(from) {
			from = covered
		}
		if from.Before(to) && p.Contains(from) {
			add(ip, from, to)
		}
	}
	return lines, spans, why, nil
}

// addOverflow adds b to a, latching overflow.
func addOverflow(a, b int64, overflow bool) (int64, bool) {
	s := a + b
	return s, overflow || (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0)
}

// PeriodToInvoice returns the account's next (monthly) billing period to
// invoice: the period after lastInvoiced (the zero Period if none was), but
// never one before the period containing the account's anchor date, and
// only if its issue date (per [InvoiceDates]) is on or before today;
// ok=false otherwise.
//
// The daily billing job calls it repeatedly, passing the period it just
// handled, until ok=false — so an account that missed runs catches up period
// by period. If lastInvoiced is not aligned to the account's anchor (the
// anchor or the billing mode changed), the next period starts at
// lastInvoiced.End and runs to the next aligned boundary, so no day is
// billed twice or skipped.
//
// It never fails; see [AccountAnchor] for how it treats missing data.
func PeriodToInvoice(t AccountType, rule DateRule, a Account, lastInvoiced Period, today Date) (Period, bool) {
	day, month := AccountAnchor(t, a)
	var next Period
	if anchor := accountAnchorDate(t, a); !anchor.IsZero() {
		next = PeriodAt(anchor, day, month, IntervalMonthly)
	}
	if !lastInvoiced.IsZero() {
		after := PeriodAt(lastInvoiced.End, day, month, IntervalMonthly)
		if after.Start.Before(lastInvoiced.End) {
			after.Start = lastInvoiced.End
		}
		if next.IsZero() || after.Start.After(next.Start) {
			next = after
		}
	}
	if next.IsZero() {
		return Period{}, false
	}
	if issue, _, _, _ := InvoiceDates(t, rule, next); issue.After(today) {
		return Period{}, false
	}
	return next, true
}

// NextInvoiceDate is the day the daily billing run next invoices account
// a, and the period it invoices then: the issue date ([InvoiceDates]) of
// its next period to invoice after lastInvoiced ([PeriodToInvoice]), or
// today when that date has come already (today's run, or a missed one's
// catch-up, invoices it). ok=false for a closed account, which is not
// billed. An account with nothing billable in that period gets no invoice
// that day; the date is when its period comes up.
func NextInvoiceDate(t AccountType, rule DateRule, a Account, lastInvoiced Period, today Date) (Date, Period, bool) {
	if a.Status == AccountClosed {
		return Date{}, Period{}, false
	}
	// The next period's issue date is at most a period and the date rule's
	// furthest move after today.
	p, ok := PeriodToInvoice(t, rule, a, lastInvoiced, today.AddDays(maxRuleSearch+62))
	if !ok {
		return Date{}, Period{}, false
	}
	issue, _, _, _ := InvoiceDates(t, rule, p)
	if issue.Before(today) {
		issue = today
	}
	return issue, p, true
}

// BillingPeriodFor returns the account's (monthly) billing period whose
// issue date (per [InvoiceDates], after the date rule if the type applies
// it) is exactly today, if there is one and it is not before the period of
// the account's anchor date. Use [PeriodToInvoice] in billing runs: it also
// catches up missed days; BillingPeriodFor answers "what would today's run
// invoice for this account" when nothing was missed.
func BillingPeriodFor(t AccountType, rule DateRule, a Account, today Date) (Period, bool) {
	day, month := AccountAnchor(t, a)
	var first Period
	if anchor := accountAnchorDate(t, a); !anchor.IsZero() {
		first = PeriodAt(anchor, day, month, IntervalMonthly)
	}
	// The unmoved issue date is at most maxRuleSearch days before the moved
	// one, so candidate periods start in [today+lead-366, today+lead].
	lead := today.AddDays(t.InvoiceLeadDays)
	for p := PeriodAt(lead.AddDays(-maxRuleSearch), day, month, IntervalMonthly); !p.Start.After(lead); p = p.Next(day, month, IntervalMonthly) {
		if !first.IsZero() && p.Start.Before(first.Start) {
			continue
		}
		if issue, _, _, _ := InvoiceDates(t, rule, p); issue == today {
			return p, true
		}
	}
	return Period{}, false
}
