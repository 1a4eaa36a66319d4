package radius

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/tollgate-isp/tollgate/enforcement"
)

// AuthorizePath is where [Open] serves the authorize endpoint.
const AuthorizePath = "/radius/authorize"

// LookupFunc tells whether the service whose sessions use a RADIUS user
// name is suspended; ok is false when the agent knows no such service.
// The agent supplies it from its desired state.
type LookupFunc func(username string) (suspended bool, ok bool)

// maxAuthorizeBody bounds the request body rlm_rest sends (every attribute
// of an Access-Request, JSON-encoded).
const maxAuthorizeBody = 64 << 10

// AuthorizeRequest is what the endpoint reads from rlm_rest's call.
type AuthorizeRequest struct {
	UserName      string
	NASIP         string
	NASIdentifier string
}

// NewAuthorizeHandler returns the authorize endpoint for FreeRADIUS's
// rlm_rest (authorize section, method post, body json; body post and
// query parameters User-Name, NAS-IP-Address, NAS-Identifier work too).
// For a user whose service is suspended it answers 200 with the
// suspended reply attributes of the NAS the Access-Request came through
// (rlm_rest JSON: {"reply:Mikrotik-Address-List": {"op": ":=", "value":
// ["tollgate-suspended"]}}); for anyone else 204 No Content, which adds
// nothing and lets the rest of the ISP's policy decide. A subscriber who
// reconnects while suspended thus stays suspended.
func NewAuthorizeHandler(d *Driver, cfg AuthorizeConfig, lookup LookupFunc) (http.Handler, error) {
	if lookup == nil {
		return nil, errors.New("radius authorize: nil lookup")
	}
	if len(d.nas) == 0 {
		return nil, errors.New("radius authorize: no NAS configured, so no suspended reply to give")
	}
	def := d.nas[0]
	if cfg.DefaultNAS != "" {
		n, ok := d.byKey[cfg.DefaultNAS]
		if !ok {
			return nil, fmt.Errorf("radius authorize: default_nas %q is not a configured NAS", cfg.DefaultNAS)
		}
		def = n
	}
	return &authorizeHandler{d: d, def: def, lookup: lookup}, nil
}

type authorizeHandler struct {
	d      *Driver
	def    *nas
	lookup LookupFunc
}

func (h *authorizeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAuthorizeBody+1))
	if err != nil {
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxAuthorizeBody {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	req, err := parseAuthorizeRequest(r.Header.Get("Content-Type"), body, r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	suspended, ok := h.lookup(req.UserName)
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	st := enforcement.Active
	if suspended {
		st = enforcement.Suspended
	}
	h.d.sessions.noteAuthorized(req.UserName, st)
	if !suspended {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	n := h.def
	for _, k := range []string{req.NASIP, req.NASIdentifier} {
		if m, ok := h.d.byKey[k]; ok && k != "" {
			n = m
			break
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(replyJSON(n.prof.reply))
}

// replyJSON encodes reply attributes in rlm_rest's response format:
// values are not xlat-expanded; an attribute given several values gets
// them all (+=), otherwise its value replaces any other (:=).
func replyJSON(attrs []Attr) []byte {
	type entry struct {
		Op     string   `json:"op"`
		DoXlat bool     `json:"do_xlat"`
		IsJSON bool     `json:"is_json"`
		Value  []string `json:"value"`
	}
	out := map[string]*entry{}
	for _, a := range attrs {
		name := "reply:" + attrName(a)
		if a.Tag != 0 {
			name += fmt.Sprintf(":%d", a.Tag)
		}
		e, ok := out[name]
		if !ok {
			e = &entry{Op: ":="}
			out[name] = e
		} else {
			e.Op = "+="
		}
		e.Value = append(e.Value, a.Value)
	}
	b, _ := json.Marshal(out)
	return b
}

// parseAuthorizeRequest reads the user name and NAS of an rlm_rest call:
// a JSON body (rlm_rest's format: {"User-Name": {"type": "string",
// "value": ["bob"]}, ...}), a form body (User-Name=bob&...), or query
// parameters of the same names.
func parseAuthorizeRequest(contentType string, body []byte, query url.Values) (AuthorizeRequest, error) {
	var req AuthorizeRequest
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(body)
	switch {
	case mt == "application/json" || (mt == "" && len(trimmed) > 0 && trimmed[0] == '{'):
		var m map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &m); err != nil {
			return req, fmt.Errorf("JSON body: %w", err)
		}
		for name, dst := range map[string]*string{"User-Name": &req.UserName, "NAS-IP-Address": &req.NASIP, "NAS-Identifier": &req.NASIdentifier} {
			raw, ok := m[name]
			if !ok {
				continue
			}
			v, err := restValue(raw)
			if err != nil {
				return req, fmt.Errorf("JSON body: %s: %w", name, err)
			}
			*dst = v
		}
	case len(trimmed) > 0:
		form, err := url.ParseQuery(string(trimmed))
		if err != nil {
			return req, fmt.Errorf("form body: %w", err)
		}
		req = fromValues(form)
	}
	if req.UserName == "" {
		q := fromValues(query)
		if q.UserName != "" {
			req = q
		}
	}
	if req.UserName == "" {
		return req, errors.New("no User-Name in the request")
	}
	if strings.ContainsRune(req.UserName, 0) {
		return req, errors.New("the User-Name contains a NUL")
	}
	return req, nil
}

func fromValues(v url.Values) AuthorizeRequest {
	get := func(names ...string) string {
		for _, n := range names {
			if s := v.Get(n); s != "" {
				return s
			}
		}
		return ""
	}
	return AuthorizeRequest{
		UserName:      get("User-Name", "request:User-Name", "user"),
		NASIP:         get("NAS-IP-Address", "request:NAS-IP-Address", "nas_ip"),
		NASIdentifier: get("NAS-Identifier", "request:NAS-Identifier", "nas_id"),
	}
}

// restValue reads the first value of an rlm_rest JSON attribute: an
// object with a "value" array (or single value), or a bare string.
func restValue(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", errors.New("neither a string nor an object with a value")
	}
	if len(obj.Value) == 0 {
		return "", errors.New("no value")
	}
	var list []json.RawMessage
	if err := json.Unmarshal(obj.Value, &list); err == nil {
		if len(list) == 0 {
			return "", errors.New("empty value list")
		}
		obj.Value = list[0]
	}
	if err := json.Unmarshal(obj.Value, &s); err == nil {
		return s, nil
	}
	var num json.Number
	if err := json.Unmarshal(obj.Value, &num); err == nil {
		return num.String(), nil
	}
	return "", errors.New("value is neither a string nor a number")
}
