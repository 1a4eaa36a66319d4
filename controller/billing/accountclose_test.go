package billing

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// closeService is lcService invoiced from its start through March 2027.
func closeService(p Plan, id int64) LifecycleService {
	s := lcService(p, 1, invoiced(p, 1, per("2027-01-01", "2027-02-01")), invoiced(p, 1, per("2027-02-01", "2027-03-01")), invoiced(p, 1, lcMarch27))
	s.Ref.ID = id
	return s
}

func closeRequest(day string, services ...LifecycleService) AccountCloseRequest {
	ctx := lcContext(day, LifecyclePolicy{})
	a := ctx.Account
	a.Version, a.Status = 3, AccountCurrent
	req := AccountCloseRequest{Account: a, Type: ctx.Type, IfVersion: 3, Now: ctx.Now, Actor: "user:bob", Reason: "moving away"}
	for _, s := range services {
		c := ctx
		c.Account = a
		req.Services = append(req.Services, CancelRequest{Context: c, Service: s, OtherServicesBilled: true})
	}
	return req
}

func TestPlanAccountClose(t *testing.T) {
	first, second := closeService(lcFiber50, 10), closeService(lcFiber100, 11)
	// febOnly is invoiced through February: Mar 1..11 is charged on the
	// final invoice of a close on Mar 12, 11 of 31 days of 50.00.
	febOnly := lcService(lcFiber50, 1, invoiced(lcFiber50, 1, per("2027-01-01", "2027-02-01")), invoiced(lcFiber50, 1, per("2027-02-01", "2027-03-01")))
	marchPart := Prorate(5000, lcMarch27, mustDate("2027-03-01"), mustDate("2027-03-12"))
	// paused has March not invoiced and a pause Mar 5..8 planned: only
	// Mar 1..4 and Mar 8..11 are charged.
	paused := febOnly
	paused.PauseFrom, paused.PauseTo = mustDate("2027-03-05"), mustDate("2027-03-08")
	pausedPart := Prorate(5000, lcMarch27, mustDate("2027-03-01"), mustDate("2027-03-05")) + Prorate(5000, lcMarch27, mustDate("2027-03-08"), mustDate("2027-03-12"))
	// May 12: April and May 1..11 never invoiced.
	mayPart := 5000 + Prorate(5000, per("2027-05-01", "2027-06-01"), mustDate("2027-05-01"), mustDate("2027-05-12"))
	// March not invoiced, Fiber 50 → Fiber 100 from Mar 6 (its terms
	// history): Mar 1..5 at 50.00, Mar 6..11 at 80.00.
	changed := closeRequest("2027-03-12", febOnly)
	changed.Histories = map[int64]ServiceHistory{10: {Service: BillableService{ServiceID: 10, Name: "Home", Plan: lcFiber100, Start: febOnly.Start},
		Terms: []TermsFrom{{Effective: febOnly.Start, Plan: lcFiber50, Quantity: 1}, {Effective: mustDate("2027-03-06"), Plan: lcFiber100, Quantity: 1}}}}
	changedPart := Prorate(5000, lcMarch27, mustDate("2027-03-01"), mustDate("2027-03-06")) + Prorate(8000, lcMarch27, mustDate("2027-03-06"), mustDate("2027-03-12"))
	// The pause with a hold fee of 10.00 a month: its days at the fee.
	holdFee := closeRequest("2027-03-12", paused)
	holdFee.Type.Lifecycle.PauseHoldFee = 1000
	holdPart := pausedPart + Prorate(1000, lcMarch27, mustDate("2027-03-05"), mustDate("2027-03-08"))
	withCharge := closeRequest("2027-03-12", first)
	withCharge.Charges = []OneTimeCharge{{ID: 77, AccountID: 42, Description: "Router", Amount: 1500, ChargeDate: mustDate("2027-03-02")}}
	cases := []struct {
		name              string
		req               AccountCloseRequest
		cancels           int
		charged, credited int64
		total             int64 // the final invoice's; 0: none
	}{
		{"no services", closeRequest("2027-03-12"), 0, 0, 0, 0},
		// Fiber 50 (50.00) with March invoiced, closed Mar 12 (Chicago):
		// Mar 12..31 = 20 of 31 days credited, 32.26.
		{"one service, March invoiced", closeRequest("2027-03-12", first), 1, 0, 3226, -3226},
		{"two services", closeRequest("2027-03-12", first, second), 2, 0, 3226 + 5161, -(3226 + 5161)},
		{"nothing invoiced after the close, nothing before it uninvoiced", closeRequest("2027-04-01", first), 1, 0, 0, 0},
		{"March not invoiced: its days before the close charged", closeRequest("2027-03-12", febOnly), 1, marchPart, 0, marchPart},
		{"a planned pause's days are not charged", closeRequest("2027-03-12", paused), 1, pausedPart, 0, pausedPart},
		{"a plan change in the days not invoiced", changed, 1, changedPart, 0, changedPart},
		{"a pause's days at the hold fee", holdFee, 1, holdPart, 0, holdPart},
		{"a month and a half not invoiced", closeRequest("2027-05-12", first), 1, mayPart, 0, mayPart},
		{"one charged, one credited", closeRequest("2027-03-12", first, febOnly), 2, marchPart, 3226, marchPart - 3226},
		{"a pending one-time charge is taken", withCharge, 1, 0, 3226, 1500 - 3226},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanAccountClose(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Cancels) != tc.cancels || p.Credited != tc.credited || p.Charged != tc.charged {
				t.Fatalf("%d cancels, charged %d, credited %d; want %d, %d, %d (%v)", len(p.Cancels), p.Charged, p.Credited, tc.cancels, tc.charged, tc.credited, p.Why)
			}
			switch {
			case tc.total == 0 && p.FinalInvoice != nil:
				t.Fatalf("final invoice %+v; want none", *p.FinalInvoice)
			case tc.total != 0 && (p.FinalInvoice == nil || p.FinalInvoice.Total != tc.total || p.FinalInvoice.Kind != InvoiceClosing):
				t.Fatalf("final invoice %+v; want total %d", p.FinalInvoice, tc.total)
			case tc.total != 0 && p.FinalInvoice.Status != InvoiceOpen:
				// Owed, or a credit note with no open invoice to pay.
				t.Fatalf("final invoice of %d is %s", tc.total, p.FinalInvoice.Status)
			}
			for i, c := range p.Cancels {
				if c.Kind != LifecycleCancel || !(c.Effective == p.Closed) || c.Invoicing != InvoiceOnClose || c.AccountCredit != 0 {
					t.Fatalf("cancel %d: %s from %s invoicing %s; want cancel from %s on the final invoice", i, c.Kind, c.Effective, c.Invoicing, p.Closed)
				}
				// Never a day twice: the coverage left runs from the start
				// to the close without a gap or an overlap except the
				// pause, and what it charges is what was invoiced before
				// plus the cancel's lines.
				svc := tc.req.Services[i].Service
				var before, after int64
				for _, s := range svc.Coverage {
					before += s.Amount()
				}
				cursor := svc.Start
				for _, s := range c.Coverage {
					if s.From == svc.PauseFrom && !svc.PauseFrom.IsZero() && !s.Hold {
						t.Fatalf("cancel %d: the pause's days are covered by the plan: %+v", i, c.Coverage)
					}
					if s.From != cursor && s.From != svc.PauseTo {
						t.Fatalf("cancel %d: coverage %+v has a gap or overlap at %s", i, c.Coverage, cursor)
					}
					cursor = s.To
					after += s.Amount()
				}
				if cursor != p.Closed || after != before+c.Net {
					t.Fatalf("cancel %d: coverage ends %s, charges %d; want %s, %d + %d", i, cursor, after, p.Closed, before, c.Net)
				}
			}
			if tc.total != 0 {
				var lines int64
				for _, l := range p.FinalInvoice.Lines {
					lines += l.Amount
					if l.ChargeID != nil && *l.ChargeID != 77 {
						t.Fatalf("line %+v names charge %d", l, *l.ChargeID)
					}
				}
				if lines != tc.total {
					t.Fatalf("final lines sum %d, want %d", lines, tc.total)
				}
			}
			if p.Version != 4 || p.FromStatus != AccountCurrent || p.Audit.After["status"] != AccountClosed || p.Audit.Action != LifecycleAccountClose ||
				p.Audit.Entity != EntityAccount || p.Audit.Actor != "user:bob" || p.Audit.Reason != "moving away" {
				t.Fatalf("plan %+v", p)
			}
		})
	}
}

// TestPlanAccountCloseRefunds: with refund_credit the credit left after
// the final invoice is refunded out of the payments' unapplied credit,
// newest payment first, the gateway's through the gateway; what is not
// unapplied payment money is kept; without it everything is kept.
func TestPlanAccountCloseRefunds(t *testing.T) {
	first := closeService(lcFiber50, 10)
	febOnly := lcService(lcFiber50, 1, invoiced(lcFiber50, 1, per("2027-02-01", "2027-03-01")))
	febOnly.Start = mustDate("2027-02-01")
	marchPart := Prorate(5000, lcMarch27, mustDate("2027-03-01"), mustDate("2027-03-12"))
	cash := CloseCredit{PaymentID: 101, Amount: 2000, Method: PayCash}
	card := CloseCredit{PaymentID: 102, Amount: 1000, Method: PayCard, Gateway: true}
	type refund struct {
		payment, amount int64
		gateway         bool
	}
	cases := []struct {
		name     string
		service  LifecycleService
		balance  int64
		credits  []CloseCredit
		open     []OpenInvoice
		refund   bool
		want     []refund
		kept     int64
		refunded int64
	}{
		// Final invoice −32.26; 30.00 of unapplied payments refunded, the
		// card's 10.00 first; 32.26 credited against paid invoices kept.
		{"credit refunded newest first", first, -3000, []CloseCredit{cash, card}, nil, true,
			[]refund{{102, 1000, true}, {101, 2000, false}}, 3226, 3000},
		{"kept when not asked", first, -3000, []CloseCredit{cash, card}, nil, false, nil, 3000 + 3226, 0},
		// The final invoice charges 17.74: the cash credit pays it first;
		// 2.26 is left and refunded.
		{"the final invoice is paid first", febOnly, -2000, []CloseCredit{cash}, nil, true,
			[]refund{{101, 2000 - marchPart, false}}, 0, 2000 - marchPart},
		// An open invoice of 15.00 is paid by the final credit note
		// first: the cash stays unapplied and is refunded; the 17.26 of
		// the note left has no payment's allocation to take over.
		{"open invoices are paid by the credit note first", first, -500, []CloseCredit{cash}, []OpenInvoice{{InvoiceID: 9, Amount: 1500}}, true,
			[]refund{{101, 2000, false}}, 3226 - 1500, 2000},
		// March (invoice 7) was paid in full by cash: the final credit
		// note takes over 32.26 of the cash's allocation, which is
		// refunded; nothing is kept.
		{"paid days refunded", first, 0, nil, nil, true, []refund{{101, 3226, false}}, 0, 3226},
		// The same paid by card: the refund goes back through the gateway.
		{"paid days refunded through the gateway", first, 0, nil, nil, true, []refund{{102, 3226, true}}, 0, 3226},
		// The cash payment has 10.00 unapplied besides paying March: one
		// refund of both.
		{"one refund per payment", first, -1000, []CloseCredit{{PaymentID: 101, Amount: 1000, Method: PayCash}}, nil, true,
			[]refund{{101, 4226, false}}, 0, 4226},
		{"paid days kept when not asked", first, 0, nil, nil, false, nil, 3226, 0},
		{"nothing to refund", first, 0, nil, nil, true, nil, 3226, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := closeRequest("2027-03-12", tc.service)
			req.RefundCredit, req.Balance, req.Credits, req.OpenInvoices = tc.refund, tc.balance, tc.credits, tc.open
			if strings.HasPrefix(tc.name, "paid days") || tc.name == "one refund per payment" {
				held := HeldAllocation{PaymentID: 101, InvoiceID: 7, InvoiceNumber: "INV-7", Amount: 5000, Method: PayCash}
				if strings.HasSuffix(tc.name, "gateway") {
					held.PaymentID, held.Method, held.Gateway = 102, PayCard, true
				}
				req.Held = []HeldAllocation{held}
			}
			p, err := PlanAccountClose(req)
			if err != nil {
				t.Fatal(err)
			}
			var got []refund
			for _, r := range p.Refunds {
				got = append(got, refund{r.PaymentID, r.Amount, r.Gateway})
				if r.Memo == "" {
					t.Fatalf("refund %+v has no memo", r)
				}
			}
			if len(got) != len(tc.want) || p.CreditKept != tc.kept || p.Refunded != tc.refunded {
				t.Fatalf("refunds %+v, kept %d, refunded %d; want %+v, %d, %d (%v)", got, p.CreditKept, p.Refunded, tc.want, tc.kept, tc.refunded, p.Why)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("refunds %+v; want %+v", got, tc.want)
				}
			}
			// What the notes take over is what they free, pair by pair,
			// and the final note is paid once its credit is used up.
			var taken, released int64
			for i, al := range p.TakenOver {
				taken += al.Amount
				if r := p.Released[i]; r.InvoiceID != al.InvoiceID || r.Amount != -al.Amount {
					t.Fatalf("taken over %+v, released %+v", al, r)
				}
				released -= p.Released[i].Amount
			}
			if taken != released || len(p.TakenOver) != len(p.Released) {
				t.Fatalf("taken over %d, released %d", taken, released)
			}
			if used := slices.Contains(p.UsedCreditNotes, 0); used != (p.FinalInvoice.Status == InvoicePaid) {
				t.Fatalf("final note used up %v, final invoice %s", used, p.FinalInvoice.Status)
			}
		})
	}
}

func TestPlanAccountCloseRefuses(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*AccountCloseRequest)
		code  Code
		words string
	}{
		{"stale version", func(r *AccountCloseRequest) { r.IfVersion = 2 }, EPRECONDITION, "version 3, not 2"},
		{"already closed", func(r *AccountCloseRequest) { r.Account.Status = AccountClosed }, EINVALID, "already closed"},
		{"another account's service", func(r *AccountCloseRequest) { r.Services[0].Service.Ref.AccountID = 7 }, EINVALID, "belongs to account 7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := closeRequest("2027-03-12", closeService(lcFiber50, 10))
			tc.edit(&req)
			_, err := PlanAccountClose(req)
			if ErrorCode(err) != tc.code || !strings.Contains(ErrorMessage(err), tc.words) {
				t.Fatalf("err %v; want %s containing %q", err, tc.code, tc.words)
			}
		})
	}
}

func TestPlanAccountReopen(t *testing.T) {
	a := lcAccount()
	a.Version, a.Status = 5, AccountClosed
	p, err := PlanAccountReopen(a, 5, "user:root", "came back", lcAt("UTC", "2027-05-01", 9, 0))
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 6 || p.Audit.After["status"] != AccountCurrent || p.Audit.Action != LifecycleAccountReopen || p.Audit.Reason != "came back" {
		t.Fatalf("plan %+v", p)
	}
	if _, err := PlanAccountReopen(a, 4, "user:root", "", lcAt("UTC", "2027-05-01", 9, 0)); ErrorCode(err) != EPRECONDITION {
		t.Fatalf("stale: %v", err)
	}
	a.Status = AccountSuspended
	if _, err := PlanAccountReopen(a, 5, "user:root", "", lcAt("UTC", "2027-05-01", 9, 0)); ErrorCode(err) != EINVALID {
		t.Fatalf("not closed: %v", err)
	}
}

// TestPlanAccountCloseCreditsSuspendedDays: on a type that stops invoicing
// while suspended, the account was suspended from Mar 3 at noon to Mar 7
// at noon (suspended at the local midnights of Mar 4..7): the close on Mar
// 12 credits those 4 invoiced days of March on the final invoice, as the
// next billing run would have, besides the 20 days from the close on —
// each day once. A type that invoices suspended days credits only the
// days from the close.
func TestPlanAccountCloseCreditsSuspendedDays(t *testing.T) {
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	history := []AccountStatusAt{
		{At: time.Date(2027, 3, 3, 12, 0, 0, 0, loc), Status: AccountSuspended},
		{At: time.Date(2027, 3, 7, 12, 0, 0, 0, loc), Status: AccountCurrent},
	}
	fromClose := Prorate(5000, lcMarch27, mustDate("2027-03-12"), mustDate("2027-04-01"))
	suspended := Prorate(5000, lcMarch27, mustDate("2027-03-04"), mustDate("2027-03-08"))
	for _, stop := range []bool{true, false} {
		req := closeRequest("2027-03-12", closeService(lcFiber50, 10))
		req.Services[0].Context.Policy.StopInvoicingWhileSuspended = stop
		req.StatusInitial, req.StatusHistory = AccountCurrent, history
		p, err := PlanAccountClose(req)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(0)
		if stop {
			want = suspended
		}
		if p.CreditedSuspended != want || p.Credited != fromClose || p.FinalInvoice == nil || p.FinalInvoice.Total != -(want+fromClose) {
			t.Fatalf("stop %v: credited %d + suspended %d, final %+v; want %d + %d", stop, p.Credited, p.CreditedSuspended, p.FinalInvoice, fromClose, want)
		}
		// The coverage left runs Jan 1 to the close without the
		// suspended days.
		days := 0
		for _, s := range p.Cancels[0].Coverage {
			days += s.Days()
		}
		if wantDays := 31 + 28 + 11 - map[bool]int{true: 4, false: 0}[stop]; days != wantDays {
			t.Fatalf("stop %v: coverage of %d days, want %d: %+v", stop, days, wantDays, p.Cancels[0].Coverage)
		}
	}

	// Suspended days no invoice charged are not charged: invoiced through
	// February, the close charges Mar 1..3 and 8..11 only.
	febOnly := lcService(lcFiber50, 1, invoiced(lcFiber50, 1, per("2027-01-01", "2027-02-01")), invoiced(lcFiber50, 1, per("2027-02-01", "2027-03-01")))
	// The billing run already credited Mar 4..7 of an invoiced March: a
	// hole in the coverage, neither charged again nor credited again.
	credited := closeService(lcFiber50, 10)
	credited.Coverage, _ = removeDays(credited.Coverage, mustDate("2027-03-04"), mustDate("2027-03-08"), nil)
	for _, tc := range []struct {
		name              string
		svc               LifecycleService
		charged, credited int64
	}{
		{"not invoiced", febOnly, Prorate(5000, lcMarch27, mustDate("2027-03-01"), mustDate("2027-03-04")) +
			Prorate(5000, lcMarch27, mustDate("2027-03-08"), mustDate("2027-03-12")), 0},
		{"credited before", credited, 0, 0},
	} {
		req := closeRequest("2027-03-12", tc.svc)
		req.Services[0].Context.Policy.StopInvoicingWhileSuspended = true
		req.StatusInitial, req.StatusHistory = AccountCurrent, history
		p, err := PlanAccountClose(req)
		if err != nil {
			t.Fatal(err)
		}
		if p.Charged != tc.charged || p.CreditedSuspended != tc.credited {
			t.Fatalf("%s: charged %d, credited suspended %d; want %d, %d (%v)", tc.name, p.Charged, p.CreditedSuspended, tc.charged, tc.credited, p.Why)
		}
	}
}
