package payments

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"github.com/tollgate-isp/tollgate/controller/webhooksig"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The sandbox over HTTP.
//
// [Sandbox.Handler] serves a sandbox's gateway calls as a small JSON API and
// [SandboxClient] is the [Gateway] that calls it, so the sandbox can run in
// another process than the controller (payments.sandbox.url): a crash test
// kills the controller while the gateway, with its state, lives on — as a
// real processor does. It is a test and demo tool with no authentication;
// serve it on loopback only. It takes no card numbers: methods are made by
// its browser origin ([Sandbox.ElementsHandler]) or from Stripe's test
// method ids ([TestPaymentMethods]).
//
//	GET  /v1/payment_methods/{id} → PaymentMethod
//	POST /v1/payment_intents, /v1/payment_intents/{id}/confirm, /v1/setup_intents → Intent
//	GET  /v1/intents/{id} → Intent
//	POST /v1/charges        {"token","amount","currency","description","customer"}, Idempotency-Key → Charge
//	POST /v1/refunds        {"charge_id","amount","tollgate_refund_id"}, Idempotency-Key → Refund
//	GET  /v1/refunds?charge=ID → [Refund]
//
// Errors answer {"code":"EINVALID","message":"…"} with 400 (EINVALID), 404
// (ENOTFOUND), 409 (ECONFLICT) or 500 (anything else); the client turns them
// back into the same [billing.Code]s.

// Handler serves the sandbox's gateway calls over HTTP (see above).
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/charges", func(w http.ResponseWriter, r *http.Request) {
		var in sandboxChargeBody
		if !readSandboxBody(w, r, &in) {
			return
		}
		ch, err := s.Charge(r.Context(), ChargeRequest{Token: in.Token, Amount: in.Amount, Currency: in.Currency,
			Description: in.Description, Customer: in.Customer, IdempotencyKey: r.Header.Get("Idempotency-Key")})
		writeSandbox(w, ch, err)
	})
	mux.HandleFunc("POST /v1/refunds", func(w http.ResponseWriter, r *http.Request) {
		var in sandboxRefundBody
		if !readSandboxBody(w, r, &in) {
			return
		}
		rf, err := s.Refund(r.Context(), RefundRequest{ChargeID: in.ChargeID, Amount: in.Amount, RefundID: in.RefundID,
			IdempotencyKey: r.Header.Get("Idempotency-Key")})
		writeSandbox(w, rf, err)
	})
	mux.HandleFunc("GET /v1/refunds", func(w http.ResponseWriter, r *http.Request) {
		rs, err := s.ListRefunds(r.Context(), r.URL.Query().Get("charge"))
		writeSandbox(w, rs, err)
	})
	mux.HandleFunc("GET /v1/payment_methods/{id}", func(w http.ResponseWriter, r *http.Request) {
		pm, err := s.RetrievePaymentMethod(r.Context(), r.PathValue("id"))
		writeSandbox(w, pm, err)
	})
	mux.HandleFunc("POST /v1/payment_intents", func(w http.ResponseWriter, r *http.Request) {
		var in PaymentIntentRequest
		if !readSandboxBody(w, r, &in) {
			return
		}
		in.IdempotencyKey = r.Header.Get("Idempotency-Key")
		pi, err := s.CreatePaymentIntent(r.Context(), in)
		writeSandbox(w, pi, err)
	})
	mux.HandleFunc("POST /v1/payment_intents/{id}/confirm", func(w http.ResponseWriter, r *http.Request) {
		var in ConfirmRequest
		if !readSandboxBody(w, r, &in) {
			return
		}
		in.IdempotencyKey = r.Header.Get("Idempotency-Key")
		pi, err := s.ConfirmPaymentIntent(r.Context(), r.PathValue("id"), in)
		writeSandbox(w, pi, err)
	})
	mux.HandleFunc("POST /v1/setup_intents", func(w http.ResponseWriter, r *http.Request) {
		var in SetupIntentRequest
		if !readSandboxBody(w, r, &in) {
			return
		}
		in.IdempotencyKey = r.Header.Get("Idempotency-Key")
		si, err := s.CreateSetupIntent(r.Context(), in)
		writeSandbox(w, si, err)
	})
	mux.HandleFunc("GET /v1/intents/{id}", func(w http.ResponseWriter, r *http.Request) {
		in, err := s.RetrieveIntent(r.Context(), r.PathValue("id"))
		writeSandbox(w, in, err)
	})
	mux.HandleFunc("GET /v1/payouts", func(w http.ResponseWriter, r *http.Request) {
		from, err1 := billing.ParseDate(r.URL.Query().Get("from"))
		to, err2 := billing.ParseDate(r.URL.Query().Get("to"))
		ps, err := s.Payouts(r.Context(), from, to)
		writeSandbox(w, ps, cmp.Or(err1, err2, err))
	})
	return mux
}

type sandboxChargeBody struct {
	Token       string           `json:"token"`
	Amount      int64            `json:"amount"`
	Currency    billing.Currency `json:"currency"`
	Description string           `json:"description,omitempty"`
	Customer    string           `json:"customer,omitempty"`
}

type sandboxRefundBody struct {
	ChargeID string `json:"charge_id"`
	Amount   int64  `json:"amount"`
	RefundID string `json:"tollgate_refund_id,omitempty"`
}

type sandboxError struct {
	Code    billing.Code `json:"code"`
	Message string       `json:"message"`
}

func readSandboxBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeSandbox(w, nil, billing.Errorf(billing.EINVALID, "request body: %v", err))
		return false
	}
	return true
}

func writeSandbox(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		code := billing.ErrorCode(err)
		status := http.StatusInternalServerError
		switch code {
		case billing.EINVALID:
			status = http.StatusBadRequest
		case billing.ENOTFOUND:
			status = http.StatusNotFound
		case billing.ECONFLICT:
			status = http.StatusConflict
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(sandboxError{Code: code, Message: billing.ErrorMessage(err)})
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// SandboxClient is the [Gateway] of a sandbox served
// over HTTP by [Sandbox.Handler]. Its name is "sandbox", like the in-process
// sandbox's, so methods and charges stored by either stay usable. Webhook
// signatures are verified locally with its own secrets.
type SandboxClient struct {
	base    string
	hc      *http.Client
	secrets []string
}

// NewSandboxClient returns a gateway calling the sandbox at baseURL
// ("http://127.0.0.1:7070"). A nil hc means a client with a 30 s timeout.
// It makes no call. EINVALID for a URL that is not http(s).
func NewSandboxClient(baseURL string, hc *http.Client, secrets ...string) (*SandboxClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, billing.Errorf(billing.EINVALID, "sandbox URL %q is not an http(s) URL", baseURL)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &SandboxClient{base: strings.TrimRight(baseURL, "/"), hc: hc, secrets: append([]string(nil), secrets...)}, nil
}

// Name returns "sandbox".
func (c *SandboxClient) Name() string { return "sandbox" }

// Charge charges through the sandbox; see [Gateway.Charge].
func (c *SandboxClient) Charge(ctx context.Context, req ChargeRequest) (Charge, error) {
	if _, err := checkChargeRequest(req); err != nil {
		return Charge{}, err
	}
	var ch Charge
	err := c.call(ctx, http.MethodPost, "/v1/charges", req.IdempotencyKey, sandboxChargeBody{Token: req.Token, Amount: req.Amount,
		Currency: req.Currency, Description: req.Description, Customer: req.Customer}, &ch)
	return ch, err
}

// Refund refunds through the sandbox; see [Gateway.Refund].
func (c *SandboxClient) Refund(ctx context.Context, req RefundRequest) (Refund, error) {
	if err := checkRefundRequest(req); err != nil {
		return Refund{}, err
	}
	var r Refund
	err := c.call(ctx, http.MethodPost, "/v1/refunds", req.IdempotencyKey,
		sandboxRefundBody{ChargeID: req.ChargeID, Amount: req.Amount, RefundID: req.RefundID}, &r)
	return r, err
}

// ListRefunds lists a charge's refunds at the sandbox; see
// [Gateway.ListRefunds].
func (c *SandboxClient) ListRefunds(ctx context.Context, chargeID string) ([]Refund, error) {
	var rs []Refund
	err := c.call(ctx, http.MethodGet, "/v1/refunds?charge="+url.QueryEscape(chargeID), "", nil, &rs)
	return rs, err
}

// RetrievePaymentMethod asks the sandbox; see [IntentGateway].
func (c *SandboxClient) RetrievePaymentMethod(ctx context.Context, id string) (PaymentMethod, error) {
	if err := checkMethodID("payment method", id); err != nil {
		return PaymentMethod{}, err
	}
	var pm PaymentMethod
	err := c.call(ctx, http.MethodGet, "/v1/payment_methods/"+url.PathEscape(id), "", nil, &pm)
	return pm, err
}

// CreatePaymentIntent asks the sandbox; see [IntentGateway].
func (c *SandboxClient) CreatePaymentIntent(ctx context.Context, req PaymentIntentRequest) (Intent, error) {
	var in Intent
	key := req.IdempotencyKey
	req.IdempotencyKey = ""
	err := c.call(ctx, http.MethodPost, "/v1/payment_intents", key, req, &in)
	return in, err
}

// ConfirmPaymentIntent asks the sandbox; see [IntentGateway].
func (c *SandboxClient) ConfirmPaymentIntent(ctx context.Context, id string, req ConfirmRequest) (Intent, error) {
	var in Intent
	key := req.IdempotencyKey
	req.IdempotencyKey = ""
	err := c.call(ctx, http.MethodPost, "/v1/payment_intents/"+url.PathEscape(id)+"/confirm", key, req, &in)
	return in, err
}

// CreateSetupIntent asks the sandbox; see [IntentGateway].
func (c *SandboxClient) CreateSetupIntent(ctx context.Context, req SetupIntentRequest) (Intent, error) {
	var in Intent
	key := req.IdempotencyKey
	req.IdempotencyKey = ""
	err := c.call(ctx, http.MethodPost, "/v1/setup_intents", key, req, &in)
	return in, err
}

// RetrieveIntent asks the sandbox; see [IntentGateway].
func (c *SandboxClient) RetrieveIntent(ctx context.Context, id string) (Intent, error) {
	var in Intent
	err := c.call(ctx, http.MethodGet, "/v1/intents/"+url.PathEscape(id), "", nil, &in)
	return in, err
}

// ParseWebhook verifies a delivery with the client's secrets; see
// [Gateway.ParseWebhook].
func (c *SandboxClient) ParseWebhook(payload []byte, signatureHeader string, now time.Time) (Event, error) {
	if err := webhooksig.VerifyStripe(payload, signatureHeader, c.secrets, now, webhooksig.DefaultTolerance); err != nil {
		return Event{}, err
	}
	return decodeEvent(payload)
}

// call sends one request; sandbox errors come back with their codes, and
// anything else (transport trouble, an unreadable answer) is a plain error.
func (c *SandboxClient) call(ctx context.Context, method, path, key string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("sandbox gateway: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("sandbox gateway: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var se sandboxError
		if json.Unmarshal(b, &se) == nil && se.Code != "" && se.Code != billing.EINTERNAL {
			return billing.Errorf(se.Code, "%s", se.Message)
		}
		return fmt.Errorf("sandbox gateway: %s %s: HTTP %d: %s", method, path, resp.StatusCode, clip(string(b)))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("sandbox gateway: %s %s: %w", method, path, err)
	}
	return nil
}

var _ Gateway = (*SandboxClient)(nil)
