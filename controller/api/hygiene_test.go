package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// hygieneEnv is a server with every store the API serves (all but the dev
// clock and invoice delivery) and one of each thing an operation's path can
// name.
type hygieneEnv struct {
	*env
	ids map[string]string // path segment before a parameter → an existing id
}

func newHygieneEnv(t *testing.T) *hygieneEnv {
	t.Helper()
	e := newEnv(t)
	tokens := []api.Token{api.NewToken("root", api.RoleAdmin, adminToken)}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.NewServer(api.Config{}, api.Deps{Services: e.db, Idempotency: e.db, Billing: e.db, Payments: e.db,
		Charger: charge.New(e.sandbox, e.db, clock.Real{}, quiet), Methods: e.db, Importer: e.db, Collections: e.db, Tickets: e.db, Accounts: e.db},
		tokens, clock.Real{}, quiet, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL

	h := &hygieneEnv{env: e, ids: map[string]string{}}
	seed := func(name, method, path, body string) map[string]any {
		r := e.do(method, path, adminToken, "seed-"+name, body)
		if r.status != 200 {
			t.Fatalf("seed %s: %d %s", name, r.status, r.body)
		}
		return r.json(t)
	}
	id := func(m map[string]any) string { return fmt.Sprint(int64(m["id"].(float64))) }
	h.ids["account-types"] = id(seed("type", "POST", "/api/v1/account-types", residential))
	h.ids["plans"] = id(seed("plan", "POST", "/api/v1/plans", `{"name":"Basic 25","price":4999,"currency":"USD"}`))
	acct := seed("account", "POST", "/api/v1/accounts", `{"name":"Jane","email":"jane@example.net","account_type_id":`+h.ids["account-types"]+`,"currency":"USD","external_id":"legacy-1"}`)
	h.ids["accounts"] = id(acct)
	h.ids["services"] = id(seed("service", "POST", "/api/v1/services", `{"pop":"north-1","name":"Jane","account_id":`+h.ids["accounts"]+`,"binding":{"method":"routeros","addresses":["100.64.1.20"]}}`))
	seed("charge", "POST", "/api/v1/accounts/"+h.ids["accounts"]+"/charges", `{"description":"Install","amount":5000,"charge_date":"2026-12-01"}`)
	h.ids["payments"] = id(seed("payment", "POST", "/api/v1/accounts/"+h.ids["accounts"]+"/payments", `{"method":"check","amount":2500,"reference":"1001","payer":"Jane"}`))
	h.ids["payment-batches"] = id(seed("batch", "POST", "/api/v1/payment-batches", `{"deposit_date":"2026-12-02"}`))
	seed("batch-line", "POST", "/api/v1/payment-batches/"+h.ids["payment-batches"]+"/lines", `{"lines":[{"account":"legacy-1","method":"check","amount":1000,"reference":"1002","payer":"Jane"}]}`)
	h.ids["lines"] = "1"
	tk, err := e.db.OpenTicket(context.Background(), mustInt(t, h.ids["accounts"]), "Slow", "It is slow", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h.ids["tickets"] = fmt.Sprint(tk.ID)
	return h
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// snapshot fingerprints every table but idempotency_keys: its row count
// and a hash of its rows.
func (h *hygieneEnv) snapshot(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := h.db.Pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'idempotency_keys' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string]string{}
	for _, tb := range tables {
		var n int64
		var sum *string
		q := fmt.Sprintf(`SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM %q t`, tb)
		if err := h.db.Pool.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			t.Fatalf("%s: %v", tb, err)
		}
		out[tb] = fmt.Sprintf("%d rows %v", n, deref(sum))
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// openAPIOp is the part of an operation the test reads.
type openAPIOp struct {
	OperationID string `json:"operationId"`
	Parameters  []struct {
		Name   string         `json:"name"`
		In     string         `json:"in"`
		Schema map[string]any `json:"schema"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema map[string]any `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
}

// badValue is one kind of bad input put into a field.
type badValue struct {
	kind  string
	value any
}

const mb = 1_000_000

var (
	badStrings = []badValue{{"NUL", "a\x00b"}, {"control character", "a\x1b[2Jb"}, {"1 MB string", strings.Repeat("x", mb-1000)}, {"wrong type", 12345}}
	badDates   = []badValue{{"year 0000", "0000-01-01"}, {"year 1969", "1969-12-31"}, {"NUL", "2027-01-01\x00"}, {"wrong type", 20270101}}
	badInts    = []badValue{{"beyond int64", json.Number("100000000000000000000")}, {"3 decimals", json.Number("10.555")}, {"wrong type", "ten"}}
	badAmounts = []badValue{{"huge", json.Number("9223372036854775807")}, {"over the bound", json.Number("100000000001")},
		{"negative", json.Number("-5")}, {"huge negative", json.Number("-9223372036854775807")}}
	badOthers = []badValue{{"wrong type", map[string]any{"x": 1}}}
	moneyName = regexp.MustCompile(`(^|_)(amount|price|fee|balance)$`)
)

// TestBadInputToEveryMutatingOperation sends, generated from the served
// OpenAPI document, bad values — NUL and other control characters, 1 MB
// strings, wrong types, huge, negative and 3-decimal amounts, year 0000 —
// into every field, path parameter and query parameter of every mutating
// operation. Each must be refused with a 4xx problem+json that names the
// field, and no table but idempotency_keys may change.
func TestBadInputToEveryMutatingOperation(t *testing.T) {
	h := newHygieneEnv(t)
	r := h.do("GET", "/api/v1/openapi.json", "", "", "")
	if r.status != 200 {
		t.Fatalf("openapi: %d", r.status)
	}
	var doc struct {
		Paths      map[string]map[string]openAPIOp `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	resolve := func(s map[string]any) map[string]any {
		for s != nil {
			ref, ok := s["$ref"].(string)
			if !ok {
				return s
			}
			s = doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
		}
		return s
	}
	before := h.snapshot(t)

	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	n, ops := 0, 0
	for _, path := range paths {
		for method, o := range doc.Paths[path] {
			method = strings.ToUpper(method)
			if method != "POST" && method != "PUT" && method != "DELETE" && method != "PATCH" ||
				strings.HasPrefix(path, "/api/v1/webhooks/") || strings.HasPrefix(path, "/api/v1/sandbox/") {
				continue
			}
			ops++
			target := h.fillPath(path, nil)
			send := func(what, field, target string, body any) {
				n++
				var raw string
				if body != nil {
					b, err := json.Marshal(body)
					if err != nil {
						t.Fatal(err)
					}
					raw = string(b)
				}
				resp := h.do(method, target, adminToken, fmt.Sprintf("fuzz-%d", n), raw)
				where := fmt.Sprintf("%s %s (%s): %s in %s", method, path, o.OperationID, what, field)
				ct := resp.header.Get("Content-Type")
				switch {
				case resp.status >= 500:
					t.Errorf("%s: %d %s", where, resp.status, resp.body)
				case resp.status < 400:
					t.Errorf("%s: accepted (%d) %.300s", where, resp.status, resp.body)
				case !strings.HasPrefix(ct, "application/problem+json"):
					t.Errorf("%s: %d with Content-Type %q, want application/problem+json", where, resp.status, ct)
				case !strings.Contains(string(resp.body), field):
					t.Errorf("%s: %d problem does not name %q: %.400s", where, resp.status, field, resp.body)
				}
			}
			// Path and query parameters.
			for _, p := range o.Parameters {
				switch p.In {
				case "path":
					for _, bad := range []string{"1\x00", "1\x01", "%ff"} {
						send(fmt.Sprintf("%q", bad), "path."+p.Name, h.fillPath(path, map[string]string{p.Name: bad}), h.baseBody(o, resolve))
					}
				case "query":
					send("NUL", "query."+p.Name, target+"?"+url.Values{p.Name: {"1\x00"}}.Encode(), h.baseBody(o, resolve))
				}
			}
			// Every field of the body, nested objects included.
			base := h.baseBody(o, resolve)
			if base == nil {
				continue
			}
			schema := resolve(h.bodySchema(o))
			walkFields(schema, resolve, nil, func(loc []string, fs map[string]any) {
				field := loc[len(loc)-1]
				for _, bad := range badFor(field, fs) {
					body := h.baseBody(o, resolve)
					setPath(body, loc, bad.value, fs, resolve)
					send(bad.kind, field, target, body)
				}
			})
		}
	}
	if ops < 30 {
		t.Fatalf("only %d mutating operations in the OpenAPI document", ops)
	}
	// Reading operations' path parameters pass the same check.
	for _, path := range paths {
		o, ok := doc.Paths[path]["get"]
		if !ok || !strings.Contains(path, "{") {
			continue
		}
		for _, p := range o.Parameters {
			if p.In != "path" {
				continue
			}
			n++
			r := h.do("GET", h.fillPath(path, map[string]string{p.Name: "1\x00"}), adminToken, "", "")
			if r.status != 422 || !strings.Contains(string(r.body), "path."+p.Name) {
				t.Errorf("GET %s with NUL in %s: %d %.300s", path, p.Name, r.status, r.body)
			}
		}
	}
	t.Logf("%d bad requests to %d operations", n, ops)

	// A body over the size limit is refused with 413.
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	if r := h.do("POST", "/api/v1/plans", adminToken, "too-big", big); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MiB body: %d, want 413", r.status)
	}

	after := h.snapshot(t)
	for tb, s := range before {
		if after[tb] != s {
			t.Errorf("table %s changed: %s → %s", tb, s, after[tb])
		}
	}
}

// badFor lists the bad values for a field of schema fs.
func badFor(field string, fs map[string]any) []badValue {
	switch fs["type"] {
	case "string":
		if fs["format"] == "date" {
			return badDates
		}
		if _, enum := fs["enum"]; enum {
			return []badValue{badStrings[0], badStrings[3]}
		}
		return badStrings
	case "integer", "number":
		if moneyName.MatchString(field) {
			return slices.Concat(badAmounts, badInts)
		}
		return badInts
	case "array":
		if items, ok := fs["items"].(map[string]any); ok && items["type"] == "string" {
			return []badValue{{"NUL in an item", []any{"a\x00b"}}, {"wrong type", "not a list"}}
		}
		return []badValue{{"wrong type", "not a list"}}
	case "boolean":
		return []badValue{{"wrong type", "yes"}}
	}
	return badOthers
}

// walkFields calls f for every property under schema s (an object), with
// its location; nested objects are walked too (arrays of objects at their
// first item).
func walkFields(s map[string]any, resolve func(map[string]any) map[string]any, loc []string, f func([]string, map[string]any)) {
	props, _ := s["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		ps := resolve(props[k].(map[string]any))
		if ps["readOnly"] == true {
			continue
		}
		here := append(slices.Clone(loc), k)
		f(here, ps)
		if ps["type"] == "object" {
			walkFields(ps, resolve, here, f)
		}
		if items, ok := ps["items"].(map[string]any); ok && ps["type"] == "array" {
			if is := resolve(items); is["type"] == "object" {
				walkFields(is, resolve, append(here, "0"), f)
			}
		}
	}
}

// setPath puts v at loc in body, creating the objects (and one-item
// arrays) on the way.
func setPath(body map[string]any, loc []string, v any, _ map[string]any, _ func(map[string]any) map[string]any) {
	var cur any = body
	for i, k := range loc {
		last := i == len(loc)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[k] = v
				return
			}
			next, ok := c[k]
			if !ok || next == nil {
				if loc[i+1] == "0" {
					next = []any{map[string]any{}}
				} else {
					next = map[string]any{}
				}
				c[k] = next
			}
			cur = next
		case []any:
			if len(c) == 0 {
				return
			}
			if last {
				c[0] = v
				return
			}
			cur = c[0]
		}
	}
}

func (h *hygieneEnv) bodySchema(o openAPIOp) map[string]any {
	if o.RequestBody == nil {
		return nil
	}
	c, ok := o.RequestBody.Content["application/json"]
	if !ok {
		return nil
	}
	return c.Schema
}

// baseBody is a valid body for the operation (as far as its schema and a
// few names tell), to put one bad value into at a time; nil for an
// operation without a JSON body.
func (h *hygieneEnv) baseBody(o openAPIOp, resolve func(map[string]any) map[string]any) map[string]any {
	s := h.bodySchema(o)
	if s == nil {
		return nil
	}
	v, _ := h.example("", resolve(s), resolve, 0).(map[string]any)
	if v == nil {
		v = map[string]any{}
	}
	return v
}

// known are valid values for fields whose schema alone does not say.
func (h *hygieneEnv) known(name string) (any, bool) {
	switch name {
	case "currency":
		return "USD", true
	case "email":
		return "jane@example.net", true
	case "time_zone":
		return "America/Chicago", true
	case "account_type_id":
		return json.Number(h.ids["account-types"]), true
	case "account_id":
		return json.Number(h.ids["accounts"]), true
	case "plan_id":
		return json.Number(h.ids["plans"]), true
	case "account":
		return "legacy-1", true
	case "rate":
		return "0.05", true
	case "pop":
		return "north-1", true
	}
	return nil, false
}

func (h *hygieneEnv) example(name string, s map[string]any, resolve func(map[string]any) map[string]any, depth int) any {
	if v, ok := h.known(name); ok {
		return v
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		for _, x := range e {
			if x != "" {
				return x
			}
		}
	}
	switch s["type"] {
	case "string":
		if s["format"] == "date" {
			return time.Now().UTC().Format(time.DateOnly)
		}
		return "Fuzz 1"
	case "integer", "number":
		if min, ok := s["minimum"].(float64); ok && min > 1 {
			return json.Number(fmt.Sprint(int64(min)))
		}
		return json.Number("1")
	case "boolean":
		return false
	case "array":
		return []any{}
	case "object":
		if depth > 3 {
			return map[string]any{}
		}
		m := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for k, p := range props {
			ps := resolve(p.(map[string]any))
			if ps["readOnly"] == true {
				continue
			}
			m[k] = h.example(k, ps, resolve, depth+1)
		}
		return m
	}
	return nil
}

// fillPath puts an existing id (or the given raw value, percent-encoded)
// into each parameter of an OpenAPI path.
func (h *hygieneEnv) fillPath(path string, raw map[string]string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			continue
		}
		name := strings.Trim(s, "{}")
		if v, ok := raw[name]; ok {
			if v == "%ff" {
				segs[i] = v
			} else {
				segs[i] = url.PathEscape(v)
			}
			continue
		}
		if id, ok := h.ids[segs[i-1]]; ok {
			segs[i] = id
		} else {
			segs[i] = "1"
		}
	}
	return strings.Join(segs, "/")
}

var _ = billing.MaxAmount
