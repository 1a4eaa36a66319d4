package delivery

import (
	"embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/notify"
)

//go:embed templates/*.tmpl
var defaultTemplates embed.FS

// EmailData is what the invoice email's subject and body templates see.
//
// Functions: {{money .AmountDue .Currency}} ("USD 53.11"), {{amount
// .AmountDue .Currency}} ("53.11"), {{date .DueDate}} ("2026-12-10", ""
// for none).
type EmailData struct {
	// Company is the ISP's name (company.name); PortalURL where subscribers
	// pay (notices.portal_url; "" for none).
	Company   string
	PortalURL string

	Number        string
	AccountNumber string
	AccountName   string
	Currency      billing.Currency
	Total         int64
	AmountDue     int64
	IssueDate     billing.Date
	DueDate       billing.Date
}

// Templates render the invoice email's subject and body (text/template).
type Templates struct {
	subject, body *template.Template
}

var funcs = template.FuncMap{
	"money":  func(a int64, c billing.Currency) string { return billing.Money{Amount: a, Currency: c}.String() },
	"amount": billing.FormatAmount,
	"date": func(d billing.Date) string {
		if d.IsZero() {
			return ""
		}
		return d.String()
	},
}

// LoadTemplates returns the built-in invoice email templates, with
// invoice.subject.tmpl and invoice.body.tmpl in dir (if not "") replacing
// them; any other *.tmpl file in dir is an error (a typo would otherwise go
// unnoticed). Every template is tried on sample data, so a mistake is
// reported at start, naming the file.
func LoadTemplates(dir string) (*Templates, error) {
	t := &Templates{}
	for _, part := range []string{"subject", "body"} {
		name := "invoice." + part + ".tmpl"
		src, err := defaultTemplates.ReadFile("templates/" + name)
		if err != nil {
			return nil, fmt.Errorf("delivery: built-in template %s: %w", name, err)
		}
		if err := t.set(part, name, string(src)); err != nil {
			return nil, err
		}
	}
	if dir == "" {
		return t, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("delivery: templates dir: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tmpl") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		var part string
		switch e.Name() {
		case "invoice.subject.tmpl":
			part = "subject"
		case "invoice.body.tmpl":
			part = "body"
		default:
			return nil, fmt.Errorf("delivery: template %s: unknown name; want invoice.subject.tmpl or invoice.body.tmpl", path)
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("delivery: template %s: %w", path, err)
		}
		if err := t.set(part, path, string(src)); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// DefaultTemplates returns the built-in templates.
func DefaultTemplates() *Templates {
	t, err := LoadTemplates("")
	if err != nil {
		panic(err) // the embedded templates are tested
	}
	return t
}

func (t *Templates) set(part, name, src string) error {
	tmpl, err := template.New(filepath.Base(name)).Funcs(funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		return fmt.Errorf("delivery: template %s: %w", name, err)
	}
	if err := tmpl.Execute(io.Discard, sampleEmail); err != nil {
		return fmt.Errorf("delivery: template %s: %w", name, err)
	}
	if part == "subject" {
		t.subject = tmpl
	} else {
		t.body = tmpl
	}
	return nil
}

var sampleEmail = EmailData{Company: "Example ISP", PortalURL: "https://portal.example.net/", Number: "INV-0000123",
	AccountNumber: "A-000042", AccountName: "Alex Subscriber", Currency: "USD", Total: 5311, AmountDue: 5311,
	IssueDate: billing.NewDate(2026, 11, 26), DueDate: billing.NewDate(2026, 12, 10)}

// Render returns the subject (one line, at most 200 characters) and body
// of the email carrying invoice d.
func (t *Templates) Render(d EmailData) (subject, body string, err error) {
	return notify.RenderEmail(t.subject, t.body, d)
}
