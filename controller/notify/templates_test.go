package notify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/notify"
)

func data(kind billing.NoticeKind, today billing.Date) notify.TemplateData {
	n := reminderNotice()
	n.Kind = kind
	// The staff's words, which subscribers must never read.
	n.Data.Why = []string{"Invoice INV-000123 for USD 53.11 was due on Thu 2026-12-10.",
		"Its delinquency date moved from Sun 2026-12-13 to Thu 2026-12-17: Sunday is not an allowed weekday.",
		"Services suspended automatically (residential accounts auto-suspend). To restore them, pay the past-due amount of USD 53.11."}
	n.Data.Reasons = []billing.Reason{
		{Kind: billing.ReasonInvoicePastDue, Invoice: "INV-000123", Amount: 5311, Currency: "USD", Date: billing.NewDate(2026, 12, 10)},
		{Kind: billing.ReasonDelinquencyDate, Date: billing.NewDate(2026, 12, 17), Days: 3, Currency: "USD",
			Detail: "Its delinquency date moved from Sun 2026-12-13 to Thu 2026-12-17: Sunday is not an allowed weekday"},
		{Kind: billing.ReasonAutoSuspended, Amount: 5311, Currency: "USD", Rule: billing.ReactivatePastDue, Detail: "residential"},
	}
	n.Data.Balance = 10310
	return notify.NewTemplateData(n, today)
}

// staffWords are what only staff read: rule names, ISO amounts, ISO dates.
var staffWords = []string{"auto-suspend", "not an allowed weekday", "USD", "2026-12-", "residential"}

func TestDefaultTemplates(t *testing.T) {
	tm := notify.DefaultTemplates()
	tests := []struct {
		name    string
		d       notify.TemplateData
		subject string
		want    []string
		not     []string
	}{
		{"reminder past due", data(billing.NoticeReminder, billing.NewDate(2026, 12, 14)),
			"Payment past due for account A-000042 – Example ISP",
			[]string{"Your account A-000042 is past due: $53.11 was due on Thursday, December 10.", "please pay before Thursday, December 17.",
				"https://portal.isp.example/pay", "\nExample ISP\n"}, staffWords},
		{"reminder before the due date", data(billing.NoticeReminder, billing.NewDate(2026, 12, 8)),
			"Payment reminder for account A-000042 – Example ISP",
			[]string{"$53.11 on your account A-000042 is due on Thursday, December 10.", "please pay before Thursday, December 17."}, []string{"past due"}},
		{"reminder on the delinquency date", data(billing.NoticeReminder, billing.NewDate(2026, 12, 17)),
			"Payment past due for account A-000042 – Example ISP",
			[]string{"please pay as soon as possible."}, []string{"before Thursday"}},
		{"suspended", data(billing.NoticeSuspended, billing.NewDate(2026, 12, 17)),
			"Internet service suspended on account A-000042 – Example ISP",
			[]string{"has been suspended", "  - Invoice INV-000123 for $53.11 was due on Thursday, December 10.\n" +
				"  - Your service was suspended because the amount past due was not paid. To restore it, pay the past-due amount of $53.11.\n",
				"pay the past-due amount of $53.11", "Your account balance is $103.10.", "https://portal.isp.example/pay"}, staffWords},
		{"suspended, de-DE", func() notify.TemplateData {
			d := data(billing.NoticeSuspended, billing.NewDate(2026, 12, 17))
			n := reminderNotice()
			n.Kind, n.Locale, n.Data = billing.NoticeSuspended, "de-DE", d.NoticeData
			return notify.NewTemplateData(n, billing.NewDate(2026, 12, 17))
		}(),
			"Internetanschluss gesperrt für Kundenkonto A-000042 – Example ISP",
			[]string{"wegen eines Zahlungsrückstands gesperrt", "Warum:\n  - Die Rechnung INV-000123 über 53,11 $ war am Donnerstag, 10. Dezember fällig.\n",
				"Zahlen Sie den überfälligen Betrag von 53,11 $", "zahlen Sie bitte den überfälligen Betrag von 53,11 $.",
				"Ihr Kontostand beträgt 103,10 $."}, append([]string{"Why", "Hello"}, staffWords...)},
		{"throttled", func() notify.TemplateData {
			d := data(billing.NoticeSuspended, billing.NewDate(2026, 12, 17))
			d.ThrottledTo = "1 Mbit/s"
			return d
		}(),
			"Internet service slowed on account A-000042 – Example ISP",
			[]string{"has been slowed to 1 Mbit/s because the account is past due", "To restore full speed, please pay"}, []string{"has been suspended"}},
		{"throttled, de-DE", func() notify.TemplateData {
			d := data(billing.NoticeSuspended, billing.NewDate(2026, 12, 17))
			n := reminderNotice()
			n.Kind, n.Locale, n.Data = billing.NoticeSuspended, "de-DE", d.NoticeData
			n.Data.ThrottledTo = "1 Mbit/s"
			return notify.NewTemplateData(n, billing.NewDate(2026, 12, 17))
		}(),
			"Internetanschluss gedrosselt für Kundenkonto A-000042 – Example ISP",
			[]string{"wegen eines Zahlungsrückstands auf 1 Mbit/s gedrosselt"}, []string{"gesperrt."}},
		{"restored", data(billing.NoticeRestored, billing.NewDate(2026, 12, 18)),
			"Internet service restored on account A-000042 – Example ISP",
			[]string{"is back on", "Your remaining balance is $103.10."}, []string{"Why"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject, body, err := tm.Render(tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if subject != tt.subject {
				t.Errorf("subject %q, want %q", subject, tt.subject)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(body, w) {
					t.Errorf("body has %q:\n%s", w, body)
				}
			}
			if strings.Contains(body, "\n\n\n") || strings.Contains(body, " \n") || !strings.HasSuffix(body, "\n") ||
				strings.Contains(body, "<no value>") {
				t.Errorf("untidy body:\n%q", body)
			}
		})
	}
	// Minimal data still reads well.
	d := notify.NewTemplateData(billing.Notice{Kind: billing.NoticeSuspended, Data: billing.NoticeData{AccountNumber: "A-1", Currency: "JPY"}},
		billing.NewDate(2026, 1, 1))
	subject, body, err := tm.Render(d)
	if err != nil || subject != "Internet service suspended on account A-1" || !strings.HasPrefix(body, "Hello,\n") ||
		!strings.Contains(body, "please pay your balance.") {
		t.Errorf("minimal: %q %q %v", subject, body, err)
	}
	if _, _, err := tm.Render(notify.TemplateData{Kind: "fax"}); err == nil {
		t.Error("unknown kind rendered")
	}
}

func TestTemplateOverrides(t *testing.T) {
	write := func(dir, name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	write(dir, "reminder.subject.tmpl", "Bitte zahlen: {{.AccountNumber}}\n")
	write(dir, "README.md", "not a template")
	tm, err := notify.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	subject, body, err := tm.Render(data(billing.NoticeReminder, billing.NewDate(2026, 12, 14)))
	if err != nil || subject != "Bitte zahlen: A-000042" || !strings.Contains(body, "is past due") {
		t.Fatalf("override: %q %q %v", subject, body, err)
	}

	// A German override applies to de-* notices only.
	write(dir, "reminder.subject.de.tmpl", "Zahlungserinnerung {{.AccountNumber}}\n")
	if tm, err = notify.LoadTemplates(dir); err != nil {
		t.Fatal(err)
	}
	de := data(billing.NoticeReminder, billing.NewDate(2026, 12, 14))
	de.Locale = "de-DE"
	if subject, _, err := tm.Render(de); err != nil || subject != "Zahlungserinnerung A-000042" {
		t.Fatalf("German override: %q %v", subject, err)
	}

	for _, tt := range []struct{ file, src, want string }{
		{"suspended.body.tmpl", "{{.AccountNumber", "suspended.body.tmpl:1: unclosed action"},
		{"restored.body.tmpl", "{{.Nope}}", "restored.body.tmpl"},
		{"remider.body.tmpl", "typo", "remider.body.tmpl: unknown name"},
		{"reminder.body.fr.tmpl", "x", "reminder.body.fr.tmpl: unknown name"},
		{"reminder.body.de.tmpl", "{{.Nope}}", "reminder.body.de.tmpl"},
	} {
		dir := t.TempDir()
		write(dir, tt.file, tt.src)
		_, err := notify.LoadTemplates(dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: error %v, want one naming the file (%s)", tt.file, err, tt.want)
		}
	}
}
