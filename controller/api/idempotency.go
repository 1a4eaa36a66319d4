package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

const (
	// maxIdempotencyKey is the longest Idempotency-Key accepted.
	maxIdempotencyKey = 255
	// maxReplayBody caps what is stored for replay.
	maxReplayBody = 1 << 20
	// maxRequestBody caps a mutating request's body; maxImportBody the
	// body of a CSV import.
	maxRequestBody = 1 << 20
	maxImportBody  = 64 << 20
)

func mutating(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// keyStorage is how a mutating operation keeps its Idempotency-Key. Every
// mutating operation declares it when it is registered (op declares
// keySeparate; storesKeyInTx and takesNoKey declare the others), the
// OpenAPI document publishes it as the operation's x-idempotency-key, and
// [Server.idempotency] reads it from the operation a request matched.
type keyStorage string

const (
	// keySeparate: the key is claimed in a transaction of its own before
	// the operation runs, and its response stored in another after it.
	keySeparate keyStorage = "separate-transactions"
	// keyInOperationTx: the operation claims the key and stores its
	// response in its own transaction, with what it changes; it executes
	// under the claim it finds on its context (txClaimFrom), see
	// [Server.idempotentInTx].
	keyInOperationTx keyStorage = "operation-transaction"
	// keyNotTaken: the operation takes no Idempotency-Key: a webhook, whose
	// signed events are deduplicated by event id, or the sandbox's card
	// tokenization, whose body (a card number) must not be hashed or stored
	// and which does no harm done twice.
	keyNotTaken keyStorage = "none"
)

// keyStorageExtension is the OpenAPI extension of an operation that
// declares its keyStorage.
const keyStorageExtension = "x-idempotency-key"

// declareKeyStorage declares how o keeps its Idempotency-Key.
func declareKeyStorage(o *huma.Operation, k keyStorage) {
	if o.Extensions == nil {
		o.Extensions = map[string]any{}
	}
	o.Extensions[keyStorageExtension] = string(k)
}

// storesKeyInTx declares that o claims its Idempotency-Key and stores its
// response in the transaction that executes it (keyInOperationTx); its
// handler must execute under the claim txClaimFrom returns.
func storesKeyInTx(o huma.Operation) huma.Operation {
	declareKeyStorage(&o, keyInOperationTx)
	return o
}

// takesNoKey declares that o takes no Idempotency-Key (keyNotTaken).
func takesNoKey(o huma.Operation) huma.Operation {
	o.Parameters = slices.DeleteFunc(slices.Clone(o.Parameters), func(p *huma.Param) bool { return p.Name == "Idempotency-Key" })
	declareKeyStorage(&o, keyNotTaken)
	return o
}

// keyStorages maps the mux pattern of each mutating operation of doc
// ("POST /api/v1/accounts/{id}/payments", as humago registers it) to the
// key storage it declares ("" if it declares none).
func keyStorages(doc *huma.OpenAPI) map[string]keyStorage {
	m := map[string]keyStorage{}
	for _, item := range doc.Paths {
		for _, o := range []*huma.Operation{item.Post, item.Put, item.Patch, item.Delete} {
			if o != nil {
				k, _ := o.Extensions[keyStorageExtension].(string)
				m[strings.ToUpper(o.Method)+" "+o.Path] = keyStorage(k)
			}
		}
	}
	return m
}

// idempotency makes every mutating request carry an Idempotency-Key and
// executes each (caller, key) once: a retry gets the first response again
// (with Idempotent-Replayed: true), the same key with a different request is
// refused with 422, and a duplicate sent while the first is still running
// waits for it and gets its response (see [Server.waitForFirst]; 409 if the
// first is still running after Config.IdempotencyWait). Server errors
// release the key so the retry runs again.
//
// How the key is kept is what the operation the request matched declares
// (keyStorage): claimed in a transaction of its own, the operation run, and
// its response stored in another (keySeparate, also for an operation that
// declares nothing); or claimed and stored by the operation in its own
// transaction (keyInOperationTx, manual payments: see
// [Server.idempotentInTx]); or not taken at all (keyNotTaken). A request
// that matches no operation is left to the mux (404, 405).
func (s *Server) idempotency(routes notePattern, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalFrom(r.Context())
		if !ok || !mutating(r.Method) {
			// Unauthenticated requests are refused by the operation (the
			// webhooks, whose signature is their credential, take no key).
			next.ServeHTTP(w, r)
			return
		}
		_, pattern := routes.Handler(r)
		storage, matched := s.keyStorage[pattern]
		if !matched || storage == keyNotTaken {
			next.ServeHTTP(w, r)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			writeProblem(w, http.StatusBadRequest, "Idempotency-Key header is required on "+r.Method+" requests")
			return
		}
		if len(key) > maxIdempotencyKey {
			writeProblem(w, http.StatusBadRequest, "Idempotency-Key is longer than "+strconv.Itoa(maxIdempotencyKey)+" characters")
			return
		}
		limit := int64(maxRequestBody)
		if strings.HasPrefix(r.URL.Path, "/api/v1/imports/") {
			limit = maxImportBody
		}
		if strings.HasPrefix(r.URL.Path, "/api/v1/payment-batches/") && strings.HasSuffix(r.URL.Path, "/import") {
			limit = billing.MaxBatchImportBytes
		}
		h := sha256.New()
		h.Write([]byte(r.URL.RawQuery))
		h.Write([]byte{0})
		var rewind io.Seeker // the body, for running the operation again
		if limit > maxRequestBody {
			// A file import: spooled to a temporary file while it is
			// hashed, so a 64 MiB upload does not sit in memory (twice).
			spool, err := spoolBody(w, r.Body, limit, h)
			if err != nil {
				s.spoolRefusal(w, err, limit)
				return
			}
			defer spool.Close()
			r.Body, rewind = spool, spool
		} else {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
			if err != nil {
				writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d MiB", limit>>20))
				return
			}
			rd := bytes.NewReader(body)
			r.Body, rewind = io.NopCloser(rd), rd
			h.Write(body)
		}
		req := billing.IdempotentRequest{Principal: p.keyScope(), Key: key, Method: r.Method, Path: r.URL.Path, RequestHash: h.Sum(nil)}
		ctx := context.WithValue(r.Context(), idemKeyCtx{}, p.keyScope()+":"+key)
		if storage == keyInOperationTx {
			s.idempotentInTx(w, r.WithContext(ctx), next, req, rewind)
			return
		}

		if !s.beginIdempotent(w, r, req) {
			return
		}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(ctx))
		s.completeIdempotent(r.Context(), req, rec.status, rec.Header().Get("Content-Type"), rec.body.Bytes())
	})
}

// Pauses between the tries of a duplicate waiting for the first execution
// of its key (see [Server.waitForFirst]).
const (
	firstPause = 5 * time.Millisecond
	maxPause   = 100 * time.Millisecond
)

// waitForFirst calls try until it returns anything but ECONFLICT — the
// answer of a key whose first execution is still running (or being
// retried) —, pausing between tries. It gives up, returning try's last
// ECONFLICT, once Config.IdempotencyWait has passed or the client has gone.
// The bound is on how long a request waits, so it is real time, not the
// controller's clock.
func (s *Server) waitForFirst(ctx context.Context, try func() error) error {
	deadline := time.Now().Add(s.cfg.IdempotencyWait)
	pause := firstPause
	for {
		err := try()
		if billing.ErrorCode(err) != billing.ECONFLICT || time.Until(deadline) < pause {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, maxPause)
	}
}

// beginIdempotent claims req's key for an execution, reporting true. When
// the key is already used it answers the request itself: with the first
// execution's response (once it has one: a duplicate waits for it, see
// [Server.waitForFirst]), or refused.
func (s *Server) beginIdempotent(w http.ResponseWriter, r *http.Request, req billing.IdempotentRequest) bool {
	var stored *billing.StoredResponse
	err := s.waitForFirst(r.Context(), func() (err error) {
		stored, err = s.idem.BeginIdempotent(r.Context(), req, s.clock.Now(), s.cfg.IdempotencyLockTimeout)
		return err
	})
	if err != nil {
		s.writeRefusal(w, err)
		return false
	}
	if stored != nil {
		writeStored(w, *stored, true)
		return false
	}
	return true
}

// completeIdempotent stores the response of the execution that claimed
// req's key; a server error releases the key instead, so a retry runs
// again.
func (s *Server) completeIdempotent(ctx context.Context, req billing.IdempotentRequest, status int, contentType string, body []byte) {
	ctx = context.WithoutCancel(ctx)
	if status >= 500 {
		if err := s.idem.ReleaseIdempotent(ctx, req.Principal, req.Key); err != nil {
			s.log.Error("release idempotency key", "err", err)
		}
		return
	}
	resp := billing.StoredResponse{StatusCode: status, ContentType: contentType, Body: body}
	if err := s.idem.CompleteIdempotent(ctx, req.Principal, req.Key, resp); err != nil {
		s.log.Error("store idempotent response", "err", err)
	}
}

// Reasons of tollgate_idempotency_conflicts_total.
const (
	idemDifferentRequest = "different_request"
	idemInProgress       = "in_progress"
)

// writeRefusal answers a request its Idempotency-Key turned away.
func (s *Server) writeRefusal(w http.ResponseWriter, err error) {
	code := billing.ErrorCode(err)
	switch code {
	case billing.EINTERNAL:
		s.log.Error("idempotency check failed", "err", err)
	case billing.EINVALID:
		s.idemConflicts.WithLabelValues(idemDifferentRequest).Inc()
	case billing.ECONFLICT:
		s.idemConflicts.WithLabelValues(idemInProgress).Inc()
	}
	writeProblem(w, statusFor(code), billing.ErrorMessage(err))
}

// writeStored writes a stored response.
func writeStored(w http.ResponseWriter, resp billing.StoredResponse, replayed bool) {
	w.Header().Set("Content-Type", resp.ContentType)
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(resp.Body)
}

// txClaim carries a request's Idempotency-Key from the middleware to an
// operation that executes under it in one transaction with the key's claim
// and the stored response (see [Server.idempotentInTx]).
type txClaim struct {
	req    billing.IdempotentRequest
	accept string
	// done is set by the operation when its transaction answered: result
	// is the response stored with the execution, a replay or a refusal.
	done   bool
	result billing.IdempotentResult
}

type txClaimCtx struct{}

func txClaimFrom(ctx context.Context) *txClaim {
	c, _ := ctx.Value(txClaimCtx{}).(*txClaim)
	return c
}

// decided records the answer of the operation's transaction; the
// middleware writes it, and the operation's own response is discarded.
func (c *txClaim) decided(res billing.IdempotentResult) {
	c.done, c.result = true, res
}

// idempotentInTx runs an operation that claims req's key, executes and
// stores its response all in one transaction: the key and what the request
// did commit together, so a crash between the two cannot let a retry do it
// again, and a new key costs no transaction of its own. The operation finds
// the claim on its context (txClaimFrom) and reports what the key decided;
// the response is buffered, and the answer is the stored response (with
// Idempotent-Replayed: true for a replay), or the refusal. A duplicate
// waits for the first execution (the operation's transaction waits for the
// first's, and finds its stored response); when the key is held otherwise
// (by a refused duplicate's answer being stored, see below), the operation
// runs again, its body rewound, until the key has a response or
// Config.IdempotencyWait has passed (see [Server.waitForFirst]).
//
// An operation that answers without executing — a request refused before
// it runs (authorization, validation), or an execution that failed and
// rolled back, the key's claim with it — changed nothing. Its answer then
// goes through the key as every other operation's does: the key's stored
// response or refusal if it has one, otherwise the answer is stored for
// the key (a server error's is not).
func (s *Server) idempotentInTx(w http.ResponseWriter, r *http.Request, next http.Handler, req billing.IdempotentRequest, rewind io.Seeker) {
	var c *txClaim
	var buf *bufferedResponse
	tries := 0
	_ = s.waitForFirst(r.Context(), func() error {
		if tries++; tries > 1 {
			if _, err := rewind.Seek(0, io.SeekStart); err != nil {
				return err // not ECONFLICT: the last answer stands
			}
		}
		c = &txClaim{req: req, accept: r.Header.Get("Accept")}
		buf = &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(buf, r.WithContext(context.WithValue(r.Context(), txClaimCtx{}, c)))
		if c.done {
			return c.result.Refused
		}
		return nil
	})
	switch {
	case c.done && c.result.Refused != nil:
		s.writeRefusal(w, c.result.Refused)
	case c.done:
		writeStored(w, c.result.Response, c.result.Replayed)
	case s.beginIdempotent(w, r, req):
		body := buf.body.Bytes()
		s.completeIdempotent(r.Context(), req, buf.status, buf.header.Get("Content-Type"), body[:min(len(body), maxReplayBody)])
		for k, v := range buf.header {
			w.Header()[k] = v
		}
		w.WriteHeader(buf.status)
		_, _ = w.Write(body)
	}
}

// bufferedResponse holds a response until it is known to be the answer.
type bufferedResponse struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if !b.wroteHeader {
		b.status, b.wroteHeader = code, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wroteHeader = true
	return b.body.Write(p)
}

// recorder passes a response through while keeping a copy.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	if r.body.Len()+len(b) <= maxReplayBody {
		r.body.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

type idemKeyCtx struct{}

// idempotencyKeyFrom returns the request's Idempotency-Key, qualified by its
// caller, for passing on to a payment gateway.
func idempotencyKeyFrom(ctx context.Context) string {
	k, _ := ctx.Value(idemKeyCtx{}).(string)
	return k
}

// spoolBody copies body (at most limit bytes) into an unlinked temporary
// file, writing it to h too, and returns the file rewound. The error is a
// *http.MaxBytesError for a body over limit.
func spoolBody(w http.ResponseWriter, body io.Reader, limit int64, h io.Writer) (*os.File, error) {
	f, err := os.CreateTemp("", "tollgate-upload-*")
	if err != nil {
		return nil, err
	}
	_ = os.Remove(f.Name()) // gone when closed
	if _, err := io.Copy(io.MultiWriter(f, h), http.MaxBytesReader(w, io.NopCloser(body), limit)); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// spoolRefusal answers a body spoolBody could not take: 413 over the
// limit, 400 for a broken upload, 500 when the disk failed.
func (s *Server) spoolRefusal(w http.ResponseWriter, err error, limit int64) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d MiB", limit>>20))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		writeProblem(w, http.StatusBadRequest, "the request body ended early")
	default:
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			s.log.Error("spool request body", "err", err)
			writeProblem(w, http.StatusInternalServerError, "internal error")
			return
		}
		writeProblem(w, http.StatusBadRequest, "reading the request body failed: "+err.Error())
	}
}
