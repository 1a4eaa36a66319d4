package app

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/console"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/controller/portal"
	"github.com/tollgate-isp/tollgate/controller/reports"
	"github.com/tollgate-isp/tollgate/internal/config"
)

// Config is the controller's configuration. deploy/controller.example.yaml
// documents every field; zero values take the defaults named here.
type Config struct {
	// DatabaseURL is the PostgreSQL connection URL. Required. Env
	// TOLLGATE_DATABASE_URL.
	DatabaseURL string `yaml:"database_url"`
	// MigrateOnStart applies pending migrations at start. Default true; flag
	// --no-migrate or env TOLLGATE_MIGRATE_ON_START=false turn it off.
	MigrateOnStart *bool `yaml:"migrate_on_start"`
	// ShutdownTimeout bounds graceful shutdown. Default 15s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`

	HTTP HTTPConfig `yaml:"http"`
	GRPC GRPCConfig `yaml:"grpc"`
	API  APIConfig  `yaml:"api"`
	Log  config.Log `yaml:"log"`
	Jobs JobsConfig `yaml:"jobs"`
	// Payments selects the payment gateway.
	Payments PaymentsConfig `yaml:"payments"`
	// Company is the ISP's name and postal address, printed on deposit slips
	// and invoices.
	Company CompanyConfig `yaml:"company"`
	// Delinquency configures the delinquency sweep.
	Delinquency DelinquencyConfig `yaml:"delinquency"`
	// Notices configures the email notices to subscribers (reminders,
	// suspension and restore notices).
	Notices NoticesConfig `yaml:"notices"`
	// Delivery delivers invoices by email (through notices.smtp) and by
	// mail (through a print-and-mail vendor); see controller/delivery.
	Delivery delivery.Config `yaml:"delivery"`
	// Portal is the customer portal and captive landing; see
	// controller/portal. Off until public_url is set.
	Portal PortalConfig `yaml:"portal"`
	// Console is the staff console; see controller/console. Off until
	// public_url is set.
	Console ConsoleConfig `yaml:"console"`
	Dev     DevConfig     `yaml:"dev"`
	// Accounting is the chart of accounts the accounting exports
	// (QuickBooks Online, Xero) map the journal onto; see
	// controller/reports.ChartOfAccounts. Empty names take its defaults.
	Accounting reports.ChartOfAccounts `yaml:"accounting"`
}

// PortalConfig is the customer portal. It is served on the HTTP listener
// at the path of public_url (which must not be "/" or under /api), and its
// settings and per-POP token keys go to every agent's redirect responder
// over the enforcement stream.
type PortalConfig struct {
	portal.Config `yaml:",inline"`
	// SecretsFile holds the portal's master secrets, one per line, each at
	// least 32 characters (e.g. `openssl rand -hex 32`); the first is
	// current, the others are still accepted while agents and sessions
	// move to it. Env TOLLGATE_PORTAL_SECRETS (comma-separated) overrides
	// it. Without either, a random secret is made at start: fine for one
	// development controller, wrong for replicas (each would sign with its
	// own).
	SecretsFile string `yaml:"secrets_file"`
}

// Enabled reports whether the portal is configured.
func (p PortalConfig) Enabled() bool { return p.PublicURL != "" }

// ConsoleConfig is the staff console, served on the HTTP listener at the
// path of public_url.
type ConsoleConfig struct {
	console.Config `yaml:",inline"`
	// SecretsFile holds the console's secrets, one per line, at least 32
	// characters each (`openssl rand -hex 32`); the first seals single
	// sign-on's flow state between the start and the callback. Every
	// replica needs the same file. Env TOLLGATE_CONSOLE_SECRETS
	// (comma-separated) overrides it. Without either, a random secret is
	// made at start: SSO sign-ins in progress then fail across a restart
	// and between replicas (development only). Sessions need no secret.
	SecretsFile string `yaml:"secrets_file"`
}

// DelinquencyConfig configures the delinquency sweep (the account types'
// own settings — grace, weekdays, holidays, sweep_at — live with them).
type DelinquencyConfig struct {
	// Guard is the blast-radius guard: a sweep's suspensions at a POP are
	// held for approval when they exceed the largest of min_services
	// (default 25), pop_percent of the POP's active services (default 10)
	// and median_factor times its 30-day median of daily suspensions
	// (default 3). disabled: true turns it off. Restores are never held.
	Guard billing.SuspensionGuard `yaml:"guard"`
}

// NoticesConfig is email to subscribers. Without smtp.addr notices stay
// queued (visible in the API) and nothing is sent.
type NoticesConfig struct {
	// SMTP is the mail server notices are submitted to.
	SMTP notify.SMTPConfig `yaml:"smtp"`
	// Delivery tunes retries, batching and templates; portal_url is the
	// payment link put into every notice.
	notify.DelivererConfig `yaml:",inline"`
}

// PaymentsConfig selects and configures the card/ACH payment gateway.
type PaymentsConfig struct {
	// Gateway is "sandbox" (the built-in test-mode processor: test card
	// numbers, no real money) or "stripe". Default "sandbox".
	Gateway string `yaml:"gateway"`
	// WebhookSecretsFile holds the webhook signing secrets, one per line
	// (the current one and, during a rotation, the previous one). Env
	// TOLLGATE_WEBHOOK_SECRETS (comma-separated) overrides it.
	WebhookSecretsFile string `yaml:"webhook_secrets_file"`
	Stripe             struct {
		// APIKeyFile holds the secret key (sk_…). Env TOLLGATE_STRIPE_API_KEY
		// overrides it.
		APIKeyFile string `yaml:"api_key_file"`
		// BaseURL overrides Stripe's API address (tests: stripe-mock).
		BaseURL string `yaml:"base_url"`
		// PublishableKey (pk_…) is what the portal's and the console's
		// pages give Stripe.js to show the Payment Element. Without it
		// new cards cannot be entered in the browser. Not a secret.
		PublishableKey string `yaml:"publishable_key"`
	} `yaml:"stripe"`
	// Sandbox configures the sandbox gateway. With neither field set it
	// keeps its state in the controller's memory (lost on restart).
	Sandbox struct {
		// URL is a sandbox served over HTTP by another process
		// (payments.Sandbox.Handler; tests run one that outlives the
		// controller). Default empty: the sandbox runs in the controller.
		URL string `yaml:"url"`
		// StateFile keeps the in-process sandbox's methods, charges and
		// refunds in this file, so they survive a restart. Default empty.
		StateFile string `yaml:"state_file"`
		// Listen is the address of the sandbox's browser origin: its card
		// and bank-account fields (an iframe in the portal's and the
		// console's pages) and its 3-D Secure test page, on a listener and
		// origin of their own, as Stripe's are. Default 127.0.0.1:8091
		// (when that default is taken, another free port on 127.0.0.1,
		// with a warning); "off" serves none (new cards cannot be entered
		// in the browser).
		Listen string `yaml:"listen"`
		// PublicURL is that origin as browsers reach it. Default
		// http://LISTEN.
		PublicURL string `yaml:"public_url"`
	} `yaml:"sandbox"`
}

// CompanyConfig names the ISP on its documents.
type CompanyConfig struct {
	// Name of the ISP. Default empty.
	Name string `yaml:"name"`
	// Address lines. Default none.
	Address []string `yaml:"address"`
	// Locale (BCP 47: en-US, en-CA, en-GB, de-DE, de-AT) of what
	// subscribers read, unless their account type or account names one.
	// Default en-US.
	Locale string `yaml:"locale"`
}

// JobsConfig tunes background work (billing runs, late fees).
type JobsConfig struct {
	// Workers is how many jobs run at once in this replica. Default 2.
	Workers int `yaml:"workers"`
	// TickInterval is how often the scheduler checks for account types whose
	// local date has changed, to open their billing runs. Default 5m.
	TickInterval time.Duration `yaml:"tick_interval"`
	// JobTimeout bounds one job (one batch of accounts). Default 5m.
	JobTimeout time.Duration `yaml:"job_timeout"`
	// RescueAfter is how long a job may stay running before another replica
	// takes it over (its replica presumably died). Default job_timeout + 1m.
	RescueAfter time.Duration `yaml:"rescue_after"`
	// LeaseTTL is how long a replica's job-runner lease lasts; it renews it
	// every lease_ttl/3. Jobs left running by a replica whose lease lapsed
	// (it crashed) are resumed at once, so a crashed billing run resumes
	// within about lease_ttl × 4/3 (40 s by default) of the crash, e.g. on
	// the controller's restart; a live replica's long job is never taken
	// over. Default 30s.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// BatchSize is how many accounts one billing batch invoices in one
	// transaction. Default 2500.
	BatchSize int `yaml:"batch_size"`
	// IdempotencyRetention is how long Idempotency-Keys and their replayed
	// responses are kept (at least 7 days). Default 720h (30 days).
	IdempotencyRetention time.Duration `yaml:"idempotency_retention"`
	// EnforcementRetention is how long the history of desired-state changes
	// is kept per POP; an agent further behind gets a snapshot. The
	// blast-radius guard's 30-day median reads it. Default 840h (35 days).
	EnforcementRetention time.Duration `yaml:"enforcement_retention"`
	// GatewayRecoveryInterval is how often refunds left pending by a crash
	// between the gateway call and the journal are settled. Default 1m.
	GatewayRecoveryInterval time.Duration `yaml:"gateway_recovery_interval"`
	// GatewayRecoveryAfter is how old a pending refund must be before the
	// recovery job settles it. Default 2m.
	GatewayRecoveryAfter time.Duration `yaml:"gateway_recovery_after"`
}

// DevConfig enables development and demo conveniences. Never in production.
type DevConfig struct {
	// ClockAPI lets an admin move the controller's clock forward through
	// POST /api/v1/dev/clock/advance (tollgatectl dev advance 30d); due
	// billing runs then happen in order. Default false. Env
	// TOLLGATE_DEV_CLOCK_API.
	ClockAPI bool `yaml:"clock_api"`
	// ClockStart, with ClockAPI, starts the controller's clock at this
	// instant (RFC 3339, e.g. "2027-11-15T12:00:00Z"; past or future), so a
	// demo sees the same dates whenever it runs. The clock is kept in the
	// database and a restart continues it, so ClockStart applies only to a
	// database with no stored clock (the stored clock wins). Default: the
	// real time.
	ClockStart string `yaml:"clock_start"`
}

// HTTPConfig is the HTTP listener: admin API, /metrics, /healthz, /readyz.
type HTTPConfig struct {
	// Listen is the address to listen on. Default ":8080". Env
	// TOLLGATE_HTTP_LISTEN.
	Listen string `yaml:"listen"`
}

// GRPCConfig is the agents' gRPC listener.
type GRPCConfig struct {
	// Listen is the address to listen on. Default ":9090". Env
	// TOLLGATE_GRPC_LISTEN.
	Listen string `yaml:"listen"`
	// InsecurePlaintext serves agents without TLS. Development only; default
	// false. Env TOLLGATE_GRPC_INSECURE_PLAINTEXT.
	InsecurePlaintext bool `yaml:"insecure_plaintext"`
	// TLS is the mutual-TLS setup; required unless InsecurePlaintext.
	TLS TLSConfig `yaml:"tls"`
	// HeartbeatInterval between heartbeats on idle streams. Default 5s.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// FeedConnections is the size of the database pool kept for the
	// agents' streams (snapshots, deltas, reports), so that a burst of
	// payments cannot make restores wait for a connection. Default 4.
	FeedConnections int32 `yaml:"feed_connections"`
}

// TLSConfig names PEM files.
type TLSConfig struct {
	// CertFile and KeyFile are the controller's certificate and key.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile is the CA that signs agent certificates; agents must
	// present one.
	ClientCAFile string `yaml:"client_ca_file"`
}

// APIConfig configures the admin API.
type APIConfig struct {
	// Tokens are the bearer tokens accepted by the admin API. At least one is
	// needed to use the API.
	Tokens []TokenConfig `yaml:"tokens"`
}

// TokenConfig is one API token. Give exactly one of Token, TokenFile or
// TokenSHA256.
type TokenConfig struct {
	// Name identifies the holder in logs and audit records.
	Name string `yaml:"name"`
	// Role is reader, billing or admin.
	Role string `yaml:"role"`
	// Token is the secret itself (avoid: prefer TokenFile or TokenSHA256).
	Token string `yaml:"token"`
	// TokenFile is a file holding the secret (surrounding white space is
	// ignored).
	TokenFile string `yaml:"token_file"`
	// TokenSHA256 is the hex SHA-256 of the secret.
	TokenSHA256 string `yaml:"token_sha256"`
}

// LoadConfig reads the config file at path (may be empty) and overlays the
// environment.
func LoadConfig(path string) (Config, error) {
	var c Config
	if err := config.LoadFile(path, &c); err != nil {
		return c, err
	}
	env := config.NewEnv()
	env.String("TOLLGATE_DATABASE_URL", &c.DatabaseURL)
	env.String("TOLLGATE_HTTP_LISTEN", &c.HTTP.Listen)
	env.String("TOLLGATE_GRPC_LISTEN", &c.GRPC.Listen)
	env.Bool("TOLLGATE_GRPC_INSECURE_PLAINTEXT", &c.GRPC.InsecurePlaintext)
	env.String("TOLLGATE_LOG_LEVEL", &c.Log.Level)
	env.Bool("TOLLGATE_DEV_CLOCK_API", &c.Dev.ClockAPI)
	env.String("TOLLGATE_PORTAL_PUBLIC_URL", &c.Portal.PublicURL)
	env.String("TOLLGATE_CONSOLE_PUBLIC_URL", &c.Console.PublicURL)
	if _, ok := os.LookupEnv("TOLLGATE_MIGRATE_ON_START"); ok {
		var b bool
		env.Bool("TOLLGATE_MIGRATE_ON_START", &b)
		c.MigrateOnStart = &b
	}
	return c, env.Err()
}

// withDefaults fills unset fields.
func (c Config) withDefaults() Config {
	if c.MigrateOnStart == nil {
		t := true
		c.MigrateOnStart = &t
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = ":8080"
	}
	if c.GRPC.Listen == "" {
		c.GRPC.Listen = ":9090"
	}
	if c.GRPC.HeartbeatInterval <= 0 {
		c.GRPC.HeartbeatInterval = 5 * time.Second
	}
	if c.GRPC.FeedConnections <= 0 {
		c.GRPC.FeedConnections = 4
	}
	return c
}

// Validate checks the config and reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("database_url is required (or TOLLGATE_DATABASE_URL, or --database-url)"))
	}
	if !c.GRPC.InsecurePlaintext && (c.GRPC.TLS.CertFile == "" || c.GRPC.TLS.KeyFile == "" || c.GRPC.TLS.ClientCAFile == "") {
		errs = append(errs, errors.New("grpc.tls needs cert_file, key_file and client_ca_file (or set grpc.insecure_plaintext: true for development)"))
	}
	if _, err := c.tokens(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Delinquency.Guard.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("delinquency.%s", billing.ErrorMessage(err)))
	}
	if _, err := billing.ParseLocale(c.Company.Locale); err != nil {
		errs = append(errs, fmt.Errorf("company.%s", billing.ErrorMessage(err)))
	}
	if err := c.Notices.SMTP.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Notices.DelivererConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Delivery.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Console.PublicURL != "" {
		if u, err := url.Parse(c.Console.PublicURL); err == nil {
			p := strings.TrimRight(u.Path, "/")
			pp := ""
			if pu, err := url.Parse(c.Portal.PublicURL); err == nil && c.Portal.Enabled() {
				pp = strings.TrimRight(pu.Path, "/")
			}
			switch {
			case p == "/metrics" || p == "/healthz" || p == "/readyz":
				errs = append(errs, fmt.Errorf("console.public_url path %q is taken by the controller's own endpoints", p))
			case p != "" && pp != "" && (p == pp || strings.HasPrefix(p, pp+"/") || strings.HasPrefix(pp, p+"/")):
				errs = append(errs, fmt.Errorf("console.public_url path %q overlaps portal.public_url's %q", p, pp))
			}
		}
	}
	if c.Portal.Enabled() {
		if u, err := url.Parse(c.Portal.PublicURL); err == nil {
			p := strings.TrimRight(u.Path, "/")
			switch {
			case p == "":
				errs = append(errs, fmt.Errorf("portal.public_url %q needs a path (e.g. /portal): the admin API has the root", c.Portal.PublicURL))
			case p == "/api" || strings.HasPrefix(p, "/api/") || p == "/metrics" || p == "/healthz" || p == "/readyz":
				errs = append(errs, fmt.Errorf("portal.public_url path %q is taken by the controller's own endpoints", p))
			}
		}
	}
	if c.Dev.ClockStart != "" {
		if _, err := time.Parse(time.RFC3339, c.Dev.ClockStart); err != nil {
			errs = append(errs, fmt.Errorf("dev.clock_start %q is not an RFC 3339 time (2027-11-15T12:00:00Z)", c.Dev.ClockStart))
		}
	}
	return errors.Join(errs...)
}

// tokens resolves the configured API tokens.
func (c Config) tokens() ([]api.Token, error) {
	var out []api.Token
	names := map[string]bool{}
	for i, t := range c.API.Tokens {
		where := fmt.Sprintf("api.tokens[%d]", i)
		if t.Name == "" {
			return nil, fmt.Errorf("%s: name is required", where)
		}
		if names[t.Name] {
			return nil, fmt.Errorf("%s: name %q is used twice", where, t.Name)
		}
		names[t.Name] = true
		role, err := api.ParseRole(t.Role)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", where, t.Name, err)
		}
		given := 0
		for _, v := range []string{t.Token, t.TokenFile, t.TokenSHA256} {
			if v != "" {
				given++
			}
		}
		if given != 1 {
			return nil, fmt.Errorf("%s (%s): give exactly one of token, token_file, token_sha256", where, t.Name)
		}
		switch {
		case t.TokenSHA256 != "":
			tok, err := api.NewTokenFromHash(t.Name, role, t.TokenSHA256)
			if err != nil {
				return nil, err
			}
			out = append(out, tok)
		case t.TokenFile != "":
			b, err := os.ReadFile(t.TokenFile)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): %w", where, t.Name, err)
			}
			secret := strings.TrimSpace(string(b))
			if len(secret) < 16 {
				return nil, fmt.Errorf("%s (%s): the secret in %s is shorter than 16 characters", where, t.Name, t.TokenFile)
			}
			out = append(out, api.NewToken(t.Name, role, secret))
		default:
			if len(t.Token) < 16 {
				return nil, fmt.Errorf("%s (%s): token is shorter than 16 characters", where, t.Name)
			}
			out = append(out, api.NewToken(t.Name, role, t.Token))
		}
	}
	return out, nil
}
