package portal

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/htmlpages"
)

// pages are the parsed templates, one set per page (each with the layout).
type pages map[string]*template.Template

var funcs = template.FuncMap{
	"money": func(amount int64, c billing.Currency) string {
		return string(c) + " " + billing.FormatAmount(amount, c)
	},
	"amount": func(amount int64, c billing.Currency) string { return billing.FormatAmount(amount, c) },
	"date": func(d billing.Date) string {
		if d.IsZero() {
			return ""
		}
		return d.String()
	},
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"title": func(s string) string {
		s = strings.ReplaceAll(s, "_", " ")
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"neg": func(v int64) bool { return v < 0 },
	"abs": func(v int64) int64 {
		if v < 0 {
			return -v
		}
		return v
	},
}

func loadPages() (pages, error) { return htmlpages.Load(assets, funcs, "portal") }

// view is what every page gets.
type view struct {
	Title    string
	Company  string
	Support  string
	Base     string // path prefix for links
	CSRF     string
	SignedIn bool
	Account  *billing.Account
	// Nav marks the current section for the menu.
	Nav string
	// Error and Notice are shown at the top of the page.
	Error, Notice string
	// Refresh, when positive, makes the page reload itself after that many
	// seconds when JavaScript is off.
	Refresh int
	Data    any
}

// render writes page name with status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, sess *session, v view) {
	t := s.pages[name]
	if t == nil {
		s.log.Error("portal: no such page template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v.Company, v.Support, v.Base = s.cfg.Company.Name, s.cfg.Support, s.p.path
	v.SignedIn = sess != nil
	v.CSRF = s.csrfToken(w, r, sess)
	// Amounts are subscriber wording in the account's locale ("$53.11",
	// "53,11 €"), never the staff's "USD 53.11".
	loc := s.cfg.Locale
	if v.Account != nil {
		loc = billing.ResolveLocale(v.Account.Locale, "", s.cfg.Locale)
	}
	t, err := t.Clone()
	if err != nil {
		s.log.Error("portal: cloning a page template", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	t.Funcs(template.FuncMap{"money": loc.Money})
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.Error("portal: rendering a page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage shows a message with status.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", nil, view{Title: http.StatusText(status), Error: msg})
}

// notFound is the answer for anything that does not exist or is not the
// subscriber's: the same page either way.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound, "There is no such page in your account.")
}

// internalError logs err and shows a generic message.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error("portal: "+what, "err", err, "path", r.URL.Path)
	s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong on our side. Please try again in a minute.")
}
