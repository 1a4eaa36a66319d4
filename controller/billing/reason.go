package billing

import (
	"fmt"
	"strings"
)

// ReasonKind is what one [Reason] says. Kinds are stable identifiers
// (stored as JSON with notices and shown by the API); the words are
// rendered from them: [Reason.Staff] for staff, [SubscriberWhy] for
// subscribers.
type ReasonKind string

// Reason kinds. The fields each uses are named; the others are zero.
const (
	// ReasonAccountClosed: the account is closed.
	ReasonAccountClosed ReasonKind = "account_closed"
	// ReasonInvoicePastDue: Invoice for Amount was due on Date.
	ReasonInvoicePastDue ReasonKind = "invoice_past_due"
	// ReasonDelinquencyDate: after Days of grace the oldest past-due
	// invoice's delinquency date is Date; Detail (staff only) says how the
	// date rule moved it, if it did.
	ReasonDelinquencyDate ReasonKind = "delinquency_date"
	// ReasonCreditsApplied: Amount of credit on the account pays the
	// oldest invoices (what is owed is what is left).
	ReasonCreditsApplied ReasonKind = "credits_applied"
	// ReasonTotalPastDue: Amount is past due on several invoices.
	ReasonTotalPastDue ReasonKind = "total_past_due"
	// ReasonExempt: the account is exempt from suspension; Detail (staff
	// only) is the exemption's reason.
	ReasonExempt ReasonKind = "exempt"
	// ReasonPromiseToPay: a promise to pay holds the account until Date.
	ReasonPromiseToPay ReasonKind = "promise_to_pay"
	// ReasonPendingPayment: payments of Amount still settling at the
	// gateway (ACH) cover the Limit past due, and the account type's
	// pending_payments setting (hold or restore) holds the account.
	ReasonPendingPayment ReasonKind = "pending_payment"
	// ReasonRestoredPending: service restored because payments of Amount
	// still settling would meet the reactivation rule (pending_payments
	// restore); the next sweep suspends again should they fail.
	ReasonRestoredPending ReasonKind = "restored_pending"
	// ReasonBelowMinimum: Amount is past its delinquency date, below the
	// minimum Limit that makes an account delinquent.
	ReasonBelowMinimum ReasonKind = "below_minimum"
	// ReasonOverdue: Amount is past its delinquency date (minimum Limit).
	ReasonOverdue ReasonKind = "overdue"
	// ReasonNothingPastDue: nothing is past due.
	ReasonNothingPastDue ReasonKind = "nothing_past_due"
	// ReasonRestoredPaid: service restored because the reactivation Rule
	// is met.
	ReasonRestoredPaid ReasonKind = "restored_paid"
	// ReasonRestoredHeld: service restored while a promise or an exemption
	// holds the account.
	ReasonRestoredHeld ReasonKind = "restored_held"
	// ReasonSuspended: services are suspended; paying Amount (by Rule)
	// restores them.
	ReasonSuspended ReasonKind = "suspended"
	// ReasonAutoSuspended: services suspended automatically now (Detail,
	// staff only, is the account type's name); paying Amount (by Rule)
	// restores them.
	ReasonAutoSuspended ReasonKind = "auto_suspended"
	// ReasonSuspensionDue: the next sweep will suspend the services (the
	// standing's preview of ReasonAutoSuspended; same fields).
	ReasonSuspensionDue ReasonKind = "suspension_due"
	// ReasonStatusDue: the next sweep will make the account Status.
	ReasonStatusDue ReasonKind = "status_due"
	// ReasonDelinquencyWaits: the account becomes delinquent on the next
	// allowed day (today is Date; Detail, staff only, says why not today).
	ReasonDelinquencyWaits ReasonKind = "delinquency_waits"
	// ReasonSuspensionWaits: suspension waits for the next allowed day
	// (today is Date; Detail, staff only, says why not today).
	ReasonSuspensionWaits ReasonKind = "suspension_waits"
	// ReasonNoAutoSuspend: the account type (Detail) does not suspend
	// automatically.
	ReasonNoAutoSuspend ReasonKind = "no_auto_suspend"
	// ReasonGuardHold: the blast-radius guard holds the suspension for
	// approval (in suspension batch Batch, when known).
	ReasonGuardHold ReasonKind = "guard_hold"
	// ReasonAwaitingReminder: suspension waits until a reminder was sent.
	ReasonAwaitingReminder ReasonKind = "awaiting_reminder"
	// ReasonSuspensionApproved: staff (Detail) approved the suspension held
	// in suspension batch Batch.
	ReasonSuspensionApproved ReasonKind = "suspension_approved"
	// ReasonSweepDecides: any suspension is decided by the next sweep.
	ReasonSweepDecides ReasonKind = "sweep_decides"
	// ReasonServicesPaused: suspension waits: the account's services are
	// paused (kept on) until Date, and the sweep leaves a paused service
	// alone.
	ReasonServicesPaused ReasonKind = "services_paused"
)

// Reason is one structured step of why an account has its status: a kind
// with the dates, amounts and invoice it is about. Staff read it as a
// precise sentence ([Reason.Staff]); subscribers read it in plain words in
// their locale ([SubscriberWhy]), never the staff sentence.
type Reason struct {
	Kind     ReasonKind `json:"kind"`
	Invoice  string     `json:"invoice,omitempty"`
	Amount   int64      `json:"amount,omitempty"`
	Limit    int64      `json:"limit,omitempty"`
	Currency Currency   `json:"currency,omitempty"`
	Date     Date       `json:"date,omitzero"`
	Days     int        `json:"days,omitempty"`
	// Rule is the reactivation rule (suspended, auto_suspended,
	// suspension_due, restored_paid).
	Rule   ReactivationRule `json:"rule,omitempty"`
	Status AccountStatus    `json:"status,omitempty"`
	Batch  int64            `json:"batch,omitempty"`
	// Detail is staff-only context (a rule's wording, a type's name, an
	// exemption reason); subscribers never see it.
	Detail string `json:"detail,omitempty"`
	// ThrottledTo: the account's type throttles instead of cutting off,
	// to this speed ("1 Mbit/s"): a suspension reason (suspended,
	// auto_suspended, suspension_due) then says the service is slowed.
	ThrottledTo string `json:"throttled_to,omitempty"`
	// Override: the setting the reason rests on (grace days, auto-suspend,
	// reactivation rule, reminders) is the account's own, not its type's
	// (see [AccountOverrides]); both renderers say so.
	Override bool `json:"override,omitempty"`
}

// reasonSettings are the overridable settings each reason kind rests on.
var reasonSettings = map[ReasonKind][]string{
	ReasonDelinquencyDate:  {SettingGraceDays},
	ReasonRestoredPaid:     {SettingReactivationRule},
	ReasonSuspended:        {SettingReactivationRule},
	ReasonAutoSuspended:    {SettingAutoSuspend, SettingReactivationRule},
	ReasonSuspensionDue:    {SettingAutoSuspend, SettingReactivationRule},
	ReasonNoAutoSuspend:    {SettingAutoSuspend},
	ReasonAwaitingReminder: {SettingReminderDaysBefore},
}

// reasonOverridden reports whether a reason of kind k rests on a setting
// that effective type t took from the account's overrides.
func reasonOverridden(t AccountType, k ReasonKind) bool {
	for _, s := range reasonSettings[k] {
		if t.overridden(s) {
			return true
		}
	}
	return false
}

// overrideNote closes sentence s with words marking it as resting on an
// account's own setting.
func overrideNote(s, note string) string {
	if s == "" {
		return s
	}
	return strings.TrimSuffix(s, ".") + " (" + note + ")."
}

// StaffWhy renders reasons as the precise staff sentences.
func StaffWhy(rs []Reason) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Staff())
	}
	return out
}

// Staff is the reason as the precise sentence staff read ("Invoice
// INV-000123 for USD 53.11 was due on Fri 2027-12-10.").
func (r Reason) Staff() string {
	s := r.staff()
	if r.Override {
		s = overrideNote(s, "this account's own setting, not its type's")
	}
	return s
}

func (r Reason) staff() string {
	money := func(v int64) string { return Money{Amount: v, Currency: r.Currency}.String() }
	switch r.Kind {
	case ReasonAccountClosed:
		return "The account is closed."
	case ReasonInvoicePastDue:
		return fmt.Sprintf("Invoice %s for %s was due on %s.", r.Invoice, money(r.Amount), r.Date.Label())
	case ReasonDelinquencyDate:
		line := fmt.Sprintf("After %d days' grace its delinquency date is %s", r.Days, r.Date.Label())
		if r.Detail != "" {
			line = r.Detail
		}
		return strings.TrimSuffix(line, ".") + "."
	case ReasonCreditsApplied:
		return fmt.Sprintf("Credits of %s on the account pay the oldest invoices first.", money(r.Amount))
	case ReasonTotalPastDue:
		return fmt.Sprintf("In all %s is past due.", money(r.Amount))
	case ReasonExempt:
		return "The account is exempt from suspension" + optionalReason(r.Detail) + "."
	case ReasonPromiseToPay:
		return fmt.Sprintf("A promise to pay holds the account until %s.", r.Date.Label())
	case ReasonPendingPayment:
		return fmt.Sprintf("Payments of %s still settling at the gateway cover the %s past due; the account type holds the account out of suspension meanwhile.", money(r.Amount), money(r.Limit))
	case ReasonRestoredPending:
		return fmt.Sprintf("Service restored on payments of %s still settling at the gateway; should they fail, the next sweep suspends again.", money(r.Amount))
	case ReasonBelowMinimum:
		return fmt.Sprintf("%s is past its delinquency date, below the minimum of %s that makes an account delinquent.", money(r.Amount), money(r.Limit))
	case ReasonOverdue:
		return fmt.Sprintf("%s is past its delinquency date (minimum for delinquency: %s).", money(r.Amount), money(r.Limit))
	case ReasonNothingPastDue:
		return "Nothing is past due."
	case ReasonRestoredPaid:
		return "Service restored: " + r.ruleWords(true) + "."
	case ReasonRestoredHeld:
		return "Service restored while the account is held out of suspension."
	case ReasonSuspended:
		if r.ThrottledTo != "" {
			return "Services are throttled to " + r.ThrottledTo + ". To restore full speed, " + r.ruleWords(false) + "."
		}
		return "Services are suspended. To restore them, " + r.ruleWords(false) + "."
	case ReasonAutoSuspended:
		if r.ThrottledTo != "" {
			return fmt.Sprintf("Services throttled to %s automatically (%s accounts throttle instead of cutting off). To restore full speed, %s.", r.ThrottledTo, r.Detail, r.ruleWords(false))
		}
		return fmt.Sprintf("Services suspended automatically (%s accounts auto-suspend). To restore them, %s.", r.Detail, r.ruleWords(false))
	case ReasonSuspensionDue:
		if r.ThrottledTo != "" {
			return fmt.Sprintf("The next delinquency sweep will throttle its services to %s (%s accounts throttle instead of cutting off). To restore full speed, %s.", r.ThrottledTo, r.Detail, r.ruleWords(false))
		}
		return fmt.Sprintf("The next delinquency sweep will suspend its services (%s accounts auto-suspend). To restore them, %s.", r.Detail, r.ruleWords(false))
	case ReasonStatusDue:
		return fmt.Sprintf("The next delinquency sweep will make the account %s.", r.Status)
	case ReasonDelinquencyWaits:
		return fmt.Sprintf("The account becomes delinquent on the next allowed day (today, %s: %s).", r.Date.Label(), r.Detail)
	case ReasonSuspensionWaits:
		return fmt.Sprintf("Suspension waits for the next allowed day (today, %s: %s).", r.Date.Label(), r.Detail)
	case ReasonNoAutoSuspend:
		return fmt.Sprintf("Accounts of type %s are not suspended automatically.", r.Detail)
	case ReasonGuardHold:
		if r.Batch != 0 {
			return fmt.Sprintf("Its suspension is held for approval in suspension batch %d.", r.Batch)
		}
		return "Its suspension is held for approval by the blast-radius guard."
	case ReasonAwaitingReminder:
		return "Suspension waits until a reminder has been sent."
	case ReasonSuspensionApproved:
		return fmt.Sprintf("Suspension approved by %s (suspension batch %d).", r.Detail, r.Batch)
	case ReasonSweepDecides:
		return "Suspension, if any, is decided by the next delinquency sweep."
	case ReasonServicesPaused:
		return fmt.Sprintf("Suspension waits: its services are paused and kept on until %s; the first delinquency sweep after that decides.", r.Date.Label())
	}
	return string(r.Kind)
}

// ruleWords is the reactivation rule in staff words: met ("the past-due
// amount is paid") or still to do ("pay the past-due amount of USD 53.11").
func (r Reason) ruleWords(met bool) string {
	money := Money{Amount: r.Amount, Currency: r.Currency}.String()
	switch {
	case r.Rule == ReactivateFullBalance && met:
		return "the full balance is paid"
	case r.Rule == ReactivateFullBalance:
		return "pay the full balance of " + money
	case met:
		return "the past-due amount is paid"
	}
	return "pay the past-due amount of " + money
}

// SubscriberWhy renders reasons for the subscriber, in plain words in
// locale loc on the local date today: amounts with their currency sign
// ("$53.11"), dates in words ("Saturday, December 18"), no rule names or
// staff details. Reasons that only concern staff (a guard hold, a
// weekday rule, an approval) are left out.
func SubscriberWhy(rs []Reason, loc Locale, today Date) []string {
	lang := loc.Lang()
	if phrases[lang] == nil {
		lang = "en"
	}
	p := phrases[lang]
	var out []string
	for _, r := range rs {
		if s := p(r, loc, today); s != "" {
			if r.Override {
				s = overrideNote(s, overrideWords[lang])
			}
			out = append(out, s)
		}
	}
	return out
}

// overrideWords mark a subscriber sentence that rests on a setting of the
// subscriber's own account.
var overrideWords = map[string]string{"en": "a term agreed for your account", "de": "eine für Ihr Konto vereinbarte Bedingung"}

// phrases are the subscriber sentences of each language: "" leaves a
// reason out.
var phrases = map[string]func(r Reason, loc Locale, today Date) string{
	"en": func(r Reason, loc Locale, today Date) string {
		money := func(v int64) string { return loc.Money(v, r.Currency) }
		date := func(d Date) string { return loc.Date(d, today) }
		restore := "pay the past-due amount of " + money(r.Amount)
		if r.Rule == ReactivateFullBalance {
			restore = "pay your full balance of " + money(r.Amount)
		}
		switch r.Kind {
		case ReasonAccountClosed:
			return "Your account is closed."
		case ReasonInvoicePastDue:
			return fmt.Sprintf("Invoice %s for %s was due on %s.", r.Invoice, money(r.Amount), date(r.Date))
		case ReasonDelinquencyDate:
			if r.Date.After(today) {
				return fmt.Sprintf("To keep your service, please pay before %s.", date(r.Date))
			}
		case ReasonCreditsApplied:
			return fmt.Sprintf("Credits of %s on your account pay your oldest invoices first.", money(r.Amount))
		case ReasonTotalPastDue:
			return fmt.Sprintf("In all, %s is past due.", money(r.Amount))
		case ReasonPromiseToPay:
			return fmt.Sprintf("Thanks to your promise to pay, your service stays on until %s.", date(r.Date))
		case ReasonPendingPayment:
			return fmt.Sprintf("Your payment of %s is on its way from your bank; your service stays on meanwhile.", money(r.Amount))
		case ReasonNothingPastDue:
			return "Your account is up to date."
		case ReasonRestoredPaid, ReasonRestoredHeld, ReasonRestoredPending:
			return "Your service has been restored."
		case ReasonSuspended:
			if r.ThrottledTo != "" {
				return fmt.Sprintf("Your service is slowed to %s until the balance is paid. To restore full speed, %s.", r.ThrottledTo, restore)
			}
			return fmt.Sprintf("Your service is suspended. To restore it, %s.", restore)
		case ReasonAutoSuspended:
			if r.ThrottledTo != "" {
				return fmt.Sprintf("Your service was slowed to %s because the amount past due was not paid. To restore full speed, %s.", r.ThrottledTo, restore)
			}
			return fmt.Sprintf("Your service was suspended because the amount past due was not paid. To restore it, %s.", restore)
		case ReasonSuspensionDue:
			if r.ThrottledTo != "" {
				return fmt.Sprintf("Your service will be slowed to %s soon unless you %s.", r.ThrottledTo, restore)
			}
			return fmt.Sprintf("Your service will be suspended soon unless you %s.", restore)
		case ReasonServicesPaused:
			return fmt.Sprintf("Your service is paused until %s. After that it will be suspended unless you %s.", date(r.Date), restore)
		}
		return ""
	},
	"de": func(r Reason, loc Locale, today Date) string {
		money := func(v int64) string { return loc.Money(v, r.Currency) }
		date := func(d Date) string { return loc.Date(d, today) }
		restore := "den überfälligen Betrag von " + money(r.Amount)
		if r.Rule == ReactivateFullBalance {
			restore = "Ihren gesamten Saldo von " + money(r.Amount)
		}
		switch r.Kind {
		case ReasonAccountClosed:
			return "Ihr Konto ist geschlossen."
		case ReasonInvoicePastDue:
			return fmt.Sprintf("Die Rechnung %s über %s war am %s fällig.", r.Invoice, money(r.Amount), date(r.Date))
		case ReasonDelinquencyDate:
			if r.Date.After(today) {
				return fmt.Sprintf("Damit Ihr Anschluss aktiv bleibt, zahlen Sie bitte vor %s.", date(r.Date))
			}
		case ReasonCreditsApplied:
			return fmt.Sprintf("Gutschriften von %s werden mit Ihren ältesten Rechnungen verrechnet.", money(r.Amount))
		case ReasonTotalPastDue:
			return fmt.Sprintf("Insgesamt sind %s überfällig.", money(r.Amount))
		case ReasonPromiseToPay:
			return fmt.Sprintf("Dank Ihrer Zahlungszusage bleibt Ihr Anschluss bis %s aktiv.", date(r.Date))
		case ReasonPendingPayment:
			return fmt.Sprintf("Ihre Zahlung von %s ist von Ihrer Bank unterwegs; Ihr Anschluss bleibt solange aktiv.", money(r.Amount))
		case ReasonNothingPastDue:
			return "Ihr Konto ist ausgeglichen."
		case ReasonRestoredPaid, ReasonRestoredHeld, ReasonRestoredPending:
			return "Ihr Anschluss ist wieder freigeschaltet."
		case ReasonSuspended:
			if r.ThrottledTo != "" {
				return fmt.Sprintf("Ihr Anschluss ist auf %s gedrosselt. Zahlen Sie %s, um die volle Geschwindigkeit wiederherzustellen.", r.ThrottledTo, restore)
			}
			return fmt.Sprintf("Ihr Anschluss ist gesperrt. Zahlen Sie %s, um ihn wieder freizuschalten.", restore)
		case ReasonAutoSuspended:
			if r.ThrottledTo != "" {
				return fmt.Sprintf("Ihr Anschluss wurde auf %s gedrosselt, weil der überfällige Betrag nicht bezahlt wurde. Zahlen Sie %s, um die volle Geschwindigkeit wiederherzustellen.", r.ThrottledTo, restore)
			}
			return fmt.Sprintf("Ihr Anschluss wurde gesperrt, weil der überfällige Betrag nicht bezahlt wurde. Zahlen Sie %s, um ihn wieder freizuschalten.", restore)
		case ReasonSuspensionDue:
			if r.ThrottledTo != "" {
				return fmt.Sprintf("Ihr Anschluss wird demnächst auf %s gedrosselt, wenn Sie nicht %s zahlen.", r.ThrottledTo, restore)
			}
			return fmt.Sprintf("Ihr Anschluss wird demnächst gesperrt, wenn Sie nicht %s zahlen.", restore)
		case ReasonServicesPaused:
			return fmt.Sprintf("Ihr Anschluss ist bis %s pausiert. Danach wird er gesperrt, wenn Sie nicht %s zahlen.", date(r.Date), restore)
		}
		return ""
	},
}
