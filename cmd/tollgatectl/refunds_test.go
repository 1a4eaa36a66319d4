package main

import (
	"strings"
	"testing"
)

// TestPaymentRefundsNeedsAttention: `payment refunds --needs-attention`
// asks for the flagged refunds and shows why each needs staff.
func TestPaymentRefundsNeedsAttention(t *testing.T) {
	f, url := newFakeAPI(t, map[string][]string{
		"GET /api/v1/refunds": {`{"items":[{"id":4,"payment_id":17,"account_id":2,"amount":3000,"currency":"USD","status":"pending",
			"needs_attention":"no refund with tollgate_refund_id 4 at the gateway","created_at":"2027-01-02T03:04:05Z"}],"next_after":0}`},
	})
	out, _, err := run(t, url, "payment", "refunds", "--needs-attention", "--payment", "17")
	if err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	if len(calls) != 1 || !strings.Contains(calls[0].query, "needs_attention=true") || !strings.Contains(calls[0].query, "payment_id=17") {
		t.Fatalf("requests %+v", calls)
	}
	for _, want := range []string{"USD 30.00", "pending", "NEEDS ATTENTION: no refund with tollgate_refund_id 4"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
