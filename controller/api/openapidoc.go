package api

import (
	"encoding/json"
	"net/http"
	"sync"

	"gopkg.in/yaml.v3"
)

// openAPIPath is where the OpenAPI document is served, without its
// extension: .json and .yaml (OpenAPI 3.1), -3.0.json and -3.0.yaml (the
// same API downgraded to 3.0 for older tools).
const openAPIPath = "/api/v1/openapi"

// signedNotBearer is the security of the webhooks: no bearer token (a
// gateway or print-mail vendor has none); their signature header is
// checked instead, as each operation's description says.
var signedNotBearer = []map[string][]string{{}}

// registerOpenAPIDocument serves the API's OpenAPI document. It is huma's
// document with one change: the human description of a pattern, which huma
// keeps in a "patternDescription" keyword (and uses in validation errors:
// "expected string to be a date YYYY-MM-DD …"), is published as the
// extension "x-pattern-description", since JSON Schema has no such keyword
// and linters refuse it.
func (s *Server) registerOpenAPIDocument(mux *http.ServeMux) {
	type rendering struct {
		once sync.Once
		body []byte
		err  error
	}
	serve := func(path, contentType string, render func() ([]byte, error)) {
		var r rendering
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, req *http.Request) {
			r.once.Do(func() { r.body, r.err = render() })
			if r.err != nil {
				writeProblem(w, http.StatusInternalServerError, "the OpenAPI document could not be rendered")
				s.log.Error("rendering the OpenAPI document", "path", path, "err", r.err)
				return
			}
			w.Header().Set("Content-Type", contentType)
			_, _ = w.Write(r.body)
		})
	}
	serve(openAPIPath+".json", "application/openapi+json", func() ([]byte, error) { return s.openAPIDocument(false, false) })
	serve(openAPIPath+".yaml", "application/openapi+yaml", func() ([]byte, error) { return s.openAPIDocument(false, true) })
	serve(openAPIPath+"-3.0.json", "application/openapi+json", func() ([]byte, error) { return s.openAPIDocument(true, false) })
	serve(openAPIPath+"-3.0.yaml", "application/openapi+yaml", func() ([]byte, error) { return s.openAPIDocument(true, true) })
}

// OpenAPIDocument returns the OpenAPI 3.1 document as the server serves it
// at /api/v1/openapi.json.
func (s *Server) OpenAPIDocument() ([]byte, error) { return s.openAPIDocument(false, false) }

func (s *Server) openAPIDocument(downgrade, asYAML bool) ([]byte, error) {
	var raw []byte
	var err error
	if downgrade {
		raw, err = s.api.OpenAPI().Downgrade()
	} else {
		raw, err = json.Marshal(s.api.OpenAPI())
	}
	if err != nil {
		return nil, err
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	doc = publishPatternDescriptions(doc)
	if asYAML {
		return yaml.Marshal(doc)
	}
	return json.Marshal(doc)
}

// publishPatternDescriptions renames every "patternDescription" keyword in
// v to "x-pattern-description".
func publishPatternDescriptions(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = publishPatternDescriptions(e)
		}
		if d, ok := t["patternDescription"]; ok {
			if _, isSchema := t["pattern"]; isSchema {
				delete(t, "patternDescription")
				t["x-pattern-description"] = d
			}
		}
	case []any:
		for i, e := range t {
			t[i] = publishPatternDescriptions(e)
		}
	}
	return v
}
