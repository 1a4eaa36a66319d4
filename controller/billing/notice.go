package billing

import (
	"fmt"
	"strings"
	"time"
)

// NoticeKind is what a notice to a subscriber is about.
type NoticeKind string

// Notice kinds.
const (
	// NoticeReminder: a payment reminder before the delinquency date (or, at
	// delinquency, when no earlier reminder went out).
	NoticeReminder NoticeKind = "reminder"
	// NoticeSuspended: service was suspended for non-payment.
	NoticeSuspended NoticeKind = "suspended"
	// NoticeRestored: service is back after a payment.
	NoticeRestored NoticeKind = "restored"
	// NoticeTicketReply: staff answered the subscriber's support ticket
	// (queued with the reply; a subscriber's own reply queues none).
	NoticeTicketReply NoticeKind = "ticket_reply"
	// NoticeReceipt: the receipt of a posted payment (queued with it,
	// per the account type's receipts_for; see [ReceiptNotice]).
	NoticeReceipt NoticeKind = "receipt"
)

// NoticeKinds lists every kind, in a stable order.
var NoticeKinds = []NoticeKind{NoticeReminder, NoticeSuspended, NoticeRestored, NoticeTicketReply, NoticeReceipt, NoticeAuthenticate}

// Valid reports whether k is a known kind.
func (k NoticeKind) Valid() bool {
	return k == NoticeReminder || k == NoticeSuspended || k == NoticeRestored || k == NoticeTicketReply || k == NoticeReceipt ||
		k == NoticeAuthenticate
}

// Notice statuses.
const (
	// NoticeQueued: waiting to be sent (or retried).
	NoticeQueued = "queued"
	// NoticeSent: accepted by the mail server.
	NoticeSent = "sent"
	// NoticeFailed: given up (a permanent rejection, or too many attempts).
	NoticeFailed = "failed"
	// NoticeSuperseded: no longer true when it was to be sent (the account
	// paid, was restored, …); never sent. Its SupersededReason says why.
	NoticeSuperseded = "superseded"
)

// NoticeData is what a notice says, captured when it is queued (stored as
// JSON with the notice); the text is rendered from it when it is sent.
type NoticeData struct {
	AccountNumber string   `json:"account_number"`
	AccountName   string   `json:"account_name"`
	Currency      Currency `json:"currency"`
	// Amount owed (reminder), past due (suspended) or paid (restored), in
	// minor units.
	Amount int64 `json:"amount"`
	// Balance of the account when the notice was queued, in minor units.
	Balance int64 `json:"balance"`
	// DueDate of the (oldest) invoice the notice is about; zero if none.
	DueDate Date `json:"due_date"`
	// DelinquencyDate the account becomes delinquent on unless it pays; zero
	// if none.
	DelinquencyDate Date     `json:"delinquency_date"`
	InvoiceNumbers  []string `json:"invoice_numbers,omitempty"`
	// Why the account's status changed, in the staff's precise words
	// (never shown to the subscriber). With Reasons it is their staff
	// words ([StaffWhy]): the store keeps only the reasons and renders Why
	// when it reads the notice.
	Why []string `json:"why,omitempty"`
	// Reasons are Why as structured reasons: the subscriber's text is
	// rendered from them ([SubscriberWhy]) in the account's locale.
	Reasons []Reason `json:"reasons,omitempty"`
	// PortalURL is where the subscriber pays.
	PortalURL string `json:"portal_url,omitempty"`
	// Company is the ISP's name, signed under the notice.
	Company string `json:"company,omitempty"`
	// ThrottledTo, on a suspension notice of an account type that
	// throttles, is the speed the service keeps ("1 Mbit/s"): the notice
	// says the service is slowed, not cut off.
	ThrottledTo string `json:"throttled_to,omitempty"`
	// TicketID, TicketSubject and Message, on a ticket reply notice: the
	// ticket answered and the staff's message (plain text).
	TicketID      int64  `json:"ticket_id,omitempty"`
	TicketSubject string `json:"ticket_subject,omitempty"`
	Message       string `json:"message,omitempty"`
	// PaymentID, PaymentMethod ("Visa ending 4242", "check 1234") and
	// PaymentDate, on a receipt: the payment received (Amount), what it
	// paid (InvoiceNumbers) and the balance after it (Balance).
	PaymentID     int64  `json:"payment_id,omitempty"`
	PaymentMethod string `json:"payment_method,omitempty"`
	PaymentDate   Date   `json:"payment_date,omitzero"`
}

// Notice is one message to a subscriber in the outbox.
type Notice struct {
	ID        int64      `json:"id" readOnly:"true"`
	AccountID int64      `json:"account_id"`
	Kind      NoticeKind `json:"kind" enum:"reminder,suspended,restored,ticket_reply,receipt,payment_authentication"`
	// InvoiceID is the invoice a reminder is about; 0 for none.
	InvoiceID int64 `json:"invoice_id,omitempty"`
	// DaysBefore is how many days before the delinquency date a reminder is
	// for (0: the reminder sent at delinquency).
	DaysBefore int `json:"days_before"`
	// To is the recipient's email address.
	To   string     `json:"to"`
	Data NoticeData `json:"data"`
	// BusinessHours: send only inside the account type's business hours
	// (restore notices go at once).
	BusinessHours bool   `json:"business_hours"`
	Status        string `json:"status" enum:"queued,sent,failed,superseded" readOnly:"true"`
	// Attempts counts the sends tried (deferrals for business hours do not
	// count).
	Attempts int `json:"attempts" readOnly:"true"`
	// NextAttemptAt is when a queued notice is tried next (after a
	// business-hours deferral or a failed attempt).
	NextAttemptAt time.Time  `json:"next_attempt_at" readOnly:"true"`
	LastError     string     `json:"last_error,omitempty" readOnly:"true"`
	CreatedAt     time.Time  `json:"created_at" readOnly:"true"`
	SentAt        *time.Time `json:"sent_at,omitempty" readOnly:"true"`
	// SupersededReason says why a superseded notice was no longer true
	// when it was to be sent ("the account is no longer suspended (it is
	// past_due)").
	SupersededReason string `json:"superseded_reason,omitempty" readOnly:"true"`
	// JobID is the River job that sends the notice (0 until it first runs,
	// and again after a resend).
	JobID int64 `json:"job_id,omitempty" readOnly:"true"`

	// TimeZone and Hours are the account type's time zone and business
	// hours, filled in by the store for delivery; they are not stored with
	// the notice and not part of its API representation.
	TimeZone string        `json:"-"`
	Hours    BusinessHours `json:"-"`
	// Locale is the account's (or else its type's) locale, filled in by the
	// store for delivery ("" when neither names one).
	Locale Locale `json:"-"`
	// Current is the account's standing when the notice's job read it for
	// sending, filled in by the store for delivery.
	Current NoticeStanding `json:"-"`
}

// NoticeStanding is what a sender knows of an account's current state
// when a queued notice is about to go: the input of [NoticeStillTrue].
type NoticeStanding struct {
	Status AccountStatus
	// InvoiceRemaining is what is still owed on a reminder's invoice (0
	// once it is paid, credited or void).
	InvoiceRemaining int64
	// Later is the kind of a suspended or restored notice about the
	// account queued after this one and not superseded ("" if none).
	Later NoticeKind
	// Today is the local date in the account type's time zone.
	Today Date
}

// NoticeStillTrue decides, at send time, whether notice n still tells the
// truth about an account whose current state is s; when it does not, the
// notice is superseded (never sent) and why says what changed:
//   - a suspension notice, unless the account is still suspended and no
//     later suspended or restored notice replaces it;
//   - a restore notice, if the account is suspended again;
//   - a reminder, if its invoice is paid (or void), the account is closed
//     or suspended (the suspension notice says what to pay), or the
//     reminder says the invoice is past due while the account is current;
//   - a ticket reply never: it answers what the subscriber asked, whatever
//     the account's standing (closed accounts included); nor a receipt: the
//     payment was received.
func NoticeStillTrue(n Notice, s NoticeStanding) (ok bool, why string) {
	if n.Kind == NoticeTicketReply || n.Kind == NoticeReceipt {
		return true, ""
	}
	if s.Status == AccountClosed {
		return false, "the account is closed"
	}
	switch n.Kind {
	case NoticeSuspended:
		if s.Status != AccountSuspended {
			return false, fmt.Sprintf("the account is no longer suspended (it is %s)", s.Status)
		}
		if s.Later != "" {
			return false, fmt.Sprintf("a later %s notice replaces it", s.Later)
		}
	case NoticeRestored:
		if s.Status == AccountSuspended {
			return false, "the account is suspended again"
		}
	case NoticeReminder:
		switch {
		case s.InvoiceRemaining <= 0:
			return false, "the invoice is paid"
		case s.Status == AccountSuspended:
			return false, "the account is suspended; its suspension notice says what to pay"
		case s.Status == AccountCurrent && !n.Data.DueDate.IsZero() && n.Data.DueDate.Before(s.Today):
			return false, "the account is current: nothing is past due"
		}
	}
	return true, ""
}

// Validate checks a notice about to be queued. Errors are EINVALID and name
// the field: account_id, kind, invoice_id (required for reminders),
// days_before (not negative) or to (required: a notice needs an address).
func (n Notice) Validate() error {
	switch {
	case n.AccountID <= 0:
		return Errorf(EINVALID, "notice account_id %d is not an account id", n.AccountID)
	case !n.Kind.Valid():
		return Errorf(EINVALID, "notice kind %q is not reminder, suspended, restored, ticket_reply, receipt or payment_authentication", n.Kind)
	case n.Kind == NoticeReminder && n.InvoiceID <= 0:
		return Errorf(EINVALID, "a reminder needs the invoice_id it is about")
	case n.Kind == NoticeTicketReply && n.Data.TicketID <= 0:
		return Errorf(EINVALID, "a ticket reply notice needs the ticket_id it answers")
	case n.Kind == NoticeReceipt && n.Data.PaymentID <= 0:
		return Errorf(EINVALID, "a receipt needs the payment_id it is for")
	case n.InvoiceID < 0:
		return Errorf(EINVALID, "notice invoice_id %d is negative", n.InvoiceID)
	case n.DaysBefore < 0:
		return Errorf(EINVALID, "notice days_before %d is negative", n.DaysBefore)
	case strings.TrimSpace(n.To) == "":
		return Errorf(EINVALID, "notice to (the email address) is required")
	}
	return nil
}

// NoticeFilter selects notices in listings; zero fields match everything.
type NoticeFilter struct {
	AccountID int64
	// Status is queued, sent, failed or superseded.
	Status string
	Kind   NoticeKind
	// AfterID pages: only notices with a larger id.
	AfterID int64
	// Limit caps the list (default 100, at most 1000).
	Limit int
}

// DefaultBusinessHours is the window used when an account type has none.
var DefaultBusinessHours = BusinessHours{Start: 9, End: 17}

// valid reports whether h is a usable window: 0 <= Start < End <= 24.
func (h BusinessHours) valid() bool { return h.Start >= 0 && h.End <= 24 && h.Start < h.End }

// Effective returns h, or [DefaultBusinessHours] when h is zero or not a
// valid window.
func (h BusinessHours) Effective() BusinessHours {
	if !h.valid() {
		return DefaultBusinessHours
	}
	return h
}

// NextSendTime returns the first instant at or after now that lies inside
// the business hours h (local hours [Start, End) in loc): now itself when it
// is inside, today's Start when now is before it, otherwise tomorrow's
// Start. Hours are wall-clock hours in loc, so across a DST change the
// window keeps its local hours; a Start hour that a spring-forward change
// skips begins at the first instant after the gap. A zero or invalid h
// means 9-17; a nil loc means UTC.
func NextSendTime(now time.Time, loc *time.Location, h BusinessHours) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	h = h.Effective()
	local := now.In(loc)
	y, m, d := local.Date()
	start := wallClock(y, m, d, h.Start, loc)
	end := wallClock(y, m, d, h.End, loc) // End 24 is the next midnight
	switch {
	case now.Before(start):
		return start
	case now.Before(end):
		return now
	default:
		return wallClock(y, m, d+1, h.Start, loc)
	}
}

// wallClock returns the instant the local wall clock in loc shows hour:00 on
// y-m-d (normalised: hour 24 is the next midnight). When a DST change skips
// that time, it is the first instant after the gap (time.Date alone would
// give an instant before it).
func wallClock(y int, m time.Month, d, hour int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, hour, 0, 0, 0, loc)
	want := time.Date(y, m, d, hour, 0, 0, 0, time.UTC)
	l := t.In(loc)
	if got := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC); got.Before(want) {
		if _, end := t.ZoneBounds(); !end.IsZero() {
			return end
		}
	}
	return t
}
