package billing

// Totals for the staff dashboard, computed by the store in one query each.

// ReceivableTotal is accounts receivable in one currency: what accounts
// owe (the sum of positive balances) and the credit others hold (the sum
// of negative balances, as a positive amount), from the journal.
type ReceivableTotal struct {
	Currency Currency `json:"currency"`
	// Owed is the sum of the balances of the accounts that owe, in minor
	// units; AccountsOwing counts them.
	Owed          int64 `json:"owed"`
	AccountsOwing int64 `json:"accounts_owing"`
	// Credit is the sum of the credit balances, in minor units (positive);
	// AccountsInCredit counts the accounts holding one.
	Credit           int64 `json:"credit"`
	AccountsInCredit int64 `json:"accounts_in_credit"`
	// Net is Owed - Credit: the receivable ledger's balance.
	Net int64 `json:"net"`
}

// PaymentTotal is how many payments were posted in one currency over a
// span of time and their amount (minor units); reversed payments are left
// out.
type PaymentTotal struct {
	Currency Currency `json:"currency"`
	Count    int64    `json:"count"`
	Amount   int64    `json:"amount"`
}

// NoticeCount is how many notices of a kind are in a status.
type NoticeCount struct {
	Kind   NoticeKind `json:"kind" enum:"reminder,suspended,restored,ticket_reply,payment_authentication"`
	Status string     `json:"status" enum:"queued,sent,failed,superseded"`
	Count  int64      `json:"count"`
}
