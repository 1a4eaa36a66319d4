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

func TestEffectsOf(t *testing.T) {
	a := PaymentAttempt{AccountID: 3, Amount: 4200, ChargeID: "ch_1", Trigger: TriggerAutopay, FailureMessage: "insufficient funds"}
	a.Status = "succeeded"
	if fx := EffectsOf(a, "bank_account"); fx.Payment == nil || fx.Payment.Method != PayACH || fx.Payment.Amount != 4200 ||
		fx.Payment.Reference != "ch_1" || fx.Payment.Memo != "autopay charge" || fx.MethodStatus != "active" {
		t.Errorf("ACH success: %+v", fx)
	}
	if fx := EffectsOf(a, "card"); fx.Payment == nil || fx.Payment.Method != PayCard {
		t.Errorf("card success: %+v", fx)
	}
	a.Status = "failed"
	if fx := EffectsOf(a, "card"); fx.Payment != nil || fx.MethodStatus != "failing" || fx.Failure != "insufficient funds" {
		t.Errorf("decline: %+v", fx)
	}
	for _, st := range []string{"error", "pending", "processing"} {
		a.Status = st
		if fx := EffectsOf(a, "card"); fx != (AttemptEffects{}) {
			t.Errorf("%s: %+v", st, fx)
		}
	}
}
