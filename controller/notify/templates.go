package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

//go:embed templates/*.tmpl
var defaultTemplates embed.FS

// TemplateData is what a notice's subject and body templates see: every
// field of [billing.NoticeData] ({{.AccountNumber}}, {{.Amount}},
// {{.Currency}}, {{.DueDate}}, {{.DelinquencyDate}}, {{.InvoiceNumbers}},
// {{.PortalURL}}, {{.Company}}, on a ticket reply {{.TicketID}},
// {{.TicketSubject}} and {{.Message}}, on a receipt {{.PaymentID}},
// {{.PaymentMethod}} and {{.PaymentDate}}, …) plus the fields below. {{.Why}} is the
// subscriber's why, rendered from the notice's structured reasons in its
// locale (never the staff's sentences).
//
// Functions, in the notice's locale: {{money .Amount .Currency}}
// ("$53.11"; "53,11 €" in de-DE), {{date .DueDate}} ("Saturday, December
// 18", with the year when it is not this year; "" for none); {{amount
// .Amount .Currency}} ("53.11"), {{join .Why ", "}}, {{if before .Today
// .DelinquencyDate}}.
type TemplateData struct {
	billing.NoticeData
	// Why is what the subscriber reads about why (plain words, the
	// locale's language and formats); it hides NoticeData.Why, the staff's.
	Why []string
	// Locale the notice is written in.
	Locale     billing.Locale
	Kind       billing.NoticeKind
	To         string
	DaysBefore int
	// Today is the local date when the notice is sent, in the account
	// type's time zone.
	Today billing.Date
	// PastDue: the due date has passed (DueDate is set and before Today).
	PastDue bool
}

// NewTemplateData is the template data of notice n sent on today (local),
// in n's locale (en-US when it has none).
func NewTemplateData(n billing.Notice, today billing.Date) TemplateData {
	loc := billing.ResolveLocale(n.Locale, "", "")
	return TemplateData{NoticeData: n.Data, Why: billing.SubscriberWhy(n.Data.Reasons, loc, today), Locale: loc,
		Kind: n.Kind, To: n.To, DaysBefore: n.DaysBefore, Today: today,
		PastDue: !n.Data.DueDate.IsZero() && n.Data.DueDate.Before(today)}
}

// Templates render each notice kind's subject and body (text/template),
// in each language of [templateLangs].
type Templates struct {
	subject map[templateKey]*template.Template
	body    map[templateKey]*template.Template
}

// templateKey names a kind's template in a language.
type templateKey struct {
	kind billing.NoticeKind
	lang string
}

// templateLangs are the languages of the built-in templates: English
// (<kind>.<part>.tmpl) first, then the others (<kind>.<part>.<lang>.tmpl).
var templateLangs = []string{"en", "de"}

var funcs = localeFuncs(billing.DefaultLocale, billing.Date{})

// localeFuncs are the template functions writing in locale loc on the
// local date today.
func localeFuncs(loc billing.Locale, today billing.Date) template.FuncMap {
	return template.FuncMap{
		"money":  loc.Money,
		"amount": billing.FormatAmount,
		"date":   func(d billing.Date) string { return loc.Date(d, today) },
		"join":   strings.Join,
		// neg negates an amount (a credit balance is negative).
		"neg": func(v int64) int64 { return -v },
		// before reports whether date a is before date b.
		"before": func(a, b billing.Date) bool { return a.Before(b) },
	}
}

// LoadTemplates returns the built-in templates, with those in dir (if not
// "") replacing them one by one: a file named <kind>.subject.tmpl or
// <kind>.body.tmpl (kind: reminder, suspended, restored, ticket_reply, receipt) replaces that
// English template, <kind>.<part>.de.tmpl the German one (a notice is
// written in its locale's language: German for de-DE and de-AT, English
// otherwise); other files are ignored, except unknown *.tmpl names, which
// are errors (a typo would otherwise go unnoticed). Every template is parsed
// and tried on sample data, so a mistake is reported at start, naming the
// file: "notify: template /etc/tollgate/notices/reminder.body.tmpl: …".
func LoadTemplates(dir string) (*Templates, error) {
	t := &Templates{subject: map[templateKey]*template.Template{}, body: map[templateKey]*template.Template{}}
	for _, lang := range templateLangs {
		for _, k := range billing.NoticeKinds {
			for _, part := range []string{"subject", "body"} {
				name := string(k) + "." + part + ".tmpl"
				if lang != "en" {
					name = string(k) + "." + part + "." + lang + ".tmpl"
				}
				src, err := defaultTemplates.ReadFile("templates/" + name)
				if err != nil {
					return nil, fmt.Errorf("notify: built-in template %s: %w", name, err)
				}
				if err := t.set(templateKey{k, lang}, part, name, string(src)); err != nil {
					return nil, err
				}
			}
		}
	}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("notify: templates dir: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".tmpl") {
				continue
			}
			path := filepath.Join(dir, e.Name())
			key, part, ok := parseTemplateName(e.Name())
			if !ok {
				return nil, fmt.Errorf("notify: template %s: unknown name; want <kind>.subject.tmpl or <kind>.body.tmpl (or <kind>.<part>.<lang>.tmpl, lang %s) with kind reminder, suspended, restored, ticket_reply or receipt",
					path, strings.Join(templateLangs, " or "))
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("notify: template %s: %w", path, err)
			}
			if err := t.set(key, part, path, string(src)); err != nil {
				return nil, err
			}
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

// parseTemplateName parses <kind>.<part>.tmpl (English) or
// <kind>.<part>.<lang>.tmpl.
func parseTemplateName(name string) (templateKey, string, bool) {
	parts := strings.Split(name, ".")
	if len(parts) < 3 || len(parts) > 4 || !billing.NoticeKind(parts[0]).Valid() || (parts[1] != "subject" && parts[1] != "body") {
		return templateKey{}, "", false
	}
	key := templateKey{billing.NoticeKind(parts[0]), "en"}
	if len(parts) == 4 {
		if !slices.Contains(templateLangs, parts[2]) {
			return templateKey{}, "", false
		}
		key.lang = parts[2]
	}
	return key, parts[1], true
}

// set parses src as key's part and tries it on sample data.
func (t *Templates) set(key templateKey, part, name, src string) error {
	kind := key.kind
	tmpl, err := template.New(filepath.Base(name)).Funcs(funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		return fmt.Errorf("notify: template %s: %w", name, err)
	}
	if _, err := execute(tmpl, sampleData(kind)); err != nil {
		return fmt.Errorf("notify: template %s: %w", name, err)
	}
	if part == "subject" {
		t.subject[key] = tmpl
	} else {
		t.body[key] = tmpl
	}
	return nil
}

// maxSubject caps a rendered subject, in characters.
const maxSubject = 200

var blankLines = regexp.MustCompile(`\n{3,}`)

// Render returns the subject (one line, at most 200 characters) and body of
// a notice of kind d.Kind, in the language of d.Locale (English when there
// are no templates in it). Errors: an unknown kind, or a template that
// fails on this data (the message says where).
func (t *Templates) Render(d TemplateData) (subject, body string, err error) {
	loc := billing.ResolveLocale(d.Locale, "", "")
	key := templateKey{d.Kind, loc.Lang()}
	if t.subject[key] == nil {
		key.lang = "en"
	}
	st, bt := t.subject[key], t.body[key]
	if st == nil || bt == nil {
		return "", "", fmt.Errorf("notify: no templates for notice kind %q", d.Kind)
	}
	// The functions write in the notice's locale: each rendering uses its
	// own copies (Clone is safe while others execute).
	fs := localeFuncs(loc, d.Today)
	sc, err := st.Clone()
	if err != nil {
		return "", "", err
	}
	bc, err := bt.Clone()
	if err != nil {
		return "", "", err
	}
	return RenderEmail(sc.Funcs(fs), bc.Funcs(fs), d)
}

// RenderEmail executes a subject and a body template on data and tidies
// the result: the subject becomes one line of at most 200 characters (an
// empty one is an error), the body loses trailing spaces and runs of blank
// lines. Invoice emails use it too.
func RenderEmail(subjectTmpl, bodyTmpl *template.Template, data any) (subject, body string, err error) {
	if subject, err = execute(subjectTmpl, data); err != nil {
		return "", "", err
	}
	if body, err = execute(bodyTmpl, data); err != nil {
		return "", "", err
	}
	subject = strings.Join(strings.Fields(subject), " ")
	if utf8.RuneCountInString(subject) > maxSubject {
		subject = string([]rune(subject)[:maxSubject-1]) + "…"
	}
	if subject == "" {
		return "", "", errors.New("notify: the subject template rendered nothing")
	}
	// Template white space is forgiving: trailing spaces go, and runs of
	// blank lines become one.
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	body = blankLines.ReplaceAllString(strings.TrimSpace(strings.Join(lines, "\n")), "\n\n") + "\n"
	return subject, body, nil
}

func execute(t *template.Template, d any) (string, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// sampleData is a notice of kind with every field set, to try templates on.
func sampleData(kind billing.NoticeKind) TemplateData {
	today := billing.NewDate(2026, 12, 14)
	return NewTemplateData(billing.Notice{Kind: kind, To: "subscriber@example.net", DaysBefore: 3,
		Data: billing.NoticeData{AccountNumber: "A-000042", AccountName: "Alex Subscriber", Currency: "USD", Amount: 5311,
			Balance: 10310, DueDate: billing.NewDate(2026, 12, 10), DelinquencyDate: billing.NewDate(2026, 12, 17),
			InvoiceNumbers: []string{"INV-000123"}, Why: []string{"Invoice INV-000123 for USD 53.11 was due on Thu 2026-12-10."},
			Reasons: []billing.Reason{{Kind: billing.ReasonInvoicePastDue, Invoice: "INV-000123", Amount: 5311, Currency: "USD",
				Date: billing.NewDate(2026, 12, 10)}},
			PortalURL: "https://portal.example.net/", Company: "Example ISP",
			TicketID: 12, TicketSubject: "Slow in the evening", Message: "We moved your line to a new port; tell us if it is better."}}, today)
}
