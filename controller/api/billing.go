package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The billing endpoints' ports, one per group of handlers. Every method's
// error is a coded billing error (billing.ErrorCode) where the doc says so
// and a store failure (EINTERNAL) otherwise.

// AccountTypeStore keeps account types (billing profiles). The account-type
// endpoints use it, and the handlers that date things "today" in an
// account type's zone read it.
type AccountTypeStore interface {
	// CreateAccountType validates and stores an account type: EINVALID
	// names the bad field, ECONFLICT if the name is taken.
	CreateAccountType(ctx context.Context, t billing.AccountType, at time.Time) (billing.AccountType, error)
	// UpdateAccountType replaces an account type's settings: ENOTFOUND for
	// an unknown id, EINVALID naming the bad field, ECONFLICT if the new
	// name is taken.
	UpdateAccountType(ctx context.Context, t billing.AccountType) (billing.AccountType, error)
	// AccountType reads one account type: ENOTFOUND if it does not exist.
	AccountType(ctx context.Context, id int64) (billing.AccountType, error)
	// AccountTypes lists every account type by id; no coded errors.
	AccountTypes(ctx context.Context) ([]billing.AccountType, error)
}

// PlanStore keeps plans and tax rates (the plan endpoints).
type PlanStore interface {
	// CreatePlan validates and stores a plan: EINVALID names the bad
	// field, ECONFLICT if the name is taken.
	CreatePlan(ctx context.Context, p billing.Plan, at time.Time) (billing.Plan, error)
	// Plan reads one plan: ENOTFOUND if it does not exist.
	Plan(ctx context.Context, id int64) (billing.Plan, error)
	// Plans lists every plan by id; no coded errors.
	Plans(ctx context.Context) ([]billing.Plan, error)
	// PutTaxRate creates or replaces a jurisdiction's tax rate: EINVALID
	// names the bad field.
	PutTaxRate(ctx context.Context, r billing.TaxRate, at time.Time) error
	// TaxRates lists every tax rate by jurisdiction and name; no coded
	// errors.
	TaxRates(ctx context.Context) ([]billing.TaxRate, error)
}

// AccountStore keeps subscriber accounts, their one-time charges and
// credits, and reads their ledger (the account endpoints; deposit slips and
// statements read accounts through it too).
type AccountStore interface {
	// CreateAccount validates and numbers a new account: EINVALID names the
	// bad field (an unknown account type included). An account with the
	// same external id is returned as it is with created false.
	CreateAccount(ctx context.Context, in billing.NewAccount, at time.Time) (a billing.Account, created bool, err error)
	// Account reads one account: ENOTFOUND if it does not exist.
	Account(ctx context.Context, id int64) (billing.Account, error)
	// Accounts lists the accounts matching f in id order; no coded errors.
	Accounts(ctx context.Context, f billing.AccountFilter) ([]billing.Account, error)
	// SetAccountLocale sets an account's own locale and returns the
	// account: EINVALID for an unsupported locale (nothing changes),
	// ENOTFOUND for an unknown account.
	SetAccountLocale(ctx context.Context, id int64, locale billing.Locale) (billing.Account, error)
	// Balance is what the account owes (negative: credit), from the
	// ledger: ENOTFOUND if the account does not exist.
	Balance(ctx context.Context, accountID int64) (int64, error)
	// Statement is the account's ledger lines with a running balance:
	// ENOTFOUND if the account does not exist.
	Statement(ctx context.Context, accountID int64) ([]billing.StatementLine, error)
	// CreateCharge stores a one-time charge for the next invoice: EINVALID
	// names the bad field, and is also the answer for an unknown account.
	CreateCharge(ctx context.Context, c billing.OneTimeCharge, at time.Time) (billing.OneTimeCharge, error)
	// Charges lists an account's one-time charges, newest first; no coded
	// errors (an unknown account has none).
	Charges(ctx context.Context, accountID int64) ([]billing.OneTimeCharge, error)
	// PostCredit credits an account as one journal transaction: ENOTFOUND
	// for an unknown account, EINVALID for a non-positive amount or a
	// missing memo.
	PostCredit(ctx context.Context, accountID, amount int64, memo string, effective billing.Date, actor string, at time.Time) (billing.JournalTx, error)
}

// InvoiceStore reads and voids invoices (the invoice endpoints).
type InvoiceStore interface {
	// Invoice reads an invoice with its lines: ENOTFOUND if it does not
	// exist.
	Invoice(ctx context.Context, id int64) (billing.Invoice, error)
	// Invoices lists the invoices matching f (without lines) in id order;
	// no coded errors.
	Invoices(ctx context.Context, f billing.InvoiceFilter) ([]billing.Invoice, error)
	// VoidInvoice voids an open invoice with a reversing journal
	// transaction: ENOTFOUND if it does not exist, ECONFLICT if it is
	// already void or paid.
	VoidInvoice(ctx context.Context, id int64, reason string, effective billing.Date, at time.Time) (billing.Invoice, error)
}

// BillingRunStore reads billing runs and previews one (the billing-run
// endpoints; [BillingRunner] opens runs).
type BillingRunStore interface {
	// BillingRun reads a run with the errors of the accounts it could not
	// bill: ENOTFOUND if it does not exist.
	BillingRun(ctx context.Context, id int64) (billing.BillingRun, error)
	// BillingRuns lists at most limit runs, newest first, with ids below
	// beforeID (0: from the newest); no coded errors.
	BillingRuns(ctx context.Context, beforeID int64, limit int) ([]billing.BillingRun, error)
	// PreviewBilling is what a run for date would invoice for one account
	// type (0: every type), writing nothing: ENOTFOUND for an unknown
	// account type. An account that cannot be billed is an item with an
	// error, not an error.
	PreviewBilling(ctx context.Context, typeID int64, date billing.Date) ([]billing.PreviewItem, error)
}

// BillingPorts is every port of the billing endpoints in one, for wiring
// the one store that implements them all ([Deps].Billing; postgres.DB does).
// It is not a port itself: [NewServer] hands each group of handlers only
// the port it uses.
type BillingPorts interface {
	AccountTypeStore
	PlanStore
	AccountStore
	InvoiceStore
	BillingRunStore
}

// BillingRunner opens billing runs (River jobs do the work).
type BillingRunner interface {
	// StartRun opens the run of one account type for date (or returns the
	// existing one with created false): ENOTFOUND for an unknown account
	// type, EINVALID without a date.
	StartRun(ctx context.Context, typeID int64, date billing.Date, trigger billing.RunTrigger, by string) (run billing.BillingRun, created bool, err error)
}

// IDPath is the {id} of a resource. It is exported because huma only reads
// parameters from exported embedded structs.
type IDPath struct {
	ID int64 `path:"id" minimum:"1"`
}

type body[T any] struct{ Body T }

type page[T any] struct {
	Items []T `json:"items"`
	// NextAfter is the cursor for the next page (pass as after=); 0 on the
	// last page.
	NextAfter int64 `json:"next_after"`
}

func newPage[T any](items []T, limit int, id func(T) int64) page[T] {
	p := page[T]{Items: items}
	if p.Items == nil {
		p.Items = []T{}
	}
	if len(items) == limit && limit > 0 {
		p.NextAfter = id(items[len(items)-1])
	}
	return p
}

// today is the controller's current date in the account's type's zone, or
// UTC (also when the billing endpoints are not served).
func (s *Server) today(ctx context.Context, typeID int64) billing.Date {
	if s.accountTypes == nil {
		return billing.DateIn(s.clock.Now(), time.UTC)
	}
	if t, err := s.accountTypes.AccountType(ctx, typeID); err == nil {
		if loc, err := t.Location(); err == nil {
			return billing.DateIn(s.clock.Now(), loc)
		}
	}
	return billing.DateIn(s.clock.Now(), time.UTC)
}

// checkNotFuture refuses (422 naming the field at loc, "body.charge_date")
// a date more than billing.MaxFutureDays after today (UTC): a date that
// records what happened, or a billing run, does not lie further ahead.
func (s *Server) checkNotFuture(loc string, d billing.Date) error {
	if err := billing.CheckNotFuture(loc[strings.LastIndex(loc, ".")+1:], d, billing.DateIn(s.clock.Now(), time.UTC)); err != nil {
		return huma.Error422UnprocessableEntity(billing.ErrorMessage(err), &huma.ErrorDetail{Location: loc, Message: billing.ErrorMessage(err), Value: d.String()})
	}
	return nil
}

// registerAccountTypes registers the account-type endpoints.
func (s *Server) registerAccountTypes(types AccountTypeStore) {
	api := s.api
	huma.Register(api, op("create-account-type", http.MethodPost, "/api/v1/account-types",
		"Create an account type (billing profile) with its billing settings", RoleAdmin, "account types"),
		func(ctx context.Context, in *body[billing.AccountType]) (*body[billing.AccountType], error) {
			t, err := types.CreateAccountType(ctx, in.Body, s.clock.Now())
			return wrap(s, "create-account-type", t, err)
		})
	huma.Register(api, described(op("update-account-type", http.MethodPut, "/api/v1/account-types/{id}",
		"Replace an account type's billing settings", RoleAdmin, "account types"),
		"Replaces the settings. suspend_action throttle (with throttle_profile) makes the sweep slow delinquent subscribers "+
			"down instead of cutting them off; it is refused (422 naming suspend_action and the service) while an account of "+
			"the type has a service bound with snmp, which can only cut off. Services already suspended or throttled keep "+
			"their state until restored."),
		func(ctx context.Context, in *struct {
			IDPath
			Body billing.AccountType
		}) (*body[billing.AccountType], error) {
			in.Body.ID = in.ID
			t, err := types.UpdateAccountType(ctx, in.Body)
			return wrap(s, "update-account-type", t, err)
		})
	huma.Register(api, op("list-account-types", http.MethodGet, "/api/v1/account-types", "List account types", RoleReader, "account types"),
		func(ctx context.Context, _ *struct{}) (*body[page[billing.AccountType]], error) {
			ts, err := types.AccountTypes(ctx)
			return wrap(s, "list-account-types", newPage(ts, 0, func(t billing.AccountType) int64 { return t.ID }), err)
		})
	huma.Register(api, op("get-account-type", http.MethodGet, "/api/v1/account-types/{id}", "Show an account type", RoleReader, "account types"),
		func(ctx context.Context, in *IDPath) (*body[billing.AccountType], error) {
			t, err := types.AccountType(ctx, in.ID)
			return wrap(s, "get-account-type", t, err)
		})
	huma.Register(api, op("list-holiday-calendars", http.MethodGet, "/api/v1/holiday-calendars",
		"List the holiday calendar codes account types may use", RoleReader, "account types"),
		func(ctx context.Context, _ *struct{}) (*body[[]string], error) {
			return &body[[]string]{Body: billing.KnownHolidayCalendars()}, nil
		})
}

// registerPlans registers the plan and tax-rate endpoints.
func (s *Server) registerPlans(plans PlanStore) {
	api := s.api
	huma.Register(api, op("create-plan", http.MethodPost, "/api/v1/plans", "Create a plan (a price per interval)", RoleAdmin, "plans"),
		func(ctx context.Context, in *struct {
			Body struct {
				billing.Plan
				Price feeField `json:"price" doc:"Per interval: minor units, or a decimal in the plan's currency (\"49.99\")."`
			}
		}) (*body[billing.Plan], error) {
			p := in.Body.Plan
			var err error
			if p.Price, err = in.Body.Price.in("body.price", p.Currency); err != nil {
				return nil, err
			}
			p, err = plans.CreatePlan(ctx, p, s.clock.Now())
			return wrap(s, "create-plan", p, err)
		})
	huma.Register(api, op("list-plans", http.MethodGet, "/api/v1/plans", "List plans", RoleReader, "plans"),
		func(ctx context.Context, _ *struct{}) (*body[page[billing.Plan]], error) {
			ps, err := plans.Plans(ctx)
			return wrap(s, "list-plans", newPage(ps, 0, func(p billing.Plan) int64 { return p.ID }), err)
		})
	huma.Register(api, op("get-plan", http.MethodGet, "/api/v1/plans/{id}", "Show a plan", RoleReader, "plans"),
		func(ctx context.Context, in *IDPath) (*body[billing.Plan], error) {
			p, err := plans.Plan(ctx, in.ID)
			return wrap(s, "get-plan", p, err)
		})
	huma.Register(api, op("put-tax-rate", http.MethodPost, "/api/v1/tax-rates", "Create or replace a tax rate of a jurisdiction", RoleAdmin, "plans"),
		func(ctx context.Context, in *body[billing.TaxRate]) (*body[billing.TaxRate], error) {
			err := plans.PutTaxRate(ctx, in.Body, s.clock.Now())
			return wrap(s, "put-tax-rate", in.Body, err)
		})
	huma.Register(api, op("list-tax-rates", http.MethodGet, "/api/v1/tax-rates", "List tax rates", RoleReader, "plans"),
		func(ctx context.Context, _ *struct{}) (*body[page[billing.TaxRate]], error) {
			rs, err := plans.TaxRates(ctx)
			return wrap(s, "list-tax-rates", newPage(rs, 0, func(billing.TaxRate) int64 { return 0 }), err)
		})
}

// registerAccounts registers the account endpoints: accounts, their
// statements, one-time charges and credits.
func (s *Server) registerAccounts(accounts AccountStore) {
	api := s.api
	huma.Register(api, op("create-account", http.MethodPost, "/api/v1/accounts",
		"Create a subscriber account (an existing external_id returns that account)", RoleBilling, "accounts"),
		func(ctx context.Context, in *body[billing.NewAccount]) (*body[billing.Account], error) {
			a, _, err := accounts.CreateAccount(ctx, in.Body, s.clock.Now())
			return wrap(s, "create-account", a, err)
		})
	huma.Register(api, op("list-accounts", http.MethodGet, "/api/v1/accounts", "List and search accounts", RoleReader, "accounts"),
		func(ctx context.Context, in *struct {
			AccountTypeID int64  `query:"account_type_id" minimum:"0"`
			Status        string `query:"status" enum:"current,past_due,delinquent,suspended,closed,"`
			Search        string `query:"q" maxLength:"100" doc:"Substring of number, external id, name or email."`
			After         int64  `query:"after" minimum:"0"`
			Limit         int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		}) (*body[page[accountListItem]], error) {
			as, err := accounts.Accounts(ctx, billing.AccountFilter{AccountTypeID: in.AccountTypeID, Status: billing.AccountStatus(in.Status),
				Search: in.Search, AfterID: in.After, Limit: in.Limit})
			if err != nil {
				return nil, s.toHTTPError("list-accounts", err)
			}
			items, err := s.accountListItems(ctx, accounts, as)
			return wrap(s, "list-accounts", newPage(items, in.Limit, func(a accountListItem) int64 { return a.ID }), err)
		})
	huma.Register(api, op("get-account", http.MethodGet, "/api/v1/accounts/{id}", "Show an account with its balance", RoleReader, "accounts"),
		func(ctx context.Context, in *IDPath) (*taggedAccount, error) {
			a, err := accounts.Account(ctx, in.ID)
			if err != nil {
				return nil, s.toHTTPError("get-account", err)
			}
			bal, err := accounts.Balance(ctx, in.ID)
			return withETag(s, "get-account", accountView{Account: a, Balance: bal}, err)
		})
	huma.Register(api, described(op("set-account-locale", http.MethodPut, "/api/v1/accounts/{id}/locale",
		"Set the locale the subscriber reads", RoleBilling, "accounts"),
		"Sets the account's own locale (BCP 47: en-US, en-CA, en-GB, de-DE, de-AT): the language, amounts and dates "+
			"of its notices and of the portal's \"why\". An empty locale inherits the account type's, else the "+
			"company's (company.locale), else en-US. Staff views are not localised. Answers the account."),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Locale billing.Locale `json:"locale" maxLength:"35" doc:"BCP 47 tag, one of en-US, en-CA, en-GB, de-DE, de-AT; empty to inherit."`
			}
		}) (*body[billing.Account], error) {
			a, err := accounts.SetAccountLocale(ctx, in.ID, in.Body.Locale)
			return wrap(s, "set-account-locale", a, err)
		})
	huma.Register(api, op("get-account-statement", http.MethodGet, "/api/v1/accounts/{id}/statement",
		"An account's ledger lines with running balance", RoleReader, "accounts"),
		func(ctx context.Context, in *IDPath) (*body[statement], error) {
			lines, err := accounts.Statement(ctx, in.ID)
			if err != nil {
				return nil, s.toHTTPError("get-account-statement", err)
			}
			st := statement{Lines: lines}
			if len(lines) == 0 {
				st.Lines = []billing.StatementLine{}
			} else {
				st.Balance = lines[len(lines)-1].RunningBalance
			}
			return &body[statement]{Body: st}, nil
		})
	huma.Register(api, op("create-charge", http.MethodPost, "/api/v1/accounts/{id}/charges",
		"Add a one-time charge to the account's next invoice", RoleBilling, "accounts"),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				billing.OneTimeCharge
				Amount amountField `json:"amount" required:"true"`
			}
		}) (*body[billing.OneTimeCharge], error) {
			ch := in.Body.OneTimeCharge
			ch.AccountID = in.ID
			if err := s.checkNotFuture("body.charge_date", ch.ChargeDate); err != nil {
				return nil, err
			}
			if ch.ChargeDate.IsZero() {
				ch.ChargeDate = s.today(ctx, 0)
			}
			var err error
			if ch.Amount, err = s.accountAmount(ctx, "create-charge", "body.amount", in.ID, in.Body.Amount); err != nil {
				return nil, err
			}
			c, err := accounts.CreateCharge(ctx, ch, s.clock.Now())
			return wrap(s, "create-charge", c, err)
		})
	huma.Register(api, op("list-charges", http.MethodGet, "/api/v1/accounts/{id}/charges", "List an account's one-time charges", RoleReader, "accounts"),
		func(ctx context.Context, in *IDPath) (*body[page[billing.OneTimeCharge]], error) {
			cs, err := accounts.Charges(ctx, in.ID)
			return wrap(s, "list-charges", newPage(cs, 0, func(c billing.OneTimeCharge) int64 { return c.ID }), err)
		})
	huma.Register(api, op("create-credit", http.MethodPost, "/api/v1/accounts/{id}/credits",
		"Credit an account (adjustment); posted to the ledger at once", RoleBilling, "accounts"),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Amount        amountField  `json:"amount" required:"true"`
				Memo          string       `json:"memo" minLength:"1" maxLength:"500" required:"true"`
				EffectiveDate billing.Date `json:"effective_date,omitzero" doc:"Default: today."`
			}
		}) (*body[billing.JournalTx], error) {
			if strings.TrimSpace(in.Body.Memo) == "" {
				const msg = "memo is required: say why the account is credited"
				return nil, huma.Error422UnprocessableEntity(msg, &huma.ErrorDetail{Location: "body.memo", Message: msg, Value: in.Body.Memo})
			}
			eff := in.Body.EffectiveDate
			if eff.IsZero() {
				eff = s.today(ctx, 0)
			}
			amount, err := s.accountAmount(ctx, "create-credit", "body.amount", in.ID, in.Body.Amount)
			if err != nil {
				return nil, err
			}
			tx, err := accounts.PostCredit(ctx, in.ID, amount, in.Body.Memo, eff, actor(ctx), s.clock.Now())
			return wrap(s, "create-credit", tx, err)
		})
}

// registerInvoices registers the invoice endpoints.
func (s *Server) registerInvoices(invoices InvoiceStore) {
	api := s.api
	huma.Register(api, op("list-invoices", http.MethodGet, "/api/v1/invoices", "List invoices", RoleReader, "invoices"),
		func(ctx context.Context, in *struct {
			AccountID    int64  `query:"account_id" minimum:"0"`
			Status       string `query:"status" enum:"open,paid,void,"`
			BillingRunID int64  `query:"billing_run_id" minimum:"0"`
			From         string `query:"from" doc:"Only invoices issued on or after this day, YYYY-MM-DD."`
			To           string `query:"to" doc:"Only invoices issued on or before this day, YYYY-MM-DD."`
			After        int64  `query:"after" minimum:"0"`
			Limit        int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		}) (*body[page[billing.Invoice]], error) {
			f := billing.InvoiceFilter{AccountID: in.AccountID, Status: billing.InvoiceStatus(in.Status),
				BillingRunID: in.BillingRunID, AfterID: in.After, Limit: in.Limit}
			var err error
			if f.IssuedFrom, err = queryDate("from", in.From, billing.Date{}); err != nil {
				return nil, err
			}
			if f.IssuedTo, err = queryDate("to", in.To, billing.Date{}); err != nil {
				return nil, err
			}
			is, err := invoices.Invoices(ctx, f)
			return wrap(s, "list-invoices", newPage(is, in.Limit, func(i billing.Invoice) int64 { return i.ID }), err)
		})
	huma.Register(api, op("get-invoice", http.MethodGet, "/api/v1/invoices/{id}", "Show an invoice with its lines and why", RoleReader, "invoices"),
		func(ctx context.Context, in *IDPath) (*body[billing.Invoice], error) {
			inv, err := invoices.Invoice(ctx, in.ID)
			return wrap(s, "get-invoice", inv, err)
		})
	huma.Register(api, op("void-invoice", http.MethodPost, "/api/v1/invoices/{id}/void",
		"Void an open invoice with a reversing journal transaction", RoleBilling, "invoices"),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Reason string `json:"reason" minLength:"1" maxLength:"500" required:"true"`
			}
		}) (*body[billing.Invoice], error) {
			inv, err := invoices.VoidInvoice(ctx, in.ID, in.Body.Reason, s.today(ctx, 0), s.clock.Now())
			return wrap(s, "void-invoice", inv, err)
		})
}

// registerBillingRuns registers the billing-run endpoints: previewing,
// listing and reading runs, and opening them through runner (one for each
// account type of types when the request names none).
func (s *Server) registerBillingRuns(runs BillingRunStore, types AccountTypeStore, runner BillingRunner) {
	api := s.api
	huma.Register(api, op("preview-billing-run", http.MethodGet, "/api/v1/billing-runs/preview",
		"Dry run: what a billing run for a date would invoice, and why; writes nothing", RoleReader, "billing runs"),
		func(ctx context.Context, in *struct {
			Date          string `query:"date" doc:"YYYY-MM-DD; default today in each account type's zone."`
			AccountTypeID int64  `query:"account_type_id" minimum:"0" doc:"Only this account type (0: all)."`
		}) (*body[preview], error) {
			var date billing.Date
			if in.Date != "" {
				d, err := billing.ParseDate(in.Date)
				if err != nil {
					return nil, huma.Error422UnprocessableEntity(billing.ErrorMessage(err), &huma.ErrorDetail{Location: "query.date", Message: billing.ErrorMessage(err), Value: in.Date})
				}
				if err := s.checkNotFuture("query.date", d); err != nil {
					return nil, err
				}
				date = d
			} else {
				date = s.today(ctx, in.AccountTypeID)
			}
			items, err := runs.PreviewBilling(ctx, in.AccountTypeID, date)
			if err != nil {
				return nil, s.toHTTPError("preview-billing-run", err)
			}
			p := preview{Date: date, Items: items}
			if p.Items == nil {
				p.Items = []billing.PreviewItem{}
			}
			for _, it := range items {
				if it.Error != "" {
					p.Failed++
					continue
				}
				p.Invoices++
				p.Total += it.Total
			}
			return &body[preview]{Body: p}, nil
		})
	huma.Register(api, op("start-billing-run", http.MethodPost, "/api/v1/billing-runs",
		"Run billing now for a date: one run per account type (or the one given); returns at once, progress in the runs. A type that already has a run for the date gets no new one: its run is returned with already_existed true", RoleBilling, "billing runs"),
		func(ctx context.Context, in *body[runRequest]) (*body[page[billing.BillingRun]], error) {
			if err := s.checkNotFuture("body.date", in.Body.Date); err != nil {
				return nil, err
			}
			typeIDs := []int64{in.Body.AccountTypeID}
			if in.Body.AccountTypeID == 0 {
				ts, err := types.AccountTypes(ctx)
				if err != nil {
					return nil, s.toHTTPError("start-billing-run", err)
				}
				typeIDs = typeIDs[:0]
				for _, t := range ts {
					typeIDs = append(typeIDs, t.ID)
				}
			}
			var runs []billing.BillingRun
			for _, id := range typeIDs {
				date := in.Body.Date
				if date.IsZero() {
					date = s.today(ctx, id)
				}
				run, created, err := runner.StartRun(ctx, id, date, billing.TriggerOnDemand, actor(ctx))
				if err != nil {
					return nil, s.toHTTPError("start-billing-run", err)
				}
				run.AlreadyExisted = !created
				runs = append(runs, run)
			}
			return &body[page[billing.BillingRun]]{Body: newPage(runs, 0, func(r billing.BillingRun) int64 { return r.ID })}, nil
		})
	huma.Register(api, op("list-billing-runs", http.MethodGet, "/api/v1/billing-runs", "List billing runs, newest first", RoleReader, "billing runs"),
		func(ctx context.Context, in *struct {
			Before int64 `query:"before" minimum:"0" doc:"Cursor: runs with id below this."`
			Limit  int   `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		}) (*body[page[billing.BillingRun]], error) {
			rs, err := runs.BillingRuns(ctx, in.Before, in.Limit)
			return wrap(s, "list-billing-runs", newPage(rs, in.Limit, func(r billing.BillingRun) int64 { return r.ID }), err)
		})
	huma.Register(api, op("get-billing-run", http.MethodGet, "/api/v1/billing-runs/{id}", "Show a billing run and its progress", RoleReader, "billing runs"),
		func(ctx context.Context, in *IDPath) (*body[billing.BillingRun], error) {
			r, err := runs.BillingRun(ctx, in.ID)
			return wrap(s, "get-billing-run", r, err)
		})
}

type accountView struct {
	billing.Account
	// Balance is what the account owes in minor units (negative: credit),
	// derived from the ledger.
	Balance int64 `json:"balance"`
}

// accountListItem is an account in the accounts list with the columns
// staff sort by: its balance and what is past due (status is the
// account's).
type accountListItem struct {
	billing.Account
	Balance int64 `json:"balance" doc:"What the account owes in minor units (negative: credit), from the ledger."`
	PastDue int64 `json:"past_due" doc:"Open on invoices due before today in the account type's zone."`
}

// listBalancer reads the accounts list's balance and past-due columns
// (*postgres.DB).
type listBalancer interface {
	// ListBalances reads each account's balance and past-due amount; no
	// coded errors.
	ListBalances(ctx context.Context, ids []int64, now time.Time) (map[int64][2]int64, error)
}

func (s *Server) accountListItems(ctx context.Context, accounts AccountStore, as []billing.Account) ([]accountListItem, error) {
	items := make([]accountListItem, len(as))
	ids := make([]int64, len(as))
	for i, a := range as {
		items[i].Account, ids[i] = a, a.ID
	}
	lb, ok := accounts.(listBalancer)
	if !ok || len(as) == 0 {
		return items, nil
	}
	bals, err := lb.ListBalances(ctx, ids, s.clock.Now())
	for i := range items {
		items[i].Balance, items[i].PastDue = bals[items[i].ID][0], bals[items[i].ID][1]
	}
	return items, err
}

type statement struct {
	Balance int64                   `json:"balance"`
	Lines   []billing.StatementLine `json:"lines"`
}

type runRequest struct {
	// Date to bill for (default: today in each account type's zone).
	Date billing.Date `json:"date,omitzero"`
	// AccountTypeID limits the run to one account type (0: all).
	AccountTypeID int64 `json:"account_type_id,omitempty" minimum:"0"`
}

type preview struct {
	Date     billing.Date `json:"date"`
	Invoices int          `json:"invoices"`
	Total    int64        `json:"total"`
	// Failed counts the accounts that cannot be billed (items with an
	// error); the others are billed all the same.
	Failed int                   `json:"failed"`
	Items  []billing.PreviewItem `json:"items"`
}

// wrap turns a store result into a huma response or problem.
func wrap[T any](s *Server, opName string, v T, err error) (*body[T], error) {
	if err != nil {
		return nil, s.toHTTPError(opName, err)
	}
	return &body[T]{Body: v}, nil
}
