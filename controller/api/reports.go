package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/documents"
	"github.com/tollgate-isp/tollgate/controller/reports"
)

// Billing staff's and the accountant's reports (issue 20): AR aging, tax
// liability, payments and deposits, each as JSON and as a CSV file, and
// the period close. The store reads the inputs as of a date; the
// arithmetic is controller/reports'.

// ReportStore reads the reports' inputs and closes periods
// (*postgres.DB implements it). The endpoints are served when
// [Deps.Billing] implements it.
type ReportStore interface {
	// AgingInputs reads the accounts' balances and open invoices as of
	// asOf, by account id; no coded errors.
	AgingInputs(ctx context.Context, asOf billing.Date) ([]reports.AgingAccount, []reports.AgingInvoice, error)
	// TaxInputs reads the invoices issued or voided in [from, to] with
	// their lines; no coded errors.
	TaxInputs(ctx context.Context, from, to billing.Date) ([]reports.TaxInvoice, error)
	// PaymentInputs reads the payments f selects and the deposit slips of
	// its period; no coded errors.
	PaymentInputs(ctx context.Context, f reports.PaymentFilter) ([]reports.PaymentLine, []reports.DepositBatch, error)
	// RevenueInputs reads the lines billed in [from, to] and the billed
	// services' terms for MRR; no coded errors.
	RevenueInputs(ctx context.Context, from, to billing.Date) ([]reports.RevenueLine, []reports.MRRService, error)
	// CollectionsInputs reads the period's status changes, the promises
	// that may fall due in it and its held suspension batches; no coded
	// errors.
	CollectionsInputs(ctx context.Context, from, to billing.Date) ([]reports.StatusChange, []reports.PromiseNote, []reports.HeldBatch, error)
	// ClosePeriod closes the books through the end of the month starting
	// on month: EINVALID if it has not ended, ECONFLICT if closed already.
	ClosePeriod(ctx context.Context, month billing.Date, by string, now time.Time) (reports.PeriodClose, error)
	// MakeReceivableSnapshots keeps each close's receivable balances for
	// aging (after the transactions in progress end); no coded errors: a
	// failure leaves aging reading the journal, and the next call makes
	// the snapshot.
	MakeReceivableSnapshots(ctx context.Context, now time.Time) error
	// PeriodCloses lists the closes, latest first; no coded errors.
	PeriodCloses(ctx context.Context) ([]reports.PeriodClose, error)
}

// queryDate parses an optional YYYY-MM-DD query value (def when empty); a
// bad one is a 422 naming the parameter.
func queryDate(name, v string, def billing.Date) (billing.Date, error) {
	if v == "" {
		return def, nil
	}
	d, err := billing.ParseDate(v)
	if err != nil {
		msg := name + ": " + billing.ErrorMessage(err)
		return d, huma.Error422UnprocessableEntity(msg, &huma.ErrorDetail{Location: "query." + name, Message: msg, Value: v})
	}
	return d, nil
}

type agingQuery struct {
	AsOf   string `query:"as_of" doc:"YYYY-MM-DD: everything effective on or before this day; default today (UTC)."`
	Totals bool   `query:"totals_only" doc:"Leave out the per-account rows (the totals of every account)."`
}

type periodQuery struct {
	From string `query:"from" required:"true" doc:"First day, YYYY-MM-DD."`
	To   string `query:"to" required:"true" doc:"Last day, YYYY-MM-DD (inclusive)."`
}

type paymentsQuery struct {
	From     string `query:"from" required:"true" doc:"First day, YYYY-MM-DD."`
	To       string `query:"to" required:"true" doc:"Last day, YYYY-MM-DD (inclusive)."`
	Method   string `query:"method" enum:"check,cash,wire,money_order,other,card,ach," doc:"Only this method."`
	BatchID  int64  `query:"batch_id" minimum:"0" doc:"Only the payments of this deposit batch."`
	Gateway  string `query:"gateway" maxLength:"64" doc:"Only payments through this gateway (stripe, sandbox)."`
	PostedBy string `query:"posted_by" maxLength:"200" doc:"Only payments posted by this staff member or token (user:alice)."`
}

func (s *Server) agingReport(ctx context.Context, st ReportStore, in *agingQuery) (reports.AgingReport, error) {
	asOf, err := queryDate("as_of", in.AsOf, billing.DateOf(s.clock.Now().UTC()))
	if err != nil {
		return reports.AgingReport{}, err
	}
	accounts, invoices, err := st.AgingInputs(ctx, asOf)
	if err != nil {
		return reports.AgingReport{}, s.toHTTPError("ar-aging", err)
	}
	return reports.Aging(asOf, accounts, invoices, !in.Totals), nil
}

func (s *Server) period(in periodQuery) (billing.Date, billing.Date, error) {
	from, err := queryDate("from", in.From, billing.Date{})
	if err != nil {
		return from, from, err
	}
	to, err := queryDate("to", in.To, billing.Date{})
	if err != nil {
		return from, to, err
	}
	if err := reports.CheckPeriod(from, to); err != nil {
		return from, to, s.toHTTPError("report", err)
	}
	return from, to, nil
}

func (s *Server) taxReport(ctx context.Context, st ReportStore, in *periodQuery) (reports.TaxReport, error) {
	from, to, err := s.period(*in)
	if err != nil {
		return reports.TaxReport{}, err
	}
	invs, err := st.TaxInputs(ctx, from, to)
	if err != nil {
		return reports.TaxReport{}, s.toHTTPError("tax-liability", err)
	}
	return reports.TaxLiability(from, to, invs), nil
}

func (s *Server) paymentsReport(ctx context.Context, st ReportStore, in *paymentsQuery) (reports.PaymentsReport, error) {
	from, to, err := s.period(periodQuery{From: in.From, To: in.To})
	if err != nil {
		return reports.PaymentsReport{}, err
	}
	ps, bs, err := st.PaymentInputs(ctx, reports.PaymentFilter{From: from, To: to, Method: in.Method, BatchID: in.BatchID, Gateway: in.Gateway, PostedBy: in.PostedBy})
	if err != nil {
		return reports.PaymentsReport{}, s.toHTTPError("payments-report", err)
	}
	r := reports.Payments(from, to, ps, bs)
	if s.charger != nil && in.Method == "" && in.BatchID == 0 && in.PostedBy == "" {
		gw := s.charger.Gateway()
		if in.Gateway == "" || in.Gateway == gw.Name() {
			payouts, err := gw.Payouts(ctx, from, to)
			if err != nil {
				return r, s.toHTTPError("payments-report", fmt.Errorf("reading the gateway's payouts: %w", err))
			}
			gp := make([]reports.GatewayPayout, len(payouts))
			for i, p := range payouts {
				gp[i] = reports.GatewayPayout{Gateway: gw.Name(), ID: p.ID, Date: p.Date, Currency: string(p.Currency), Amount: p.Amount, Charges: p.Charges, Refunds: p.Refunds, Fees: p.Fees}
			}
			r.Payouts = reports.ReconcilePayouts(ps, gp)
		}
	}
	return r, nil
}

func (s *Server) revenueReport(ctx context.Context, st ReportStore, in *periodQuery) (reports.RevenueReport, error) {
	from, to, err := s.period(*in)
	if err != nil {
		return reports.RevenueReport{}, err
	}
	lines, services, err := st.RevenueInputs(ctx, from, to)
	if err != nil {
		return reports.RevenueReport{}, s.toHTTPError("revenue", err)
	}
	return reports.Revenue(from, to, lines, services), nil
}

func (s *Server) collectionsReport(ctx context.Context, st ReportStore, in *periodQuery) (reports.CollectionsReport, error) {
	from, to, err := s.period(*in)
	if err != nil {
		return reports.CollectionsReport{}, err
	}
	changes, promises, held, err := st.CollectionsInputs(ctx, from, to)
	if err != nil {
		return reports.CollectionsReport{}, s.toHTTPError("collections-report", err)
	}
	return reports.Collections(from, to, changes, promises, held), nil
}

// csvFile is a report's CSV download.
func csvFile(name string, write func(*bytes.Buffer) error) (*fileOutput, error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return nil, err
	}
	return &fileOutput{ContentType: "text/csv; charset=utf-8", ContentDisposition: fmt.Sprintf("attachment; filename=%q", name), Body: buf.Bytes()}, nil
}

func (s *Server) registerReports(st ReportStore) {
	api := s.api
	huma.Register(api, described(op("ar-aging", http.MethodGet, "/api/v1/reports/ar-aging", "Accounts receivable aging as of a date", RoleReader, "reports"),
		"Every account's receivable as of as_of (journal entries and allocation events effective on or before it): open invoice "+
			"amounts in buckets by days past due (current, 1–30, 31–60, 61–90, over 90), credit not applied to an invoice, and the "+
			"balance; totals by account type, by POP (the account's first service's) and overall, per currency. Minor units."),
		func(ctx context.Context, in *agingQuery) (*body[reports.AgingReport], error) {
			r, err := s.agingReport(ctx, st, in)
			if err != nil {
				return nil, err
			}
			return &body[reports.AgingReport]{Body: r}, nil
		})
	huma.Register(api, described(op("ar-aging-csv", http.MethodGet, "/api/v1/reports/ar-aging.csv", "Accounts receivable aging as CSV", RoleReader, "reports"),
		"The aging report as CSV: a row per account, then the totals by account type, POP and overall (column Scope says which), amounts in major units."),
		func(ctx context.Context, in *agingQuery) (*fileOutput, error) {
			r, err := s.agingReport(ctx, st, in)
			if err != nil {
				return nil, err
			}
			return csvFile("ar-aging-"+r.AsOf.String()+".csv", func(b *bytes.Buffer) error { return reports.WriteAgingCSV(b, r) })
		})
	huma.Register(api, described(op("ar-aging-pdf", http.MethodGet, "/api/v1/reports/ar-aging.pdf", "Accounts receivable aging as PDF, for printing", RoleReader, "reports"),
		"The aging report as a US Letter PDF: the totals overall, by account type and by POP, then the accounts (the first "+
			strconv.Itoa(documents.AgingPrintRows)+"; the CSV lists every one). totals_only prints the totals alone."),
		func(ctx context.Context, in *agingQuery) (*fileOutput, error) {
			r, err := s.agingReport(ctx, st, in)
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			if err := documents.RenderAgingPDF(&buf, s.cfg.Company, r); err != nil {
				return nil, s.toHTTPError("ar-aging-pdf", err)
			}
			return &fileOutput{ContentType: "application/pdf", ContentDisposition: fmt.Sprintf("attachment; filename=%q", "ar-aging-"+r.AsOf.String()+".pdf"),
				Body: buf.Bytes()}, nil
		})
	huma.Register(api, described(op("tax-liability", http.MethodGet, "/api/v1/reports/tax", "Tax liability for a period", RoleReader, "reports"),
		"Tax per jurisdiction and rate for the invoices the journal issued or voided from from to to: taxable sales and tax charged, "+
			"sales not taxed, and what credit notes (credits and refunds of charges) and voids take back; net_tax is the tax_payable "+
			"ledger's movement. A refund of a payment returns money, not a sale, and changes no tax."),
		func(ctx context.Context, in *periodQuery) (*body[reports.TaxReport], error) {
			r, err := s.taxReport(ctx, st, in)
			if err != nil {
				return nil, err
			}
			return &body[reports.TaxReport]{Body: r}, nil
		})
	huma.Register(api, described(op("tax-liability-csv", http.MethodGet, "/api/v1/reports/tax.csv", "Tax liability for a period as CSV", RoleReader, "reports"),
		"The tax liability report as CSV, one row per jurisdiction, rate and currency, amounts in major units."),
		func(ctx context.Context, in *periodQuery) (*fileOutput, error) {
			r, err := s.taxReport(ctx, st, in)
			if err != nil {
				return nil, err
			}
			return csvFile("tax-"+r.From.String()+"-"+r.To.String()+".csv", func(b *bytes.Buffer) error { return reports.WriteTaxCSV(b, r) })
		})
	huma.Register(api, described(op("payments-report", http.MethodGet, "/api/v1/reports/payments", "Payments and deposits for a period", RoleReader, "reports"),
		"The payments whose journal date is in the period (a payment dated into a closed period posts on its first open day and keeps "+
			"its received date), filtered by method, batch, gateway or staff member; totals by method; the deposit slips dated in the "+
			"period; and the reconciliation of hand-received payments against the slips, listing each one on no slip."),
		func(ctx context.Context, in *paymentsQuery) (*body[reports.PaymentsReport], error) {
			r, err := s.paymentsReport(ctx, st, in)
			if err != nil {
				return nil, err
			}
			return &body[reports.PaymentsReport]{Body: r}, nil
		})
	huma.Register(api, described(op("payments-report-csv", http.MethodGet, "/api/v1/reports/payments.csv", "Payments for a period as CSV", RoleReader, "reports"),
		"The payments of the payments report as CSV, one row each, amounts in major units."),
		func(ctx context.Context, in *paymentsQuery) (*fileOutput, error) {
			r, err := s.paymentsReport(ctx, st, in)
			if err != nil {
				return nil, err
			}
			return csvFile("payments-"+r.From.String()+"-"+r.To.String()+".csv", func(b *bytes.Buffer) error { return reports.WritePaymentsCSV(b, r) })
		})
	huma.Register(api, described(op("revenue", http.MethodGet, "/api/v1/reports/revenue", "Revenue billed and MRR movements for a period", RoleReader, "reports"),
		"Revenue billed (invoice lines the journal issued in the period, less those voided in it; tax left out) by plan, account type "+
			"and POP; and monthly recurring revenue on from and on to with its movements — new, upgrade, downgrade, churn — from the "+
			"services' starts, plan and quantity changes and ends, at the plans' current prices per month."),
		func(ctx context.Context, in *periodQuery) (*body[reports.RevenueReport], error) {
			r, err := s.revenueReport(ctx, st, in)
			if err != nil {
				return nil, err
			}
			return &body[reports.RevenueReport]{Body: r}, nil
		})
	huma.Register(api, described(op("revenue-csv", http.MethodGet, "/api/v1/reports/revenue.csv", "Revenue billed for a period as CSV", RoleReader, "reports"),
		"Revenue by plan, account type and POP as CSV (Dimension says which), amounts in major units; MRR is in the JSON form."),
		func(ctx context.Context, in *periodQuery) (*fileOutput, error) {
			r, err := s.revenueReport(ctx, st, in)
			if err != nil {
				return nil, err
			}
			return csvFile("revenue-"+r.From.String()+"-"+r.To.String()+".csv", func(b *bytes.Buffer) error { return reports.WriteRevenueCSV(b, r) })
		})
	huma.Register(api, described(op("collections-report", http.MethodGet, "/api/v1/reports/collections", "Collections for a period", RoleReader, "reports"),
		"How many accounts became past due, delinquent or suspended and how many were restored from suspension (days in UTC), "+
			"every such status change, the suspension batches the blast-radius guard held, and the promises to pay whose day fell "+
			"in the period: kept when a payment that still stands was received from the day it was made to its day, else broken."),
		func(ctx context.Context, in *periodQuery) (*body[reports.CollectionsReport], error) {
			r, err := s.collectionsReport(ctx, st, in)
			if err != nil {
				return nil, err
			}
			return &body[reports.CollectionsReport]{Body: r}, nil
		})
	huma.Register(api, described(op("collections-report-csv", http.MethodGet, "/api/v1/reports/collections.csv", "Collections for a period as CSV", RoleReader, "reports"),
		"The period's status changes and judged promises as CSV (Event says which); the counts and held batches are in the JSON form."),
		func(ctx context.Context, in *periodQuery) (*fileOutput, error) {
			r, err := s.collectionsReport(ctx, st, in)
			if err != nil {
				return nil, err
			}
			return csvFile("collections-"+r.From.String()+"-"+r.To.String()+".csv", func(b *bytes.Buffer) error { return reports.WriteCollectionsCSV(b, r) })
		})
	huma.Register(api, described(op("list-period-closes", http.MethodGet, "/api/v1/period-closes", "List the closes of the books", RoleReader, "reports"),
		"Every close, latest first; the books are closed through the latest one's day."),
		func(ctx context.Context, _ *struct{}) (*body[[]reports.PeriodClose], error) {
			cs, err := st.PeriodCloses(ctx)
			if cs == nil {
				cs = []reports.PeriodClose{}
			}
			return wrap(s, "list-period-closes", cs, err)
		})
	closeOp := described(op("close-period", http.MethodPost, "/api/v1/period-closes", "Close a month", RoleBilling, "reports"),
		"Closes the books through the month's last day (and every earlier open month). Afterwards payments, reversals, voids, credits "+
			"and fees dated in a closed month post on the first open day (their own date kept as original_date), a billing run for a "+
			"closed date is refused (422) and the closed months' reports never change. 422 if the month has not ended everywhere, "+
			"409 if it is closed already. Cannot be undone.")
	closeOp.DefaultStatus = http.StatusCreated
	closeOp.Errors = append(closeOp.Errors, http.StatusConflict, http.StatusUnprocessableEntity)
	huma.Register(api, closeOp,
		func(ctx context.Context, in *struct {
			Body struct {
				Month string `json:"month" pattern:"^[0-9]{4}-[0-9]{2}$" doc:"The month to close, YYYY-MM."`
			}
		}) (*body[reports.PeriodClose], error) {
			month, err := reports.ParseMonth("month", in.Body.Month)
			if err != nil {
				return nil, s.toHTTPError("close-period", err)
			}
			c, err := st.ClosePeriod(ctx, month, actor(ctx), s.clock.Now())
			if err == nil {
				// Aging's snapshot of the closed books; without it aging reads
				// the journal (slower), and the next close makes it.
				if serr := st.MakeReceivableSnapshots(ctx, s.clock.Now()); serr != nil {
					s.log.Warn("period close: the receivable snapshot for aging was not made; the next close makes it",
						"through", c.Through.String(), "err", serr)
				}
			}
			return wrap(s, "close-period", c, err)
		})
}
