package billing

import "testing"

func TestBatchChangeableOnlyWhileOpen(t *testing.T) {
	if err := (PaymentBatch{ID: 7, Status: BatchOpen}).CheckChangeable(); err != nil {
		t.Errorf("an open batch: %v", err)
	}
	err := (PaymentBatch{ID: 7, Status: BatchPosted}).CheckChangeable()
	if ErrorCode(err) != ECONFLICT || ErrorMessage(err) != "payment batch 7 is posted and can no longer change" {
		t.Errorf("a posted batch: %v", err)
	}
}

func TestAttemptUnsettled(t *testing.T) {
	for status, want := range map[string]bool{"pending": true, "processing": true, "succeeded": false, "failed": false, "error": false} {
		if got := (PaymentAttempt{Status: status}).Unsettled(); got != want {
			t.Errorf("%s: Unsettled = %v, want %v", status, got, want)
		}
	}
}
