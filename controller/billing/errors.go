package billing

import (
	"errors"
	"fmt"
)

// Code classifies an [Error] so adapters can map it to a protocol status
// (HTTP, gRPC) in one place.
type Code string

// Error codes.
const (
	// EINVALID: the caller sent something malformed or out of range.
	EINVALID Code = "invalid"
	// ENOTFOUND: the named thing does not exist (or the caller may not see it).
	ENOTFOUND Code = "not_found"
	// ECONFLICT: the request conflicts with the current state, e.g. an
	// Idempotency-Key reused with a different request.
	ECONFLICT Code = "conflict"
	// EPRECONDITION: the caller changed something from a stale read: the
	// version it sent (If-Match) is no longer the current one.
	EPRECONDITION Code = "precondition_failed"
	// EUNAUTHORIZED: no or bad credentials.
	EUNAUTHORIZED Code = "unauthorized"
	// EFORBIDDEN: credentials are fine but the role does not allow this.
	EFORBIDDEN Code = "forbidden"
	// EINTERNAL: a bug or an unavailable dependency; details are logged, not
	// shown.
	EINTERNAL Code = "internal"
)

// Error is a domain error: a code for machines and a message for people.
// Messages name what was wrong ("pop \"north-1\" is not a valid POP id: …").
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error and "" for nil.
func ErrorCode(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the message of the first *Error in err's chain, or
// "internal error" for any other error, so internal details never leak to
// callers.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
