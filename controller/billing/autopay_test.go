package billing

import "testing"

func TestNextAutopayAttempt(t *testing.T) {
	due := NewDate(2026, 12, 10)
	retry := []int{1, 3, 5}
	for _, tc := range []struct {
		name   string
		failed int
		today  Date
		want   int
		ok     bool
	}{
		{"before the due date", 0, NewDate(2026, 12, 9), 0, false},
		{"on the due date", 0, due, 1, true},
		{"missed the due date", 0, NewDate(2026, 12, 12), 1, true},
		{"first retry, too early", 1, due, 0, false},
		{"first retry", 1, NewDate(2026, 12, 11), 2, true},
		{"second retry waits for day 3", 2, NewDate(2026, 12, 12), 0, false},
		{"second retry", 2, NewDate(2026, 12, 13), 3, true},
		{"third retry", 3, NewDate(2026, 12, 15), 4, true},
		{"schedule used up", 4, NewDate(2027, 1, 15), 0, false},
	} {
		got, ok := NextAutopayAttempt(due, retry, tc.failed, tc.today)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got (%d, %v), want (%d, %v)", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := NextAutopayAttempt(due, nil, 1, NewDate(2027, 1, 1)); ok {
		t.Error("with no retry schedule a failed autopay is not retried")
	}
}
