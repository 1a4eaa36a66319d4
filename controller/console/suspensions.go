package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Held suspensions: the batches the blast-radius guard held for approval,
// each account with its POPs, services and why; approving or cancelling
// all or some of them, each after a confirmation saying what will happen.

// suspensionsData is the suspensions page.
type suspensionsData struct {
	Pending, Decided []billing.SuspensionBatch
}

// suspensionData is one batch's page.
type suspensionData struct {
	Batch billing.SuspensionBatch
	// Confirm, when set, is the decision waiting for confirmation.
	Confirm *batchDecision
}

// batchDecision is an approval or cancellation of some of a batch's
// pending accounts (all of them when All).
type batchDecision struct {
	Approve bool
	All     bool
	Items   []billing.SuspensionBatchItem
}

// Verb is the decision's name.
func (d batchDecision) Verb() string {
	if d.Approve {
		return "approve"
	}
	return "cancel"
}

// Services counts the services of the decision's accounts.
func (d batchDecision) Services() int {
	n := 0
	for _, it := range d.Items {
		n += len(it.ServiceIDs)
	}
	return n
}

// Pending reports whether an item still waits for a decision.
func (suspensionData) Pending(it billing.SuspensionBatchItem) bool { return it.Status == "pending" }

// maxBatchChoice caps the accounts ticked in one decision.
const maxBatchChoice = 10000

// suspensions lists held batches: pending first, then decided ones.
func (s *Server) suspensions(w http.ResponseWriter, r *http.Request, sess *session) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	var d suspensionsData
	var err error
	if d.Pending, err = api.SuspensionBatches(ctx, "pending"); err == nil {
		d.Decided, err = api.SuspensionBatches(ctx, "decided")
	}
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading suspension batches", err)
		return
	}
	s.render(w, r, sess, http.StatusOK, "suspensions", view{Title: "Held suspensions", Nav: "suspensions", Data: d})
}

// suspension shows a batch with its accounts.
func (s *Server) suspension(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := s.pathID(w, r, sess, "suspension batch")
	if !ok {
		return
	}
	api, ctx := s.apiFor(r.Context(), sess.User)
	b, err := api.SuspensionBatch(ctx, id)
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading a suspension batch", err)
		return
	}
	v := view{Title: fmt.Sprintf("Held suspension batch #%d", id), Nav: "suspensions", Data: suspensionData{Batch: b}}
	q := r.URL.Query()
	switch q.Get("done") {
	case "approve":
		v.Notice = "Approved: " + q.Get("n") + " accounts. Those still delinquent are suspended now and get a suspension notice; those that paid meanwhile were skipped."
	case "cancel":
		v.Notice = "Cancelled: " + q.Get("n") + " accounts will not be suspended by this batch."
	}
	s.render(w, r, sess, http.StatusOK, "suspension", v)
}

// decideSuspensions approves or cancels all or the ticked accounts of a
// batch: first a confirmation listing them and what will happen, then,
// posted again with confirm=yes, the decision through the API.
func (s *Server) decideSuspensions(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := s.pathID(w, r, sess, "suspension batch")
	if !ok {
		return
	}
	api, ctx := s.apiFor(r.Context(), sess.User)
	b, err := api.SuspensionBatch(ctx, id)
	if err != nil {
		s.apiErrorPage(w, r, sess, "reading a suspension batch", err)
		return
	}
	v := view{Title: fmt.Sprintf("Held suspension batch #%d", id), Nav: "suspensions"}
	_ = r.ParseForm()
	if len(r.PostForm["account"]) > maxBatchChoice {
		s.errorPage(w, r, sess, http.StatusRequestEntityTooLarge, fmt.Sprintf("Accounts: at most %d at once; use approve all or cancel all.", maxBatchChoice))
		return
	}
	d := suspensionData{Batch: b}
	dec := &batchDecision{}
	switch r.PostFormValue("action") {
	case "approve-all":
		dec.Approve, dec.All = true, true
	case "approve":
		dec.Approve = true
	case "cancel-all":
		dec.All = true
	case "cancel":
	default:
		v.Error = "Choose approve or cancel."
	}
	chosen := map[int64]bool{}
	for _, a := range r.PostForm["account"] {
		aid, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			v.Error = fmt.Sprintf("Accounts: %q is not an account id.", a)
			break
		}
		chosen[aid] = true
	}
	if v.Error == "" && !dec.All && len(chosen) == 0 {
		v.Error = "Accounts: tick at least one waiting account, or use " + dec.Verb() + " all."
	}
	if v.Error == "" && r.PostFormValue("confirm") == "yes" {
		// Confirmed: the API decides (and a form posted twice is answered
		// by its Idempotency-Key as the first time).
		s.applyBatchDecision(w, r, sess, b, dec, chosen)
		return
	}
	for _, it := range b.Items {
		if it.Status == "pending" && (dec.All || chosen[it.AccountID]) {
			dec.Items = append(dec.Items, it)
			delete(chosen, it.AccountID)
		}
	}
	switch {
	case v.Error != "":
	case b.Status != "pending" || b.Pending == 0:
		v.Error = "This batch is already decided: nothing is waiting."
	case len(chosen) > 0:
		v.Error = "Accounts: some of the ticked accounts are no longer waiting in this batch; look again and choose."
	case len(dec.Items) == 0:
		v.Error = "Accounts: tick at least one waiting account, or use " + dec.Verb() + " all."
	}
	if v.Error != "" {
		v.Data = d
		s.render(w, r, sess, http.StatusUnprocessableEntity, "suspension", v)
		return
	}
	d.Confirm = dec
	v.Data, v.Focus = d, "confirm-decision"
	s.render(w, r, sess, http.StatusOK, "suspension", v)
}

// applyBatchDecision sends a confirmed decision to the API: the accounts
// of chosen, or all waiting ones when dec.All.
func (s *Server) applyBatchDecision(w http.ResponseWriter, r *http.Request, sess *session, b billing.SuspensionBatch, dec *batchDecision, chosen map[int64]bool) {
	api, ctx := s.apiFor(r.Context(), sess.User)
	var ids []int64
	if !dec.All {
		for id := range chosen {
			ids = append(ids, id)
		}
		slices.Sort(ids)
	}
	idem := r.PostFormValue("idem")
	var err error
	if dec.Approve {
		_, err = api.ApproveSuspensionBatch(ctx, idem, b.ID, ids)
	} else {
		_, err = api.CancelSuspensionBatch(ctx, idem, b.ID, ids)
	}
	if err != nil {
		status, msg := s.apiProblem(r, "deciding a suspension batch", err)
		if nb, rerr := api.SuspensionBatch(ctx, b.ID); rerr == nil {
			b = nb
		}
		s.render(w, r, sess, status, "suspension", view{Title: fmt.Sprintf("Held suspension batch #%d", b.ID), Nav: "suspensions",
			Error: msg, Data: suspensionData{Batch: b}})
		return
	}
	n := "all waiting"
	if !dec.All {
		n = strconv.Itoa(len(ids))
	}
	http.Redirect(w, r, fmt.Sprintf("%s/suspensions/%d?done=%s&n=%s", s.p.path, b.ID, dec.Verb(), url.QueryEscape(n)), http.StatusSeeOther)
}
