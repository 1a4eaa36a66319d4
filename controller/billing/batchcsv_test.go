package billing

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseBatchCSV(t *testing.T) {
	// A BOM, names in any case and order, no method column (check), CRLF,
	// a quoted memo spanning two lines, a blank line and an empty row.
	good := "\ufeffAmount, ACCOUNT ,Reference,payer,MEMO\r\n" +
		"49.99,A-000042,1001,Jane Doe,\"front\r\ndesk\"\r\n" + // 2-3
		"\r\n" + // 4
		"120,legacy-7, 5531 ,ACME Corp,march\r\n" + // 5
		",,,,\r\n" + // 6
		"0.5,42,77,,\r\n" // 7
	f, err := ParseBatchCSV(strings.NewReader(good))
	if err != nil || len(f.Errors) != 0 {
		t.Fatalf("good file: %v %v", f.Errors, err)
	}
	want := []BatchRow{
		{Line: 2, Account: "A-000042", Method: PayCheck, Amount: "49.99", Reference: "1001", Payer: "Jane Doe", Memo: "front\ndesk"},
		{Line: 5, Account: "legacy-7", Method: PayCheck, Amount: "120", Reference: "5531", Payer: "ACME Corp", Memo: "march"},
		{Line: 7, Account: "42", Method: PayCheck, Amount: "0.5", Reference: "77"},
	}
	if fmt.Sprintf("%+v", f.Rows) != fmt.Sprintf("%+v", want) {
		t.Errorf("rows:\n%+v\nwant\n%+v", f.Rows, want)
	}

	// Every problem of every row, with its line and column.
	bad := "account,method,amount,reference,payer,memo\n" +
		"A-000042,check,49.99,1001,Jane,\n" + // 2: fine
		"A-000043,check,12.3.4,,Bob,\n" + // 3: amount, reference
		",cash,-5,,,\n" + // 4: account, amount
		"A-000044,card,0,,,\n" + // 5: method, amount
		"A-000045,Cash,abc,,,\n" + // 6: amount (Cash is fine)
		"A-000046,wire,10,,,\n" + // 7: fine
		"A-000047,cash,1,2,3\n" + // 8: five fields
		"A-000048,cash,5,x\"y,,\n" + // 9: bare quote
		"A-000049,bitcoin,,,\"" + strings.Repeat("p", 201) + "\",\n" + // 10: payer, method, amount
		"A-000050,cash,5,,\"Jane\nDoe\",a\x00b\n" // 11-12: a line break in the payer, NUL in the memo
	f, err = ParseBatchCSV(strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(f.Errors))
	for i, p := range f.Errors {
		got[i] = fmt.Sprintf("%d %s: %s", p.Line, p.Column, p.Reason)
	}
	wantProblems := []string{
		`3 amount: amount "12.3.4" is not a decimal number like 49.99`,
		`3 reference: a check needs its check number`,
		`4 account: the account (number, external id or id) is missing`,
		`4 amount: amount "-5" must not be negative`,
		`5 method: method "card" is charged through the payment gateway, not recorded by hand; use one of check, cash, wire, money_order, other`,
		`5 amount: amount "0" must be more than zero`,
		`6 amount: amount "abc" is not a decimal number like 49.99`,
		`8 : the row has 5 fields but the header has 6`,
		`9 : not valid CSV: bare " in non-quoted-field (line 9, character 18)`,
		`10 payer: payer is 201 characters long; at most 200 are allowed`,
		`10 method: method "bitcoin" is not one of check, cash, wire, money_order, other`,
		`10 amount: amount is missing`,
		`11 payer: payer contains a control character (U+000A) at byte 4; this field is one line of text`,
		`11 memo: memo contains a control character (U+0000) at byte 1`,
	}
	if strings.Join(got, "\n") != strings.Join(wantProblems, "\n") {
		t.Errorf("problems:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantProblems, "\n"))
	}
	if len(f.Rows) != 8 { // the rows that parsed, problems or not
		t.Errorf("%d rows parsed, want 8", len(f.Rows))
	}

	// Header problems stop there.
	for _, tc := range []struct{ file, want string }{
		{"account,amount,check_no\nA-1,5,1\n", `1 check_no: unknown column "check_no"; the columns are account, method, amount, reference, payer, memo`},
		{"account,amount,Amount\n", `1 amount: the column appears twice`},
		{"account,,amount\n", `1 column 2: the column has no name`},
		{"account,reference\nA-1,9\n", `1 amount: the amount column is required`},
		{"", `1 : the file is empty; its first line must name the columns`},
		{"account,\"amount\n", `1 : not valid CSV: extraneous or missing " in quoted-field`},
	} {
		f, err := ParseBatchCSV(strings.NewReader(tc.file))
		if err != nil || len(f.Errors) != 1 || f.Rows != nil {
			t.Errorf("%q: rows %v problems %v err %v; want one problem", tc.file, f.Rows, f.Errors, err)
			continue
		}
		if p := f.Errors[0]; !strings.HasPrefix(fmt.Sprintf("%d %s: %s", p.Line, p.Column, p.Reason), tc.want) {
			t.Errorf("%q: %+v, want %q", tc.file, p, tc.want)
		}
	}
}

func TestCheckTextAndBounds(t *testing.T) {
	for _, tc := range []struct {
		s     string
		multi bool
		ok    bool
	}{
		{"plain", false, true}, {"a\x00b", true, false}, {"a\x1bb", true, false}, {"a\tb", false, false},
		{"a\tb\r\nc", true, true}, {"\x7f", true, false}, {"bad \xff utf8", true, false}, {"héllo ✓", false, true},
	} {
		if err := CheckText(tc.s, tc.multi, 100); (err == nil) != tc.ok {
			t.Errorf("CheckText(%q, %v): %v, want ok %v", tc.s, tc.multi, err, tc.ok)
		}
	}
	if CheckText(strings.Repeat("é", 11), false, 10) == nil {
		t.Error("11 characters passed a limit of 10")
	}
	if CheckAmount("amount", MaxAmount) != nil || CheckAmount("amount", MaxAmount+1) == nil || CheckAmount("fee", -MaxAmount-1) == nil {
		t.Error("CheckAmount's bound is not ±MaxAmount")
	}
	for _, s := range []string{"0000-01-01", "1969-12-31", "0001-01-01"} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) accepted a year before %d", s, MinYear)
		}
	}
	if _, err := ParseDate("1970-01-01"); err != nil {
		t.Error(err)
	}
	today := NewDate(2027, 1, 1)
	if CheckNotFuture("received_date", today.AddDays(MaxFutureDays), today) != nil || CheckNotFuture("received_date", today.AddDays(MaxFutureDays+1), today) == nil {
		t.Error("CheckNotFuture's bound is not MaxFutureDays")
	}
}
