package routerossim

import (
	"bufio"
	"crypto/md5" //nolint:gosec // RouterOS's pre-6.43 challenge login is MD5.
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a simulated router.
type Config struct {
	// Addr is the listen address. Default "127.0.0.1:0" (a free port).
	Addr string
	// TLS, when set, makes the listener API-SSL (RouterOS's port 8729):
	// TLS first, then the same protocol.
	TLS *tls.Config
	// Users maps user names to passwords. Default: "admin" with an empty
	// password, as on a router fresh from the factory.
	Users map[string]string
	// Identity is /system/identity's name. Default "MikroTik".
	Identity string
	// EmptyReplies makes a print that finds nothing answer !empty before
	// !done, as RouterOS 7.18 and later do.
	EmptyReplies bool
	// MaxWord bounds one word of a logged-in session. Default 16 MiB.
	// Before login a sentence may hold at most 4 KiB in all.
	MaxWord int
	// Now is the clock for creation-time. Default time.Now.
	Now func() time.Time
}

// Faults are misbehaviours the simulator can be told to show. They apply
// to open connections as well as new ones, from the next sentence on.
type Faults struct {
	// Latency delays the answer to every sentence, login included.
	// Sentences on one connection are answered in order, so a pipelined
	// client sees its n-th command answered after n×Latency. Lowering it
	// releases sentences already waiting.
	Latency time.Duration
	// DropAfter, when positive, makes every connection close abruptly
	// (no reply, no !fatal) on the first sentence it receives after
	// answering DropAfter of them: with 1, login works and the first
	// command is lost with its connection.
	DropAfter int
	// RefuseLogins answers /login with !fatal and closes the connection.
	RefuseLogins bool
	// Traps answers these commands (full command words, such as
	// "/ip/firewall/address-list/add") with !trap =message=<value> and
	// !done, without executing them.
	Traps map[string]string
	// Down closes every open connection and every new one as soon as it
	// is accepted: a router that is unreachable.
	Down bool
}

// Stats counts what the simulator has seen.
type Stats struct {
	Connections int64 // TCP connections accepted
	Logins      int64 // successful logins
	Sentences   int64 // non-empty sentences received
	Dropped     int64 // connections closed by DropAfter or Down
}

// Server is a simulated RouterOS device speaking the API protocol.
type Server struct {
	cfg  Config
	ln   net.Listener
	done chan struct{}
	wg   sync.WaitGroup

	dbMu   sync.Mutex
	tables map[string]*table
	seq    uint64 // changes made so far (see Change.Seq)
	obs    *observers

	mu      sync.Mutex
	conns   map[*conn]struct{}
	faults  Faults
	changed chan struct{} // closed and replaced whenever faults change
	closed  bool

	connections, logins, sentences, dropped atomic.Int64
}

// Start listens and serves until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Users == nil {
		cfg.Users = map[string]string{"admin": ""}
	}
	if cfg.Identity == "" {
		cfg.Identity = "MikroTik"
	}
	if cfg.MaxWord <= 0 {
		cfg.MaxWord = 16 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	s := &Server{
		cfg:     cfg,
		ln:      ln,
		done:    make(chan struct{}),
		conns:   map[*conn]struct{}{},
		changed: make(chan struct{}),
		tables: map[string]*table{
			PathAddressList:   newTable(PathAddressList, kindAddressList, false),
			PathAddressListV6: newTable(PathAddressListV6, kindAddressList, true),
			PathNAT:           newTable(PathNAT, kindRules, false),
			PathFilter:        newTable(PathFilter, kindRules, false),
			PathSimpleQueue:   newTable(PathSimpleQueue, kindSimpleQueue, false),
		},
		obs: newObservers(),
	}
	go s.dispatch()
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the listener, closes every connection and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	err := s.ln.Close()
	for _, c := range conns {
		c.drop()
	}
	s.wg.Wait()
	// No more changes: deliver those made, then stop the dispatcher.
	s.obs.mu.Lock()
	close(s.obs.quit)
	s.obs.mu.Unlock()
	<-s.obs.done
	s.obs.mu.Lock()
	s.obs.list, s.obs.queue = nil, nil
	s.obs.active.Store(false)
	s.obs.mu.Unlock()
	return err
}

// SetFaults replaces the faults in force.
func (s *Server) SetFaults(f Faults) {
	f.Traps = cloneMap(f.Traps)
	s.mu.Lock()
	s.faults = f
	close(s.changed)
	s.changed = make(chan struct{})
	var drop []*conn
	if f.Down {
		for c := range s.conns {
			drop = append(drop, c)
		}
	}
	s.mu.Unlock()
	for _, c := range drop {
		s.dropped.Add(1)
		c.drop()
	}
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults {
	f, _ := s.currentFaults()
	f.Traps = cloneMap(f.Traps)
	return f
}

// DropConnections closes every open connection now.
func (s *Server) DropConnections() {
	s.mu.Lock()
	var drop []*conn
	for c := range s.conns {
		drop = append(drop, c)
	}
	s.mu.Unlock()
	for _, c := range drop {
		s.dropped.Add(1)
		c.drop()
	}
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	return Stats{Connections: s.connections.Load(), Logins: s.logins.Load(), Sentences: s.sentences.Load(), Dropped: s.dropped.Load()}
}

func (s *Server) currentFaults() (Faults, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults, s.changed
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.connections.Add(1)
		s.mu.Lock()
		if s.closed || s.faults.Down {
			s.mu.Unlock()
			s.dropped.Add(1)
			nc.Close()
			continue
		}
		s.mu.Unlock()
		s.serveConn(nc)
	}
}

// serveConn serves one connection in its own goroutine.
func (s *Server) serveConn(nc net.Conn) *conn {
	c := newConn(s, nc)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return c
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go c.serve()
	return c
}

// preLoginMax bounds a sentence sent before logging in.
const preLoginMax = 4 << 10

// conn is one API session.
type conn struct {
	s         *Server
	nc        net.Conn
	r         *bufio.Reader
	w         *bufio.Writer
	closed    chan struct{}
	closeOnce sync.Once
	scratch   []byte

	loggedIn  bool
	challenge []byte
	answered  int
}

// flushingReader flushes the replies written so far before every read
// from the network, so that nothing is held back while the server waits
// for the client, and pipelined commands get their replies in batches.
type flushingReader struct{ c *conn }

func (f flushingReader) Read(p []byte) (int, error) {
	_ = f.c.w.Flush()
	return f.c.nc.Read(p)
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, closed: make(chan struct{})}
	c.r = bufio.NewReaderSize(flushingReader{c}, 64<<10)
	c.w = bufio.NewWriterSize(nc, 64<<10)
	return c
}

func (c *conn) drop() {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.nc.Close()
	})
}

func (c *conn) serve() {
	defer c.s.wg.Done()
	defer func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	}()
	defer c.drop()
	for {
		maxWord, maxSentence := c.s.cfg.MaxWord, 1<<30
		if !c.loggedIn {
			maxWord, maxSentence = preLoginMax, preLoginMax
		}
		words, err := ReadSentence(c.r, maxWord, maxSentence)
		if err != nil {
			if errors.Is(err, ErrTooLong) || errors.Is(err, ErrControlByte) {
				c.fatal(err.Error())
			}
			return
		}
		if len(words) == 0 {
			continue // the API ignores empty sentences
		}
		c.s.sentences.Add(1)
		f, _ := c.s.currentFaults()
		if f.Down || f.DropAfter > 0 && c.answered >= f.DropAfter {
			c.s.dropped.Add(1)
			return
		}
		if !c.delay() {
			return
		}
		end := c.handle(words)
		c.answered++
		if end {
			_ = c.w.Flush()
			return
		}
	}
}

// delay waits out the latency fault; false when the connection or server
// closed meanwhile.
func (c *conn) delay() bool {
	start := time.Now()
	for {
		f, changed := c.s.currentFaults()
		wait := f.Latency - time.Since(start)
		if wait <= 0 {
			return true
		}
		_ = c.w.Flush()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-changed:
		case <-c.closed:
			t.Stop()
			return false
		case <-c.s.done:
			t.Stop()
			return false
		}
		t.Stop()
	}
}

// request is a parsed command sentence.
type request struct {
	command string
	tag     string
	args    args
	queries []string
	bad     string // the first word that is no kind of word the API knows
}

func parseRequest(words []string) request {
	r := request{command: words[0]}
	for _, w := range words[1:] {
		switch {
		case strings.HasPrefix(w, "="):
			k, v, _ := strings.Cut(w[1:], "=")
			r.args.add(k, v)
		case strings.HasPrefix(w, ".tag="):
			r.tag = w[len(".tag="):]
		case strings.HasPrefix(w, ".proplist="):
			r.args.add(".proplist", w[len(".proplist="):])
		case strings.HasPrefix(w, "?"):
			r.queries = append(r.queries, w[1:])
		default:
			if r.bad == "" {
				r.bad = w
			}
		}
	}
	return r
}

func (c *conn) word(w string) {
	c.scratch = AppendLength(c.scratch[:0], len(w))
	_, _ = c.w.Write(c.scratch)
	_, _ = c.w.WriteString(w)
}

// reply writes one reply sentence: the reply word, the tag if the command
// had one, then attribute words (key, value pairs).
func (c *conn) reply(word, tag string, kv ...string) {
	c.word(word)
	if tag != "" {
		c.word(".tag=" + tag)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		c.word("=" + kv[i] + "=" + kv[i+1])
	}
	_ = c.w.WriteByte(0)
}

func (c *conn) done(tag string, kv ...string) { c.reply("!done", tag, kv...) }

func (c *conn) trap(tag string, t *trapError) {
	if t.category >= 0 {
		c.reply("!trap", tag, "category", itoa(t.category), "message", t.message)
	} else {
		c.reply("!trap", tag, "message", t.message)
	}
	c.done(tag)
}

// fatal sends !fatal with its reason (a bare word, as RouterOS sends it);
// the connection is closed after it.
func (c *conn) fatal(reason string) {
	c.word("!fatal")
	c.word(reason)
	_ = c.w.WriteByte(0)
	_ = c.w.Flush()
}

// handle answers one sentence; true ends the session.
func (c *conn) handle(words []string) bool {
	req := parseRequest(words)
	f, _ := c.s.currentFaults()
	if msg, ok := f.Traps[req.command]; ok {
		c.trap(req.tag, trapf(-1, "%s", msg))
		return false
	}
	if req.command == "/login" {
		return c.login(req, f)
	}
	if !c.loggedIn {
		c.fatal("not logged in")
		return true
	}
	if req.bad != "" {
		c.trap(req.tag, trapf(categoryArgument, "unknown parameter %s", req.bad))
		return false
	}
	switch req.command {
	case "/quit":
		c.fatal("session terminated on request")
		return true
	case "/cancel":
		// Every command is answered before the next is read: nothing runs.
		c.done(req.tag)
		return false
	case "/system/identity/print":
		c.reply("!re", req.tag, "name", c.s.cfg.Identity)
		c.done(req.tag)
		return false
	}
	i := strings.LastIndexByte(req.command, '/')
	t := c.s.tables[req.command[:max(i, 0)]]
	if t == nil {
		c.trap(req.tag, trapf(categoryMissing, MsgNoSuchCommand))
		return false
	}
	switch verb := req.command[i+1:]; verb {
	case "print", "getall":
		c.print(t, req)
	case "add":
		c.add(t, req)
	case "remove", "set", "enable", "disable":
		c.change(t, verb, req)
	default:
		c.trap(req.tag, trapf(categoryMissing, MsgNoSuchCommand))
	}
	return false
}

func (c *conn) login(req request, f Faults) bool {
	if f.RefuseLogins {
		c.fatal("login refused")
		return true
	}
	name, hasName := req.args.get("name")
	pw, known := c.s.cfg.Users[name]
	if password, ok := req.args.get("password"); hasName && ok {
		// Post-6.43: name and password in clear text, one step.
		if known && subtle.ConstantTimeCompare([]byte(pw), []byte(password)) == 1 {
			return c.loggedInOK(req.tag)
		}
	} else if response, ok := req.args.get("response"); hasName && ok && c.challenge != nil {
		// Pre-6.43, step two: "00" + hex(md5(0 + password + challenge)).
		h := md5.New() //nolint:gosec
		h.Write([]byte{0})
		h.Write([]byte(pw))
		h.Write(c.challenge)
		want := "00" + hex.EncodeToString(h.Sum(nil))
		c.challenge = nil
		if known && subtle.ConstantTimeCompare([]byte(want), []byte(response)) == 1 {
			return c.loggedInOK(req.tag)
		}
	} else if !hasName {
		// Pre-6.43, step one: a bare /login gets a challenge.
		c.challenge = make([]byte, 16)
		_, _ = rand.Read(c.challenge)
		c.done(req.tag, "ret", hex.EncodeToString(c.challenge))
		return false
	}
	c.trap(req.tag, trapf(-1, MsgBadLogin))
	return false
}

func (c *conn) loggedInOK(tag string) bool {
	c.loggedIn = true
	c.s.logins.Add(1)
	c.done(tag)
	return false
}

func (c *conn) print(t *table, req request) {
	q, err := compileQuery(req.queries)
	if err != nil {
		c.trap(req.tag, trapf(categoryArgument, "%s", err.Error()))
		return
	}
	var props []string
	if v, ok := req.args.get(".proplist"); ok {
		props = strings.Split(v, ",")
	}
	_, countOnly := req.args.get("count-only")
	c.s.dbMu.Lock()
	found := t.find(q)
	c.s.dbMu.Unlock()
	if countOnly {
		c.done(req.tag, "ret", itoa(len(found)))
		return
	}
	kv := make([]string, 0, 16)
	for _, it := range found {
		kv = kv[:0]
		if props == nil {
			kv = append(kv, ".id", formatID(it.id))
			for _, k := range it.keys {
				kv = append(kv, k, it.vals[k])
			}
		} else {
			for _, k := range props {
				if v, ok := it.get(k); ok {
					kv = append(kv, k, v)
				}
			}
		}
		c.reply("!re", req.tag, kv...)
	}
	if len(found) == 0 && c.s.cfg.EmptyReplies {
		c.reply("!empty", req.tag)
	}
	c.done(req.tag)
}

func (c *conn) add(t *table, req request) {
	a := req.args
	delete(a.vals, ".proplist")
	a.keys = slices.DeleteFunc(a.keys, func(k string) bool { return k == ".proplist" })
	c.s.dbMu.Lock()
	id, err := t.add(a, c.s.cfg.Now())
	if err == nil {
		c.s.noteLocked(t, OpAdd, true, t.get(id))
	}
	c.s.dbMu.Unlock()
	if err != nil {
		c.trap(req.tag, err)
		return
	}
	c.done(req.tag, "ret", formatID(id))
}

func (c *conn) change(t *table, verb string, req request) {
	idList, ok := req.args.get(".id")
	if !ok {
		idList, ok = req.args.get("numbers")
	}
	if !ok || idList == "" {
		c.trap(req.tag, trapf(categoryArgument, "failure: .id not specified"))
		return
	}
	var ids []uint64
	for _, s := range strings.Split(idList, ",") {
		id, ok := parseID(s)
		if !ok && t.kind == kindSimpleQueue {
			// Named items are also found by name.
			c.s.dbMu.Lock()
			id, ok = t.uniq[s]
			c.s.dbMu.Unlock()
		}
		if !ok {
			c.trap(req.tag, trapf(categoryMissing, MsgNoSuchItem))
			return
		}
		ids = append(ids, id)
	}
	var rest args
	for _, k := range req.args.keys {
		if k != ".id" && k != "numbers" && k != ".proplist" {
			rest.add(k, req.args.vals[k])
		}
	}
	if err := c.s.changeItems(t, verb, ids, rest, true); err != nil {
		c.trap(req.tag, err)
		return
	}
	c.done(req.tag)
}

func itoa(n int) string { return strconv.Itoa(n) }
