package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/payments"
)

// accountView is the API's account with its balance.
type accountView struct {
	billing.Account
	Balance int64 `json:"balance"`
}

// accountData is everything the account page shows.
type accountData struct {
	Account  accountView
	Standing billing.AccountStanding
	Services []serviceRow
	Invoices []billing.Invoice // newest first
	Payments []billing.Payment // newest first
	Notices  []billing.Notice
	Tickets  []billing.Ticket
	History  []billing.HistoryEntry
	Plans    []billing.Plan // for the plan change form
	Types    []billing.AccountType
	// Open is the action whose form is shown open (after an error), Form
	// its values as typed.
	Open string
	Form url.Values
	// Element is the processor's fields for a card taken by phone.
	Element payments.Element
}

// serviceRow is a service with its standing (what the agent last
// confirmed) and its plan's name.
type serviceRow struct {
	billing.Service
	Standing billing.ServiceStanding
	PlanName string
}

// OpenInvoices are the invoices a payment can be applied to, oldest
// first.
func (d accountData) OpenInvoices() []billing.Invoice {
	var out []billing.Invoice
	for i := len(d.Invoices) - 1; i >= 0; i-- {
		if inv := d.Invoices[i]; inv.Status == billing.InvoiceOpen && inv.Total > inv.Paid {
			out = append(out, inv)
		}
	}
	return out
}

// TypeName is the name of the account's type.
func (d accountData) TypeName() string {
	for _, t := range d.Types {
		if t.ID == d.Account.AccountTypeID {
			return t.Name
		}
	}
	return "#" + itoa(d.Account.AccountTypeID)
}

// Value is the form value of field as typed, for re-rendering a form.
func (d accountData) Value(field string) string { return d.Form.Get(field) }

// Checked reports whether a checkbox field had value v.
func (d accountData) Checked(field, v string) bool {
	for _, x := range d.Form[field] {
		if x == v {
			return true
		}
	}
	return false
}

// account shows an account: its standing and why, its services with what
// the devices confirmed, invoices, payments, notices, tickets, history,
// and the actions the user's role allows.
func (s *Server) account(w http.ResponseWriter, r *http.Request, sess *session) {
	id := pathID(r, "id")
	if id == 0 {
		s.errorPage(w, r, sess, http.StatusNotFound, "There is no such account.")
		return
	}
	d, err := s.loadAccount(r.Context(), sess, id)
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading the account", err)
		return
	}
	v := view{Title: d.Account.Number + " · " + d.Account.Name, Nav: "accounts", Data: d}
	if done := r.URL.Query().Get("done"); done != "" {
		v.Notice = doneNotice(done)
	}
	s.render(w, r, sess, http.StatusOK, "account", v)
}

// loadAccount reads the account page's parts from the API at once.
func (s *Server) loadAccount(ctx context.Context, sess *session, id int64) (accountData, error) {
	api, ctx := s.apiFor(ctx, sess.User)
	var d accountData
	d.Element = s.cfg.Element
	idq := strconv.FormatInt(id, 10)
	var (
		services struct {
			Items []billing.Service `json:"items"`
		}
		invoices struct {
			Items []billing.Invoice `json:"items"`
		}
		payments struct {
			Items []billing.Payment `json:"items"`
		}
		notices  client.NoticePage
		tickets  client.TicketPage
		plans    []billing.Plan
		types    []billing.AccountType
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	run(func() error { return api.Do(ctx, http.MethodGet, "/api/v1/accounts/"+idq, nil, "", nil, &d.Account) })
	run(func() (err error) { d.Standing, err = api.AccountStanding(ctx, id); return err })
	run(func() error {
		return api.Do(ctx, http.MethodGet, "/api/v1/services", url.Values{"account_id": {idq}, "limit": {"1000"}}, "", nil, &services)
	})
	run(func() error {
		return api.Do(ctx, http.MethodGet, "/api/v1/invoices", url.Values{"account_id": {idq}, "limit": {"1000"}}, "", nil, &invoices)
	})
	run(func() error {
		return api.Do(ctx, http.MethodGet, "/api/v1/payments", url.Values{"account_id": {idq}, "limit": {"1000"}}, "", nil, &payments)
	})
	run(func() (err error) {
		notices, err = api.Notices(ctx, billing.NoticeFilter{AccountID: id, Limit: 500})
		return err
	})
	run(func() (err error) {
		tickets, err = api.Tickets(ctx, billing.TicketFilter{AccountID: id, Limit: 20})
		return err
	})
	run(func() (err error) { d.History, err = api.AccountHistory(ctx, id); return err })
	run(func() error {
		var p struct {
			Items []billing.Plan `json:"items"`
		}
		err := api.Do(ctx, http.MethodGet, "/api/v1/plans", nil, "", nil, &p)
		plans = p.Items
		return err
	})
	run(func() error {
		var p struct {
			Items []billing.AccountType `json:"items"`
		}
		err := api.Do(ctx, http.MethodGet, "/api/v1/account-types", nil, "", nil, &p)
		types = p.Items
		return err
	})
	wg.Wait()
	if firstErr != nil {
		return d, firstErr
	}
	d.Plans, d.Types = plans, types
	planNames := map[int64]string{}
	for _, p := range plans {
		planNames[p.ID] = p.Name
	}
	standings := map[int64]billing.ServiceStanding{}
	for _, st := range d.Standing.Services {
		standings[st.ID] = st
	}
	for _, svc := range services.Items {
		row := serviceRow{Service: svc, Standing: standings[svc.ID]}
		if svc.PlanID != nil {
			row.PlanName = planNames[*svc.PlanID]
		}
		d.Services = append(d.Services, row)
	}
	for i := len(invoices.Items) - 1; i >= 0; i-- {
		d.Invoices = append(d.Invoices, invoices.Items[i])
	}
	for i := len(payments.Items) - 1; i >= 0; i-- {
		d.Payments = append(d.Payments, payments.Items[i])
	}
	// Notices come oldest first: the page shows the latest 20, newest first.
	for i := len(notices.Items) - 1; i >= 0 && len(d.Notices) < 20; i-- {
		d.Notices = append(d.Notices, notices.Items[i])
	}
	d.Tickets = tickets.Items
	return d, nil
}

// pathID reads a numeric path value; 0 when it is not a positive number.
func pathID(r *http.Request, name string) int64 {
	v, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || v <= 0 {
		return 0
	}
	return v
}
