package reports

import (
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

func TestRevenueAndMRRMovements(t *testing.T) {
	lines := []RevenueLine{
		{Plan: "Fiber 100", AccountType: "residential", POP: "north", Currency: "USD", Kind: billing.LineRecurring, Amount: 4999},
		{Plan: "Fiber 100", AccountType: "residential", POP: "north", Currency: "USD", Kind: billing.LineTax, Amount: 312},
		{Plan: "", AccountType: "residential", POP: "north", Currency: "USD", Kind: billing.LineFee, Amount: 1500},
		{Plan: "Fiber 500", AccountType: "business", POP: "south", Currency: "USD", Kind: billing.LineRecurring, Amount: 9999},
		{Plan: "Fiber 500", AccountType: "business", POP: "south", Currency: "USD", Kind: billing.LineRecurring, Amount: 9999, Voided: true},
		{Plan: "Fiber 500", AccountType: "business", POP: "south", Currency: "USD", Kind: billing.LineOneTime, Amount: 2500},
	}
	from, to := d(2026, 5, 1), d(2026, 5, 31)
	services := []MRRService{
		{ServiceID: 1, Currency: "USD", Start: d(2026, 1, 1), Terms: []MRRTerm{{d(2026, 1, 1), 5000}}},                         // unchanged
		{ServiceID: 2, Currency: "USD", Start: d(2026, 5, 10), Terms: []MRRTerm{{d(2026, 5, 10), 7000}}},                       // new
		{ServiceID: 3, Currency: "USD", Start: d(2026, 1, 1), End: d(2026, 5, 20), Terms: []MRRTerm{{d(2026, 1, 1), 3000}}},    // churn
		{ServiceID: 4, Currency: "USD", Start: d(2026, 1, 1), Terms: []MRRTerm{{d(2026, 1, 1), 5000}, {d(2026, 5, 15), 8000}}}, // upgrade
		{ServiceID: 5, Currency: "USD", Start: d(2026, 1, 1), Terms: []MRRTerm{{d(2026, 1, 1), 8000}, {d(2026, 5, 15), 6000}}}, // downgrade
		{ServiceID: 6, Currency: "USD", Start: d(2026, 6, 1), Terms: []MRRTerm{{d(2026, 6, 1), 9000}}},                         // not yet
	}
	r := Revenue(from, to, lines, services)
	if len(r.ByPlan) != 3 || r.ByPlan[0] != (RevenueRow{Key: "", Currency: "USD", Fees: 1500, Total: 1500}) ||
		r.ByPlan[1] != (RevenueRow{Key: "Fiber 100", Currency: "USD", Recurring: 4999, Total: 4999}) ||
		r.ByPlan[2] != (RevenueRow{Key: "Fiber 500", Currency: "USD", OneTime: 2500, Total: 2500}) {
		t.Errorf("by plan %+v", r.ByPlan)
	}
	if len(r.ByPOP) != 2 || r.ByPOP[0].Total != 6499 || r.ByType[0].Key != "business" || r.ByType[0].Total != 2500 {
		t.Errorf("by POP %+v by type %+v", r.ByPOP, r.ByType)
	}
	// Opening 50 + 30 + 50 + 80 = 210; closing 50 + 70 + 80 + 60 = 260 =
	// 210 + 70 new + 30 up − 20 down − 30 churn.
	want := MRRMovement{Currency: "USD", Opening: 21000, New: 7000, Upgrade: 3000, Downgrade: 2000, Churn: 3000, Closing: 26000, NewCount: 1, Churned: 1}
	if len(r.MRR) != 1 || r.MRR[0] != want {
		t.Errorf("MRR %+v, want %+v", r.MRR, want)
	}
}
