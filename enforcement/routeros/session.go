package routeros

import (
	"bufio"
	"context"
	"crypto/md5" //nolint:gosec // RouterOS's pre-6.43 challenge login is MD5.
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-routeros/routeros/v3"
	"github.com/go-routeros/routeros/v3/proto"
)

// connError is a failure of the connection rather than of a command: the
// connection could not be made, was lost, the router stopped answering or
// closed the session. The command may be retried on a new connection.
type connError struct {
	router string
	err    error
}

func (e *connError) Error() string { return "routeros " + e.router + ": " + e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

func isConnError(err error) bool {
	var ce *connError
	return errors.As(err, &ce)
}

// trapMessage returns the message of a !trap, and whether err is one.
func trapMessage(err error) (string, bool) {
	var de *routeros.DeviceError
	if errors.As(err, &de) {
		return de.Sentence.Map["message"], true
	}
	return "", false
}

// Trap messages the driver acts on.
const (
	msgAlreadyHave = "failure: already have such entry"
	msgNoSuchItem  = "no such item"
)

// session is one logged-in API connection. Commands are pipelined: each is
// written with its own .tag as soon as the window (Pipeline) and the rate
// limit allow, and a single reader dispatches the replies by tag, so many
// commands are on the wire at once and a caller that gives up (its context
// ends) leaves the connection usable. A connection on which commands wait
// for longer than Timeout without the router answering anything is closed,
// failing every command on it with a connError.
type session struct {
	router  string
	conn    net.Conn
	timeout time.Duration
	limiter *limiter

	// Commands are encoded into wbuf and written by the writer goroutine,
	// as many as have queued up in one write: pipelined commands share
	// system calls (and the router's reads).
	wmu  sync.Mutex
	wbuf []byte
	wake chan struct{}

	window chan struct{}

	mu        sync.Mutex
	calls     map[string]*call
	nextTag   uint64
	busySince time.Time // when calls last became non-empty
	err       error     // why the session ended
	dead      chan struct{}

	lastRead atomic.Int64 // unix nanoseconds
}

// call is one command and its replies.
type call struct {
	tag string
	// onRe, if set, receives each !re in the reader's goroutine instead of
	// collecting them in re.
	onRe func(*proto.Sentence)
	re   []*proto.Sentence
	done *proto.Sentence
	trap *proto.Sentence
	err  error
	fin  chan struct{}
}

func newSession(router string, conn net.Conn, timeout time.Duration, pipeline int, lim *limiter) *session {
	s := &session{
		router:  router,
		conn:    conn,
		timeout: timeout,
		limiter: lim,
		wake:    make(chan struct{}, 1),
		window:  make(chan struct{}, pipeline),
		calls:   map[string]*call{},
		dead:    make(chan struct{}),
	}
	s.lastRead.Store(time.Now().UnixNano())
	go s.read(bufio.NewReaderSize(conn, 64<<10))
	go s.write()
	go s.watch()
	return s
}

func (s *session) alive() bool {
	select {
	case <-s.dead:
		return false
	default:
		return true
	}
}

// close ends the session; commands still waiting fail with err.
func (s *session) close(err error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	s.err = &connError{router: s.router, err: err}
	calls := s.calls
	s.calls = nil
	close(s.dead)
	s.mu.Unlock()
	s.conn.Close()
	for _, c := range calls {
		c.err = s.err
		close(c.fin)
		<-s.window
	}
}

// send writes a command and returns at once; wait for its replies with
// call.wait. onRe may be nil.
func (s *session) send(ctx context.Context, words []string, onRe func(*proto.Sentence)) (*call, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case s.window <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.dead:
		return nil, s.deadErr()
	}
	if err := s.limiter.wait(ctx); err != nil {
		<-s.window
		return nil, err
	}
	c := &call{onRe: onRe, fin: make(chan struct{})}
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		<-s.window
		return nil, s.err
	}
	s.nextTag++
	c.tag = strconv.FormatUint(s.nextTag, 36)
	if len(s.calls) == 0 {
		s.busySince = time.Now()
	}
	// Registered before it is written: the reply may come back at once.
	s.calls[c.tag] = c
	s.mu.Unlock()

	s.wmu.Lock()
	for _, w := range words {
		s.wbuf = appendWord(s.wbuf, w)
	}
	s.wbuf = appendWord(s.wbuf, ".tag="+c.tag)
	s.wbuf = append(s.wbuf, 0)
	s.wmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return c, nil
}

// write writes what send queued, each time everything queued so far.
func (s *session) write() {
	var buf []byte
	for {
		select {
		case <-s.wake:
		case <-s.dead:
			return
		}
		s.wmu.Lock()
		buf, s.wbuf = s.wbuf, buf[:0]
		s.wmu.Unlock()
		if len(buf) == 0 {
			continue
		}
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
		if _, err := s.conn.Write(buf); err != nil {
			s.close(fmt.Errorf("write: %w", err))
			return
		}
	}
}

func (s *session) deadErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// wait waits for the call's !done (or the end of the session). A trap
// comes back as *routeros.DeviceError. If ctx ends first the command is
// abandoned: its replies, when they come, are dropped.
func (c *call) wait(ctx context.Context) error {
	select {
	case <-c.fin:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run sends a command and waits for it.
func (s *session) run(ctx context.Context, words ...string) (*call, error) {
	c, err := s.send(ctx, words, nil)
	if err != nil {
		return nil, err
	}
	return c, c.wait(ctx)
}

func (s *session) read(r *bufio.Reader) {
	for {
		sen, err := readReply(r)
		if err != nil {
			s.close(fmt.Errorf("read: %w", err))
			return
		}
		s.lastRead.Store(time.Now().UnixNano())
		if sen.Word == "!fatal" {
			s.close(fmt.Errorf("the router closed the session: %s", sen.Map["message"]))
			return
		}
		s.mu.Lock()
		c := s.calls[sen.Tag]
		s.mu.Unlock()
		if c == nil {
			continue // an abandoned command's, or untagged
		}
		switch sen.Word {
		case "!re":
			if c.onRe != nil {
				c.onRe(sen)
			} else {
				c.re = append(c.re, sen)
			}
		case "!trap":
			if c.trap == nil {
				c.trap = sen
			}
		case "!done":
			c.done = sen
			s.finish(c, nil)
		case "!empty":
		default:
			s.finish(c, &routeros.UnknownReplyError{Sentence: sen})
		}
	}
}

func (s *session) finish(c *call, err error) {
	s.mu.Lock()
	if s.calls[c.tag] != c {
		s.mu.Unlock()
		return
	}
	delete(s.calls, c.tag)
	if len(s.calls) > 0 {
		// The router is making progress: the oldest command left starts
		// its clock now at the latest.
		s.busySince = time.Now()
	}
	s.mu.Unlock()
	if err == nil && c.trap != nil {
		err = &routeros.DeviceError{Sentence: c.trap}
	}
	c.err = err
	close(c.fin)
	<-s.window
}

// watch closes the session when commands have waited Timeout without the
// router sending anything.
func (s *session) watch() {
	tick := max(s.timeout/8, 5*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-s.dead:
			return
		case <-t.C:
		}
		s.mu.Lock()
		pending, since := len(s.calls), s.busySince
		s.mu.Unlock()
		if pending == 0 {
			continue
		}
		last := time.Unix(0, s.lastRead.Load())
		if since.After(last) {
			last = since
		}
		if quiet := time.Since(last); quiet > s.timeout {
			s.close(fmt.Errorf("%d commands unanswered for %s", pending, quiet.Round(time.Millisecond)))
			return
		}
	}
}

// login logs in: name and password in one step (RouterOS 6.43 and later),
// or, if the router answers with a challenge, the older MD5 exchange.
func (s *session) login(ctx context.Context, user, password string) error {
	c, err := s.run(ctx, "/login", "=name="+user, "=password="+password)
	if err == nil && c.done != nil {
		if ret, ok := c.done.Map["ret"]; ok {
			challenge, herr := hex.DecodeString(ret)
			if herr != nil {
				return fmt.Errorf("login: bad challenge %q", ret)
			}
			h := md5.New() //nolint:gosec
			h.Write([]byte{0})
			h.Write([]byte(password))
			h.Write(challenge)
			_, err = s.run(ctx, "/login", "=name="+user, "=response=00"+hex.EncodeToString(h.Sum(nil)))
		}
	}
	if msg, ok := trapMessage(err); ok {
		return fmt.Errorf("login as %s refused: %s", user, msg)
	}
	return err
}
