package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// ErrPermanent marks a delivery failure that retrying cannot fix: the
// vendor refused the request for good (400, 404, 413, 422), the address is
// undeliverable or incomplete, the invoice cannot be rendered. Test with
// errors.Is; every other error is temporary and worth retrying.
var ErrPermanent = errors.New("permanent delivery failure")

// Vendor is a print-and-mail vendor: address verification and letters.
// [*PrintMail] is the Lob-style implementation.
type Vendor interface {
	// VerifyUS checks a US address's deliverability.
	VerifyUS(ctx context.Context, a PostalAddress) (Verification, error)
	// CreateLetter has a letter printed and mailed. The same
	// IdempotencyKey always answers with the letter it created first.
	CreateLetter(ctx context.Context, req LetterRequest) (Letter, error)
}

// Verification is the vendor's answer about an address.
type Verification struct {
	ID string `json:"id"`
	// Deliverability is deliverable, deliverable_unnecessary_unit,
	// deliverable_incorrect_unit, deliverable_missing_unit or
	// undeliverable.
	Deliverability string `json:"deliverability"`
	PrimaryLine    string `json:"primary_line"`
	SecondaryLine  string `json:"secondary_line"`
	LastLine       string `json:"last_line"`
}

// Deliverable reports whether mail can reach the address (every
// deliverability but "undeliverable").
func (v Verification) Deliverable() bool {
	return strings.HasPrefix(v.Deliverability, "deliverable")
}

// LetterRequest is one letter to print and mail.
type LetterRequest struct {
	// IdempotencyKey makes the request safe to retry (required).
	IdempotencyKey string
	Description    string
	To             PostalAddress
	// PDF is the letter (8.5"×11" pages); FileName names it.
	PDF      []byte
	FileName string
	// ReturnEnvelope encloses a return envelope; PerforatedPage is the page
	// perforated for the remittance slip (required with it).
	ReturnEnvelope bool
	PerforatedPage int
	// Metadata is attached to the letter and comes back in its webhook
	// events (at most 20 keys).
	Metadata map[string]string
}

// Letter is the vendor's letter object, as far as Tollgate reads it.
type Letter struct {
	ID                   string            `json:"id"`
	Description          string            `json:"description"`
	Metadata             map[string]string `json:"metadata"`
	URL                  string            `json:"url"`
	Carrier              string            `json:"carrier"`
	ExpectedDeliveryDate string            `json:"expected_delivery_date"`
	DateCreated          string            `json:"date_created"`
	SendDate             string            `json:"send_date"`
	Object               string            `json:"object"`
}

// VendorError is an error answer from the vendor's API ({"error":
// {"message", "status_code", "code"}}).
type VendorError struct {
	Op         string // "create letter", "verify address"
	StatusCode int
	Code       string
	Message    string
}

func (e *VendorError) Error() string {
	msg := fmt.Sprintf("print-mail vendor: %s: HTTP %d", e.Op, e.StatusCode)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Permanent reports whether retrying the same request cannot help: 400,
// 404, 405, 413, 422 (a request the vendor will never take). 401 and 403
// (a key problem, fixed in the configuration), 409 (the same idempotency
// key in flight), 429 and 5xx are temporary.
func (e *VendorError) Permanent() bool {
	switch e.StatusCode {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge,
		http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// Is makes errors.Is(err, ErrPermanent) true for permanent answers.
func (e *VendorError) Is(target error) bool { return target == ErrPermanent && e.Permanent() }

// PrintMail is a client for a Lob-style print-and-mail API: POST
// /v1/us_verifications and POST /v1/letters (multipart, with the PDF), Basic
// authentication with the API key as user name, an Idempotency-Key header on
// every letter. Safe for concurrent use.
type PrintMail struct {
	cfg  PrintMailConfig
	key  string
	http *http.Client
}

// NewPrintMail returns a client for the vendor in cfg, authenticating with
// apiKey.
func NewPrintMail(cfg PrintMailConfig, apiKey string) (*PrintMail, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, errors.New("delivery.print_mail.base_url is required to mail invoices")
	}
	if apiKey == "" {
		return nil, errors.New("print-mail vendor: no API key")
	}
	cfg = cfg.withDefaults()
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	return &PrintMail{cfg: cfg, key: apiKey, http: &http.Client{Transport: t}}, nil
}

// String describes the client for logs (never the key).
func (p *PrintMail) String() string { return "print-mail vendor " + p.cfg.BaseURL }

// Config is the client's configuration with defaults filled in.
func (p *PrintMail) Config() PrintMailConfig { return p.cfg }

// VerifyUS implements [Vendor]: POST /v1/us_verifications with the
// address's primary_line, secondary_line, city, state and zip_code.
func (p *PrintMail) VerifyUS(ctx context.Context, a PostalAddress) (Verification, error) {
	body, _ := json.Marshal(map[string]string{"primary_line": a.Line1, "secondary_line": a.Line2, "city": a.City,
		"state": a.Region, "zip_code": a.PostalCode})
	var v Verification
	err := p.do(ctx, "verify address", "/v1/us_verifications", "application/json", body, "", &v)
	return v, err
}

// CreateLetter implements [Vendor]: POST /v1/letters as multipart/form-data,
// the PDF in the file part and the addresses as to[…] and from[…] fields,
// with req.IdempotencyKey in the Idempotency-Key header.
func (p *PrintMail) CreateLetter(ctx context.Context, req LetterRequest) (Letter, error) {
	if req.IdempotencyKey == "" {
		return Letter{}, errors.New("print-mail vendor: a letter needs an idempotency key")
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	field := func(k, v string) {
		if v != "" {
			_ = mw.WriteField(k, v) // writes to a bytes.Buffer: cannot fail
		}
	}
	field("description", req.Description)
	address := func(prefix string, a PostalAddress) {
		field(prefix+"[name]", a.Name)
		field(prefix+"[company]", a.Company)
		field(prefix+"[address_line1]", a.Line1)
		field(prefix+"[address_line2]", a.Line2)
		field(prefix+"[address_city]", a.City)
		field(prefix+"[address_state]", a.Region)
		field(prefix+"[address_zip]", a.PostalCode)
		field(prefix+"[address_country]", countryOrUS(a.Country))
	}
	address("to", req.To)
	address("from", p.cfg.From)
	field("color", strconv.FormatBool(p.cfg.Color))
	field("double_sided", strconv.FormatBool(p.cfg.DoubleSided))
	field("address_placement", p.cfg.AddressPlacement)
	field("mail_type", p.cfg.MailType)
	field("use_type", p.cfg.UseType)
	if req.ReturnEnvelope && p.cfg.ReturnEnvelope {
		field("return_envelope", "true")
		field("perforated_page", strconv.Itoa(max(req.PerforatedPage, 1)))
	}
	for k, v := range req.Metadata {
		field("metadata["+k+"]", v)
	}
	name := req.FileName
	if name == "" {
		name = "letter.pdf"
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, name))
	h.Set("Content-Type", "application/pdf")
	w, _ := mw.CreatePart(h)
	_, _ = w.Write(req.PDF)
	_ = mw.Close()

	var l Letter
	err := p.do(ctx, "create letter", "/v1/letters", mw.FormDataContentType(), buf.Bytes(), req.IdempotencyKey, &l)
	if err == nil && l.ID == "" {
		err = fmt.Errorf("print-mail vendor: create letter: the answer has no letter id")
	}
	return l, err
}

func countryOrUS(c string) string {
	if c == "" {
		return "US"
	}
	return c
}

// maxAnswer caps what is read of an answer.
const maxAnswer = 1 << 20

// do POSTs body and decodes a 2xx JSON answer into out. Network errors,
// timeouts and unreadable answers are temporary; error answers are
// [*VendorError].
func (p *PrintMail) do(ctx context.Context, op, path, contentType string, body []byte, idemKey string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: print-mail vendor: %s: %v", ErrPermanent, op, err)
	}
	req.SetBasicAuth(p.key, "")
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "tollgate")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("print-mail vendor: %s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("print-mail vendor: %s: reading the answer: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ve := &VendorError{Op: op, StatusCode: resp.StatusCode}
		var e struct {
			Error struct {
				Message string `json:"message"`
				Code    string `json:"code"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil {
			ve.Message, ve.Code = clip(e.Error.Message, 300), e.Error.Code
		}
		return ve
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("print-mail vendor: %s: the answer is not JSON: %v", op, err)
	}
	return nil
}

// clip shortens text from the other side quoted in an error.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// isUS reports whether country names the United States (or is empty).
func isUS(country string) bool {
	switch strings.ToUpper(strings.TrimSpace(country)) {
	case "", "US", "USA", "UNITED STATES":
		return true
	}
	return false
}
