package printmailsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mode is how the sim answers API requests.
type Mode int

// Modes.
const (
	// Up answers normally.
	Up Mode = iota
	// Unavailable answers every API request with 503.
	Unavailable
	// Hang never answers: the request waits until the client gives up.
	Hang
	// AcceptThenFail creates the letter and then answers 502, as if the
	// answer were lost on the way back (other requests are answered
	// normally).
	AcceptThenFail
)

// Options configure the sim.
type Options struct {
	// APIKey is the key clients must send as the Basic-auth user name
	// ("": any key).
	APIKey string
	// WebhookURL receives the status events; WebhookSecret signs them.
	WebhookURL    string
	WebhookSecret string
	// MailAfter, if positive, sends letter.mailed this long after each
	// letter is created (and letter.returned_to_sender as long again after
	// that for ReturnPostalCodes); 0: events only when asked ([Sim.Mail]).
	MailAfter time.Duration
	// ReturnPostalCodes: letters to these postal codes come back
	// (automatic events only).
	ReturnPostalCodes []string
	// UndeliverablePostalCodes: us_verifications answers undeliverable for
	// these (and for a primary line containing "UNDELIVERABLE").
	UndeliverablePostalCodes []string
	// Dir, if set, receives each letter's PDF and JSON (ltr_….pdf,
	// ltr_….json).
	Dir string
	// KeepFiles keeps each letter's PDF in memory (Letter.PDF).
	KeepFiles bool
	// Logf, if set, gets one line per letter and per event.
	Logf func(format string, args ...any)
}

// Address is a letter's to or from address, as sent.
type Address struct {
	Name    string `json:"name,omitempty"`
	Company string `json:"company,omitempty"`
	Line1   string `json:"address_line1"`
	Line2   string `json:"address_line2,omitempty"`
	City    string `json:"address_city"`
	State   string `json:"address_state"`
	Zip     string `json:"address_zip"`
	Country string `json:"address_country"`
}

// Letter is a letter the sim accepted.
type Letter struct {
	ID               string            `json:"id"`
	IdempotencyKey   string            `json:"-"`
	Description      string            `json:"description"`
	To               Address           `json:"to"`
	From             Address           `json:"from"`
	Metadata         map[string]string `json:"metadata"`
	Color            bool              `json:"color"`
	DoubleSided      bool              `json:"double_sided"`
	AddressPlacement string            `json:"address_placement"`
	MailType         string            `json:"mail_type"`
	UseType          string            `json:"use_type"`
	ReturnEnvelope   bool              `json:"return_envelope"`
	PerforatedPage   int               `json:"perforated_page,omitempty"`
	FileName         string            `json:"-"`
	FileSize         int               `json:"-"`
	PDF              []byte            `json:"-"`
	// Path is where the PDF was written (Options.Dir).
	Path string `json:"-"`
	// Status is created, mailed or returned_to_sender; Events the event
	// types sent so far.
	Status  string    `json:"-"`
	Events  []string  `json:"-"`
	Created time.Time `json:"-"`
}

// Sim is a running fake vendor.
type Sim struct {
	opts Options
	srv  *http.Server

	mu            sync.Mutex
	addr          string
	ln            net.Listener
	mode          Mode
	letters       map[string]*Letter
	order         []string
	byKey         map[string]string
	creations     map[string]int
	requests      int
	verifications int
	closed        bool
	timers        []*time.Timer
	hangs         chan struct{} // closed to release hanging requests

	webhooks sync.WaitGroup
	client   *http.Client
}

// New returns a sim that is not listening yet (see [Sim.Listen],
// [Sim.Handler]).
func New(opts Options) *Sim {
	s := &Sim{opts: opts, letters: map[string]*Letter{}, byKey: map[string]string{}, creations: map[string]int{},
		hangs: make(chan struct{}), client: &http.Client{Timeout: 10 * time.Second}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/letters", s.api(s.createLetter))
	mux.HandleFunc("GET /v1/letters", s.api(s.listLetters))
	mux.HandleFunc("GET /v1/letters/{id}", s.api(s.getLetter))
	mux.HandleFunc("POST /v1/us_verifications", s.api(s.verify))
	mux.HandleFunc("GET /files/{name}", s.file)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return s
}

// Start starts a sim on 127.0.0.1 on a free port, closed when the test
// ends.
func Start(t testing.TB, opts Options) *Sim {
	t.Helper()
	s := New(opts)
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatalf("printmailsim: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Handler is the sim's HTTP handler.
func (s *Sim) Handler() http.Handler { return s.srv.Handler }

// Listen starts serving on addr ("127.0.0.1:0" for a free port).
func (s *Sim) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.ln, s.addr = ln, ln.Addr().String()
	s.mu.Unlock()
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// URL is the sim's base URL ("http://127.0.0.1:port"), the client's
// base_url.
func (s *Sim) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "http://" + s.addr
}

// Close stops the server, pending automatic events and hanging requests,
// and waits for webhooks in flight.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, t := range s.timers {
		t.Stop()
	}
	close(s.hangs)
	s.mu.Unlock()
	err := s.srv.Close()
	s.webhooks.Wait()
	return err
}

// SetMode changes how API requests are answered from now on.
func (s *Sim) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode == Hang && m != Hang {
		close(s.hangs) // release the hanging requests
		s.hangs = make(chan struct{})
	}
	s.mode = m
}

// Refuse closes the listener: new connections are refused until Resume.
// Established keep-alive connections are closed too.
func (s *Sim) Refuse() error {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	s.mu.Unlock()
	if ln == nil {
		return nil
	}
	err := ln.Close()
	// Idle keep-alive connections would still be answered: cut them.
	s.srv.SetKeepAlivesEnabled(false)
	return err
}

// Resume listens again on the address the sim had.
func (s *Sim) Resume() error {
	s.mu.Lock()
	addr := s.addr
	s.mu.Unlock()
	var ln net.Listener
	var err error
	for range 50 { // the port can take a moment to be free again
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	s.srv.SetKeepAlivesEnabled(true)
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// Letters returns the letters created so far, in creation order.
func (s *Sim) Letters() []Letter {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Letter, 0, len(s.order))
	for _, id := range s.order {
		l := *s.letters[id]
		l.Events = slices.Clone(l.Events)
		out = append(out, l)
	}
	return out
}

// Letter returns one letter by id.
func (s *Sim) Letter(id string) (Letter, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.letters[id]
	if !ok {
		return Letter{}, false
	}
	c := *l
	c.Events = slices.Clone(l.Events)
	return c, true
}

// Creations returns how many letters were created per Idempotency-Key
// (every key maps to 1 when retries never printed twice).
func (s *Sim) Creations() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.creations))
	for k, v := range s.creations {
		out[k] = v
	}
	return out
}

// Requests returns how many API requests reached the handler, and how many
// address verifications were answered.
func (s *Sim) Requests() (requests, verifications int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.verifications
}

func (s *Sim) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// apiError writes the vendor's error shape.
func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "status_code": status, "code": code}})
}

// api wraps an API handler with authentication and the failure modes. h
// returns the answer (written unless the mode says otherwise).
func (s *Sim) api(h func(r *http.Request) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		mode, hangs := s.mode, s.hangs
		s.mu.Unlock()
		switch mode {
		case Unavailable:
			apiError(w, http.StatusServiceUnavailable, "service_unavailable", "Service Unavailable")
			return
		case Hang:
			select {
			case <-r.Context().Done():
			case <-hangs:
				apiError(w, http.StatusServiceUnavailable, "service_unavailable", "Service Unavailable")
			}
			return
		}
		user, _, ok := r.BasicAuth()
		if !ok || (s.opts.APIKey != "" && user != s.opts.APIKey) {
			apiError(w, http.StatusUnauthorized, "unauthorized", "Your API key is not valid.")
			return
		}
		status, v := h(r)
		if mode == AcceptThenFail && r.Method == http.MethodPost && r.URL.Path == "/v1/letters" {
			apiError(w, http.StatusBadGateway, "bad_gateway", "Bad Gateway")
			return
		}
		if e, ok := v.(apiErr); ok {
			apiError(w, status, e.code, e.msg)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
}

type apiErr struct{ code, msg string }

func invalid(format string, args ...any) (int, any) {
	return http.StatusUnprocessableEntity, apiErr{"invalid", fmt.Sprintf(format, args...)}
}

// form reads a request's fields (multipart, urlencoded or JSON with nested
// objects flattened to a[b]) and the uploaded file, if any.
func form(r *http.Request) (fields map[string]string, file []byte, fileName string, err error) {
	fields = map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(64 << 20); err != nil {
			return nil, nil, "", err
		}
		for k, v := range r.MultipartForm.Value {
			fields[k] = v[0]
		}
		if fh := r.MultipartForm.File["file"]; len(fh) > 0 {
			f, err := fh[0].Open()
			if err != nil {
				return nil, nil, "", err
			}
			defer f.Close()
			if file, err = io.ReadAll(f); err != nil {
				return nil, nil, "", err
			}
			fileName = fh[0].Filename
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, nil, "", err
		}
		for k, v := range r.PostForm {
			fields[k] = v[0]
		}
	default:
		var m map[string]any
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<20)).Decode(&m); err != nil {
			return nil, nil, "", err
		}
		flatten("", m, fields)
	}
	return fields, file, fileName, nil
}

func flatten(prefix string, m map[string]any, out map[string]string) {
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "[" + k + "]"
		}
		switch v := v.(type) {
		case map[string]any:
			flatten(key, v, out)
		case string:
			out[key] = v
		case nil:
		default:
			b, _ := json.Marshal(v)
			out[key] = string(b)
		}
	}
}

func address(f map[string]string, prefix string) Address {
	a := Address{Name: f[prefix+"[name]"], Company: f[prefix+"[company]"], Line1: f[prefix+"[address_line1]"],
		Line2: f[prefix+"[address_line2]"], City: f[prefix+"[address_city]"], State: f[prefix+"[address_state]"],
		Zip: f[prefix+"[address_zip]"], Country: f[prefix+"[address_country]"]}
	if a.Country == "" {
		a.Country = "US"
	}
	return a
}

func checkAddress(a Address, which string) error {
	if a.Name == "" && a.Company == "" {
		return fmt.Errorf("%s.name or %s.company is required", which, which)
	}
	if a.Line1 == "" {
		return fmt.Errorf("%s.address_line1 is required", which)
	}
	if strings.EqualFold(a.Country, "US") && (a.City == "" || a.State == "" || a.Zip == "") {
		return fmt.Errorf("%s.address_city, address_state and address_zip are required for US addresses", which)
	}
	return nil
}

func randomID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func (s *Sim) createLetter(r *http.Request) (int, any) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = r.URL.Query().Get("idempotency_key")
	}
	if len(key) > 256 {
		return invalid("idempotency key is longer than 256 characters")
	}
	f, file, fileName, err := form(r)
	if err != nil {
		return http.StatusBadRequest, apiErr{"bad_request", "the request body could not be read: " + err.Error()}
	}
	if key != "" {
		s.mu.Lock()
		id, seen := s.byKey[key]
		var l Letter
		if seen {
			l = *s.letters[id]
		}
		s.mu.Unlock()
		if seen {
			return http.StatusOK, s.letterObject(l)
		}
	}
	l := Letter{ID: randomID("ltr_"), IdempotencyKey: key, Description: f["description"], To: address(f, "to"),
		From: address(f, "from"), Metadata: map[string]string{}, AddressPlacement: f["address_placement"],
		MailType: f["mail_type"], UseType: f["use_type"], FileName: fileName, FileSize: len(file), Status: "created",
		Created: time.Now().UTC()}
	for k, v := range f {
		if mk, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(mk, "]") {
			l.Metadata[strings.TrimSuffix(mk, "]")] = v
		}
	}
	l.Color, _ = strconv.ParseBool(f["color"])
	l.DoubleSided, _ = strconv.ParseBool(f["double_sided"])
	l.ReturnEnvelope, _ = strconv.ParseBool(f["return_envelope"])
	l.PerforatedPage, _ = strconv.Atoi(f["perforated_page"])
	if l.AddressPlacement == "" {
		l.AddressPlacement = "top_first_page"
	}
	if l.MailType == "" {
		l.MailType = "usps_first_class"
	}
	if err := checkAddress(l.To, "to"); err != nil {
		return invalid("%v", err)
	}
	if err := checkAddress(l.From, "from"); err != nil {
		return invalid("%v", err)
	}
	switch {
	case len(file) == 0:
		return invalid("file is required: upload a PDF")
	case !bytes.HasPrefix(file, []byte("%PDF-")):
		return invalid("file is not a PDF")
	case !slices.Contains([]string{"top_first_page", "insert_blank_page", "bottom_first_page", "bottom_first_page_center"}, l.AddressPlacement):
		return invalid("address_placement %q is not valid", l.AddressPlacement)
	case l.UseType != "operational" && l.UseType != "marketing":
		return invalid("use_type must be operational or marketing")
	case l.ReturnEnvelope && l.PerforatedPage < 1:
		return invalid("perforated_page is required with return_envelope")
	case len(l.Metadata) > 20:
		return invalid("metadata has more than 20 keys")
	}
	if s.opts.KeepFiles {
		l.PDF = file
	}
	if s.opts.Dir != "" {
		l.Path = filepath.Join(s.opts.Dir, l.ID+".pdf")
		if err := os.WriteFile(l.Path, file, 0o644); err != nil {
			return http.StatusInternalServerError, apiErr{"internal_server_error", err.Error()}
		}
	}

	s.mu.Lock()
	if key != "" {
		// A concurrent request with the same key may have won meanwhile.
		if id, seen := s.byKey[key]; seen {
			first := *s.letters[id]
			s.mu.Unlock()
			return http.StatusOK, s.letterObject(first)
		}
		s.byKey[key] = l.ID
		s.creations[key]++
	}
	s.letters[l.ID] = &l
	s.order = append(s.order, l.ID)
	if s.opts.MailAfter > 0 && !s.closed {
		id := l.ID
		ret := slices.Contains(s.opts.ReturnPostalCodes, l.To.Zip)
		s.timers = append(s.timers, time.AfterFunc(s.opts.MailAfter, func() {
			s.autoEvent(id, "letter.mailed")
			if ret {
				s.mu.Lock()
				if !s.closed {
					s.timers = append(s.timers, time.AfterFunc(s.opts.MailAfter, func() { s.autoEvent(id, "letter.returned_to_sender") }))
				}
				s.mu.Unlock()
			}
		}))
	}
	s.mu.Unlock()
	obj := s.letterObject(l)
	if s.opts.Dir != "" {
		b, _ := json.MarshalIndent(obj, "", "  ")
		_ = os.WriteFile(filepath.Join(s.opts.Dir, l.ID+".json"), b, 0o644)
	}
	s.logf("letter %s created: %q to %s, %s %s (%d bytes)", l.ID, l.Description, l.To.Name, l.To.City, l.To.Zip, l.FileSize)
	return http.StatusOK, obj
}

// letterObject is the letter as the API answers it.
func (s *Sim) letterObject(l Letter) map[string]any {
	to := map[string]any{"id": "adr_" + l.ID[4:], "object": "address", "name": l.To.Name, "company": l.To.Company,
		"address_line1": l.To.Line1, "address_line2": l.To.Line2, "address_city": l.To.City, "address_state": l.To.State,
		"address_zip": l.To.Zip, "address_country": l.To.Country}
	from := map[string]any{"object": "address", "name": l.From.Name, "company": l.From.Company,
		"address_line1": l.From.Line1, "address_line2": l.From.Line2, "address_city": l.From.City,
		"address_state": l.From.State, "address_zip": l.From.Zip, "address_country": l.From.Country}
	obj := map[string]any{"id": l.ID, "object": "letter", "description": l.Description, "metadata": l.Metadata,
		"to": to, "from": from, "color": l.Color, "double_sided": l.DoubleSided, "address_placement": l.AddressPlacement,
		"return_envelope": l.ReturnEnvelope, "mail_type": l.MailType, "use_type": l.UseType, "carrier": "USPS",
		"tracking_events": []any{}, "url": s.URL() + "/files/" + l.ID + ".pdf",
		"expected_delivery_date": l.Created.AddDate(0, 0, 5).Format("2006-01-02"),
		"date_created":           l.Created.Format(time.RFC3339Nano), "date_modified": l.Created.Format(time.RFC3339Nano),
		"send_date": l.Created.Format(time.RFC3339Nano)}
	if l.ReturnEnvelope {
		obj["perforated_page"] = l.PerforatedPage
	}
	return obj
}

func (s *Sim) listLetters(r *http.Request) (int, any) {
	ls := s.Letters()
	data := make([]any, 0, len(ls))
	for i := len(ls) - 1; i >= 0; i-- { // newest first
		data = append(data, s.letterObject(ls[i]))
	}
	return http.StatusOK, map[string]any{"data": data, "count": len(data), "object": "list"}
}

func (s *Sim) getLetter(r *http.Request) (int, any) {
	l, ok := s.Letter(r.PathValue("id"))
	if !ok {
		return http.StatusNotFound, apiErr{"not_found", "letter not found"}
	}
	return http.StatusOK, s.letterObject(l)
}

// file serves a kept PDF (Options.KeepFiles or Dir).
func (s *Sim) file(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSuffix(r.PathValue("name"), ".pdf")
	l, ok := s.Letter(id)
	switch {
	case !ok:
		http.NotFound(w, r)
	case l.PDF != nil:
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write(l.PDF)
	case l.Path != "":
		http.ServeFile(w, r, l.Path)
	default:
		http.NotFound(w, r)
	}
}

func (s *Sim) verify(r *http.Request) (int, any) {
	f, _, _, err := form(r)
	if err != nil {
		return http.StatusBadRequest, apiErr{"bad_request", "the request body could not be read: " + err.Error()}
	}
	primary := strings.ToUpper(strings.TrimSpace(f["primary_line"]))
	if primary == "" {
		return invalid("primary_line is required")
	}
	zip := strings.TrimSpace(f["zip_code"])
	if zip == "" && (f["city"] == "" || f["state"] == "") {
		return invalid("zip_code, or city and state, are required")
	}
	s.mu.Lock()
	s.verifications++
	s.mu.Unlock()
	deliverability := "deliverable"
	if slices.Contains(s.opts.UndeliverablePostalCodes, zip) || strings.Contains(primary, "UNDELIVERABLE") {
		deliverability = "undeliverable"
	}
	city, state := strings.ToUpper(f["city"]), strings.ToUpper(f["state"])
	return http.StatusOK, map[string]any{"id": randomID("us_ver_"), "object": "us_verification",
		"recipient": strings.ToUpper(f["recipient"]), "primary_line": primary,
		"secondary_line": strings.ToUpper(f["secondary_line"]), "urbanization": "",
		"last_line": strings.TrimSpace(city + " " + state + " " + zip), "deliverability": deliverability,
		"components": map[string]any{"city": city, "state": state, "zip_code": zip}}
}

// Mail marks a letter mailed and sends letter.mailed to the webhook URL.
func (s *Sim) Mail(ctx context.Context, letterID string) error {
	return s.SendEvent(ctx, letterID, "letter.mailed")
}

// ReturnToSender marks a letter returned and sends
// letter.returned_to_sender.
func (s *Sim) ReturnToSender(ctx context.Context, letterID string) error {
	return s.SendEvent(ctx, letterID, "letter.returned_to_sender")
}

// MailAll sends letter.mailed for every letter not mailed yet and returns
// how many it sent.
func (s *Sim) MailAll(ctx context.Context) (int, error) {
	n := 0
	for _, l := range s.Letters() {
		if l.Status != "created" {
			continue
		}
		if err := s.Mail(ctx, l.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Event builds the signed webhook delivery of an event of type about a
// letter: the body and its Lob-Signature and Lob-Signature-Timestamp
// header values. The letter's status changes as the event says.
func (s *Sim) Event(letterID, eventType string) (body []byte, signature, timestamp string, err error) {
	s.mu.Lock()
	l, ok := s.letters[letterID]
	if !ok {
		s.mu.Unlock()
		return nil, "", "", fmt.Errorf("printmailsim: no letter %s", letterID)
	}
	switch eventType {
	case "letter.mailed":
		l.Status = "mailed"
	case "letter.returned_to_sender":
		l.Status = "returned_to_sender"
	}
	l.Events = append(l.Events, eventType)
	snapshot := *l
	s.mu.Unlock()
	now := time.Now().UTC()
	body, err = json.Marshal(map[string]any{"id": randomID("evt_"), "object": "event", "reference_id": letterID,
		"date_created": now.Format(time.RFC3339Nano), "body": s.letterObject(snapshot),
		"event_type": map[string]any{"id": eventType, "resource": "letters", "enabled_for_test": true, "object": "event_type"}})
	if err != nil {
		return nil, "", "", err
	}
	signature, timestamp = Sign(body, s.opts.WebhookSecret, now)
	return body, signature, timestamp, nil
}

// Sign signs a webhook body as the vendor does: hex HMAC-SHA256 of
// timestamp + "." + body, the timestamp in Unix milliseconds.
func Sign(body []byte, secret string, t time.Time) (signature, timestamp string) {
	timestamp = strconv.FormatInt(t.UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil)), timestamp
}

// SendEvent posts one signed event of type about a letter to the webhook
// URL, once; an answer other than 2xx is an error.
func (s *Sim) SendEvent(ctx context.Context, letterID, eventType string) error {
	body, sig, ts, err := s.Event(letterID, eventType)
	if err != nil {
		return err
	}
	return s.Post(ctx, body, sig, ts)
}

// Post delivers a webhook body with the given signature headers to the
// webhook URL (tests use it for forged deliveries).
func (s *Sim) Post(ctx context.Context, body []byte, sig, ts string) error {
	if s.opts.WebhookURL == "" {
		return errors.New("printmailsim: no webhook URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lob-Signature", sig)
	req.Header.Set("Lob-Signature-Timestamp", ts)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("printmailsim: webhook answered %s: %s", resp.Status, strings.TrimSpace(string(answer)))
	}
	return nil
}

// autoEvent sends an automatic event, retrying as the vendor does (a few
// times, backing off) until the receiver answers 2xx.
func (s *Sim) autoEvent(letterID, eventType string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.webhooks.Add(1)
	s.mu.Unlock()
	defer s.webhooks.Done()
	body, sig, ts, err := s.Event(letterID, eventType)
	if err != nil {
		s.logf("%v", err)
		return
	}
	delay := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = s.Post(ctx, body, sig, ts)
		cancel()
		if err == nil {
			s.logf("letter %s: %s delivered to the webhook", letterID, eventType)
			return
		}
		if attempt == 6 {
			s.logf("letter %s: %s not delivered, giving up: %v", letterID, eventType, err)
			return
		}
		time.Sleep(delay)
		delay *= 2
	}
}
