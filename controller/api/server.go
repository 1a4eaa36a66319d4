package api

import (
	"context"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/documents"
	"github.com/tollgate-isp/tollgate/controller/reports"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// Config tunes the API. Zero values take the documented defaults.
type Config struct {
	// IdempotencyLockTimeout is how long a first request holds its
	// Idempotency-Key before a retry may take it over (the first request is
	// presumed dead). Default 1m.
	IdempotencyLockTimeout time.Duration
	// IdempotencyWait is how long a duplicate sent while the first request
	// with its Idempotency-Key is still running waits for the first's
	// response before it is answered 409. Default 10s.
	IdempotencyWait time.Duration
	// Version is shown in the OpenAPI document. Default "dev".
	Version string
	// Company is printed on documents (deposit slips, invoices).
	Company documents.Company
	// SuspensionGuard is the blast-radius guard of the delinquency sweeps
	// run on demand through the API (POST /api/v1/delinquency/sweeps and the
	// preview); the zero value means the guard's defaults. Use the same
	// guard as the scheduled sweeps, so a preview shows what they would
	// hold.
	SuspensionGuard billing.SuspensionGuard
	// Chart is the chart of accounts accounting exports map the journal
	// onto; empty names take reports.ChartOfAccounts' defaults.
	Chart reports.ChartOfAccounts
}

// Deps are the stores the API works on.
type Deps struct {
	Services    billing.ServiceStore
	Idempotency billing.IdempotencyStore
	// Billing and Runner enable the billing endpoints (nil: not served):
	// account types, plans, accounts, invoices and billing runs, each group
	// given only its own port of Billing. If Billing also implements
	// [DocumentStore], the invoice and statement PDFs are served; if it
	// implements [AccountSearcher], staff search (GET /api/v1/search); if
	// it implements [SummaryStore], the dashboard's totals (receivables,
	// payments posted on a day, notices by status, unconfirmed services).
	Billing BillingPorts
	Runner  BillingRunner
	// Payments enables the payment, refund and deposit-batch endpoints
	// (nil: not served), each group given only its own port. If Payments
	// also implements [BatchFileImporter], lockbox files are imported into
	// batches; with Billing, deposit slips are served.
	Payments PaymentPorts
	// Charger and Methods enable payment methods, gateway charges and
	// webhooks (nil: not served).
	Charger *charge.Service
	Methods MethodStore
	// DevClock enables POST /api/v1/dev/clock/advance (nil: not served).
	DevClock DevClock
	// Importer enables POST /api/v1/imports/accounts (nil: not served).
	Importer AccountImporter
	// Collections enables the delinquency and collections endpoints:
	// account standing and status history, promises to pay, exemptions,
	// sweeps on demand, held suspension batches and notices (nil: not
	// served).
	Collections CollectionStore
	// Delivery enables the invoice delivery endpoints: the delivery outbox,
	// re-sends, printed-invoice batches and the print-and-mail vendor's
	// webhooks (nil: not served).
	Delivery DeliveryService
	// Tickets enables the staff side of support tickets: listing, reading,
	// answering and closing the tickets subscribers open in the portal
	// (nil: not served).
	Tickets billing.TicketStore
	// Accounts enables account edits (PATCH, with If-Match) and the
	// account history (nil: not served).
	Accounts AccountEditor
	// ServiceMoves enables service moves, edits in place (with If-Match)
	// and the service history (nil: not served).
	ServiceMoves ServiceMover
	// Lifecycle enables service plan changes, cancellations and pauses
	// with their coverage and history (nil: not served).
	Lifecycle ServiceLifecycle
	// AccountClose enables closing (billing) and reopening (admin) accounts (nil: not served).
	AccountClose AccountCloser
	// PlanPrices enables plan price versions and retiring plans (nil: not
	// served).
	PlanPrices PlanPriceStore
	// Allocations enables re-allocating a payment between invoices and
	// its allocation history (nil: not served).
	Allocations AllocationStore
	// TypeImpacts enables the preview of an account type change (how many
	// accounts inherit each setting; nil: not served).
	TypeImpacts AccountTypeImpacts
	// AddressPools enables the POPs' address pools (nil: not served).
	AddressPools billing.AddressPoolStore
	// Staff enables staff users and personal API tokens, which then
	// authenticate beside the configured service tokens (nil: neither).
	Staff StaffStore
}

// Server is the admin API.
type Server struct {
	cfg      Config
	services billing.ServiceStore
	idem     billing.IdempotencyStore
	// accountTypes dates "today" in an account type's zone (nil: UTC).
	accountTypes AccountTypeStore
	// accounts reads an account's currency for a decimal amount (nil:
	// amounts in minor units only).
	accounts AccountStore
	charger  *charge.Service
	methods  MethodStore
	devClock DevClock
	tokens   []Token
	// staff authenticates personal tokens (nil: only service tokens).
	staff StaffStore
	clock clock.Clock
	log   *slog.Logger

	api     huma.API
	handler http.Handler
	// keyStorage is how each mutating operation, by its mux pattern, keeps
	// its Idempotency-Key (as it declares; see keyStorages).
	keyStorage map[string]keyStorage

	requests *prometheus.HistogramVec
	// idemConflicts counts requests refused for their Idempotency-Key
	// (idempotency.go).
	idemConflicts *prometheus.CounterVec
}

// NewServer builds the API. reg may be nil.
func NewServer(cfg Config, deps Deps, tokens []Token, clk clock.Clock, log *slog.Logger, reg prometheus.Registerer) *Server {
	if cfg.IdempotencyLockTimeout <= 0 {
		cfg.IdempotencyLockTimeout = time.Minute
	}
	if cfg.IdempotencyWait <= 0 {
		cfg.IdempotencyWait = 10 * time.Second
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	s := &Server{cfg: cfg, services: deps.Services, idem: deps.Idempotency, charger: deps.Charger, methods: deps.Methods,
		devClock: deps.DevClock, tokens: tokens, clock: clk, log: log}
	s.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tollgate_api_request_seconds",
		Help:    "Admin API request latency by route and status code.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "code"})
	s.idemConflicts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tollgate_idempotency_conflicts_total",
		Help: "Mutating requests refused for their Idempotency-Key, by reason: different_request (the key was used for another request: 422), " +
			"in_progress (the first request with the key was still running after the wait: 409).",
	}, []string{"reason"})
	for _, r := range []string{idemDifferentRequest, idemInProgress} {
		s.idemConflicts.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(s.requests, s.idemConflicts)
	}

	mux := http.NewServeMux()
	hcfg := huma.DefaultConfig("Tollgate admin API", cfg.Version)
	hcfg.Info.Description = "Billing automation for ISPs: services, their desired enforcement state, and (as the product grows) accounts, invoices and payments. " +
		"Every mutating request needs an Idempotency-Key header; errors are application/problem+json. A JSON request body may be sent as YAML instead (Content-Type application/yaml)."
	hcfg.OpenAPIPath = "" // served by registerOpenAPIDocument, in a form linters accept
	hcfg.DocsPath = ""    // served by registerDocs, from the binary (huma's page loads its viewer from a CDN)
	hcfg.SchemasPath = "/api/v1/schemas"
	// The document lives on the controller it describes: a relative server.
	hcfg.Servers = []*huma.Server{{URL: "/", Description: "This controller (the document is served by the API it describes)."}}
	hcfg.Info.License = &huma.License{Name: "Proprietary", Identifier: "LicenseRef-Proprietary"}
	hcfg.CreateHooks = nil // no $schema links in responses
	// Domain types say what they need in Validate, with messages that name
	// the field; the schema marks required only what carries required:"true".
	hcfg.FieldsOptionalByDefault = true
	hcfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "A service token from the controller's config, or a staff user's personal token (tgp_…, POST /api/v1/staff/{login}/tokens); its role (reader, billing, admin; a personal token's is its user's) decides what it may do."},
	}
	// Dates travel as "YYYY-MM-DD" strings.
	hcfg.Components.Schemas.RegisterTypeAlias(reflect.TypeFor[billing.Date](), reflect.TypeFor[dateString]())
	s.api = humago.New(mux, hcfg)
	registerDocs(mux)
	s.api.UseMiddleware(s.requireRole)
	s.registerServices()
	if b := deps.Billing; b != nil {
		s.accountTypes, s.accounts = b, b
		s.registerAccountTypes(b)
		s.registerPlans(b)
		s.registerAccounts(b)
		s.registerInvoices(b)
		s.registerBillingRuns(b, b, deps.Runner)
		if docs, ok := b.(DocumentStore); ok {
			s.registerInvoiceDocuments(docs, b)
		}
		if search, ok := b.(AccountSearcher); ok {
			s.registerSearch(search)
		}
		if sums, ok := b.(SummaryStore); ok {
			s.registerSummaries(sums)
		}
		if rs, ok := b.(ReportStore); ok {
			s.registerReports(rs)
		}
		if es, ok := b.(ExportStore); ok {
			s.registerAccountingExports(es)
		}
	}
	if p := deps.Payments; p != nil {
		s.registerPayments(p)
		s.registerRefunds(p, p)
		s.registerBatches(p)
		if imp, ok := p.(BatchFileImporter); ok {
			s.registerBatchImport(imp)
		}
		if deps.Billing != nil {
			s.registerDepositSlips(p, deps.Billing)
		}
	}
	if s.charger != nil && s.methods != nil {
		s.registerPaymentMethods()
	}
	if s.devClock != nil {
		s.registerDev()
	}
	if deps.Importer != nil {
		s.registerImport(deps.Importer)
	}
	if deps.Collections != nil {
		s.registerCollections(deps.Collections)
	}
	if deps.Delivery != nil {
		s.registerDelivery(deps.Delivery)
	}
	if deps.Tickets != nil {
		s.registerTickets(deps.Tickets)
	}
	if deps.Accounts != nil {
		s.registerAccountEdits(deps.Accounts)
	}
	if deps.ServiceMoves != nil {
		s.registerServiceMoves(deps.ServiceMoves)
	}
	if deps.Lifecycle != nil {
		s.registerServiceLifecycle(deps.Lifecycle)
	}
	if deps.AccountClose != nil {
		s.registerAccountClose(deps.AccountClose)
	}
	if deps.TypeImpacts != nil {
		s.registerAccountTypeImpact(deps.TypeImpacts)
	}
	if deps.PlanPrices != nil {
		s.registerPlanPrices(deps.PlanPrices)
	}
	if deps.Allocations != nil {
		s.registerAllocations(deps.Allocations)
	}
	if deps.AddressPools != nil {
		s.registerAddressPools(deps.AddressPools)
	}
	if deps.Staff != nil {
		s.registerStaff(deps.Staff)
	}
	s.registerOpenAPIDocument(mux)
	routes := notePattern{mux}
	s.keyStorage = keyStorages(s.api.OpenAPI())
	s.handler = s.instrument(s.authenticate(s.hygiene(routes, s.idempotency(routes, routes))))
	return s
}

// Handler returns the API's HTTP handler, to mount at "/".
func (s *Server) Handler() http.Handler { return s.handler }

// OpenAPI returns the API's OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

const roleKey = "role"

// op declares an operation that needs role. A mutating operation takes an
// Idempotency-Key, claimed and its response stored in transactions of their
// own (keySeparate) unless it declares otherwise (storesKeyInTx,
// takesNoKey).
func op(id, method, path, summary string, role Role, tags ...string) huma.Operation {
	o := huma.Operation{
		OperationID: id, Method: method, Path: path, Summary: summary, Tags: tags,
		Security: []map[string][]string{{"bearer": {}}},
		Metadata: map[string]any{roleKey: role},
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden},
	}
	if mutating(method) {
		o.Parameters = append(o.Parameters, &huma.Param{
			Name: "Idempotency-Key", In: "header", Required: true,
			Description: "Unique key for this change; a retry with the same key and body returns the first response (with Idempotent-Replayed: true), the same key with another body is refused (422); a duplicate sent while the first is running waits for it and gets its response, or 409 if the first is still running after the wait bound (10 s by default).",
			Schema:      &huma.Schema{Type: "string", MaxLength: ptr(maxIdempotencyKey)},
		})
		o.Errors = append(o.Errors, http.StatusBadRequest, http.StatusConflict, http.StatusUnprocessableEntity)
		declareKeyStorage(&o, keySeparate)
	}
	return o
}

func ptr[T any](v T) *T { return &v }

// datePattern bounds the years of a date (billing.MinYear–MaxYear).
const datePattern = `^(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$`

// dateString is the wire form of billing.Date in the OpenAPI document.
type dateString string

// Schema describes a calendar date.
func (dateString) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: "string", Format: "date", Pattern: datePattern, PatternDescription: "a date YYYY-MM-DD from 1970 to 9999",
		Description: "Calendar date, YYYY-MM-DD, from 1970-01-01 to 9999-12-31."}
}

// requireRole refuses operations the caller's role does not allow: 401
// without credentials, 403 with too weak a role.
func (s *Server) requireRole(ctx huma.Context, next func(huma.Context)) {
	need, ok := ctx.Operation().Metadata[roleKey].(Role)
	if !ok {
		next(ctx)
		return
	}
	p, authed := PrincipalFrom(ctx.Context())
	switch {
	case !authed:
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="tollgate"`)
		_ = huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "this operation needs a bearer token")
	case !p.Role.Allows(need):
		_ = huma.WriteErr(s.api, ctx, http.StatusForbidden, "role "+string(p.Role)+" may not do this; it needs "+string(need))
	default:
		next(ctx)
	}
}

// routeKey carries a *string through the middlewares, in which the mux's
// matched pattern is noted: the middlewares between instrument and the mux
// pass copies of the request (WithContext), so instrument cannot read
// r.Pattern off its own.
type routeKey struct{}

// notePattern notes the pattern the mux matched for instrument. It also
// answers Handler like the mux, for middlewares that look up a request's
// route (hygiene, idempotency).
type notePattern struct{ mux *http.ServeMux }

func (n notePattern) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.mux.ServeHTTP(w, r)
	if p, ok := r.Context().Value(routeKey{}).(*string); ok {
		*p = r.Pattern
	}
}

// Handler is the mux's Handler.
func (n notePattern) Handler(r *http.Request) (http.Handler, string) { return n.mux.Handler(r) }

// instrument records request latency by route pattern ("unmatched" for
// requests that matched none or were refused before the mux).
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		route := ""
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
		if route == "" {
			route = "unmatched"
		}
		s.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush lets server-sent events through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
