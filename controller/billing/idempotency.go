package billing

import (
	"context"
	"time"
)

// IdempotentRequest identifies a mutating API request by its caller and
// Idempotency-Key, with a hash of everything else that must match on retry.
type IdempotentRequest struct {
	Principal   string
	Key         string
	Method      string
	Path        string
	RequestHash []byte
}

// StoredResponse is the first response to an idempotent request, replayed
// for every retry with the same key.
type StoredResponse struct {
	StatusCode  int
	ContentType string
	Body        []byte
}

// IdempotencyStore remembers responses by Idempotency-Key.
type IdempotencyStore interface {
	// BeginIdempotent claims the key for a new execution (returns nil, nil),
	// or returns the stored response of the completed first execution. It
	// returns EINVALID when the key was used with a different request, and
	// ECONFLICT when another execution holds the key and its claim is
	// younger than lockTimeout (an execution that died more than lockTimeout
	// ago is taken over).
	BeginIdempotent(ctx context.Context, r IdempotentRequest, now time.Time, lockTimeout time.Duration) (*StoredResponse, error)
	// CompleteIdempotent stores the response of the execution that claimed
	// the key; no coded errors (a key nobody holds stores nothing).
	CompleteIdempotent(ctx context.Context, principal, key string, resp StoredResponse) error
	// ReleaseIdempotent forgets a claim whose execution failed in a way the
	// caller may retry (a server error), so the retry runs again; no coded
	// errors (a completed key is kept, an unknown one is a no-op).
	ReleaseIdempotent(ctx context.Context, principal, key string) error
}

// IdempotentResult is the outcome of a request executed under its
// Idempotency-Key in one transaction with the key's claim and the stored
// response: both commit with the request's changes or not at all, so no
// crash can leave the changes made and the key free for a retry to make
// them again.
type IdempotentResult struct {
	// Response is what to answer: the response stored with this execution
	// or, when Replayed, the first execution's.
	Response StoredResponse
	Replayed bool
	// Refused is set when the key turned the request away and nothing ran:
	// EINVALID if the key was used with a different request, ECONFLICT if
	// another execution holds it.
	Refused error
}
