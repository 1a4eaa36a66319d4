package billing

import (
	"strings"
	"testing"
)

func TestBatchControl(t *testing.T) {
	two, total := 2, int64(7500)
	lines := []BatchLine{{LineNo: 1, AccountID: 1, Account: "A-1", Amount: 5000, Currency: "USD", Method: PayCheck, Reference: "1001"}, {LineNo: 2, AccountID: 1, Account: "A-1", Amount: 2500, Currency: "USD", Method: PayCash}}
	for _, tc := range []struct {
		name      string
		count     *int
		total     *int64
		lines     []BatchLine
		balanced  bool
		errSubstr []string
	}{
		{"no control figures", nil, nil, lines[:1], true, nil},
		{"both match", &two, &total, lines, true, nil},
		{"one payment short", &two, &total, lines[:1], false, []string{"1 payments", "control_count 2", "total 50.00", "control_total 75.00"}},
		{"count only, matching", &two, nil, lines, true, nil},
		{"total only, short", nil, &total, lines[:1], false, []string{"total 50.00", "control_total 75.00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := PaymentBatch{ID: 3, Status: BatchOpen, ControlCount: tc.count, ControlTotal: tc.total, Lines: tc.lines}
			b.Tally()
			d := b.Control()
			if d.Balanced != tc.balanced {
				t.Fatalf("Balanced = %v, want %v (%+v)", d.Balanced, tc.balanced, d)
			}
			if tc.count != nil && *d.CountDifference != *tc.count-len(tc.lines) {
				t.Errorf("CountDifference = %d", *d.CountDifference)
			}
			if tc.count == nil && d.CountDifference != nil {
				t.Errorf("CountDifference without a control count: %d", *d.CountDifference)
			}
			err := b.CheckControl()
			if (err == nil) != tc.balanced {
				t.Fatalf("CheckControl = %v", err)
			}
			for _, s := range tc.errSubstr {
				if !strings.Contains(ErrorMessage(err), s) || ErrorCode(err) != EINVALID {
					t.Errorf("CheckControl = %v, want it to name %q", err, s)
				}
			}
			if v := ValidateBatch(b, nil); v.OK != tc.balanced {
				t.Errorf("ValidateBatch OK = %v, want %v", v.OK, tc.balanced)
			}
		})
	}
	zero, neg := 0, int64(-5)
	for _, nb := range []NewBatch{{}, {DepositDate: NewDate(2026, 1, 2), ControlCount: &zero}, {DepositDate: NewDate(2026, 1, 2), ControlTotal: &neg}} {
		if err := nb.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("Validate(%+v) = %v, want EINVALID", nb, err)
		}
	}
}
