package billing

import "time"

// DeliveryChannel is how one copy of an invoice travels.
type DeliveryChannel string

// Delivery channels. An account whose delivery is "both" gets one of each.
const (
	ChannelEmail DeliveryChannel = "email"
	ChannelMail  DeliveryChannel = "mail"
)

// Valid reports whether c is a known channel.
func (c DeliveryChannel) Valid() bool { return c == ChannelEmail || c == ChannelMail }

// Channels lists the channels of delivery preference d (email for "").
func (d Delivery) Channels() []DeliveryChannel {
	switch d {
	case DeliveryMail:
		return []DeliveryChannel{ChannelMail}
	case DeliveryBoth:
		return []DeliveryChannel{ChannelEmail, ChannelMail}
	}
	return []DeliveryChannel{ChannelEmail}
}

// DeliveryStatus is where one invoice delivery is:
//
//	email: queued → sent
//	mail:  queued → sent_to_vendor → mailed, or returned (to sender)
//
// and failed when it was given up (a permanent error, or the last attempt).
type DeliveryStatus string

// Delivery statuses.
const (
	DeliveryQueued       DeliveryStatus = "queued"
	DeliverySent         DeliveryStatus = "sent"
	DeliverySentToVendor DeliveryStatus = "sent_to_vendor"
	DeliveryMailed       DeliveryStatus = "mailed"
	DeliveryReturned     DeliveryStatus = "returned"
	DeliveryFailed       DeliveryStatus = "failed"
)

// Valid reports whether s is a known status.
func (s DeliveryStatus) Valid() bool {
	switch s {
	case DeliveryQueued, DeliverySent, DeliverySentToVendor, DeliveryMailed, DeliveryReturned, DeliveryFailed:
		return true
	}
	return false
}

// InvoiceDelivery is one invoice on its way to a subscriber by one channel:
// a row of the delivery outbox.
type InvoiceDelivery struct {
	ID            int64           `json:"id"`
	InvoiceID     int64           `json:"invoice_id"`
	InvoiceNumber string          `json:"invoice_number"`
	AccountID     int64           `json:"account_id"`
	BillingRunID  int64           `json:"billing_run_id,omitempty"`
	Channel       DeliveryChannel `json:"channel" enum:"email,mail"`
	Status        DeliveryStatus  `json:"status" enum:"queued,sent,sent_to_vendor,mailed,returned,failed"`
	// To is the email address, or the postal address on one line, the last
	// attempt went to ("" before the first).
	To       string `json:"to"`
	Attempts int    `json:"attempts"`
	// NextAttemptAt is when a queued delivery is tried next.
	NextAttemptAt time.Time `json:"next_attempt_at"`
	// LastError says why the last attempt failed ("" after a success).
	LastError string `json:"last_error"`
	// VendorLetterID is the print-and-mail vendor's letter id (mail only,
	// once accepted); VendorStatus the last event it reported for it
	// ("letter.in_transit").
	VendorLetterID string `json:"vendor_letter_id,omitempty"`
	VendorStatus   string `json:"vendor_status,omitempty"`
	// IdempotencyKey goes with every create-letter request for this
	// delivery, so a retry never prints a second letter.
	IdempotencyKey string `json:"idempotency_key"`
	// Resends counts re-sends on demand.
	Resends   int       `json:"resends"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// SentAt: the mail server, or the vendor, accepted it.
	SentAt     *time.Time `json:"sent_at,omitempty"`
	MailedAt   *time.Time `json:"mailed_at,omitempty"`
	ReturnedAt *time.Time `json:"returned_at,omitempty"`
	// JobID is the River job that delivers it (0 until that job first
	// runs).
	JobID int64 `json:"job_id,omitempty"`
}

// DeliveryFilter selects deliveries in listings; zero fields match
// everything.
type DeliveryFilter struct {
	RunID     int64
	InvoiceID int64
	AccountID int64
	Status    DeliveryStatus
	Channel   DeliveryChannel
	// AfterID pages: only deliveries with a larger id.
	AfterID int64
	// Limit caps the list (default 100, at most 1000).
	Limit int
}

// DeliveryCount is how many deliveries are in one channel and status.
type DeliveryCount struct {
	Channel DeliveryChannel `json:"channel"`
	Status  DeliveryStatus  `json:"status"`
	Count   int64           `json:"count"`
}

// LetterEvent is a print-and-mail vendor's status event about a letter.
type LetterEvent struct {
	// ID is the vendor's event id (deduplicates redeliveries).
	ID string
	// Type is the vendor's event type ("letter.mailed").
	Type string
	// LetterID is the vendor's letter id; DeliveryID the delivery that
	// created it (from the letter's metadata; 0 if absent).
	LetterID   string
	DeliveryID int64
	// Status is what the event means for the delivery: DeliveryMailed,
	// DeliveryReturned, or "" for an event that only updates VendorStatus.
	Status DeliveryStatus
	At     time.Time
}
