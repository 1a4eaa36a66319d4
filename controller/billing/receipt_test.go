package billing

import (
	"slices"
	"testing"
)

// TestReceiptMethodWords: a receipt names the card's brand and last 4, the
// bank account's last 4 and bank, or a check's number.
func TestReceiptMethodWords(t *testing.T) {
	for want, r := range map[string]Receipt{
		"Visa ending 4242": {Method: PayCard, Brand: "visa", Last4: "4242"},
		"card ending 0005": {Method: PayCard, Brand: "unknown", Last4: "0005"},
		"bank account ending 6789 (STRIPE TEST BANK)": {Method: PayACH, Last4: "6789", BankName: "STRIPE TEST BANK"},
		"check 1042": {Method: PayCheck, Reference: "1042"},
		"cash":       {Method: PayCash},
	} {
		if got := r.MethodWords(); got != want {
			t.Errorf("%+v: %q, want %q", r, got, want)
		}
	}
}

// TestReceiptNoticeFollowsTheTypesChannels: by default portal and autopay
// payments get a receipt, staff ones do not; receipts_for [] sends none;
// an unknown channel is refused naming receipts_for; no e-mail address,
// no receipt.
func TestReceiptNoticeFollowsTheTypesChannels(t *testing.T) {
	typ := resType()
	if err := typ.Validate(); err != nil || !slices.Equal(typ.ReceiptsFor, DefaultReceiptChannels) {
		t.Fatalf("default: %v %v", typ.ReceiptsFor, err)
	}
	r := Receipt{PaymentID: 5, AccountID: 1, Amount: 100, Currency: "USD", Method: PayCard, Brand: "visa", Last4: "4242",
		Invoices: []Allocation{{InvoiceID: 3, InvoiceNumber: "INV-3", Amount: 100}}}
	c := Contact{Email: "x@example.com"}
	for ch, want := range map[ReceiptChannel]bool{ReceiptPortal: true, ReceiptAutopay: true, ReceiptStaff: false} {
		n, ok := ReceiptNotice(typ, ch, r, c)
		if ok != want || (ok && (n.Kind != NoticeReceipt || n.Data.PaymentMethod != "Visa ending 4242" || n.Data.InvoiceNumbers[0] != "INV-3" || n.Validate() != nil)) {
			t.Errorf("%s: %+v %v, want %v", ch, n, ok, want)
		}
	}
	if _, ok := ReceiptNotice(typ, ReceiptPortal, r, Contact{}); ok {
		t.Error("a receipt without an e-mail address")
	}
	typ.ReceiptsFor = []ReceiptChannel{}
	if err := typ.Validate(); err != nil || typ.SendsReceipt(ReceiptPortal) {
		t.Fatalf("none: %v %v", typ.ReceiptsFor, err)
	}
	typ.ReceiptsFor = []ReceiptChannel{"fax"}
	wantInvalid(t, typ.Validate(), "receipts_for", "fax")
}
