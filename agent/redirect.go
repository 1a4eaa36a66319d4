package agent

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tollgate-isp/tollgate/captive"
	"github.com/tollgate-isp/tollgate/internal/clock"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

const (
	// defaultTokenTTL is how long a minted token is accepted when the
	// controller's settings do not say.
	defaultTokenTTL = 5 * time.Minute
	// maxTokenTTL bounds the lifetime the controller may ask for: the
	// portal refuses tokens that live longer.
	maxTokenTTL = captive.MaxLifetime
	// maxRetryURL is the longest "try again" link the active page carries.
	maxRetryURL = 2048
)

// Results of the redirect responder, the values of the result label of
// tollgate_agent_redirects_total.
const (
	resultRedirected = "redirected"
	resultUnknown    = "unknown"
	resultActive     = "active"
	resultNoConfig   = "no_config"
	// resultAwaitingSnapshot: the state file is new or was reset and the
	// controller's snapshot has not arrived; 503, no redirect.
	resultAwaitingSnapshot = "awaiting_snapshot"
)

// applyRedirect takes the redirect settings the controller sent: it stores
// them (so they survive a restart and serve while the controller is away)
// and the responder uses them from the next request. Settings with neither
// a portal URL nor a key clear what is stored; invalid ones are logged and
// ignored. It never fails the stream: a failed write is logged, and the
// settings are used until the agent stops.
func (a *Agent) applyRedirect(r *pb.Redirect) {
	if r.GetPortalUrl() == "" && len(r.GetKey()) == 0 {
		if a.store.redirectSettings() != nil {
			a.log.Info("the controller cleared the redirect settings; the redirect responder answers with the neutral page")
		}
		r = nil
	} else if err := checkRedirect(r); err != nil {
		a.log.Warn("ignoring invalid redirect settings from the controller; keeping the previous ones", "err", err)
		return
	}
	changed := !proto.Equal(a.store.redirectSettings(), r)
	if err := a.store.setRedirect(r); err != nil {
		a.metrics.storeErrors.Inc()
		a.log.Error("storing the redirect settings failed; they are used until the agent stops", "err", err)
	}
	if changed && r != nil {
		// Never the key itself.
		a.log.Info("redirect settings received", "portal_url", r.GetPortalUrl(), "key_id", r.GetKeyId(), "token_ttl", tokenTTL(r).String())
	}
}

// checkRedirect reports what is wrong with settings from the controller.
// Its errors never contain the key.
func checkRedirect(r *pb.Redirect) error {
	u, err := url.Parse(r.GetPortalUrl())
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("portal_url %q is not an http(s) URL without query or fragment", r.GetPortalUrl())
	}
	if r.GetKeyId() == "" {
		return errors.New("no key_id")
	}
	if len(r.GetKey()) < 16 {
		return fmt.Errorf("key is %d bytes, want at least 16", len(r.GetKey()))
	}
	return nil
}

// tokenTTL is how long the tokens minted with r are accepted.
func tokenTTL(r *pb.Redirect) time.Duration {
	s := r.GetTokenTtlSeconds()
	if s <= 0 {
		return defaultTokenTTL
	}
	return time.Duration(min(s, int64(maxTokenTTL/time.Second))) * time.Second
}

// Responder is the agent's redirect responder: an [http.Handler] for the
// plain-HTTP traffic of suspended subscribers, which the POP's router
// dst-nats to it (deploy/routeros/walled-garden.rsc). It answers every
// method, host and path alike, operating systems' captive-portal probes
// included, by the request's source address:
//
//   - the address of a suspended or throttled service (an exact binding
//     address, or within a binding prefix; the longest match wins), with redirect
//     settings from the controller: 302 to <portal_url>/c/<token>, the
//     token naming the service, signed with the POP's key and expiring
//     after the settings' token TTL (default 5 minutes) by the agent's
//     clock;
//   - the address of an active service: a page saying the service is
//     active, with a link to the http URL first asked for;
//   - an address of no service (or of more than one: a token must never
//     name someone else's account), or a suspended service while no
//     redirect settings are known: a neutral page that names no account;
//   - anyone, while the state file awaits the controller's first snapshot
//     (new or reset, see [Store.AwaitingSnapshot]): 503 with Retry-After
//     and a "try again in a minute" page, never a redirect.
//
// The source address is the TCP peer's (http.Request.RemoteAddr), never a
// header such as X-Forwarded-For or Forwarded: any subscriber can write
// those, and a token grants a view of the account it names, so trusting
// them would hand out other subscribers' accounts. The router dst-nats
// without rewriting the source, so the peer is the subscriber. Run the
// responder behind no proxy.
//
// Every response is small and carries Cache-Control: no-store (a cached
// redirect would outlive the suspension and the token) and Connection:
// close. Lookups use an in-memory index of the services' addresses, rebuilt
// from the state file on the first request after the stored services
// change. A Responder is safe for concurrent use.
type Responder struct {
	store   *Store
	pop     string
	clock   clock.Clock
	log     *slog.Logger
	metrics *Metrics

	idx     atomic.Pointer[addrIndex]
	buildMu sync.Mutex // one rebuild at a time
}

// NewResponder returns the redirect responder of a, answering from a's
// state file and the redirect settings a received from the controller (or
// stored before a restart). It must not be used after a's Run returns: the
// state file is closed then.
func NewResponder(a *Agent) *Responder {
	return &Responder{store: a.store, pop: a.cfg.POP, clock: a.clock, log: a.log.With("component", "redirect"), metrics: a.metrics}
}

// ServeHTTP implements [http.Handler].
func (rs *Responder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Connection", "close")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")

	result, status, page, data := rs.answer(r)
	switch result {
	case resultRedirected:
		h.Set("Location", data)
	case resultAwaitingSnapshot:
		h.Set("Retry-After", "30")
	}
	var body bytes.Buffer
	if err := pages.ExecuteTemplate(&body, page, data); err != nil {
		rs.log.Error("rendering a page", "page", page, "err", err)
		status = http.StatusInternalServerError
		body.Reset()
		body.WriteString("Internal error\n")
	}
	h.Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body.Bytes())
	}
	rs.metrics.redirects.WithLabelValues(result).Inc()
}

// answer decides the response to r: the result (for the metric and the
// log), the status, the page template and its data (for a redirect, the
// Location).
func (rs *Responder) answer(r *http.Request) (result string, status int, page, data string) {
	if rs.store.AwaitingSnapshot() {
		// The agent knows no services yet: it redirects no one rather than
		// tell a suspended subscriber that nothing is wrong.
		rs.log.Debug("redirect responder: awaiting the controller's snapshot", "remote_addr", r.RemoteAddr)
		return resultAwaitingSnapshot, http.StatusServiceUnavailable, "starting", ""
	}
	ip, ok := sourceAddr(r.RemoteAddr)
	if !ok {
		rs.log.Warn("request without a usable source address", "remote_addr", r.RemoteAddr)
		return resultUnknown, http.StatusOK, "neutral", ""
	}
	idx, err := rs.index()
	if err != nil {
		rs.log.Error("reading the services for the redirect responder; answering with the neutral page", "err", err)
		return resultUnknown, http.StatusOK, "neutral", ""
	}
	e, known := idx.lookup(ip)
	switch {
	case !known || e.id == 0:
		rs.log.Debug("redirect responder: no single service has this address", "source", ip, "ambiguous", known)
		return resultUnknown, http.StatusOK, "neutral", ""
	case !e.suspended:
		rs.log.Debug("redirect responder: service is active", "source", ip, "service_id", e.id)
		return resultActive, http.StatusOK, "active", retryURL(r)
	}
	cfg := rs.store.redirectSettings()
	if cfg == nil || cfg.GetPortalUrl() == "" || len(cfg.GetKey()) == 0 {
		rs.log.Debug("redirect responder: service is suspended but no redirect settings are known", "source", ip, "service_id", e.id)
		return resultNoConfig, http.StatusOK, "neutral", ""
	}
	key := captive.Key{ID: cfg.GetKeyId(), POP: rs.pop, Secret: cfg.GetKey()}
	token, err := captive.Mint(key, e.id, rs.clock.Now().Add(tokenTTL(cfg)))
	if err != nil {
		rs.log.Error("minting a captive token", "source", ip, "service_id", e.id, "err", err)
		return resultNoConfig, http.StatusOK, "neutral", ""
	}
	rs.log.Debug("redirect responder: redirecting to the portal", "source", ip, "service_id", e.id, "key_id", key.ID) // never the token
	return resultRedirected, http.StatusFound, "redirect", strings.TrimRight(cfg.GetPortalUrl(), "/") + "/c/" + token
}

// sourceAddr is the IP address of a RemoteAddr ("ip:port"), IPv4-mapped
// IPv6 unmapped and without a zone.
func sourceAddr(remote string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap().WithZone(""), true
}

// retryURL is the http URL r asked for, or "" when it is not an http URL
// or looks odd.
func retryURL(r *http.Request) string {
	if (r.URL.Scheme != "" && r.URL.Scheme != "http") || r.URL.Opaque != "" || r.Host == "" {
		return ""
	}
	if h, err := url.Parse("http://" + r.Host); err != nil || h.Host != r.Host || h.User != nil || h.Path != "" {
		return ""
	}
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	s := u.String()
	if len(s) > maxRetryURL {
		return ""
	}
	return s
}

// index returns the address index of the stored services, rebuilding it
// first if they changed since it was built. Requests that find it stale
// while another rebuilds it wait for that rebuild.
func (rs *Responder) index() (*addrIndex, error) {
	if idx := rs.idx.Load(); idx != nil && idx.gen == rs.store.generation() {
		return idx, nil
	}
	rs.buildMu.Lock()
	defer rs.buildMu.Unlock()
	// Read before the services: a commit during the rebuild leaves the
	// index stale, to be rebuilt again, never wrongly current.
	gen := rs.store.generation()
	prev := rs.idx.Load()
	if prev != nil && prev.gen == gen {
		return prev, nil
	}
	began := time.Now()
	idx, err := buildIndex(rs.store, gen)
	if err != nil {
		return nil, err
	}
	rs.idx.Store(idx)
	rs.log.Debug("redirect responder: address index rebuilt", "services", idx.services, "took", time.Since(began).Round(time.Microsecond))
	if idx.ambiguous > 0 && (prev == nil || prev.ambiguous != idx.ambiguous) {
		rs.log.Warn("addresses claimed by more than one service; the redirect responder treats them as unknown", "addresses", idx.ambiguous)
	}
	return idx, nil
}

// svcEntry is what an address leads to: a service (id 0: more than one
// service claims the address) and whether it is to be suspended.
type svcEntry struct {
	id        int64
	suspended bool
}

// addrIndex maps the binding addresses of the stored services to them:
// exact addresses in one map, prefixes in one map per family and length,
// longest first, so a lookup costs one map access per prefix length in use.
type addrIndex struct {
	gen       uint64 // the store's generation it was built from
	exact     map[netip.Addr]svcEntry
	prefixes  []prefixTable
	services  int // services indexed
	ambiguous int // addresses and prefixes claimed by more than one service
}

type prefixTable struct {
	is4  bool
	bits int
	m    map[netip.Prefix]svcEntry
}

// buildIndex indexes the addresses of the stored services that the
// controller still lists (not removed) and whose ids are service ids
// (positive decimal integers; others cannot be named in a token).
func buildIndex(st *Store, gen uint64) (*addrIndex, error) {
	idx := &addrIndex{gen: gen, exact: make(map[netip.Addr]svcEntry, st.Len())}
	type tableKey struct {
		is4  bool
		bits int
	}
	tables := map[tableKey]map[netip.Prefix]svcEntry{}
	err := st.scanAddresses(func(id []byte, c class, addrs [][]byte) error {
		n, err := strconv.ParseInt(string(id), 10, 64)
		if err != nil || n <= 0 {
			return nil
		}
		e := svcEntry{id: n}
		switch c {
		case classSuspended, classThrottled:
			// A throttled subscriber keeps a slow connection, and their
			// plain HTTP comes here (the router redirects the throttle
			// list's like the suspended list's): they land on their
			// account to pay, as a suspended one does.
			e.suspended = true
		case classActive:
		default: // removed by the controller, or no desired state
			return nil
		}
		idx.services++
		for _, b := range addrs {
			s := string(b)
			if a, ok := parseBindingAddr(s); ok {
				idx.ambiguous += claim(idx.exact, a, e)
				continue
			}
			p, ok := parseBindingPrefix(s)
			if !ok {
				continue
			}
			k := tableKey{p.Addr().Is4(), p.Bits()}
			if tables[k] == nil {
				tables[k] = map[netip.Prefix]svcEntry{}
			}
			idx.ambiguous += claim(tables[k], p, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for k, m := range tables {
		idx.prefixes = append(idx.prefixes, prefixTable{is4: k.is4, bits: k.bits, m: m})
	}
	// Longest prefixes first: the most specific binding wins.
	slices.SortFunc(idx.prefixes, func(a, b prefixTable) int { return b.bits - a.bits })
	return idx, nil
}

// claim records that e's service has address k and returns 1 if that made
// k ambiguous (another service has it too).
func claim[K comparable](m map[K]svcEntry, k K, e svcEntry) int {
	old, ok := m[k]
	switch {
	case !ok:
		m[k] = e
	case old.id != 0 && old.id != e.id:
		m[k] = svcEntry{}
		return 1
	}
	return 0
}

// parseBindingAddr parses a single address ("100.64.0.9", "2001:db8::9",
// "10.0.0.9/32").
func parseBindingAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if p, ok := parseBindingPrefix(s); ok && p.IsSingleIP() {
		return p.Addr(), true
	}
	return netip.Addr{}, false
}

// parseBindingPrefix parses a prefix ("10.0.0.8/29", "2001:db8:1::/48"),
// masked; an IPv4-mapped IPv6 prefix becomes the IPv4 one.
func parseBindingPrefix(s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

// lookup finds the service ip belongs to: an exact address first, then the
// longest prefix that holds it.
func (x *addrIndex) lookup(ip netip.Addr) (svcEntry, bool) {
	if e, ok := x.exact[ip]; ok {
		return e, true
	}
	for _, t := range x.prefixes {
		if t.is4 != ip.Is4() {
			continue
		}
		p, err := ip.Prefix(t.bits)
		if err != nil {
			continue
		}
		if e, ok := t.m[p]; ok {
			return e, true
		}
	}
	return svcEntry{}, false
}

// pages are the responder's pages: short, plain, readable on a phone, and
// naming no account (a neutral page is what anyone behind an unknown
// address sees). Each is executed with a string: the "try again" URL for
// "active" ("" for none), the Location for "redirect".
var pages = template.Must(template.New("pages").Parse(`
{{- define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}}</title><style>body{font:1.125rem/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}</style></head>
<body><main>{{end}}
{{- define "neutral"}}{{template "head" "This connection needs attention"}}
<h1>This connection needs attention</h1>
<p>Internet access from this connection is limited right now. Please contact your Internet provider.</p>
</main></body></html>
{{end}}
{{- define "active"}}{{template "head" "Your Internet service is active"}}
<h1>Your Internet service is active</h1>
{{if .}}<p><a href="{{.}}">Try the page you asked for again</a>.</p>{{else}}<p>Try the page you asked for again.</p>{{end}}
<p>If it does not load yet, wait a minute and try once more.</p>
</main></body></html>
{{end}}
{{- define "starting"}}{{template "head" "Please try again in a minute"}}
<h1>Please try again in a minute</h1>
<p>This page is not available yet. Please try again in a minute.</p>
</main></body></html>
{{end}}
{{- define "redirect"}}{{template "head" "Your Internet service needs attention"}}
<h1>Your Internet service needs attention</h1>
<p><a href="{{.}}">Continue to your account</a>.</p>
</main></body></html>
{{end}}`))
