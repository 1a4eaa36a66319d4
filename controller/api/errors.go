package api

import (
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// statusFor maps a domain error code to its HTTP status. This is the one
// place where that mapping lives.
func statusFor(code billing.Code) int {
	switch code {
	case billing.EINVALID:
		return http.StatusUnprocessableEntity
	case billing.ENOTFOUND:
		return http.StatusNotFound
	case billing.ECONFLICT:
		return http.StatusConflict
	case billing.EPRECONDITION:
		return http.StatusPreconditionFailed
	case billing.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case billing.EFORBIDDEN:
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// toHTTPError converts an error from the domain into a problem+json error;
// internal errors are logged and shown only as "internal error".
func (s *Server) toHTTPError(op string, err error) error {
	code := billing.ErrorCode(err)
	if code == billing.EINTERNAL {
		s.log.Error("request failed", "op", op, "err", err)
	}
	return huma.NewError(statusFor(code), billing.ErrorMessage(err))
}

// writeProblem writes an RFC 9457 problem document outside huma (in the
// net/http middlewares).
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"title":  http.StatusText(status),
		"status": status,
		"detail": detail,
	})
}
