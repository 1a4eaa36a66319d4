package reports

import (
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

func TestCollectionsCountsAndPromises(t *testing.T) {
	at := func(day int) time.Time { return time.Date(2026, 5, day, 15, 0, 0, 0, time.UTC) }
	changes := []StatusChange{
		{AccountID: 1, From: "current", To: "past_due", Cause: "sweep", At: at(2)},
		{AccountID: 1, From: "past_due", To: "delinquent", Cause: "sweep", At: at(9)},
		{AccountID: 1, From: "delinquent", To: "suspended", Cause: "sweep", At: at(10)},
		{AccountID: 1, From: "suspended", To: "current", Cause: "payment", At: at(12)},
		{AccountID: 2, From: "past_due", To: "past_due", Cause: "promise", At: at(3)}, // a note: not counted
		{AccountID: 3, From: "current", To: "past_due", Cause: "sweep", At: at(20)},
	}
	promises := []PromiseNote{
		{AccountID: 2, Note: "promise to pay until 2026-05-15: by phone", At: at(3), PaymentDays: []billing.Date{d(2026, 5, 14)}}, // kept
		{AccountID: 3, Note: "promise to pay until 2026-05-25", At: at(20), PaymentDays: []billing.Date{d(2026, 5, 28)}},          // broken: paid late
		{AccountID: 4, Note: "promise to pay until 2026-06-05", At: at(25)},                                                       // not due in May
		{AccountID: 5, Note: "promise to pay cleared", At: at(26)},
	}
	r := Collections(d(2026, 5, 1), d(2026, 5, 31), changes, promises, nil)
	if r.PastDue != 2 || r.Delinquent != 1 || r.Suspended != 1 || r.Restored != 1 || len(r.Changes) != 5 {
		t.Errorf("counts %+v", r)
	}
	if r.Kept != 1 || r.Broken != 1 || len(r.Promises) != 2 || !r.Promises[0].Kept || r.Promises[0].Until != d(2026, 5, 15) || r.Promises[1].Kept {
		t.Errorf("promises %+v kept %d broken %d", r.Promises, r.Kept, r.Broken)
	}
}
