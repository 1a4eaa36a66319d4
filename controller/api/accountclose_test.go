package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCloseAndReopenAccount: close needs If-Match (428), refuses a stale
// one (412 with the current ETag); billing staff close the account with
// refund_credit (its service cancelled, a final invoice crediting the
// month's days from today, the unapplied cash and the paid days from today
// refunded by hand, the account closed at version 2), a replay answers the
// same; only an admin reopens it.
func TestCloseAndReopenAccount(t *testing.T) {
	t.Parallel()
	e, _ := lifecycleEnv(t)
	if r := e.lifecycle("/api/v1/accounts/1/close", "k0", "", `{}`); r.status != 428 {
		t.Fatalf("no If-Match: %d %s", r.status, r.body)
	}
	if r := e.lifecycle("/api/v1/accounts/1/close", "k1", `"9"`, `{}`); r.status != 412 || r.header.Get("ETag") != `"1"` {
		t.Fatalf("stale: %d ETag %q %s", r.status, r.header.Get("ETag"), r.body)
	}
	// 90.00 in cash pays the month's 50.00: 40.00 is unapplied credit.
	if r := e.do("POST", "/api/v1/accounts/1/payments", billingToken, "pay-1", `{"method":"cash","amount":9000}`); r.status != 200 {
		t.Fatalf("payment: %d %s", r.status, r.body)
	}
	var answer struct {
		Account struct {
			Status  string
			Version int64
		}
		Plan struct {
			Cancels      []struct{ Kind string }
			FinalInvoice *struct {
				Kind  string
				Total int64
			} `json:"final_invoice"`
			Refunds []struct {
				PaymentID int64 `json:"payment_id"`
				Amount    int64
				Gateway   bool
				Status    string
			}
			CreditKept int64 `json:"credit_kept"`
			Credited   int64
			TakenOver  []struct {
				InvoiceID int64 `json:"invoice_id"`
				Amount    int64
			} `json:"taken_over"`
		}
	}
	body := `{"reason":"moving away","refund_credit":true}`
	r := e.lifecycle("/api/v1/accounts/1/close", "k3", `"1"`, body)
	if err := json.Unmarshal(r.body, &answer); r.status != 200 || err != nil || answer.Account.Status != "closed" || answer.Account.Version != 2 ||
		len(answer.Plan.Cancels) != 1 || answer.Plan.Cancels[0].Kind != "cancel" || r.header.Get("ETag") != `"2"` {
		t.Fatalf("close: %d %v %s", r.status, err, r.body)
	}
	// The final invoice credits the month's days from today on; it takes
	// over that much of what the cash paid on the month, so the 40.00 of
	// unapplied cash and the credited days are refunded by hand, in one
	// refund; nothing is kept.
	p := answer.Plan
	if p.FinalInvoice == nil || p.FinalInvoice.Kind != "final" || p.FinalInvoice.Total != -p.Credited || p.Credited <= 0 ||
		len(p.Refunds) != 1 || p.Refunds[0].Amount != 4000+p.Credited || p.Refunds[0].Gateway || p.Refunds[0].Status != "completed" || p.CreditKept != 0 ||
		len(p.TakenOver) != 1 || p.TakenOver[0].Amount != p.Credited {
		t.Fatalf("close plan: %s", r.body)
	}
	var view struct{ Balance *int64 }
	if r := e.do("GET", "/api/v1/accounts/1", readerToken, "", ""); r.status != 200 || json.Unmarshal(r.body, &view) != nil || view.Balance == nil || *view.Balance != 0 {
		t.Fatalf("balance after the close: %d %s", r.status, r.body)
	}
	if again := e.lifecycle("/api/v1/accounts/1/close", "k3", `"1"`, body); again.status != 200 || string(again.body) != string(r.body) {
		t.Fatalf("replay: %d %s", again.status, again.body)
	}
	if r := e.do("GET", "/api/v1/services/1", readerToken, "", ""); !strings.Contains(string(r.body), `"end_date"`) {
		t.Fatalf("the service was not cancelled: %s", r.body)
	}
	if r := e.lifecycle("/api/v1/accounts/1/reopen", "k4", `"2"`, `{}`); r.status != 403 {
		t.Fatalf("billing staff reopened: %d %s", r.status, r.body)
	}
	r = e.doHeader("POST", "/api/v1/accounts/1/reopen", `{"reason":"came back"}`,
		map[string]string{"Authorization": "Bearer " + adminToken, "Idempotency-Key": "k5", "If-Match": `"2"`})
	if err := json.Unmarshal(r.body, &answer); r.status != 200 || err != nil || answer.Account.Status != "current" || r.header.Get("ETag") != `"3"` {
		t.Fatalf("reopen: %d %v %s", r.status, err, r.body)
	}
}
