package billing

import (
	"strings"
	"testing"
	"time"
)

func TestRefundRequestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    RefundRequest
		want string // "" = valid; else a word the error names
	}{
		{"ok", RefundRequest{Amount: 1, Memo: "goodwill\nline two\ttab"}, ""},
		{"zero amount", RefundRequest{Amount: 0}, "amount"},
		{"negative amount", RefundRequest{Amount: -5}, "amount"},
		{"NUL memo", RefundRequest{Amount: 1, Memo: "a\x00b"}, "memo"},
		{"escape memo", RefundRequest{Amount: 1, Memo: "a\x1b[31m"}, "memo"},
		{"DEL memo", RefundRequest{Amount: 1, Memo: "a\x7f"}, "memo"},
		{"bad UTF-8", RefundRequest{Amount: 1, Memo: "a\xffb"}, "memo"},
		{"long memo", RefundRequest{Amount: 1, Memo: strings.Repeat("é", MaxRefundMemo+1)}, "memo"},
		{"longest memo", RefundRequest{Amount: 1, Memo: strings.Repeat("é", MaxRefundMemo)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want EINVALID naming %q", err, tc.want)
			}
		})
	}
}

func TestDecideRefundRecovery(t *testing.T) {
	created := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		age            time.Duration
		found, settled bool
		want           RefundRecovery
	}{
		{time.Minute, true, true, RecoverComplete},
		{48 * time.Hour, true, true, RecoverComplete}, // found: complete however old
		{time.Minute, true, false, RecoverRelease},
		{time.Minute, false, false, RecoverResend},
		{RefundKeyReplayLimit - time.Second, false, false, RecoverResend},
		{RefundKeyReplayLimit, false, false, RecoverFlag}, // never replay a key 23 h old
		{72 * time.Hour, false, false, RecoverFlag},
	} {
		if got := DecideRefundRecovery(created, created.Add(tc.age), tc.found, tc.settled); got != tc.want {
			t.Errorf("age %s found %v settled %v: %v, want %v", tc.age, tc.found, tc.settled, got, tc.want)
		}
	}
}

func TestCheckRefundable(t *testing.T) {
	p := Payment{ID: 9, Amount: 5000, Currency: "USD", Refunded: 1000, RefundReserved: 500, Status: PaymentPosted}
	for _, tc := range []struct {
		name              string
		status            PaymentStatus
		allocated, amount int64
		code              Code
		msg               string
	}{
		{name: "all that is left", allocated: 2000, amount: 1500},
		{name: "more than is left", allocated: 2000, amount: 1501, code: EINVALID, msg: "amount USD 15.01 is more than payment 9's unapplied credit (USD 15.00), with USD 5.00 held by refunds in progress"},
		{name: "reversed", status: PaymentReversed, amount: 1, code: ECONFLICT, msg: "payment 9 is reversed"},
	} {
		q := p
		if tc.status != "" {
			q.Status = tc.status
		}
		err := CheckRefundable(q, tc.allocated, tc.amount)
		if ErrorCode(err) != tc.code || (tc.msg != "" && !strings.Contains(err.Error(), tc.msg)) {
			t.Errorf("%s: %v, want %s %q", tc.name, err, tc.code, tc.msg)
		}
	}
}
