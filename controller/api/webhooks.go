package api

import (
	"errors"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/webhooksig"
)

// webhookSignatureDoc is what both webhook operations say about their
// signature check in the OpenAPI document.
const webhookSignatureDoc = "The signature is the credential (no bearer token): the hex HMAC-SHA256, under the endpoint's " +
	"signing secret (two during a rotation), of the signed timestamp, \".\" and the raw body; the timestamp must be within " +
	"300 s of now either way. A missing, malformed or mismatching signature, or a timestamp outside that window, answers " +
	"400 with a problem+json naming what was wrong, on every webhook endpoint (until December 2026 the print-and-mail " +
	"webhook answered 401 here). 404: no signing secret is configured for the endpoint."

// webhookSignatureError maps a failed signature check (a
// *webhooksig.Error) to its answer — the one place this mapping lives, for
// every webhook endpoint: a rejected delivery (missing, malformed,
// mismatching, outside the tolerance) is 400, an endpoint without a signing
// secret is 404 naming the setting (unconfigured). ok is false for any other
// error, which the caller maps itself.
func (s *Server) webhookSignatureError(op, secretSetting string, err error) (mapped error, ok bool) {
	var sigErr *webhooksig.Error
	if !errors.As(err, &sigErr) {
		return nil, false
	}
	if errors.Is(err, webhooksig.ErrNoSecret) {
		s.log.Warn("webhook refused: no signing secret is configured", "op", op, "setting", secretSetting)
		return huma.Error404NotFound("webhooks are not configured here: no signing secret (" + secretSetting + ")"), true
	}
	s.log.Warn("webhook refused", "op", op, "err", err)
	return huma.Error400BadRequest("webhook rejected: " + sigErr.Error()), true
}
