package portal_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tollgate-isp/tollgate/captive"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/portal"
)

// mint makes the token an agent of the service's POP would.
func mint(srv *portal.Server, s billing.Service, exp time.Time) (string, error) {
	return captive.Mint(srv.CaptiveKey(s.POP), s.ID, exp)
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func mustRequest(method, u string) *http.Request { return httptest.NewRequest(method, u, nil) }

func decodeJSON(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
