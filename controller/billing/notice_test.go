package billing

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestNextSendTime(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	at := func(loc *time.Location, s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	utc := func(s string) time.Time { return at(time.UTC, s) }
	tests := []struct {
		name string
		now  time.Time
		loc  *time.Location
		h    BusinessHours
		want time.Time
	}{
		{"inside", at(chicago, "2026-12-10 10:15"), chicago, BusinessHours{9, 17}, at(chicago, "2026-12-10 10:15")},
		{"at start is inside", at(chicago, "2026-12-10 09:00"), chicago, BusinessHours{9, 17}, at(chicago, "2026-12-10 09:00")},
		{"before start: today", at(chicago, "2026-12-10 06:59"), chicago, BusinessHours{9, 17}, at(chicago, "2026-12-10 09:00")},
		{"at end is outside: tomorrow", at(chicago, "2026-12-10 17:00"), chicago, BusinessHours{9, 17}, at(chicago, "2026-12-11 09:00")},
		{"evening: tomorrow", at(chicago, "2026-12-10 22:00"), chicago, BusinessHours{9, 17}, at(chicago, "2026-12-11 09:00")},
		{"end of month", at(chicago, "2026-12-31 23:30"), chicago, BusinessHours{9, 17}, at(chicago, "2027-01-01 09:00")},
		{"zero hours mean 9-17", at(chicago, "2026-12-10 08:00"), chicago, BusinessHours{}, at(chicago, "2026-12-10 09:00")},
		{"invalid hours mean 9-17", at(chicago, "2026-12-10 18:00"), chicago, BusinessHours{17, 9}, at(chicago, "2026-12-11 09:00")},
		{"whole day", at(chicago, "2026-12-10 23:59"), chicago, BusinessHours{0, 24}, at(chicago, "2026-12-10 23:59")},
		{"end 24: late evening inside", at(chicago, "2026-12-10 23:59"), chicago, BusinessHours{8, 24}, at(chicago, "2026-12-10 23:59")},
		{"start 0: just after midnight inside", at(chicago, "2026-12-10 00:01"), chicago, BusinessHours{0, 6}, at(chicago, "2026-12-10 00:01")},
		{"nil location is UTC", utc("2026-12-10 20:00"), nil, BusinessHours{9, 17}, utc("2026-12-11 09:00")},
		{"UTC instant, local evening", utc("2026-12-11 03:00"), chicago, BusinessHours{9, 17}, at(chicago, "2026-12-11 09:00")}, // 21:00 CST on the 10th

		// America/New_York springs forward on 2026-03-08 at 02:00 (to 03:00)
		// and falls back on 2026-11-01 at 02:00 (to 01:00).
		{"spring forward: evening before, 9:00 EDT next day", at(newYork, "2026-03-07 18:00"), newYork, BusinessHours{9, 17},
			utc("2026-03-08 13:00")},
		{"spring forward: early morning", utc("2026-03-08 06:30"), newYork, BusinessHours{9, 17}, utc("2026-03-08 13:00")}, // 01:30 EST
		{"spring forward: a start hour the change skips begins after the gap", utc("2026-03-08 06:30"), newYork, BusinessHours{2, 5},
			utc("2026-03-08 07:00")}, // 03:00 EDT
		{"spring forward: inside after the gap", utc("2026-03-08 07:30"), newYork, BusinessHours{2, 5}, utc("2026-03-08 07:30")},
		{"fall back: 9:00 EST", at(newYork, "2026-10-31 20:00"), newYork, BusinessHours{9, 17}, utc("2026-11-01 14:00")},
		{"fall back: the repeated hour, second time, is inside", utc("2026-11-01 06:30"), newYork, BusinessHours{1, 2}, utc("2026-11-01 06:30")}, // 01:30 EST
		{"fall back: 16:30 EST is inside", utc("2026-11-01 21:30"), newYork, BusinessHours{9, 17}, utc("2026-11-01 21:30")},
		{"fall back: 17:00 EST is outside", utc("2026-11-01 22:00"), newYork, BusinessHours{9, 17}, utc("2026-11-02 14:00")},

		// America/Santiago springs forward at midnight on 2026-09-06: local
		// midnight does not exist, the day starts at 01:00 (-03).
		{"midnight skipped: a window from 0 starts at 01:00", at(santiago, "2026-09-05 23:30"), santiago, BusinessHours{0, 6},
			utc("2026-09-06 04:00")},
		{"midnight skipped: 9:00 -03", at(santiago, "2026-09-05 23:30"), santiago, BusinessHours{9, 17}, utc("2026-09-06 12:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NextSendTime(tt.now, tt.loc, tt.h)
			if !got.Equal(tt.want) {
				t.Errorf("NextSendTime(%s) = %s, want %s", tt.now.In(time.UTC), got.In(time.UTC), tt.want.In(time.UTC))
			}
			if got.Before(tt.now) {
				t.Errorf("NextSendTime went back in time")
			}
		})
	}
}

// Every result is inside the window and nothing earlier is: checked every 10
// minutes across both 2026 DST changes in New York.
func TestNextSendTimeIsTheFirstInstantInside(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	h := BusinessHours{Start: 9, End: 17}
	inside := func(u time.Time) bool { l := u.In(newYork); return l.Hour() >= h.Start && l.Hour() < h.End }
	for _, from := range []time.Time{time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC)} {
		for now := from; now.Before(from.AddDate(0, 0, 4)); now = now.Add(10 * time.Minute) {
			got := NextSendTime(now, newYork, h)
			if !inside(got) {
				t.Fatalf("NextSendTime(%s) = %s is outside 9-17", now, got.In(newYork))
			}
			for u := now; u.Before(got); u = u.Add(10 * time.Minute) {
				if inside(u) {
					t.Fatalf("NextSendTime(%s) = %s, but %s was already inside", now, got.In(newYork), u.In(newYork))
				}
			}
		}
	}
}

func TestNoticeValidate(t *testing.T) {
	ok := Notice{AccountID: 1, Kind: NoticeReminder, InvoiceID: 7, DaysBefore: 3, To: "a@example.net"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mutate func(*Notice)
		want   string
	}{
		{func(n *Notice) { n.AccountID = 0 }, "account_id"},
		{func(n *Notice) { n.Kind = "shouting" }, "kind"},
		{func(n *Notice) { n.InvoiceID = 0 }, "invoice_id"},
		{func(n *Notice) { n.DaysBefore = -1 }, "days_before"},
		{func(n *Notice) { n.To = " " }, "to"},
	}
	for _, tt := range tests {
		n := ok
		tt.mutate(&n)
		wantInvalid(t, n.Validate(), tt.want)
	}
	if err := (Notice{AccountID: 1, Kind: NoticeSuspended, To: "a@example.net"}).Validate(); err != nil {
		t.Errorf("a suspension notice needs no invoice: %v", err)
	}
}

func TestNoticeJSON(t *testing.T) {
	n := Notice{ID: 5, AccountID: 1, Kind: NoticeSuspended, To: "a@example.net", TimeZone: "America/Chicago",
		Hours: BusinessHours{8, 18}, Data: NoticeData{AccountNumber: "A-000042", Currency: "USD", Amount: 5311,
			DueDate: NewDate(2026, 12, 10), Why: []string{"Invoice INV-1 is 7 days past due."}}}
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"kind":"suspended"`, `"due_date":"2026-12-10"`, `"delinquency_date":null`, `"account_number":"A-000042"`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON %s lacks %s", s, want)
		}
	}
	for _, unwanted := range []string{"America/Chicago", "sent_at", "invoice_id"} {
		if strings.Contains(s, unwanted) {
			t.Errorf("JSON %s has %s", s, unwanted)
		}
	}
	var back Notice
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Data.DueDate != n.Data.DueDate || !back.Data.DelinquencyDate.IsZero() || back.Data.Why[0] != n.Data.Why[0] {
		t.Errorf("round trip: %+v", back.Data)
	}
}
