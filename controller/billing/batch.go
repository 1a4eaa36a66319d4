package billing

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// BatchStatus is a payment batch's state.
type BatchStatus string

// Batch statuses.
const (
	BatchOpen   BatchStatus = "open"
	BatchPosted BatchStatus = "posted"
)

// PaymentBatch is a deposit's worth of manually entered payments, posted as
// one unit. A posted batch never changes.
type PaymentBatch struct {
	ID             int64       `json:"id"`
	DepositDate    Date        `json:"deposit_date"`
	DepositAccount string      `json:"deposit_account,omitempty"`
	Memo           string      `json:"memo,omitempty"`
	Status         BatchStatus `json:"status"`
	CreatedBy      string      `json:"created_by,omitempty"`
	CreatedAt      time.Time   `json:"created_at"`
	PostedBy       string      `json:"posted_by,omitempty"`
	PostedAt       *time.Time  `json:"posted_at,omitempty"`
	// ControlCount and ControlTotal (minor units of the lines' currency)
	// are what staff counted on the paper before entering it; nil: not
	// given. A batch whose lines do not add up to them does not post
	// ([PaymentBatch.CheckControl]).
	ControlCount *int        `json:"control_count,omitempty" minimum:"1"`
	ControlTotal *int64      `json:"control_total,omitempty" minimum:"1"`
	Lines        []BatchLine `json:"lines"`
	Count        int         `json:"count"`
	Total        int64       `json:"total"`
	// Totals are the lines' sums by method and currency, then "all" per
	// currency ([PaymentBatch.Tally]); only with the lines.
	Totals []BatchTotal `json:"totals,omitempty" readOnly:"true"`
}

// NewBatch is what opens a deposit batch.
type NewBatch struct {
	DepositDate    Date
	DepositAccount string
	Memo           string
	// ControlCount and ControlTotal are the control figures (nil: not
	// given); see [PaymentBatch].
	ControlCount *int
	ControlTotal *int64
}

// MaxBatchControlCount is the largest control count: a batch takes at most
// this many lines in one request.
const MaxBatchControlCount = 20000

// Validate checks the new batch: a deposit date, and control figures, when
// given, positive (the count at most [MaxBatchControlCount]). Error:
// EINVALID naming the field.
func (nb NewBatch) Validate() error {
	if nb.DepositDate.IsZero() {
		return Errorf(EINVALID, "deposit_date is required")
	}
	if c := nb.ControlCount; c != nil && (*c < 1 || *c > MaxBatchControlCount) {
		return Errorf(EINVALID, "control_count %d must be the number of payments in the deposit, 1 to %d", *c, MaxBatchControlCount)
	}
	if t := nb.ControlTotal; t != nil && *t < 1 {
		return Errorf(EINVALID, "control_total %d must be the deposit's positive total in minor units", *t)
	}
	return nil
}

// ControlDifference compares a batch's lines with its control figures.
// A figure not given is nil, and so is its difference.
type ControlDifference struct {
	ControlCount *int   `json:"control_count,omitempty"`
	ControlTotal *int64 `json:"control_total,omitempty"`
	Count        int    `json:"count"`
	Total        int64  `json:"total"`
	// CountDifference and TotalDifference are what is still to enter
	// (control - lines; negative: the lines are over the control figure).
	CountDifference *int   `json:"count_difference,omitempty"`
	TotalDifference *int64 `json:"total_difference,omitempty"`
	// Balanced is true when the lines match every control figure given
	// (and when none is given).
	Balanced bool `json:"balanced"`
}

// Control compares the batch's lines (after [PaymentBatch.Tally]) with its
// control figures.
func (b PaymentBatch) Control() ControlDifference {
	d := ControlDifference{ControlCount: b.ControlCount, ControlTotal: b.ControlTotal, Count: b.Count, Total: b.Total, Balanced: true}
	if b.ControlCount != nil {
		n := *b.ControlCount - b.Count
		d.CountDifference = &n
		d.Balanced = d.Balanced && n == 0
	}
	if b.ControlTotal != nil {
		n := *b.ControlTotal - b.Total
		d.TotalDifference = &n
		d.Balanced = d.Balanced && n == 0
	}
	return d
}

// CheckControl reports whether the batch's lines add up to its control
// figures (always, when none was given). Error: EINVALID naming both the
// lines' figures and the control figures.
func (b PaymentBatch) CheckControl() error {
	d := b.Control()
	if d.Balanced {
		return nil
	}
	var c Currency
	for _, t := range b.Totals {
		if t.Method == "all" {
			c = t.Currency
		}
	}
	amount := func(n int64) string {
		if c == "" {
			return strconv.FormatInt(n, 10) + " (minor units)"
		}
		return FormatAmount(n, c)
	}
	var got, want []string
	if d.ControlCount != nil {
		got, want = append(got, fmt.Sprintf("%d payments", d.Count)), append(want, fmt.Sprintf("control_count %d", *d.ControlCount))
	}
	if d.ControlTotal != nil {
		got, want = append(got, "total "+amount(d.Total)), append(want, "control_total "+amount(*d.ControlTotal))
	}
	return Errorf(EINVALID, "payment batch %d does not match its control figures: its lines are %s, the control figures %s; nothing was posted",
		b.ID, strings.Join(got, ", "), strings.Join(want, ", "))
}

// BatchTotal is what a batch's lines of one method (or "all" methods) add
// up to in one currency.
type BatchTotal struct {
	Method   string   `json:"method"` // a PaymentMethod, or "all"
	Currency Currency `json:"currency,omitempty"`
	Count    int      `json:"count"`
	Total    int64    `json:"total"`
}

// batchMethodOrder is the order of a batch's totals by method.
var batchMethodOrder = []PaymentMethod{PayCheck, PayCash, PayMoneyOrder, PayWire, PayOther}

// Tally sets the batch's Count, Total and Totals from its lines. A line
// whose account is not found gets the currency most of the lines are in (a
// deposit shares one; "" if no account is found), and counts in it.
func (b *PaymentBatch) Tally() {
	counts := map[Currency]int{}
	var main Currency
	for _, l := range b.Lines {
		if l.Currency != "" {
			counts[l.Currency]++
			if n := counts[l.Currency]; main == "" || n > counts[main] || (n == counts[main] && l.Currency < main) {
				main = l.Currency
			}
		}
	}
	b.Count, b.Total, b.Totals = 0, 0, nil
	all := []BatchTotal{}
	add := func(ts *[]BatchTotal, method string, l BatchLine) {
		i := slices.IndexFunc(*ts, func(t BatchTotal) bool { return t.Method == method && t.Currency == l.Currency })
		if i < 0 {
			*ts = append(*ts, BatchTotal{Method: method, Currency: l.Currency})
			i = len(*ts) - 1
		}
		(*ts)[i].Count++
		(*ts)[i].Total += l.Amount
	}
	for i := range b.Lines {
		if b.Lines[i].Currency == "" {
			b.Lines[i].Currency = main
		}
		l := b.Lines[i]
		b.Count++
		b.Total += l.Amount
		add(&b.Totals, string(l.Method), l)
		add(&all, "all", l)
	}
	rank := func(m string) int {
		if i := slices.Index(batchMethodOrder, PaymentMethod(m)); i >= 0 {
			return i
		}
		return len(batchMethodOrder)
	}
	slices.SortFunc(b.Totals, func(x, y BatchTotal) int {
		return cmp.Or(rank(x.Method)-rank(y.Method), strings.Compare(string(x.Currency), string(y.Currency)))
	})
	slices.SortFunc(all, func(x, y BatchTotal) int { return strings.Compare(string(x.Currency), string(y.Currency)) })
	b.Totals = append(b.Totals, all...)
}

// BatchLine is one payment in a batch, as staff entered it.
type BatchLine struct {
	LineNo int `json:"line_no,omitempty" readOnly:"true"`
	// Account is what staff typed: an account number (A-000042), an
	// external id or a numeric id.
	Account   string        `json:"account"`
	Method    PaymentMethod `json:"method" enum:"check,cash,wire,money_order,other"`
	Amount    int64         `json:"amount" minimum:"1" maximum:"100000000000"`
	Reference string        `json:"reference,omitempty"`
	Payer     string        `json:"payer,omitempty"`
	Memo      string        `json:"memo,omitempty"`
	// ApplyTo names the invoices of the line's account staff ticked, paid
	// first (see [NewPayment].ApplyTo); checked when the batch posts.
	ApplyTo []AllocationChoice `json:"apply_to,omitempty" maxItems:"100"`
	// AccountID is the account the line resolved to (validation and after).
	AccountID     int64  `json:"account_id,omitempty" readOnly:"true"`
	AccountNumber string `json:"account_number,omitempty" readOnly:"true"`
	AccountName   string `json:"account_name,omitempty" readOnly:"true"`
	// Currency is the resolved account's: the line's amount is in it (for
	// an account not found, the batch's; see [PaymentBatch.Tally]).
	Currency Currency `json:"currency,omitempty" readOnly:"true"`
	// AccountStatus is the resolved account's status: a closed account's
	// payment posts as credit, with a warning ([PaymentOnAccount]).
	AccountStatus AccountStatus `json:"account_status,omitempty" readOnly:"true"`
}

// Normalize trims the line's text fields.
func (l *BatchLine) Normalize() {
	l.Account, l.Reference = strings.TrimSpace(l.Account), strings.TrimSpace(l.Reference)
	l.Payer, l.Memo = strings.TrimSpace(l.Payer), strings.TrimSpace(l.Memo)
}

// BatchProblem is an error (the batch cannot post) or a warning (it can,
// but someone should look) about one line.
type BatchProblem struct {
	LineNo  int    `json:"line_no"`
	Field   string `json:"field"`
	Message string `json:"message"`
	Warning bool   `json:"warning,omitempty"`
}

func (p BatchProblem) String() string {
	kind := "error"
	if p.Warning {
		kind = "warning"
	}
	return fmt.Sprintf("line %d, %s: %s (%s)", p.LineNo, p.Field, p.Message, kind)
}

// BatchValidation is the result of validating a batch.
type BatchValidation struct {
	BatchID int64 `json:"batch_id"`
	// OK is true when the batch would post: no line has an error and the
	// lines match the control figures.
	OK       bool           `json:"ok"`
	Errors   []BatchProblem `json:"errors"`
	Warnings []BatchProblem `json:"warnings"`
	// Control is how far the lines are from the control figures.
	Control ControlDifference `json:"control"`
}

// settle sets OK from the errors and the control figures.
func (v *BatchValidation) settle() { v.OK = len(v.Errors) == 0 && v.Control.Balanced }

// Err returns an EINVALID error listing every bad line, or nil.
func (v BatchValidation) Err() error {
	if len(v.Errors) == 0 {
		return nil
	}
	parts := make([]string, len(v.Errors))
	for i, p := range v.Errors {
		parts[i] = p.String()
	}
	return Errorf(EINVALID, "payment batch %d has %d bad line(s); nothing was posted: %s", v.BatchID, len(v.Errors), strings.Join(parts, "; "))
}

// CheckChangeable reports whether b may still change (lines added, edited,
// removed, imported): only an open batch may. Error: ECONFLICT naming the
// batch when it is posted.
func (b PaymentBatch) CheckChangeable() error {
	if b.Status != BatchOpen {
		return Errorf(ECONFLICT, "payment batch %d is posted and can no longer change", b.ID)
	}
	return nil
}
