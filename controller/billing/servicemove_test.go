package billing

import (
	"strings"
	"testing"
	"time"
)

var moveAt = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

// movable is a suspended RouterOS service at pop-a, version 3, confirmed.
func movable() ServiceChangeInput {
	confirmedAt := moveAt.Add(-time.Hour)
	return ServiceChangeInput{
		Service: Service{ID: 7, POP: "pop-a", Name: "fiber", Version: 3, Revision: 40, DesiredState: StateSuspended, StateReason: "past due",
			Binding:      Binding{Method: MethodRouterOS, Device: "edge", Addresses: []string{"100.64.0.7"}},
			Confirmation: Confirmation{Revision: 40, ObservedState: StateSuspended, LastConfirmedAt: &confirmedAt}},
		IfVersion: 3, POPExists: true, Today: NewDate(2026, 3, 10), Actor: "clerk", At: moveAt,
	}
}

func TestPlanServiceMoveRefusals(t *testing.T) {
	toB := ServiceMove{POP: "pop-b", Binding: Binding{Method: MethodRouterOS, Device: "edge", Addresses: []string{"100.64.9.7"}}}
	cases := []struct {
		name  string
		in    func(*ServiceChangeInput)
		mv    func(*ServiceMove)
		code  Code
		field string
	}{
		{"stale version", func(in *ServiceChangeInput) { in.IfVersion = 2 }, nil, EPRECONDITION, "version 3, not 2"},
		{"unknown POP", func(in *ServiceChangeInput) { in.POPExists = false }, nil, EINVALID, `pop "pop-b" does not exist`},
		{"bad POP id", nil, func(m *ServiceMove) { m.POP = "Pop B" }, EINVALID, "pop"},
		{"same POP and binding", nil, func(m *ServiceMove) { m.POP, m.Binding = "pop-a", movable().Service.Binding }, EINVALID, "binding"},
		{"cancelled service", func(in *ServiceChangeInput) { in.Service.EndDate = NewDate(2026, 3, 10) }, nil, EINVALID, "cancelled"},
		{"incomplete binding", nil, func(m *ServiceMove) { m.Binding.Addresses = nil }, EINVALID, "binding"},
		{"bad address", nil, func(m *ServiceMove) { m.Binding.Addresses = []string{"100.64.9.300"} }, EINVALID, "binding"},
		{"long service address", nil, func(m *ServiceMove) {
			m.ServiceAddress = &Address{City: strings.Repeat("x", 101)}
		}, EINVALID, "service_address.city"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, mv := movable(), toB
			mv.Binding.Addresses = []string{"100.64.9.7"}
			if c.in != nil {
				c.in(&in)
			}
			if c.mv != nil {
				c.mv(&mv)
			}
			_, err := PlanServiceMove(in, mv)
			if ErrorCode(err) != c.code || !strings.Contains(ErrorMessage(err), c.field) {
				t.Errorf("got %v, want %s naming %q", err, c.code, c.field)
			}
		})
	}
	// A cancel in the future does not stop a move.
	in := movable()
	in.Service.EndDate = NewDate(2026, 3, 11)
	if _, err := PlanServiceMove(in, toB); err != nil {
		t.Errorf("a service ending tomorrow: %v", err)
	}
}

func TestPlanServiceMoveToAnotherPOP(t *testing.T) {
	in := movable()
	b := Binding{Method: MethodRouterOS, Device: "core", Addresses: []string{"100.64.9.7"}}
	plan, err := PlanServiceMove(in, ServiceMove{POP: " pop-b ", Binding: b, ServiceAddress: &Address{Line1: " 9 Oak St "}})
	if err != nil {
		t.Fatal(err)
	}
	s := plan.Service
	if !plan.Changed || !plan.Enforce || !plan.ResetConfirmation || plan.RemoveFrom != "pop-a" || !plan.RemoveBinding.Equal(in.Service.Binding) {
		t.Errorf("plan %+v: want enforcement at pop-b and removal from pop-a with the old binding", plan)
	}
	if s.POP != "pop-b" || !s.Binding.Equal(b) || s.Version != 4 || s.ServiceAddress.Line1 != "9 Oak St" ||
		s.DesiredState != StateSuspended || s.StateReason != "past due" || s.Confirmation != (Confirmation{}) || s.Confirmed() {
		t.Errorf("moved service %+v: want pop-b, the new binding, version 4, the same desired state, no confirmation", s)
	}
	a := plan.Audit
	if a.Entity != EntityService || a.EntityID != 7 || a.Actor != "clerk" || a.Before["pop"] != "pop-a" || a.After["pop"] != "pop-b" ||
		a.Reason != "moved from POP pop-a to POP pop-b" || len(a.After) != 3 {
		t.Errorf("audit %+v", a)
	}
	// The input is not changed.
	if in.Service.POP != "pop-a" || in.Service.Confirmation.LastConfirmedAt == nil {
		t.Errorf("the input was changed: %+v", in.Service)
	}
}

func TestPlanServiceMoveWithinPOP(t *testing.T) {
	b := Binding{Method: MethodSNMP, Device: "olt-2", IfIndex: 12}
	plan, err := PlanServiceMove(movable(), ServiceMove{POP: "pop-a", Binding: b, Reason: "new port"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.RemoveFrom != "" || !plan.Enforce || !plan.ResetConfirmation || plan.Audit.Reason != "new port" || plan.Audit.After["pop"] != nil {
		t.Errorf("plan %+v: a move within a POP sends the new binding there, removes nothing", plan)
	}
}

func TestPlanServiceEdit(t *testing.T) {
	in := movable()
	cases := []struct {
		name  string
		edit  ServiceEdit
		field string // "" when the edit is accepted
	}{
		{"empty name", ServiceEdit{Name: ptrTo(" ")}, "name"},
		{"negative if_index", ServiceEdit{Binding: &BindingEdit{IfIndex: ptrTo(int32(-1))}}, "binding.if_index"},
		{"no addresses left", ServiceEdit{Binding: &BindingEdit{Addresses: &[]string{}}}, "binding"},
		{"bad address", ServiceEdit{Binding: &BindingEdit{Addresses: &[]string{"100.64.0.x"}}}, "binding"},
		{"long reason", ServiceEdit{Name: ptrTo("x"), Reason: strings.Repeat("r", 501)}, "reason"},
	}
	for _, c := range cases {
		_, err := PlanServiceEdit(in, c.edit)
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), c.field) {
			t.Errorf("%s: %v, want invalid naming %s", c.name, err, c.field)
		}
	}
	// A typo in the address: fixed in place, sent to the POP's agent; the
	// confirmation stays (the next report confirms the new revision).
	plan, err := PlanServiceEdit(in, ServiceEdit{Binding: &BindingEdit{Addresses: &[]string{" 100.64.0.8 "}}, Reason: "typo"})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Changed || !plan.Enforce || plan.RemoveFrom != "" || plan.ResetConfirmation || plan.Service.Version != 4 ||
		plan.Service.Binding.Addresses[0] != "100.64.0.8" || in.Service.Binding.Addresses[0] != "100.64.0.7" ||
		plan.Audit.Reason != "typo" || len(plan.Audit.After) != 1 {
		t.Errorf("address fix: %+v", plan)
	}
	// A name and service address: no enforcement.
	plan, err = PlanServiceEdit(in, ServiceEdit{Name: ptrTo("fiber 2"), ServiceAddress: &Address{Line1: "1 Main St"}})
	if err != nil || !plan.Changed || plan.Enforce || plan.Service.ServiceAddress.Line1 != "1 Main St" {
		t.Errorf("name and address: %+v %v", plan, err)
	}
	// Nothing changed: nothing to write.
	plan, err = PlanServiceEdit(in, ServiceEdit{Name: ptrTo("fiber"), Binding: &BindingEdit{Device: ptrTo("edge")}})
	if err != nil || plan.Changed || plan.Service.Version != 3 {
		t.Errorf("no-op edit: %+v %v", plan, err)
	}
	// A stale version.
	in.IfVersion = 1
	if _, err := PlanServiceEdit(in, ServiceEdit{Name: ptrTo("x")}); ErrorCode(err) != EPRECONDITION {
		t.Errorf("stale: %v", err)
	}
}

func TestParseAccountsCSVServiceAddress(t *testing.T) {
	in := "external_id,name,account_type,currency,address_line1,city,service_name,pop,service_address_line1,service_city,service_postal_code\n" +
		"c-1,Jane,residential,USD,PO Box 7,Austin,cabin,north-1,\"12 Lake Rd\nUnit B\",Marble Falls,78654\n" +
		"c-2,Bo,residential,USD,,,home,north-1,,x" + strings.Repeat("y", 100) + ",\n"
	f := parseCSV(t, in)
	got := f.Problems()
	if len(got) != 1 || got[0].Line != 4 || got[0].Column != "service_city" {
		t.Fatalf("problems %v, want one, of service_city on line 4", got)
	}
	jane := f.Accounts[0]
	if a := jane.Services[0].Service.ServiceAddress; a.Line1 != "12 Lake Rd\nUnit B" || a.City != "Marble Falls" || a.PostalCode != "78654" ||
		jane.Account.Address.Line1 != "PO Box 7" {
		t.Errorf("jane %+v: want the service address apart from the billing address", jane)
	}
}
