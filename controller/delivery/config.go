package delivery

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/webhooksig"
)

// Config is the controller's delivery: section. Email goes through the
// notices' SMTP server (notices.smtp); mail through the print-and-mail
// vendor configured here. Zero values take the defaults named here.
type Config struct {
	// PrintMail is the print-and-mail vendor. Without base_url invoices of
	// accounts that get them by mail are not sent anywhere: they are in the
	// printed-invoice batch of their billing run, for printing in-house.
	PrintMail PrintMailConfig `yaml:"print_mail"`
	// BatchSize is no longer used (each delivery is its own River job); it
	// is accepted so that existing configurations still load.
	BatchSize int `yaml:"batch_size"`
	// MaxAttempts is how many times a delivery is tried before it is marked
	// failed. Default 10.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the wait after each failed attempt: the first entry after
	// the first failure, and so on; the last entry repeats. Default 1m, 2m,
	// 5m, 10m, 30m, 1h, 2h, 4h, 8h (with 10 attempts, the last try is about
	// 16 hours after the first: inside the 24 hours a Lob-style vendor keeps
	// idempotency keys, so a retry never prints a letter twice).
	Backoff []time.Duration `yaml:"backoff"`
	// Concurrency is how many invoices are rendered and sent at once: the
	// workers of the River queue of delivery jobs, per controller replica.
	// Default 8.
	Concurrency int `yaml:"concurrency"`
	// Lease is no longer used (River rescues the job of a controller that
	// died); it is accepted so that existing configurations still load.
	Lease time.Duration `yaml:"lease"`
	// Interval is how often finished billing runs whose invoices were never
	// queued (a controller stopped in between) are looked for; each run's
	// deliveries are queued as soon as it finishes. Default 1m.
	Interval time.Duration `yaml:"interval"`
	// TemplatesDir holds invoice.subject.tmpl and invoice.body.tmpl, which
	// replace the built-in invoice email templates (see [LoadTemplates]).
	// Default: none, the built-in ones.
	TemplatesDir string `yaml:"templates_dir"`
}

// DefaultBackoff is the retry schedule when Config.Backoff is empty.
var DefaultBackoff = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour}

func (c Config) withDefaults() Config {
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if len(c.Backoff) == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.Lease <= 0 {
		c.Lease = 10 * time.Minute
	}
	if c.Interval <= 0 {
		c.Interval = time.Minute
	}
	return c
}

// Validate reports every problem at once, naming settings by their YAML
// keys under delivery.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{{"batch_size", c.BatchSize}, {"max_attempts", c.MaxAttempts}, {"concurrency", c.Concurrency}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("delivery.%s %d must not be negative", f.name, f.v))
		}
	}
	for i, d := range c.Backoff {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("delivery.backoff[%d] %s must be positive", i, d))
		}
	}
	if c.Lease < 0 || c.Interval < 0 {
		errs = append(errs, errors.New("delivery.lease and delivery.interval must not be negative"))
	}
	if err := c.PrintMail.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// PrintMailConfig is the print-and-mail vendor: an API modelled on Lob's
// (see the package documentation for what is modelled).
type PrintMailConfig struct {
	// BaseURL is the vendor's API address, e.g. "https://api.lob.com".
	// Empty turns print-to-mail off.
	BaseURL string `yaml:"base_url"`
	// APIKeyFile holds the secret API key (sent as the Basic-auth user
	// name). Required with base_url. Env TOLLGATE_PRINT_MAIL_API_KEY
	// overrides it.
	APIKeyFile string `yaml:"api_key_file"`
	// WebhookSecretFile holds the webhook signing secrets, one per line
	// (the current one and, during a rotation, the previous one). Without
	// it status webhooks are refused and letters stay sent_to_vendor.
	WebhookSecretFile string `yaml:"webhook_secret_file"`
	// WebhookTolerance is how far a webhook's signed timestamp may be from
	// now before it is refused as a possible replay. Default 5m.
	WebhookTolerance time.Duration `yaml:"webhook_tolerance"`
	// From is the return address printed on every letter. Required with
	// base_url.
	From PostalAddress `yaml:"from"`
	// Color prints in color (default black and white).
	Color bool `yaml:"color"`
	// DoubleSided prints on both sides of the paper. Default false.
	DoubleSided bool `yaml:"double_sided"`
	// AddressPlacement is where the recipient's address goes for the
	// envelope window: "insert_blank_page" (default: an extra first page,
	// so the invoice layout is never covered) or "top_first_page".
	AddressPlacement string `yaml:"address_placement"`
	// ReturnEnvelope encloses a #9 return envelope with invoices that
	// carry a remittance slip (the slip's page is perforated). Default
	// false.
	ReturnEnvelope bool `yaml:"return_envelope"`
	// MailType is "usps_first_class" (default) or "usps_standard".
	MailType string `yaml:"mail_type"`
	// UseType declares the mail's purpose; invoices are "operational"
	// (default).
	UseType string `yaml:"use_type"`
	// SkipVerification skips the address verification before each US
	// letter. Default false: an undeliverable address fails the delivery
	// instead of paying for a letter that comes back.
	SkipVerification bool `yaml:"skip_verification"`
	// Timeout bounds one API request. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
}

// PostalAddress is an address for the vendor.
type PostalAddress struct {
	Name       string `yaml:"name"`
	Company    string `yaml:"company"`
	Line1      string `yaml:"line1"`
	Line2      string `yaml:"line2"`
	City       string `yaml:"city"`
	Region     string `yaml:"region"`
	PostalCode string `yaml:"postal_code"`
	// Country is an ISO 3166 alpha-2 code; default "US".
	Country string `yaml:"country"`
}

// Enabled reports whether print-to-mail is configured.
func (c PrintMailConfig) Enabled() bool { return c.BaseURL != "" }

func (c PrintMailConfig) withDefaults() PrintMailConfig {
	if c.AddressPlacement == "" {
		c.AddressPlacement = "insert_blank_page"
	}
	if c.MailType == "" {
		c.MailType = "usps_first_class"
	}
	if c.UseType == "" {
		c.UseType = "operational"
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.WebhookTolerance <= 0 {
		c.WebhookTolerance = webhooksig.DefaultTolerance
	}
	if c.From.Country == "" {
		c.From.Country = "US"
	}
	return c
}

// Validate checks the vendor settings; nothing is required when base_url is
// empty, but then nothing else may be set either.
func (c PrintMailConfig) Validate() error {
	if !c.Enabled() {
		if c.APIKeyFile != "" || c.WebhookSecretFile != "" || c.From != (PostalAddress{}) {
			return errors.New("delivery.print_mail.base_url is required when other print_mail settings are given (or remove them to turn print-to-mail off)")
		}
		return nil
	}
	var errs []error
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("delivery.print_mail.base_url %q is not an http(s) URL (like https://api.lob.com)", c.BaseURL))
	}
	if c.APIKeyFile == "" && os.Getenv(EnvAPIKey) == "" {
		errs = append(errs, fmt.Errorf("delivery.print_mail.api_key_file is required with base_url (or %s)", EnvAPIKey))
	}
	f := c.From
	if strings.TrimSpace(f.Name) == "" && strings.TrimSpace(f.Company) == "" {
		errs = append(errs, errors.New("delivery.print_mail.from needs a name or company"))
	}
	if strings.TrimSpace(f.Line1) == "" || strings.TrimSpace(f.City) == "" || strings.TrimSpace(f.PostalCode) == "" {
		errs = append(errs, errors.New("delivery.print_mail.from needs line1, city and postal_code"))
	}
	switch c.AddressPlacement {
	case "", "insert_blank_page", "top_first_page":
	default:
		errs = append(errs, fmt.Errorf("delivery.print_mail.address_placement %q is not insert_blank_page or top_first_page", c.AddressPlacement))
	}
	switch c.MailType {
	case "", "usps_first_class", "usps_standard":
	default:
		errs = append(errs, fmt.Errorf("delivery.print_mail.mail_type %q is not usps_first_class or usps_standard", c.MailType))
	}
	switch c.UseType {
	case "", "operational", "marketing":
	default:
		errs = append(errs, fmt.Errorf("delivery.print_mail.use_type %q is not operational or marketing", c.UseType))
	}
	if c.Timeout < 0 || c.WebhookTolerance < 0 {
		errs = append(errs, errors.New("delivery.print_mail.timeout and webhook_tolerance must not be negative"))
	}
	return errors.Join(errs...)
}

// EnvAPIKey overrides delivery.print_mail.api_key_file.
const EnvAPIKey = "TOLLGATE_PRINT_MAIL_API_KEY"

// ReadAPIKey returns the vendor API key: env TOLLGATE_PRINT_MAIL_API_KEY,
// else the trimmed content of api_key_file.
func (c PrintMailConfig) ReadAPIKey() (string, error) {
	if k := strings.TrimSpace(os.Getenv(EnvAPIKey)); k != "" {
		return k, nil
	}
	b, err := os.ReadFile(c.APIKeyFile)
	if err != nil {
		return "", fmt.Errorf("delivery.print_mail.api_key_file: %w", err)
	}
	k := strings.TrimSpace(string(b))
	if k == "" {
		return "", fmt.Errorf("delivery.print_mail.api_key_file %s is empty", c.APIKeyFile)
	}
	return k, nil
}

// ReadWebhookSecrets returns the non-empty lines of webhook_secret_file
// (none when it is not set).
func (c PrintMailConfig) ReadWebhookSecrets() ([]string, error) {
	if c.WebhookSecretFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.WebhookSecretFile)
	if err != nil {
		return nil, fmt.Errorf("delivery.print_mail.webhook_secret_file: %w", err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("delivery.print_mail.webhook_secret_file %s is empty", c.WebhookSecretFile)
	}
	return out, nil
}
