package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/reports"
)

// Accounting exports (issue 20): a period's documents as QuickBooks Online
// or Xero import files, mapped onto the chart of accounts of [Config].Chart,
// each export recorded.

// ExportStore reads the documents to export and records exports
// (*postgres.DB implements it). The endpoints are served when
// [Deps.Billing] implements it.
type ExportStore interface {
	// ExportDocs reads the period's documents for target, each marked if an
	// earlier export to target carried it; no coded errors.
	ExportDocs(ctx context.Context, target string, from, to billing.Date) ([]reports.ExportDoc, error)
	// RecordExport records an export and the documents it carried; no
	// coded errors.
	RecordExport(ctx context.Context, e reports.AccountingExport, documents []int64) (reports.AccountingExport, error)
	// AccountingExports lists the exports, newest first; no coded errors.
	AccountingExports(ctx context.Context) ([]reports.AccountingExport, error)
}

type exportRequest struct {
	Target string `json:"target" enum:"quickbooks-journal,quickbooks-customers,xero-invoices,xero-bank" doc:"Which file: QuickBooks Online journal entries or customers, Xero sales invoices or bank statement."`
	From   string `json:"from" doc:"First day, YYYY-MM-DD."`
	To     string `json:"to" doc:"Last day, YYYY-MM-DD (inclusive)."`
	All    bool   `json:"all,omitempty" doc:"Carry the documents exported before too (with the same external ids); default only new ones."`
}

func (s *Server) registerAccountingExports(st ExportStore) {
	huma.Register(s.api, described(op("list-accounting-exports", http.MethodGet, "/api/v1/accounting-exports", "List the accounting exports", RoleReader, "accounting"),
		"Every export to QuickBooks Online or Xero, newest first: its file, period, how many documents it carried and who made it."),
		func(ctx context.Context, _ *struct{}) (*body[[]reports.AccountingExport], error) {
			es, err := st.AccountingExports(ctx)
			if es == nil {
				es = []reports.AccountingExport{}
			}
			return wrap(s, "list-accounting-exports", es, err)
		})
	huma.Register(s.api, described(op("get-chart-of-accounts", http.MethodGet, "/api/v1/accounting/chart", "Show the chart of accounts exports map onto", RoleReader, "accounting"),
		"The accounts the exports post to (from the controller's configuration, accounting: section), defaults filled in."),
		func(ctx context.Context, _ *struct{}) (*body[reports.ChartOfAccounts], error) {
			return &body[reports.ChartOfAccounts]{Body: s.cfg.Chart.WithDefaults()}, nil
		})
	o := described(op("create-accounting-export", http.MethodPost, "/api/v1/accounting-exports", "Export a period to QuickBooks Online or Xero", RoleBilling, "accounting"),
		"Builds one import file for the period's journal (effective dates from..to) and records the export. quickbooks-journal: "+
			"one journal entry per journal transaction (Journal No its external id TG-nnnnnn; Name the customer on receivable lines), "+
			"mapped onto the chart of accounts (revenue per plan or plan family, tax per jurisdiction, bank per deposit account, "+
			"clearing per gateway); quickbooks-customers: the customers those name; xero-invoices: the invoices issued (Xero's "+
			"sales invoice template); xero-bank: payments, reversals and refunds (Xero's bank statement template). Only documents "+
			"not exported before to the same target unless all; an export with all carries them with the same ids.")
	o.Errors = append(o.Errors, http.StatusUnprocessableEntity)
	huma.Register(s.api, o, func(ctx context.Context, in *body[exportRequest]) (*fileOutput, error) {
		from, to, err := s.period(periodQuery{From: in.Body.From, To: in.Body.To})
		if err != nil {
			return nil, err
		}
		docs, err := st.ExportDocs(ctx, in.Body.Target, from, to)
		if err != nil {
			return nil, s.toHTTPError("create-accounting-export", err)
		}
		var buf bytes.Buffer
		ids, err := reports.ExportFile(&buf, in.Body.Target, docs, s.cfg.Chart, in.Body.All)
		if err != nil {
			return nil, s.toHTTPError("create-accounting-export", err)
		}
		e, err := st.RecordExport(ctx, reports.AccountingExport{Target: in.Body.Target, From: from, To: to, All: in.Body.All,
			CreatedBy: actor(ctx), CreatedAt: s.clock.Now().UTC()}, ids)
		if err != nil {
			return nil, s.toHTTPError("create-accounting-export", err)
		}
		name := fmt.Sprintf("%s-%s-%s-%d.csv", in.Body.Target, from, to, e.ID)
		return &fileOutput{ContentType: "text/csv; charset=utf-8", ContentDisposition: fmt.Sprintf("attachment; filename=%q", name), Body: buf.Bytes()}, nil
	})
}
