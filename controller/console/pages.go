package console

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
	"github.com/tollgate-isp/tollgate/internal/htmlpages"
)

// pages are the parsed templates, one set per page (each with the layout
// and the shared parts).
type pages map[string]*template.Template

var funcs = template.FuncMap{
	"money": func(amount int64, c billing.Currency) string {
		return string(c) + " " + billing.FormatAmount(amount, c)
	},
	"amount": func(amount int64, c any) string {
		switch c := c.(type) {
		case billing.Currency:
			return billing.FormatAmount(amount, c)
		case string:
			return billing.FormatAmount(amount, billing.Currency(c))
		}
		return billing.FormatAmount(amount, "")
	},
	"date": func(d billing.Date) string {
		if d.IsZero() {
			return ""
		}
		return d.String()
	},
	"time": func(v any) string {
		var t time.Time
		switch v := v.(type) {
		case time.Time:
			t = v
		case *time.Time:
			if v != nil {
				t = *v
			}
		}
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"title": func(s string) string {
		s = strings.ReplaceAll(s, "_", " ")
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"neg":  func(v int64) bool { return v < 0 },
	"sub":  func(a, b int64) int64 { return a - b },
	"list": func(v ...string) []string { return v },
	// svcsel is the argument of the service-select template: the page's
	// data and the select's id.
	"svcsel": func(d accountData, id string) struct {
		Data accountData
		ID   string
	} {
		return struct {
			Data accountData
			ID   string
		}{d, id}
	},
	"pos": func(v int64) bool { return v > 0 },
}

func loadPages() (pages, error) { return htmlpages.Load(assets, funcs, "console") }

// view is what every page gets.
type view struct {
	Title   string
	Company string
	Base    string // the console's path, for links
	CSRF    string
	User    *staff.User
	// Nav marks the current section in the menu.
	Nav string
	// Error and Notice are shown at the top of the page.
	Error, Notice string
	// Focus is the id of the field the page puts the cursor in.
	Focus string
	// Idem is a fresh Idempotency-Key for the page's forms: a form posted
	// twice (a double click, a reload) changes things once.
	Idem string
	Data any
}

// CanBill reports whether the user may change billing data (billing or
// admin): pages show mutating buttons only then.
func (v view) CanBill() bool { return v.User != nil && roleAllows(v.User.Role, staff.RoleBilling) }

// IsAdmin reports whether the user is an admin.
func (v view) IsAdmin() bool { return v.User != nil && v.User.Role == staff.RoleAdmin }

// render writes page name with status. An htmx request for a page that
// defines a "fragment" template gets only that fragment.
func (s *Server) render(w http.ResponseWriter, r *http.Request, sess *session, status int, name string, v view) {
	t := s.pages[name]
	if t == nil {
		s.log.Error("console: no such page template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v.Company, v.Base = s.cfg.CompanyName, s.p.path
	if sess != nil {
		v.User = &sess.User
		v.CSRF = csrfFor("session", sess.raw)
	}
	if v.Idem == "" {
		v.Idem = client.NewIdempotencyKey()
	}
	root := "layout.html"
	if r.Header.Get("HX-Request") != "" && t.Lookup("fragment") != nil {
		root = "fragment"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, root, v); err != nil {
		s.log.Error("console: rendering a page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage shows a message with status.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, sess *session, status int, msg string) {
	s.render(w, r, sess, status, "error", view{Title: http.StatusText(status), Error: msg})
}

// internalError logs err and shows a generic message.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, sess *session, what string, err error) {
	s.log.Error("console: "+what, "err", err, "path", r.URL.Path)
	s.errorPage(w, r, sess, http.StatusInternalServerError, "Something went wrong on our side ("+what+"). Try again; if it keeps happening, the controller's log says why.")
}

// apiProblem turns an error from the admin API into the status and the
// sentence to show: the API's own words (which name the field that was
// wrong), or for anything else a generic one (logged).
func (s *Server) apiProblem(r *http.Request, what string, err error) (int, string) {
	var p *client.Problem
	if errors.As(err, &p) {
		msg := p.Detail
		if msg == "" {
			msg = p.Title
		}
		for _, e := range p.Errors {
			m := e.Message
			if e.Location != "" {
				m += " (" + strings.TrimPrefix(e.Location, "body.") + ")"
			}
			msg += "; " + m
		}
		if p.Status == http.StatusForbidden {
			msg = "Your role may not do this: " + msg
		}
		return p.Status, msg
	}
	s.log.Error("console: "+what, "err", err, "path", r.URL.Path)
	return http.StatusInternalServerError, "Something went wrong on our side (" + what + "). Try again; if it keeps happening, the controller's log says why."
}

// apiErrorPage shows an API error as a page.
func (s *Server) apiErrorPage(w http.ResponseWriter, r *http.Request, sess *session, what string, err error) {
	status, msg := s.apiProblem(r, what, err)
	s.errorPage(w, r, sess, status, msg)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
