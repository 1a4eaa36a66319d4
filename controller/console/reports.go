package console

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/reports"
)

// Reports (issue 20): AR aging as of a date, tax liability and payments
// with their deposit reconciliation for a period, each with its CSV; the
// closes of the books with the form that closes a month; and the
// accounting exports. Every figure comes from the admin API, as the
// signed-in user.

// reportsData is the reports page.
type reportsData struct {
	Form     reportsForm
	Aging    *reports.AgingReport
	Tax      *reports.TaxReport
	Payments *reports.PaymentsReport
	Revenue  *reports.RevenueReport
	Collect  *reports.CollectionsReport
	// AgingRows are the accounts shown (the largest totals first are in
	// the CSV; the page shows the first agingRowsShown).
	AgingRows []reports.AgingRow
	MoreRows  int
	Closes    []reports.PeriodClose
	Exports   []reports.AccountingExport
	// Query is the form's query, for the CSV links.
	Query template.URL
}

// reportsForm is what the page's forms were filled with.
type reportsForm struct {
	Report, AsOf, From, To, Method, Month, Target string
}

const agingRowsShown = 200

// reportsPage shows the forms and, when one was submitted, its report.
func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	f := reportsForm{Report: q.Get("report"), AsOf: strings.TrimSpace(q.Get("as_of")), From: strings.TrimSpace(q.Get("from")),
		To: strings.TrimSpace(q.Get("to")), Method: q.Get("method")}
	s.showReports(w, r, sess, f, http.StatusOK, "", "")
}

func (s *Server) showReports(w http.ResponseWriter, r *http.Request, sess *session, f reportsForm, status int, errMsg, notice string) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	today := s.clock.Now().UTC()
	if f.AsOf == "" {
		f.AsOf = today.Format("2006-01-02")
	}
	if f.From == "" {
		f.From = today.AddDate(0, -1, 0).Format("2006-01") + "-01"
	}
	if f.To == "" {
		f.To = today.AddDate(0, 0, -today.Day()).Format("2006-01-02")
	}
	if f.Month == "" {
		f.Month = today.AddDate(0, 0, -today.Day()).Format("2006-01")
	}
	d := reportsData{Form: f}
	query := url.Values{}
	var err error
	switch f.Report {
	case "ar-aging":
		query.Set("as_of", f.AsOf)
		d.Aging = &reports.AgingReport{}
		err = api.Do(ctx, http.MethodGet, "/api/v1/reports/ar-aging", query, "", nil, d.Aging)
		d.AgingRows = d.Aging.Rows
		if len(d.AgingRows) > agingRowsShown {
			d.AgingRows, d.MoreRows = d.AgingRows[:agingRowsShown], len(d.AgingRows)-agingRowsShown
		}
	case "tax":
		query.Set("from", f.From)
		query.Set("to", f.To)
		d.Tax = &reports.TaxReport{}
		err = api.Do(ctx, http.MethodGet, "/api/v1/reports/tax", query, "", nil, d.Tax)
	case "revenue":
		query.Set("from", f.From)
		query.Set("to", f.To)
		d.Revenue = &reports.RevenueReport{}
		err = api.Do(ctx, http.MethodGet, "/api/v1/reports/revenue", query, "", nil, d.Revenue)
	case "collections":
		query.Set("from", f.From)
		query.Set("to", f.To)
		d.Collect = &reports.CollectionsReport{}
		err = api.Do(ctx, http.MethodGet, "/api/v1/reports/collections", query, "", nil, d.Collect)
	case "payments":
		query.Set("from", f.From)
		query.Set("to", f.To)
		if f.Method != "" {
			query.Set("method", f.Method)
		}
		d.Payments = &reports.PaymentsReport{}
		err = api.Do(ctx, http.MethodGet, "/api/v1/reports/payments", query, "", nil, d.Payments)
	}
	if err != nil {
		d.Aging, d.Tax, d.Payments, d.Revenue, d.Collect = nil, nil, nil, nil, nil
		status, errMsg = s.apiProblem(r, "making the report", err)
	}
	d.Query = template.URL(query.Encode()) // an encoded query: safe in the href
	if err := api.Do(ctx, http.MethodGet, "/api/v1/period-closes", nil, "", nil, &d.Closes); err != nil {
		s.apiErrorPage(w, r, sess, "reading the closes of the books", err)
		return
	}
	if err := api.Do(ctx, http.MethodGet, "/api/v1/accounting-exports", nil, "", nil, &d.Exports); err != nil {
		s.apiErrorPage(w, r, sess, "reading the accounting exports", err)
		return
	}
	if len(d.Exports) > 20 {
		d.Exports = d.Exports[:20]
	}
	s.render(w, r, sess, status, "reports", view{Title: "Reports", Nav: "reports", Data: d, Error: errMsg, Notice: notice})
}

// reportCSV passes on a report's CSV from the API.
func (s *Server) reportCSV(w http.ResponseWriter, r *http.Request, sess *session) {
	name := r.PathValue("name")
	if name != "ar-aging" && name != "tax" && name != "payments" && name != "revenue" && name != "collections" {
		s.errorPage(w, r, sess, http.StatusNotFound, "There is no such report.")
		return
	}
	api, ctx := s.apiFor(r.Context(), sess.User)
	data, err := api.GetFile(ctx, "/api/v1/reports/"+name+".csv", r.URL.Query())
	if err != nil {
		s.apiErrorPage(w, r, sess, "making the CSV", err)
		return
	}
	sendCSV(w, name+".csv", data)
}

// agingPDF passes on the aging report's PDF from the API, for printing.
func (s *Server) agingPDF(w http.ResponseWriter, r *http.Request, sess *session) {
	s.pdf(w, r, sess, "/api/v1/reports/ar-aging.pdf", r.URL.Query(), "ar-aging.pdf")
}

func sendCSV(w http.ResponseWriter, name string, data []byte) {
	sendFile(w, name, "text/csv; charset=utf-8", data)
}

// sendFile sends data as a download named name.
func sendFile(w http.ResponseWriter, name, contentType string, data []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// closeMonth closes the books through the month posted, after the form
// said what that does.
func (s *Server) closeMonth(w http.ResponseWriter, r *http.Request, sess *session) {
	f := reportsForm{Month: strings.TrimSpace(r.PostFormValue("month"))}
	if r.PostFormValue("confirm") != "yes" {
		s.showReports(w, r, sess, f, http.StatusUnprocessableEntity, "Month close: tick the box to confirm that the month's books are final.", "")
		return
	}
	api, ctx := s.apiFor(r.Context(), sess.User)
	pc, err := api.ClosePeriod(ctx, r.PostFormValue("idem"), f.Month)
	if err != nil {
		status, msg := s.apiProblem(r, "closing the month", err)
		s.showReports(w, r, sess, f, status, "Month close: "+msg, "")
		return
	}
	s.showReports(w, r, sess, reportsForm{}, http.StatusOK, "", "The books are closed through "+pc.Through.String()+".")
}

// accountingExport makes an export and sends its file.
func (s *Server) accountingExport(w http.ResponseWriter, r *http.Request, sess *session) {
	f := reportsForm{Target: r.PostFormValue("target"), From: strings.TrimSpace(r.PostFormValue("from")), To: strings.TrimSpace(r.PostFormValue("to"))}
	api, ctx := s.apiFor(r.Context(), sess.User)
	data, err := api.AccountingExport(ctx, r.PostFormValue("idem"), f.Target, f.From, f.To, r.PostFormValue("all") == "yes")
	if err != nil {
		status, msg := s.apiProblem(r, "exporting", err)
		s.showReports(w, r, sess, f, status, "Export: "+msg, "")
		return
	}
	sendCSV(w, f.Target+"-"+f.From+"-"+f.To+".csv", data)
}
