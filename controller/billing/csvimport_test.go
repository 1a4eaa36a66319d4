package billing

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

func parseCSV(t *testing.T, s string) ImportFile {
	t.Helper()
	f, err := ParseAccountsCSV(strings.NewReader(s))
	if err != nil {
		t.Fatalf("ParseAccountsCSV: %v", err)
	}
	return f
}

func TestParseAccountsCSVGoodFile(t *testing.T) {
	// BOM, header in another order and case, an account without services,
	// an account whose rows are not adjacent, a quoted field spanning lines.
	in := "\ufeffExternal_ID, Name ,account_type,Currency,email,address_line1,city,service_name,pop,plan,start_date,method,addresses,device,if_index\n" +
		"c-1,Jane Doe,residential,usd,jane@example.net,\"1 Main St\nApt 2\",Austin,home,north-1,Basic 25,2025-01-15,routeros,100.64.1.20; 100.64.1.21  2001:db8::/64,,\n" +
		"c-2,ACME Corp,commercial,USD,,,,,,,,,,,\n" +
		"c-1,Jane Doe,residential,USD,JANE@example.net,\"1 Main St\nApt 2\",Austin,cabin,south-2,,,snmp,,olt-3,17\n" +
		",,,,,,,,,,,,,,\n" + // a spreadsheet's empty row
		"c-3,Bob,residential,EUR,,,,backhaul,north-1,,,,,,\n"
	f := parseCSV(t, in)
	if p := f.Problems(); len(p) != 0 {
		t.Fatalf("problems in a good file: %v", p)
	}
	if f.Rows != 4 || len(f.Accounts) != 3 {
		t.Fatalf("rows %d accounts %d, want 4 rows of 3 accounts", f.Rows, len(f.Accounts))
	}
	jane, acme, bob := f.Accounts[0], f.Accounts[1], f.Accounts[2]
	if jane.Line != 2 || jane.Rows != 2 || jane.Account.ExternalID != "c-1" || jane.Account.Name != "Jane Doe" ||
		jane.Account.Currency != "USD" || jane.AccountType != "residential" || jane.Account.Address.Line1 != "1 Main St\nApt 2" {
		t.Errorf("jane = %+v", jane)
	}
	if len(jane.Services) != 2 {
		t.Fatalf("jane's services = %+v", jane.Services)
	}
	home, cabin := jane.Services[0], jane.Services[1]
	if home.Line != 2 || home.Plan != "Basic 25" || home.Service.StartDate != mustDate("2025-01-15") || home.Service.POP != "north-1" ||
		!slices.Equal(home.Service.Binding.Addresses, []string{"100.64.1.20", "100.64.1.21", "2001:db8::/64"}) || home.Service.State != StateActive {
		t.Errorf("home = %+v", home)
	}
	// Line 3 is the second line of the quoted address.
	if acme.Line != 4 || acme.Rows != 1 || len(acme.Services) != 0 || acme.AccountType != "commercial" {
		t.Errorf("acme = %+v", acme)
	}
	if cabin.Line != 5 || cabin.Plan != "" || cabin.Service.Binding.Method != MethodSNMP || cabin.Service.Binding.IfIndex != 17 || cabin.Service.Binding.Device != "olt-3" {
		t.Errorf("cabin = %+v", cabin)
	}
	if len(bob.Services) != 1 || bob.Services[0].Service.Binding.Method != MethodLog || bob.Line != 8 {
		t.Errorf("bob = %+v: a service without a binding is method log", bob)
	}
}

func TestParseAccountsCSVReportsEveryProblem(t *testing.T) {
	header := "external_id,name,email,account_type,currency,service_name,pop,plan,start_date,end_date,method,addresses,device,if_index,colour\n"
	rows := []string{
		"a-1,Ann,ann@example.net,res,USD,home,north-1,Basic,2025-01-01,,routeros,100.64.0.1,,,blue", // 2: fine
		"a-2,Bo,not-an-email,res,XYZ,home,north-1,,,,log,,,,",                                       // 3: email and currency
		"a-3,Cy,,res,USD,port,north-1,,,,snmp,,olt-1,-3,",                                           // 4: negative if_index
		"a-4,Di,,res,USD,port,north-1,,,,snmp,,olt-1,seven,",                                        // 5: garbled if_index
		"a-5,Ed,,res,USD,home,north-1,Basic,2025-02-30,,log,,,,",                                    // 6: bad date
		"a-1,Ann B,ann@example.net,res,USD,cabin,north-1,,,,log,,,,",                                // 7: disagrees with line 2
		"a-1,Ann,ann@example.net,res,USD,home,north-1,,,,log,,,,",                                   // 8: duplicate service name
		",Fay,,res,USD,,,,,,,,,,",                                                                   // 9: no external_id
		`a-6,Gus "the" Man,,res,USD,,,,,,,,,,`,                                                      // 10: bare quote
		"a-7,Hal,,res,USD",                                                                          // 11: too few fields
		"a-8,,,,USD,home,NORTH 1,Gold,,2024-01-01,routeros,300.1.1.1,,,",                            // 12: name, type, pop, start_date, addresses
		"a-9,Ivy,,res,USD,home,north-1,,2025-03-01,2025-02-01,radius,,,,",                           // 13: end before start, radius without user
	}
	f := parseCSV(t, header+strings.Join(rows, "\n")+"\n")
	want := []struct {
		line int
		col  string
		frag string
	}{
		{1, "colour", `unknown column "colour"`},
		{3, "currency", `"XYZ"`},
		{3, "email", `"not-an-email"`},
		{4, "if_index", "-3 must be a positive"},
		{5, "if_index", `"seven" is not a whole number`},
		{6, "start_date", `"2025-02-30"`},
		{7, "name", `"Ann B" differs from "Ann" on line 2`},
		{8, "service_name", `"home" appears twice for external_id "a-1" (lines 2 and 8)`},
		{9, "external_id", "external_id is required"},
		{10, "name", `a " inside a field that is not quoted`},
		{11, "", "row has 5 fields but the header has 15"},
		{12, "account_type", "account_type is required"},
		{12, "addresses", `"300.1.1.1"`},
		{12, "name", "name is required"},
		{12, "pop", `"NORTH 1"`},
		{12, "start_date", `plan "Gold"`},
		{13, "end_date", "must come after start_date"},
		{13, "radius_username", "radius_username"},
	}
	got := f.Problems()
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(got), len(want), joinErrs(got))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.Line != w.line || g.Column != w.col || !strings.Contains(g.Reason, w.frag) {
			t.Errorf("problem %d = %v; want line %d, column %q, reason containing %q", i, g, w.line, w.col, w.frag)
		}
	}
	// The first account stays valid until its later rows taint it; the
	// tainted account carries every bad row's problems, so skipping invalid
	// accounts drops it whole.
	for _, a := range f.Accounts {
		if a.Account.ExternalID == "a-1" && len(a.Errors) != 2 {
			t.Errorf("a-1 has problems %v, want those of lines 7 and 8", a.Errors)
		}
		if a.Account.ExternalID == "a-6" && (a.Rows != 1 || len(a.Errors) != 1) {
			t.Errorf("the malformed row of a-6 is not its own: %+v", a)
		}
	}
	if f.Rows != len(rows) {
		t.Errorf("rows = %d, want %d", f.Rows, len(rows))
	}
}

func joinErrs(errs []ImportError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintln(&b, e.Error())
	}
	return b.String()
}

func TestParseAccountsCSVHeader(t *testing.T) {
	f := parseCSV(t, "external_id,Name,currency,name,,shoe size\nx,y,USD,z,,\n")
	got := joinErrs(f.Problems())
	for _, frag := range []string{
		`line 1, column account_type: required column "account_type" is missing`,
		`line 1, column name: column "name" appears twice (columns 2 and 4)`,
		`line 1, column shoe size: unknown column "shoe size"`,
	} {
		if !strings.Contains(got, frag) {
			t.Errorf("problems lack %q:\n%s", frag, got)
		}
	}
	if len(f.Accounts) != 0 {
		t.Errorf("rows were read without a required column: %+v", f.Accounts)
	}

	// Spreadsheet habits: names with spaces, unnamed empty columns.
	f = parseCSV(t, "External ID,Name,Account Type,currency,,service-name,pop\nx,y,t,USD,,home,p1\nz,w,t,USD,oops,,\n")
	if p := f.Problems(); len(p) != 1 || p[0].Line != 3 || p[0].Column != "#5" || !strings.Contains(p[0].Reason, `value "oops" is in column 5, which has no name`) {
		t.Errorf("problems %v, want one for the value in the unnamed column", p)
	}
	if len(f.Accounts) != 2 || f.Accounts[0].AccountType != "t" || len(f.Accounts[0].Services) != 1 || f.Accounts[0].Services[0].Service.Name != "home" {
		t.Errorf("accounts %+v", f.Accounts)
	}

	for _, in := range []string{"", "\n\n", "\ufeff"} {
		if _, err := ParseAccountsCSV(strings.NewReader(in)); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "empty") {
			t.Errorf("ParseAccountsCSV(%q) = %v, want EINVALID empty", in, err)
		}
	}
}

func TestParseAccountsCSVUnclosedQuote(t *testing.T) {
	in := "external_id,name,account_type,currency\n" +
		"a,Ann,res,USD\n" +
		"b,\"Bob,res,USD\n" +
		"c,Cy,res,USD\n"
	f := parseCSV(t, in)
	p := f.Problems()
	if len(p) != 1 || p[0].Line != 3 || p[0].Column != "name" || !strings.Contains(p[0].Reason, "not closed") {
		t.Fatalf("problems = %v, want one at line 3, column name", p)
	}
	if f.Accounts[0].Account.ExternalID != "a" || len(f.Accounts[0].Errors) != 0 {
		t.Errorf("the row before the bad quote = %+v", f.Accounts[0])
	}
}

func TestParseAccountsCSVInvalidText(t *testing.T) {
	f := parseCSV(t, "external_id,name,account_type,currency,address_line1\na,Ann\xff,res,USD,\nb,B\x00b,res,USD,\nc,C\x1b[2J,res,USD,\"1 Main\r\nApt 2\"\nd\td,D,res,USD,\n")
	got := joinErrs(f.Problems())
	for _, frag := range []string{"line 2, column name: value is not valid UTF-8", "line 3, column name: name contains a control character (U+0000)",
		"line 4, column name: name contains a control character (U+001B)", "line 6, column external_id: external_id contains a control character (U+0009)"} {
		if !strings.Contains(got, frag) {
			t.Errorf("problems lack %q:\n%s", frag, got)
		}
	}
	if strings.Contains(got, "address_line1") {
		t.Errorf("a line break in an address line is refused:\n%s", got)
	}
}

func TestParseAccountsCSVLimits(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("external_id,name,account_type,currency\n")
	for i := range MaxImportRows + 1 {
		fmt.Fprintf(&b, "%d,n,t,USD\n", i)
	}
	if _, err := ParseAccountsCSV(&b); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "more than 100000 rows") {
		t.Errorf("too many rows: %v", err)
	}
	big := io.MultiReader(strings.NewReader("external_id,name,account_type,currency\n"), io.LimitReader(repeatReader('x'), MaxImportBytes))
	if _, err := ParseAccountsCSV(big); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Errorf("too large: %v", err)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestImportErrorRemapLines(t *testing.T) {
	e := ImportError{Line: 3, Column: "name", Reason: `name "B" differs from "A" on line 2; service_name "x" appears twice (lines 2 and 3); a " (line 3, byte 4); 2 lines`}
	got := e.RemapLines(func(l int) int { return l + 100 })
	want := `name "B" differs from "A" on line 102; service_name "x" appears twice (lines 102 and 103); a " (line 103, byte 4); 2 lines`
	if got.Line != 103 || got.Reason != want {
		t.Errorf("RemapLines = %d %q, want 103 %q", got.Line, got.Reason, want)
	}
}

func TestImportErrorFormat(t *testing.T) {
	if s := (ImportError{Line: 12, Column: "email", Reason: "bad"}).Error(); s != "line 12, column email: bad" {
		t.Errorf("got %q", s)
	}
	if s := (ImportError{Line: 3, Reason: "bad"}).Error(); s != "line 3: bad" {
		t.Errorf("got %q", s)
	}
}

// FuzzParseAccountsCSV: the file comes off the wire, so the parser must
// never panic, must place every problem on a line of the file, and must
// only hand out accounts that pass the domain's validation.
func FuzzParseAccountsCSV(f *testing.F) {
	header := "external_id,name,email,account_type,currency,delivery,service_name,pop,plan,start_date,end_date,method,addresses,radius_username,device,if_index\n"
	for _, s := range []string{
		header + "a,Ann,ann@example.net,res,USD,email,home,north-1,Basic,2025-01-01,,routeros,100.64.0.1;10.0.0.0/8,,,\n",
		header + "a,Ann,,res,USD,,,,,,,,,,,\na,Ann,,res,USD,,x,p,,,,radius,,u,,\n",
		header + "b,\"B\"\"ob\",,res,JPY,mail,x,p,,,,snmp,,,olt,2\nc,\"unclosed,res\n",
		header + "d,D,d@,res,usd,both,s,P!,Gold,2025-13-01,2024-01-01,ftp,1.2.3.4 nope,,,-1\n",
		"EXTERNAL_ID;NAME\n1;2\n",
		"\ufeffexternal_id,name,account_type,currency,mystery\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseAccountsCSV(bytes.NewReader(data))
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, e := range file.Problems() {
			if e.Line < 1 || e.Line > lines {
				t.Fatalf("problem %v is outside the file's %d lines", e, lines)
			}
			if e.Reason == "" {
				t.Fatalf("problem %v has no reason", e)
			}
		}
		rows := 0
		seen := map[string]bool{}
		for _, a := range file.Accounts {
			rows += a.Rows
			if a.Line < 2 || a.Line > lines || a.Rows < 1 {
				t.Fatalf("account at line %d with %d rows in a file of %d lines", a.Line, a.Rows, lines)
			}
			if len(a.Errors) > 0 {
				continue
			}
			if a.Account.ExternalID == "" || seen[a.Account.ExternalID] || a.AccountType == "" {
				t.Fatalf("valid account without a unique external_id or type: %+v", a)
			}
			seen[a.Account.ExternalID] = true
			acc := a.Account
			acc.AccountTypeID = 1
			if err := acc.Validate(); err != nil {
				t.Fatalf("valid account %+v fails Validate: %v", a.Account, err)
			}
			names := map[string]bool{}
			for _, s := range a.Services {
				svc := s.Service
				if svc.Name == "" || names[svc.Name] {
					t.Fatalf("service without a unique name: %+v", s)
				}
				names[svc.Name] = true
				if s.Plan != "" && svc.StartDate.IsZero() {
					t.Fatalf("billed service without a start date: %+v", s)
				}
				if err := svc.Validate(); err != nil {
					t.Fatalf("valid service %+v fails Validate: %v", s, err)
				}
			}
		}
		if rows != file.Rows {
			t.Fatalf("accounts hold %d rows, the file %d", rows, file.Rows)
		}
	})
}

// TestImportLocale: an import file may name each subscriber's locale; an
// unsupported one is a problem on its column.
func TestImportLocale(t *testing.T) {
	file, err := ParseAccountsCSV(strings.NewReader("external_id,name,account_type,currency,locale\n" +
		"a,Ann,res,EUR,de_de\nb,Bob,res,USD,\nc,Cy,res,USD,xx-YY\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(file.Accounts) != 3 || file.Accounts[0].Account.Locale != "de-DE" || file.Accounts[1].Account.Locale != "" {
		t.Fatalf("accounts: %+v", file.Accounts)
	}
	probs := file.Problems()
	if len(probs) != 1 || probs[0].Line != 4 || probs[0].Column != "locale" || !strings.Contains(probs[0].Reason, `locale "xx-YY" is not supported`) {
		t.Fatalf("problems: %+v", probs)
	}
}

// TestImportCompanyNameAndQuantity: company_name fills the account's
// company, quantity the service's (1 when empty); a bad quantity is
// reported at its line and column.
func TestImportCompanyNameAndQuantity(t *testing.T) {
	file := parseCSV(t, "external_id,name,account_type,currency,company_name,service_name,pop,quantity\n"+
		"a,Ann,res,USD, Roe LLC ,line 1,pop-1,3\na,Ann,res,USD, Roe LLC ,line 2,pop-1,\n"+
		"b,Bob,res,USD,,line 1,pop-1,0\nc,Cy,res,USD,,line 1,pop-1,two\n")
	if len(file.Accounts) != 3 {
		t.Fatalf("accounts: %+v", file.Accounts)
	}
	a := file.Accounts[0]
	if a.Account.CompanyName != "Roe LLC" || len(a.Services) != 2 || a.Services[0].Service.Quantity != 3 || a.Services[1].Service.Quantity != 1 {
		t.Errorf("account a: %+v", a)
	}
	probs := file.Problems()
	if len(probs) != 2 || probs[0].Line != 4 || probs[0].Column != "quantity" || !strings.Contains(probs[0].Reason, "quantity 0 is out of range 1-100000") ||
		probs[1].Line != 5 || probs[1].Column != "quantity" || !strings.Contains(probs[1].Reason, `quantity "two" is not a whole number`) {
		t.Errorf("problems: %+v", probs)
	}
}
