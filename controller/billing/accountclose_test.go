package billing

import (
	"strings"
	"testing"
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
	cases := []struct {
		name     string
		req      AccountCloseRequest
		cancels  int
		credited int64
		onCredit []bool // per cancel: its credit goes to the account
	}{
		{"no services", closeRequest("2027-03-12"), 0, 0, nil},
		// Fiber 50 (50.00) with March invoiced, closed Mar 12 (Chicago):
		// Mar 12..31 = 20 of 31 days credited, 32.26.
		{"one service, March invoiced", closeRequest("2027-03-12", first), 1, 3226, []bool{true}},
		// Both credited though each saw the other still billed: the close
		// cancels them all, so no next invoice takes a credit.
		{"two services", closeRequest("2027-03-12", first, second), 2, 3226 + 5161, []bool{true, true}},
		{"nothing invoiced after the close", closeRequest("2027-04-01", first), 1, 0, []bool{false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanAccountClose(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Cancels) != tc.cancels || p.Credited != tc.credited {
				t.Fatalf("%d cancels, credited %d; want %d, %d (%v)", len(p.Cancels), p.Credited, tc.cancels, tc.credited, p.Why)
			}
			for i, c := range p.Cancels {
				if c.Kind != LifecycleCancel || !(c.Effective == p.Closed) || (c.Invoicing == InvoiceAsCredit) != tc.onCredit[i] {
					t.Fatalf("cancel %d: %s from %s invoicing %s; want cancel from %s, on credit %v", i, c.Kind, c.Effective, c.Invoicing, p.Closed, tc.onCredit[i])
				}
			}
			if p.Version != 4 || p.FromStatus != AccountCurrent || p.Audit.After["status"] != AccountClosed || p.Audit.Action != LifecycleAccountClose ||
				p.Audit.Entity != EntityAccount || p.Audit.Actor != "user:bob" || p.Audit.Reason != "moving away" {
				t.Fatalf("plan %+v", p)
			}
		})
	}
}

func TestPlanAccountCloseRefuses(t *testing.T) {
	uninvoiced := lcService(lcFiber50, 1, invoiced(lcFiber50, 1, per("2027-02-01", "2027-03-01")))
	cases := []struct {
		name  string
		edit  func(*AccountCloseRequest)
		code  Code
		words string
	}{
		{"stale version", func(r *AccountCloseRequest) { r.IfVersion = 2 }, EPRECONDITION, "version 3, not 2"},
		{"already closed", func(r *AccountCloseRequest) { r.Account.Status = AccountClosed }, EINVALID, "already closed"},
		{"refund asked", func(r *AccountCloseRequest) { r.RefundCredit = true }, EINVALID, "refund_credit"},
		{"pending charges", func(r *AccountCloseRequest) { r.PendingCharges = 2 }, EINVALID, "2 one-time charges"},
		{"days not invoiced", func(r *AccountCloseRequest) { *r = closeRequest("2027-03-12", uninvoiced) }, EINVALID, "no invoice has charged"},
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
