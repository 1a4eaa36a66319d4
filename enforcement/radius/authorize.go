package radius

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/tollgate-isp/tollgate/enforcement"
	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// AuthorizePath is where [Open] serves the authorize endpoint.
const AuthorizePath = "/radius/authorize"

// maxAuthorizeBody bounds the request body rlm_rest sends (every attribute
// of an Access-Request, JSON-encoded).
const maxAuthorizeBody = 64 << 10

// AuthorizeRequest is what the endpoint reads from rlm_rest's call.
type AuthorizeRequest struct {
	UserName      string
	NASIP         string
	NASIdentifier string
	// FramedIP is the Framed-IP-Address, when the NAS sends one (IPoE/DHCP
	// subscribers whose address is known before authorization).
	FramedIP string
	// CallingStationID is the Calling-Station-Id (usually the subscriber's
	// MAC address), matched only with authorize.match_calling_station_id.
	CallingStationID string
}

// NewAuthorizeHandler returns the authorize endpoint for FreeRADIUS's
// rlm_rest (authorize section, method post, body json; body post and
// query parameters User-Name, NAS-IP-Address, NAS-Identifier,
// Framed-IP-Address, Calling-Station-Id work too). It answers from the
// driver's own record of the services' desired states and profiles, which
// changes at the start of each Suspend, Restore and Throttle (and is
// filled at start by [Driver.Preload]): there is no window in which it
// answers an old state. A request matches a service by User-Name, by
// Framed-IP-Address within a binding's addresses, or (with
// cfg.MatchCallingStationID) by a Calling-Station-Id equal to a binding's
// User-Name as a MAC address; of several, a suspended one wins, then a
// throttled one. It answers 200 with, in the attributes of the NAS the
// Access-Request came through (rlm_rest JSON:
// {"reply:Mikrotik-Address-List": {"op": ":=", "value":
// ["tollgate-suspended"]}}): for a suspended subscriber the suspended
// reply; for a throttled one the throttle profile's speed and the NAS's
// throttle redirect; for an active one with a profile the profile's speed.
// Anyone else gets 204 No Content, which adds nothing and lets the rest of
// the ISP's policy decide. A subscriber who reconnects thus gets their
// state and speed, and the session that follows records them.
// It fails when no NAS is configured or cfg.DefaultNAS names none.
//
// The endpoint is part of the driver rather than of the protocol package
// (radiusproto) because what it answers is the driver's decision: the
// services' states and profiles and each NAS's profile and vendor, the
// same decision [Driver.Observe] reads. The protocol package knows no
// services or profiles; it only records the answer
// ([radiusproto.Sessions.NoteAuthorized]) so that the session that
// follows starts in that state with that speed.
func NewAuthorizeHandler(d *Driver, cfg AuthorizeConfig) (http.Handler, error) {
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
	d.def = def
	d.matchCSID = cfg.MatchCallingStationID
	return &authorizeHandler{d: d, def: def}, nil
}

type authorizeHandler struct {
	d   *Driver
	def *nas
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
	a := h.d.answerRequest(req)
	n := h.def
	for _, k := range []string{req.NASIP, req.NASIdentifier} {
		if m, ok := h.d.byKey[k]; ok && k != "" {
			n = m
			break
		}
	}
	var reply []radiusproto.Attr
	speed := speedNone
	switch {
	case a.state == enforcement.Suspended:
		reply = n.prof.reply
	case a.state == enforcement.Throttled:
		reply, speed = h.reply(n, req, a, n.throttleReply)
	case a.profile != nil:
		reply, speed = h.reply(n, req, a, n.speedAttrs)
	}
	h.d.sessions.NoteAuthorized(req.UserName, req.FramedIP, a.state, speed)
	if len(reply) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(replyJSON(reply))
}

// reply renders a's profile for NAS n, and the speed record of the
// session that follows. A profile the NAS's vendor cannot render (a Cisco
// NAS and a profile naming no service or policy) is logged and answered
// without a speed (a throttled subscriber still gets the redirect),
// recorded as unknown: the login goes through, and the
// driver's CoA, which fails naming the missing field, is what the agent
// reports.
func (h *authorizeHandler) reply(n *nas, req AuthorizeRequest, a answer, render func(*enforcement.Profile) ([]radiusproto.Attr, error)) ([]radiusproto.Attr, string) {
	attrs, err := render(a.profile)
	if err != nil {
		h.d.log.Warn("radius authorize: answering without the speed", "nas", n.cfg.Name, "user", req.UserName, "state", a.state, "err", err)
		if a.state == enforcement.Throttled {
			return []radiusproto.Attr{n.redirectOn()}, ""
		}
		return nil, ""
	}
	return attrs, encodeSpeed(a.profile)
}

// replyJSON encodes reply attributes in rlm_rest's response format:
// values are not xlat-expanded; an attribute given several values (or
// several tags) gets them all (+=), otherwise its value replaces any
// other (:=).
func replyJSON(attrs []radiusproto.Attr) []byte {
	type entry struct {
		Op     string   `json:"op"`
		DoXlat bool     `json:"do_xlat"`
		IsJSON bool     `json:"is_json"`
		Value  []string `json:"value"`
	}
	out := map[string]*entry{}
	// FreeRADIUS's := replaces the attribute whatever its tag: the same
	// attribute under several tags (Juniper's rate service and redirect)
	// is added with +=.
	tags := map[string]map[byte]bool{}
	for _, a := range attrs {
		n := radiusproto.AttrName(a)
		if tags[n] == nil {
			tags[n] = map[byte]bool{}
		}
		tags[n][a.Tag] = true
	}
	for _, a := range attrs {
		base := radiusproto.AttrName(a)
		name := "reply:" + base
		if a.Tag != 0 {
			name += fmt.Sprintf(":%d", a.Tag)
		}
		e, ok := out[name]
		if !ok {
			e = &entry{Op: ":="}
			if len(tags[base]) > 1 {
				e.Op = "+="
			}
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
		for name, dst := range map[string]*string{"User-Name": &req.UserName, "NAS-IP-Address": &req.NASIP, "NAS-Identifier": &req.NASIdentifier,
			"Framed-IP-Address": &req.FramedIP, "Calling-Station-Id": &req.CallingStationID} {
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
	if !req.identifies() {
		if q := fromValues(query); q.identifies() {
			req = q
		}
	}
	if !req.identifies() {
		return req, errors.New("no User-Name, Framed-IP-Address or Calling-Station-Id in the request")
	}
	if strings.ContainsRune(req.UserName, 0) || strings.ContainsRune(req.CallingStationID, 0) {
		return req, errors.New("the User-Name or Calling-Station-Id contains a NUL")
	}
	if req.FramedIP != "" {
		if _, err := netip.ParseAddr(req.FramedIP); err != nil {
			return req, fmt.Errorf("Framed-IP-Address %q is not an IP address", req.FramedIP)
		}
	}
	return req, nil
}

// identifies says whether the request names a subscriber at all.
func (r AuthorizeRequest) identifies() bool {
	return r.UserName != "" || r.FramedIP != "" || r.CallingStationID != ""
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
		UserName:         get("User-Name", "request:User-Name", "user"),
		NASIP:            get("NAS-IP-Address", "request:NAS-IP-Address", "nas_ip"),
		NASIdentifier:    get("NAS-Identifier", "request:NAS-Identifier", "nas_id"),
		FramedIP:         get("Framed-IP-Address", "request:Framed-IP-Address"),
		CallingStationID: get("Calling-Station-Id", "request:Calling-Station-Id"),
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
