package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Text limits of the admin API, checked by [Server.hygiene] for every
// string of every JSON request body, path and query.
const (
	// maxLineText is the longest single-line text field, in characters.
	maxLineText = 500
	// maxMultilineText is the longest multi-line text field (memos, notes,
	// reasons, ticket bodies, invoice messages), in characters.
	maxMultilineText = 10_000
)

// multilineFields are the JSON field names whose text may span lines: in
// them tab, CR and LF are allowed; every other C0 control character (and
// in any other field, every C0 control character) is refused.
var multilineFields = map[string]bool{
	"memo": true, "note": true, "body": true, "reason": true, "invoice_message": true, "message": true,
	"line1": true, "line2": true, // postal address lines, as the account import takes them
}

// hygiene refuses, with 422 naming the field, text that PostgreSQL or a
// reader of it cannot take: C0 control characters (NUL among them; tab and
// line breaks only in multi-line fields), invalid UTF-8, and strings longer
// than the API's text limits. It is the one place every text field of the
// admin API passes through: the path (each path parameter by its name), the
// query, and every string of a JSON body (object keys too). It runs before
// the Idempotency-Key is claimed, so a refused request changes nothing.
//
// JSON bodies are read here (at most maxRequestBody; a larger one is
// answered 413), YAML ones too, turned into JSON first (yamlToJSON); CSV bodies are left to their importers, which check their
// fields themselves (billing.CheckText). The gateway's and print vendor's
// webhooks and the sandbox's card tokenization are signed or exempt and
// pass unchecked, except their paths.
func (s *Server) hygiene(mux notePattern, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var problems []*huma.ErrorDetail
		problems = append(problems, pathProblems(mux, r)...)
		problems = append(problems, queryProblems(r.URL.RawQuery)...)
		if len(problems) == 0 && r.Body != nil && r.Body != http.NoBody && yamlBody(r) {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
			if err == nil {
				body, err = yamlToJSON(body)
			}
			if err != nil {
				writeFieldProblems(w, []*huma.ErrorDetail{{Location: "body", Message: "the YAML document: " + err.Error()}})
				return
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			r.Header.Set("Content-Type", "application/json")
		}
		if len(problems) == 0 && r.Body != nil && r.Body != http.NoBody && jsonBody(r) &&
			!strings.HasPrefix(r.URL.Path, "/api/v1/webhooks/") && !strings.HasPrefix(r.URL.Path, "/api/v1/sandbox/") {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
			if err != nil {
				writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d MiB", maxRequestBody>>20))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			problems = append(problems, bodyProblems(body)...)
		}
		if len(problems) > 0 {
			writeFieldProblems(w, problems)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// jsonBody reports whether r's body is JSON (or untyped, which huma reads as
// JSON).
func jsonBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// pathProblems checks each segment of the request's path, naming a path
// parameter by the name in the route's pattern ("path.id").
func pathProblems(mux notePattern, r *http.Request) []*huma.ErrorDetail {
	if billing.CheckText(r.URL.Path, false, len(r.URL.Path)+1) == nil {
		return nil
	}
	_, pattern := mux.Handler(r)
	if _, p, ok := strings.Cut(pattern, " "); ok {
		pattern = p
	}
	names := strings.Split(pattern, "/")
	var out []*huma.ErrorDetail
	for i, seg := range strings.Split(r.URL.Path, "/") {
		err := billing.CheckText(seg, false, len(seg)+1)
		if err == nil {
			continue
		}
		loc := "path"
		if i < len(names) && strings.HasPrefix(names[i], "{") {
			loc = "path." + strings.Trim(names[i], "{}.")
		}
		out = append(out, &huma.ErrorDetail{Location: loc, Message: billing.ErrorMessage(err), Value: seg})
	}
	if len(out) == 0 { // a problem spanning segments cannot happen, but say so if it does
		out = append(out, &huma.ErrorDetail{Location: "path", Message: "the path is not valid text"})
	}
	return out
}

// queryProblems checks every query parameter's name and values.
func queryProblems(raw string) []*huma.ErrorDetail {
	if raw == "" {
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return []*huma.ErrorDetail{{Location: "query", Message: "the query string is malformed: " + err.Error()}}
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []*huma.ErrorDetail
	for _, k := range names {
		if err := billing.CheckText(k, false, maxLineText); err != nil {
			out = append(out, &huma.ErrorDetail{Location: "query", Message: "parameter name: " + billing.ErrorMessage(err)})
			continue
		}
		for _, v := range q[k] {
			if err := billing.CheckText(v, false, maxLineText); err != nil {
				out = append(out, &huma.ErrorDetail{Location: "query." + k, Message: billing.ErrorMessage(err)})
			}
		}
	}
	return out
}

// bodyProblems checks every string of a JSON body. A body that is not JSON
// is left to the operation, which refuses it.
func bodyProblems(body []byte) []*huma.ErrorDetail {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	var out []*huma.ErrorDetail
	walkJSON("body", "", v, &out)
	return out
}

// walkJSON checks the strings under v, at location loc; field is the name
// of the object field v is the value of (or of the array holding it).
func walkJSON(loc, field string, v any, out *[]*huma.ErrorDetail) {
	if len(*out) >= 50 {
		return
	}
	switch x := v.(type) {
	case string:
		multi := multilineFields[field]
		limit := maxLineText
		if multi {
			limit = maxMultilineText
		}
		if err := billing.CheckText(x, multi, limit); err != nil {
			*out = append(*out, &huma.ErrorDetail{Location: loc, Message: billing.ErrorMessage(err)})
		}
	case []any:
		for i, e := range x {
			walkJSON(loc+"["+strconv.Itoa(i)+"]", field, e, out)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := billing.CheckText(k, false, maxLineText); err != nil {
				*out = append(*out, &huma.ErrorDetail{Location: loc, Message: "field name: " + billing.ErrorMessage(err)})
				continue
			}
			walkJSON(loc+"."+k, k, x[k], out)
		}
	}
}

// writeFieldProblems answers 422 with a problem document listing each
// field's problem (huma's error model: errors[].location names the field).
func writeFieldProblems(w http.ResponseWriter, problems []*huma.ErrorDetail) {
	first := problems[0]
	detail := first.Location + ": " + first.Message
	if len(problems) > 1 {
		detail += fmt.Sprintf(" (and %d more)", len(problems)-1)
	}
	for _, p := range problems {
		if len(p.Location) > 0 && p.Value != nil {
			p.Value = strconv.QuoteToASCII(fmt.Sprint(p.Value))
		}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusUnprocessableEntity)
	_ = json.NewEncoder(w).Encode(&huma.ErrorModel{
		Title:  http.StatusText(http.StatusUnprocessableEntity),
		Status: http.StatusUnprocessableEntity,
		Detail: detail,
		Errors: problems,
	})
}
