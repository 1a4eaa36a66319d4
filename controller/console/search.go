package console

import (
	"net/http"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/api/client"
)

// searchData is a search and what it found.
type searchData struct {
	Query string
	Hits  client.SearchResults
}

// search finds accounts by number, name, company, e-mail, phone, address,
// external id, service IP or RADIUS user name, invoice number or check
// number (the API's search). A query that finds exactly one account by an
// exact match (its number, an invoice, a check, an IP) opens that account;
// htmx asks as the clerk types and gets the results alone.
func (s *Server) search(w http.ResponseWriter, r *http.Request, sess *session) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := searchData{Query: q}
	if q != "" {
		api, ctx := s.apiFor(r.Context(), sess.User)
		res, err := api.Search(ctx, q, 50)
		if err != nil {
			status, msg := s.apiProblem(r, "searching", err)
			s.render(w, r, sess, status, "search", view{Title: "Search", Nav: "search", Focus: "q", Error: msg, Data: d})
			return
		}
		d.Hits = res
		if len(res.Items) == 1 && res.Items[0].Match.Exact && r.Header.Get("HX-Request") == "" {
			http.Redirect(w, r, s.p.path+"/accounts/"+itoa(res.Items[0].AccountID), http.StatusSeeOther)
			return
		}
	}
	s.render(w, r, sess, http.StatusOK, "search", view{Title: "Search", Nav: "search", Focus: "q", Data: d})
}
