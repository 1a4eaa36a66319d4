package documents

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// depositCSVHeader is the first row of a deposit slip CSV.
var depositCSVHeader = []string{"kind", "check_number", "payer", "account_number", "amount"}

// RenderDepositSlipCSV writes the slip as CSV: the header row
// "kind,check_number,payer,account_number,amount"; one row per item in slip
// order (amount as a plain decimal string, "1234.56"); then five summary rows
// that carry their name in the kind column and their value in the amount
// column: check_count, check_total, cash_total, other_total, grand_total.
//
// Text fields that a spreadsheet would run as a formula (starting with =, +,
// - or @) get a leading apostrophe; control characters become spaces.
// The slip is validated first ([DepositSlip.Validate]); nothing is written if
// it is invalid.
func RenderDepositSlipCSV(w io.Writer, s DepositSlip) error {
	s, err := s.checked()
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(depositCSVHeader); err != nil {
		return fmt.Errorf("deposit slip CSV: %w", err)
	}
	for _, it := range s.Items {
		rec := []string{
			it.Kind,
			csvText(it.CheckNumber),
			csvText(it.Payer),
			csvText(it.AccountNumber),
			billing.FormatAmount(it.Amount, s.Currency),
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("deposit slip CSV: %w", err)
		}
	}
	checks, cash, other, grand, checkCount := s.Totals()
	summary := [][2]string{
		{"check_count", strconv.Itoa(checkCount)},
		{"check_total", billing.FormatAmount(checks, s.Currency)},
		{"cash_total", billing.FormatAmount(cash, s.Currency)},
		{"other_total", billing.FormatAmount(other, s.Currency)},
		{"grand_total", billing.FormatAmount(grand, s.Currency)},
	}
	for _, kv := range summary {
		if err := cw.Write([]string{kv[0], "", "", "", kv[1]}); err != nil {
			return fmt.Errorf("deposit slip CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("deposit slip CSV: %w", err)
	}
	return nil
}

// csvText neutralises CSV/formula injection: a field that starts with a
// character spreadsheets treat as the start of a formula gets a leading
// apostrophe, which they show as text. Leading control characters (tab, CR)
// are gone already, as oneLine turns them into trimmed spaces.
func csvText(s string) string {
	s = oneLine(s)
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}
