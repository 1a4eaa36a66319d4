package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

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

// idempotency makes every mutating request carry an Idempotency-Key and
// executes each (caller, key) once: a retry gets the first response again
// (with Idempotent-Replayed: true), the same key with a different request is
// refused with 422, and a concurrent duplicate gets 409 while the first is in
// flight. Server errors release the key so the retry runs again.
func (s *Server) idempotency(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalFrom(r.Context())
		if !ok || !mutating(r.Method) || strings.HasPrefix(r.URL.Path, "/api/v1/sandbox/") {
			// Unauthenticated requests are refused by the operation. The
			// sandbox processor's card tokenization is exempt: its body holds
			// a card number, which must not be hashed or stored, and
			// tokenizing twice does no harm.
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
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d MiB", limit>>20))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		h.Write([]byte(r.URL.RawQuery))
		h.Write([]byte{0})
		h.Write(body)
		req := billing.IdempotentRequest{Principal: p.Name, Key: key, Method: r.Method, Path: r.URL.Path, RequestHash: h.Sum(nil)}

		stored, err := s.idem.BeginIdempotent(r.Context(), req, s.clock.Now(), s.cfg.IdempotencyLockTimeout)
		if err != nil {
			code := billing.ErrorCode(err)
			if code == billing.EINTERNAL {
				s.log.Error("idempotency check failed", "err", err)
			}
			writeProblem(w, statusFor(code), billing.ErrorMessage(err))
			return
		}
		if stored != nil {
			w.Header().Set("Content-Type", stored.ContentType)
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(stored.StatusCode)
			_, _ = w.Write(stored.Body)
			return
		}

		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), idemKeyCtx{}, p.Name+":"+key)))
		ctx := context.WithoutCancel(r.Context())
		if rec.status >= 500 {
			if err := s.idem.ReleaseIdempotent(ctx, p.Name, key); err != nil {
				s.log.Error("release idempotency key", "err", err)
			}
			return
		}
		resp := billing.StoredResponse{StatusCode: rec.status, ContentType: rec.Header().Get("Content-Type"), Body: rec.body.Bytes()}
		if err := s.idem.CompleteIdempotent(ctx, p.Name, key, resp); err != nil {
			s.log.Error("store idempotent response", "err", err)
		}
	})
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
