package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/console"
	"github.com/tollgate-isp/tollgate/controller/documents"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/controller/portal"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/controller/push"
	"github.com/tollgate-isp/tollgate/controller/sso"
	"github.com/tollgate-isp/tollgate/controller/staff"
	"github.com/tollgate-isp/tollgate/internal/clock"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// Version is the controller's build version, set by the linker.
var Version = "dev"

// Options are the wiring choices tests and benchmarks make; the zero value
// is what production uses.
type Options struct {
	// Clock defaults to the real clock.
	Clock clock.Clock
	// OnReport observes every agent report after it is recorded.
	OnReport func(billing.AgentReport)
}

// Controller is a configured, listening controller. Create it with [New],
// then call [Controller.Run].
type Controller struct {
	cfg  Config
	jobs *jobs.Runner
	log  *slog.Logger
	db   *postgres.DB
	hub  *push.Hub
	http *http.Server
	grpc *grpc.Server

	httpLn, grpcLn net.Listener
	// The sandbox gateway's browser origin (sandboxorigin.go), when it has
	// one.
	sandboxHTTP *http.Server
	sandboxLn   net.Listener
}

// New validates cfg, migrates the database (unless turned off), connects and
// opens the listeners. Nothing is served until Run.
func New(ctx context.Context, cfg Config, log *slog.Logger, opts Options) (*Controller, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	tokens, _ := cfg.tokens() // validated above
	if len(tokens) == 0 {
		log.Warn("no API tokens configured: the admin API will refuse every request")
	}
	if *cfg.MigrateOnStart {
		v, err := postgres.MigrateWithLog(ctx, cfg.DatabaseURL, log)
		if err != nil {
			return nil, err
		}
		log.Info("database schema is current", "version", v)
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := db.WithFeedPool(ctx, cfg.GRPC.FeedConnections); err != nil {
		db.Close()
		return nil, err
	}
	c := &Controller{cfg: cfg, log: log, db: db, hub: push.NewHub()}
	if err := c.build(ctx, opts, tokens); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

func (c *Controller) build(ctx context.Context, opts Options, tokens []api.Token) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Agents' gRPC service.
	var creds credentials.TransportCredentials
	if c.cfg.GRPC.InsecurePlaintext {
		c.log.Warn("serving agents over plaintext gRPC (grpc.insecure_plaintext): development only")
		creds = insecure.NewCredentials()
	} else {
		tc, err := serverTLS(c.cfg.GRPC.TLS)
		if err != nil {
			return err
		}
		creds = push.LogHandshakeFailures(credentials.NewTLS(tc), c.log.With("component", "push"))
	}
	var devClock api.DevClock
	if c.cfg.Dev.ClockAPI {
		if _, ok := opts.Clock.(*clock.Offset); !ok {
			opts.Clock = &clock.Offset{}
		}
		c.log.Warn("dev.clock_api is on: admins can move the controller's clock forward (development only)")
		var start time.Time
		if c.cfg.Dev.ClockStart != "" {
			var err error
			if start, err = time.Parse(time.RFC3339, c.cfg.Dev.ClockStart); err != nil {
				return fmt.Errorf("dev.clock_start: %w", err)
			}
		}
		if off, ok := opts.Clock.(*clock.Offset); ok {
			restored, err := jobs.RestoreDevClock(ctx, c.db, off, start)
			if err != nil {
				return err
			}
			if restored && !start.IsZero() {
				c.log.Info("dev clock continues from the database; dev.clock_start applies only to a database without one", "now", off.Now())
			}
		}
	}
	runner, err := NewJobRunner(jobs.Config{Workers: c.cfg.Jobs.Workers, TickInterval: c.cfg.Jobs.TickInterval,
		JobTimeout: c.cfg.Jobs.JobTimeout, RescueStuckAfter: c.cfg.Jobs.RescueAfter, LeaseTTL: c.cfg.Jobs.LeaseTTL, BatchSize: c.cfg.Jobs.BatchSize,
		IdempotencyRetention: c.cfg.Jobs.IdempotencyRetention, EnforcementRetention: c.cfg.Jobs.EnforcementRetention,
		Guard: c.cfg.Delinquency.Guard, DeliveryInterval: c.cfg.Delivery.Interval, NoticeWorkers: c.cfg.Notices.Concurrency,
		DeliveryWorkers:         c.cfg.Delivery.Concurrency,
		GatewayRecoveryInterval: c.cfg.Jobs.GatewayRecoveryInterval, GatewayRecoveryAfter: c.cfg.Jobs.GatewayRecoveryAfter},
		c.db, opts.Clock, c.log.With("component", "jobs"))
	if err != nil {
		return err
	}
	c.jobs = runner
	runner.UseMetrics(jobs.NewMetrics(reg, c.db, opts.Clock))
	if off, ok := opts.Clock.(*clock.Offset); ok && c.cfg.Dev.ClockAPI {
		devClock = jobs.NewDevClock(runner, off)
	}

	gw, err := c.gateway(opts.Clock)
	if err != nil {
		return err
	}
	element, err := c.paymentElement(gw)
	if err != nil {
		return err
	}
	charger := charge.New(gw, c.db, opts.Clock, c.log.With("component", "charge"))
	paymentMetrics := charge.NewMetrics(reg)
	charger.UseMetrics(paymentMetrics)
	c.db.ObservePayments(paymentMetrics)
	runner.UseCharger(charger)
	runner.UseRefundRecoverer(charger)
	if ir, ok := gw.(payments.IntentRetriever); ok {
		runner.UseIntentLookup(c.db, gw.Name(), payments.IntentNews{Retriever: ir})
	}
	var mailer notify.Sender
	if c.cfg.Notices.SMTP.Enabled() {
		sender, err := notify.NewSMTP(c.cfg.Notices.SMTP, opts.Clock)
		if err != nil {
			return fmt.Errorf("notices.smtp: %w", err)
		}
		mailer = sender
		tmpl := notify.DefaultTemplates()
		if dir := c.cfg.Notices.TemplatesDir; dir != "" {
			if tmpl, err = notify.LoadTemplates(dir); err != nil {
				return fmt.Errorf("notices.templates_dir: %w", err)
			}
		}
		dc := c.cfg.Notices.DelivererConfig
		dc.Company = c.cfg.Company.Name
		dc.Locale, _ = billing.ParseLocale(c.cfg.Company.Locale) // checked by Validate
		if dc.PortalURL == "" && c.cfg.Portal.Enabled() {
			dc.PortalURL = strings.TrimRight(c.cfg.Portal.PublicURL, "/") + "/"
		}
		deliverer, err := notify.NewDeliverer(dc, c.db, sender, tmpl, opts.Clock, c.log.With("component", "notices"), reg)
		if err != nil {
			return err
		}
		runner.UseNotifier(deliverer)
		c.log.Info("notices are emailed", "smtp", sender.String())
	} else {
		c.log.Warn("notices.smtp.addr is not set: reminders and suspension notices are queued but not emailed")
	}
	deliverySvc, err := c.buildDelivery(opts.Clock, reg, runner)
	if err != nil {
		return err
	}
	reg.MustRegister(&poolUsageCollector{db: c.db, clock: opts.Clock})
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tollgate_suspension_batches_pending",
		Help: "Suspension batches held by the blast-radius guard and waiting for approval."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := c.db.PendingSuspensionBatches(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))

	company := documents.Company{Name: c.cfg.Company.Name, Address: c.cfg.Company.Address}
	var portalSrv *portal.Server
	if c.cfg.Portal.Enabled() {
		if portalSrv, err = c.buildPortal(company, charger, element, mailer, opts.Clock, reg); err != nil {
			return err
		}
	}

	var pushOpts []push.Option
	if portalSrv != nil {
		pushOpts = append(pushOpts, push.WithRedirect(func(pop string) *pb.Redirect {
			k := portalSrv.CaptiveKey(pop)
			return &pb.Redirect{PortalUrl: portalSrv.PublicURL(), KeyId: k.ID, Key: k.Secret, TokenTtlSeconds: int64(portal.TokenTTL / time.Second)}
		}))
	}
	if !c.cfg.GRPC.InsecurePlaintext {
		// Mutual TLS: an agent's certificate names its POP, and it may watch
		// and report for that POP only.
		pushOpts = append(pushOpts, push.WithAuthorizer(push.AuthorizeClientCertificate))
	}
	if opts.OnReport != nil {
		pushOpts = append(pushOpts, push.WithReportObserver(opts.OnReport))
	}
	pushSrv := push.NewServer(c.db, c.hub, opts.Clock, c.log.With("component", "push"),
		push.Config{HeartbeatInterval: c.cfg.GRPC.HeartbeatInterval}, push.NewMetrics(reg), pushOpts...)
	c.grpc = grpc.NewServer(grpc.Creds(creds),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}))
	pb.RegisterEnforcementServer(c.grpc, pushSrv)

	// Admin API and operational endpoints.
	apiSrv := api.NewServer(api.Config{Version: Version, Company: company,
		SuspensionGuard: c.cfg.Delinquency.Guard, Chart: c.cfg.Accounting},
		adminAPIDeps(c.db, charger, runner, devClock, deliverySvc),
		tokens, opts.Clock, c.log.With("component", "api"), reg)
	mux := http.NewServeMux()
	mux.Handle("/", apiSrv.Handler())
	if portalSrv != nil {
		mux.Handle(portalSrv.Path()+"/", portalSrv.Handler())
		mux.Handle(portalSrv.Path(), portalSrv.Handler())
		c.log.Info("customer portal", "public_url", portalSrv.PublicURL())
	}
	if c.cfg.Console.PublicURL != "" {
		consoleSrv, err := c.buildConsole(apiSrv.Handler(), element, opts.Clock, reg)
		if err != nil {
			return err
		}
		mux.Handle(consoleSrv.Path()+"/", consoleSrv.Handler())
		mux.Handle(consoleSrv.Path(), consoleSrv.Handler())
		c.log.Info("staff console", "url", consoleSrv.URL())
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", c.ready)
	c.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	if c.httpLn, err = net.Listen("tcp", c.cfg.HTTP.Listen); err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	if c.grpcLn, err = net.Listen("tcp", c.cfg.GRPC.Listen); err != nil {
		c.httpLn.Close()
		return fmt.Errorf("grpc.listen: %w", err)
	}
	return nil
}

// buildConsole builds the staff console (and its single sign-on) from the
// config.
func (c *Controller) buildConsole(apiHandler http.Handler, element payments.Element, clk clock.Clock, reg prometheus.Registerer) (*console.Server, error) {
	cfg := c.cfg.Console.Config
	cfg.Element = element
	cfg.CompanyName = c.cfg.Company.Name
	deps := console.Deps{Store: c.db, API: apiHandler,
		AsStaff: func(ctx context.Context, u staff.User) context.Context {
			return api.WithStaffUser(ctx, u.Login, api.Role(u.Role))
		}}
	if cfg.SSO.Enabled() {
		lines, err := readLines(os.Getenv("TOLLGATE_CONSOLE_SECRETS"), c.cfg.Console.SecretsFile)
		if err != nil {
			return nil, fmt.Errorf("console.secrets_file: %w", err)
		}
		var key []byte
		if len(lines) > 0 {
			if len(lines[0]) < 32 {
				return nil, fmt.Errorf("console.secrets_file: the first secret is %d characters; at least 32 are needed", len(lines[0]))
			}
			key = []byte(lines[0])
		} else {
			c.log.Warn("console.secrets_file is not set: single sign-on seals its flow state with a random secret made now (one replica, development only)")
			key = make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return nil, err
			}
		}
		flow, err := sso.New(cfg.SSO, sso.Options{Key: key, Clock: clk, Logger: c.log.With("component", "sso")})
		if err != nil {
			return nil, fmt.Errorf("console.sso: %w", err)
		}
		deps.SSO, deps.SSOStore = flow, c.db
	}
	return console.New(cfg, deps, clk, c.log.With("component", "console"), reg)
}

// buildPortal builds the customer portal from the config.
func (c *Controller) buildPortal(company documents.Company, charger *charge.Service, element payments.Element, mailer notify.Sender, clk clock.Clock, reg prometheus.Registerer) (*portal.Server, error) {
	lines, err := readLines(os.Getenv("TOLLGATE_PORTAL_SECRETS"), c.cfg.Portal.SecretsFile)
	if err != nil {
		return nil, fmt.Errorf("portal.secrets_file: %w", err)
	}
	cfg := c.cfg.Portal.Config
	cfg.Company = company
	cfg.Element = element
	cfg.Locale, _ = billing.ParseLocale(c.cfg.Company.Locale) // checked by Validate
	for _, l := range lines {
		cfg.Secrets = append(cfg.Secrets, []byte(l))
	}
	if len(cfg.Secrets) == 0 {
		c.log.Warn("portal.secrets_file is not set: the portal signs with a random secret made now (one replica, development only)")
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		cfg.Secrets = [][]byte{[]byte(hex.EncodeToString(b))}
	}
	if mailer == nil {
		c.log.Warn("notices.smtp.addr is not set: the portal cannot email sign-in codes; only captive redirects sign subscribers in")
	}
	srv, err := portal.New(cfg, portal.Deps{Store: c.db, Charger: charger, Mailer: mailer, WallClock: clock.Real{}}, clk, c.log.With("component", "portal"), reg)
	if err != nil {
		return nil, err
	}
	return srv, nil
}

// gateway builds the configured payment gateway.
func (c *Controller) gateway(clk clock.Clock) (payments.Gateway, error) {
	secrets, err := readLines(os.Getenv("TOLLGATE_WEBHOOK_SECRETS"), c.cfg.Payments.WebhookSecretsFile)
	if err != nil {
		return nil, fmt.Errorf("payments.webhook_secrets_file: %w", err)
	}
	switch c.cfg.Payments.Gateway {
	case "", "sandbox":
		c.log.Warn("payments go to the built-in sandbox gateway: test cards only, no real money (payments.gateway)")
		if u := c.cfg.Payments.Sandbox.URL; u != "" {
			return payments.NewSandboxClient(u, nil, secrets...)
		}
		sb := payments.NewSandbox(secrets...)
		if f := c.cfg.Payments.Sandbox.StateFile; f != "" {
			if sb, err = payments.OpenSandbox(f, secrets...); err != nil {
				return nil, fmt.Errorf("payments.sandbox.state_file: %w", err)
			}
		}
		sb.SetClock(clk)
		sb.SetLogger(c.log.With("component", "sandbox-gateway"))
		return sb, nil
	case "stripe":
		key := os.Getenv("TOLLGATE_STRIPE_API_KEY")
		if key == "" && c.cfg.Payments.Stripe.APIKeyFile != "" {
			b, err := os.ReadFile(c.cfg.Payments.Stripe.APIKeyFile)
			if err != nil {
				return nil, fmt.Errorf("payments.stripe.api_key_file: %w", err)
			}
			key = strings.TrimSpace(string(b))
		}
		if key == "" {
			return nil, errors.New("payments.gateway is stripe but no API key is set (payments.stripe.api_key_file or TOLLGATE_STRIPE_API_KEY)")
		}
		return payments.NewStripe(payments.StripeConfig{APIKey: key, BaseURL: c.cfg.Payments.Stripe.BaseURL,
			WebhookSecrets: secrets,
			Logger:         c.log.With("component", "stripe"), Clock: clk})
	}
	return nil, fmt.Errorf("payments.gateway %q is not one of sandbox, stripe", c.cfg.Payments.Gateway)
}

// readLines returns the comma-separated values of env, or else the
// non-empty lines of file.
func readLines(env, file string) ([]string, error) {
	var raw []string
	if env != "" {
		raw = strings.Split(env, ",")
	} else if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		raw = strings.Split(string(b), "\n")
	}
	var out []string
	for _, v := range raw {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out, nil
}

func serverTLS(t TLSConfig) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("grpc.tls: %w", err)
	}
	caPEM, err := os.ReadFile(t.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("grpc.tls.client_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("grpc.tls.client_ca_file %s holds no PEM certificate", t.ClientCAFile)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}, nil
}

// ready answers /readyz: 200 once the database answers and the change
// listener is subscribed.
func (c *Controller) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := c.db.Ping(ctx); err != nil {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	select {
	case <-c.hub.Ready():
	default:
		http.Error(w, "change listener not subscribed yet", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// HTTPAddr is the address the HTTP listener is bound to.
func (c *Controller) HTTPAddr() string { return c.httpLn.Addr().String() }

// GRPCAddr is the address the gRPC listener is bound to.
func (c *Controller) GRPCAddr() string { return c.grpcLn.Addr().String() }

// DB is the controller's database (for tests and benchmarks).
func (c *Controller) DB() *postgres.DB { return c.db }

// Run serves until ctx is done, then shuts down gracefully: streams and
// requests in flight get up to ShutdownTimeout to finish.
func (c *Controller) Run(ctx context.Context) error {
	defer c.db.Close()
	listenCtx, stopListen := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.hub.Listen(listenCtx, c.cfg.DatabaseURL, postgres.NotifyChannel, c.log.With("component", "hub"))
	}()

	errc := make(chan error, 2)
	go func() {
		if err := c.http.Serve(c.httpLn); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	go func() {
		if err := c.grpc.Serve(c.grpcLn); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			errc <- fmt.Errorf("grpc: %w", err)
		}
	}()
	if c.sandboxHTTP != nil {
		go func() {
			if err := c.sandboxHTTP.Serve(c.sandboxLn); !errors.Is(err, http.ErrServerClosed) {
				c.log.Warn("sandbox browser origin", "err", err)
			}
		}()
		defer c.sandboxHTTP.Close()
	}
	if err := c.jobs.Start(ctx); err != nil {
		stopListen()
		wg.Wait()
		return fmt.Errorf("jobs: %w", err)
	}
	c.log.Info("controller serving", "http", c.HTTPAddr(), "grpc", c.GRPCAddr(), "version", Version)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	c.log.Info("shutting down", "timeout", c.cfg.ShutdownTimeout)
	shutCtx, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	defer cancel()
	done := make(chan struct{})
	go func() { c.grpc.GracefulStop(); close(done) }()
	// Watch streams never end by themselves: give them a moment to see the
	// shutdown, then cut them so agents reconnect to another replica.
	select {
	case <-done:
	case <-time.After(min(c.cfg.ShutdownTimeout, 2*time.Second)):
		c.grpc.Stop()
	}
	if err := c.http.Shutdown(shutCtx); err != nil {
		c.log.Warn("http shutdown", "err", err)
	}
	if err := c.jobs.Stop(shutCtx); err != nil {
		c.log.Warn("jobs shutdown", "err", err)
	}
	stopListen()
	wg.Wait()
	c.log.Info("controller stopped")
	return runErr
}
