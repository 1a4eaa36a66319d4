package delivery_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/delivery"
)

func TestConfigValidate(t *testing.T) {
	t.Setenv(delivery.EnvAPIKey, "")
	good := delivery.Config{PrintMail: delivery.PrintMailConfig{BaseURL: "https://api.lob.com", APIKeyFile: "/k", From: from}}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	if err := (delivery.Config{}).Validate(); err != nil {
		t.Fatalf("empty config: %v", err)
	}
	for name, c := range map[string]struct {
		cfg  delivery.Config
		want string
	}{
		"settings without base_url": {delivery.Config{PrintMail: delivery.PrintMailConfig{APIKeyFile: "/k"}}, "base_url is required"},
		"not a URL":                 {delivery.Config{PrintMail: delivery.PrintMailConfig{BaseURL: "api.lob.com", APIKeyFile: "/k", From: from}}, "not an http(s) URL"},
		"no key":                    {delivery.Config{PrintMail: delivery.PrintMailConfig{BaseURL: "https://x", From: from}}, "api_key_file is required"},
		"no return address":         {delivery.Config{PrintMail: delivery.PrintMailConfig{BaseURL: "https://x", APIKeyFile: "/k"}}, "from needs a name or company"},
		"placement":                 {delivery.Config{PrintMail: delivery.PrintMailConfig{BaseURL: "https://x", APIKeyFile: "/k", From: from, AddressPlacement: "bottom"}}, "address_placement"},
		"backoff":                   {delivery.Config{Backoff: []time.Duration{time.Minute, 0}}, "delivery.backoff[1]"},
		"negative batch":            {delivery.Config{BatchSize: -1}, "delivery.batch_size"},
	} {
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error with %q", name, err, c.want)
		}
	}
}

func TestEmailTemplates(t *testing.T) {
	d := delivery.EmailData{Company: "Prairie Fiber", Number: "INV-0000042", AccountNumber: "A-000007", AccountName: "Ana",
		Currency: "USD", Total: 5311, AmountDue: 5311, DueDate: billing.NewDate(2026, 12, 10)}
	subject, body, err := delivery.DefaultTemplates().Render(d)
	if err != nil || subject != "Prairie Fiber: invoice INV-0000042, USD 53.11 due 2026-12-10" || !strings.Contains(body, "Hello Ana,") ||
		strings.Contains(body, "Pay online") {
		t.Fatalf("built-in: %q\n%s\n%v", subject, body, err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "invoice.subject.tmpl"), []byte("Your bill {{.Number}}"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl, err := delivery.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	if subject, _, _ := tmpl.Render(d); subject != "Your bill INV-0000042" {
		t.Errorf("override: %q", subject)
	}
	_ = os.WriteFile(filepath.Join(dir, "invoice.body.tmpl"), []byte("{{.Nope}}"), 0o600)
	if _, err := delivery.LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), "invoice.body.tmpl") {
		t.Errorf("a template naming a missing field: %v", err)
	}
	_ = os.Remove(filepath.Join(dir, "invoice.body.tmpl"))
	_ = os.WriteFile(filepath.Join(dir, "invoce.body.tmpl"), []byte("x"), 0o600)
	if _, err := delivery.LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), "unknown name") {
		t.Errorf("a misspelt template: %v", err)
	}
}

// The signature check of these webhooks is webhooksig's (TestVerifyLob,
// TestLobInteroperatesWithTheVendorFake there); this reads their bodies.
func TestParseLetterEvent(t *testing.T) {
	ev, key, ok, err := delivery.ParseLetterEvent([]byte(`{"id":"evt_9","event_type":{"id":"letter.returned_to_sender"},
		"body":{"id":"ltr_9","metadata":{"tollgate_delivery_id":"12","tollgate_key":"k"}},"date_created":"2026-12-01T10:00:00.000Z"}`))
	if err != nil || !ok || ev.LetterID != "ltr_9" || ev.DeliveryID != 12 || key != "k" || ev.Status != billing.DeliveryReturned || ev.At.IsZero() {
		t.Fatalf("parse: %+v %q %v %v", ev, key, ok, err)
	}
	if _, _, ok, err := delivery.ParseLetterEvent([]byte(`{"id":"evt_8","event_type":{"id":"postcard.mailed"},"body":{"id":"psc_1"}}`)); err != nil || ok {
		t.Fatalf("a postcard event: ok=%v err=%v", ok, err)
	}
}
