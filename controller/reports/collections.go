package reports

import (
	"sort"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// StatusChange is one change of an account's collection status.
type StatusChange struct {
	AccountID     int64
	AccountNumber string
	From, To      string
	Cause         string
	At            time.Time
}

// PromiseNote is a promise to pay staff recorded (its note reads "promise
// to pay until 2026-03-20…"), with the days the account's standing
// payments were received on or after the day it was made.
type PromiseNote struct {
	AccountID     int64
	AccountNumber string
	Note          string
	At            time.Time
	PaymentDays   []billing.Date
}

// HeldBatch is a suspension batch the blast-radius guard held.
type HeldBatch struct {
	ID        int64     `json:"id"`
	Status    string    `json:"status" doc:"pending or decided"`
	Accounts  int       `json:"accounts"`
	Approved  int       `json:"approved"`
	Cancelled int       `json:"cancelled"`
	CreatedAt time.Time `json:"created_at"`
}

// PromiseRow is a promise whose day fell in the period: kept when the
// account paid between making it and its day.
type PromiseRow struct {
	AccountID     int64        `json:"account_id"`
	AccountNumber string       `json:"account_number"`
	MadeOn        billing.Date `json:"made_on"`
	Until         billing.Date `json:"until"`
	Kept          bool         `json:"kept"`
}

// CollectionsReport counts the period's collection events.
type CollectionsReport struct {
	From       billing.Date `json:"from"`
	To         billing.Date `json:"to"`
	PastDue    int          `json:"past_due" doc:"Accounts that became past due."`
	Delinquent int          `json:"delinquent" doc:"Accounts that became delinquent."`
	Suspended  int          `json:"suspended" doc:"Accounts suspended."`
	Restored   int          `json:"restored" doc:"Accounts restored from suspension."`
	// Changes are the period's status changes, oldest first.
	Changes  []StatusChangeRow `json:"changes"`
	Held     []HeldBatch       `json:"held_batches"`
	Promises []PromiseRow      `json:"promises"`
	Kept     int               `json:"promises_kept"`
	Broken   int               `json:"promises_broken"`
}

// StatusChangeRow is a status change as the report lists it.
type StatusChangeRow struct {
	AccountID     int64     `json:"account_id"`
	AccountNumber string    `json:"account_number"`
	From          string    `json:"from"`
	To            string    `json:"to"`
	Cause         string    `json:"cause"`
	At            time.Time `json:"at"`
}

// promiseUntil reads the day of a promise note ("promise to pay until
// 2026-03-20: …"); false for a cleared promise or another note.
func promiseUntil(note string) (billing.Date, bool) {
	rest, ok := strings.CutPrefix(note, "promise to pay until ")
	if !ok || len(rest) < 10 {
		return billing.Date{}, false
	}
	d, err := billing.ParseDate(rest[:10])
	return d, err == nil
}

// Collections counts the status changes in the period (those that only
// note a promise or an exemption leave the status as it was and are not
// counted), lists the held batches, and judges the promises whose day is
// in the period: kept if a payment that still stands was received from
// the day the promise was made to its day.
func Collections(from, to billing.Date, changes []StatusChange, promises []PromiseNote, held []HeldBatch) CollectionsReport {
	r := CollectionsReport{From: from, To: to, Changes: []StatusChangeRow{}, Held: held, Promises: []PromiseRow{}}
	if r.Held == nil {
		r.Held = []HeldBatch{}
	}
	for _, c := range changes {
		if c.From == c.To {
			continue
		}
		r.Changes = append(r.Changes, StatusChangeRow(c))
		switch {
		case c.To == string(billing.AccountPastDue):
			r.PastDue++
		case c.To == string(billing.AccountDelinquent):
			r.Delinquent++
		case c.To == string(billing.AccountSuspended):
			r.Suspended++
		}
		if c.From == string(billing.AccountSuspended) && c.To != string(billing.AccountClosed) {
			r.Restored++
		}
	}
	for _, p := range promises {
		until, ok := promiseUntil(p.Note)
		if !ok || until.Before(from) || until.After(to) {
			continue
		}
		made := billing.DateOf(p.At.UTC())
		row := PromiseRow{AccountID: p.AccountID, AccountNumber: p.AccountNumber, MadeOn: made, Until: until}
		for _, d := range p.PaymentDays {
			if !d.Before(made) && !d.After(until) {
				row.Kept = true
			}
		}
		if row.Kept {
			r.Kept++
		} else {
			r.Broken++
		}
		r.Promises = append(r.Promises, row)
	}
	sort.SliceStable(r.Promises, func(a, b int) bool { return r.Promises[a].Until.Before(r.Promises[b].Until) })
	return r
}
