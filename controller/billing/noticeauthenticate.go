package billing

// NoticeAuthenticate: an autopay charge was not made because the card's
// bank asks the cardholder to authenticate the payment (3-D Secure), which
// a charge made without them (off session) cannot do. The notice says so
// and links to the portal's pay page, where paying on session lets the
// bank's check happen.
const NoticeAuthenticate NoticeKind = "payment_authentication"

// FailureAuthenticationRequired is the failure code of an attempt the
// bank refused for want of the cardholder's authentication (payments'
// FailureAuthenticationRequired; billing does not import payments).
const FailureAuthenticationRequired = "authentication_required"

// AuthenticationNotice is the notice asking the subscriber to pay in the
// portal because the autopay attempt a could not be made without their
// authentication, addressed to c; false when a is not such an attempt
// (autopay, failed, authentication_required) or c has no e-mail address.
func AuthenticationNotice(a PaymentAttempt, accountNumber string, balance int64, c Contact) (Notice, bool) {
	if a.Trigger != TriggerAutopay || a.Status != "failed" || a.FailureCode != FailureAuthenticationRequired {
		return Notice{}, false
	}
	n := Notice{AccountID: a.AccountID, Kind: NoticeAuthenticate,
		Data: NoticeData{AccountNumber: accountNumber, Currency: a.Currency, Amount: a.Amount, Balance: balance}}
	if a.InvoiceID != nil {
		n.InvoiceID = *a.InvoiceID
	}
	return c.address(n)
}
