package snmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gosnmp/gosnmp"
)

// ErrNoResponse is wrapped by errors for requests the device did not answer
// within its timeout and retries: it is down or unreachable, or it silently
// drops our requests (a v2c agent does that with a wrong community).
var ErrNoResponse = errors.New("no response from the device")

// pool holds one device's gosnmp clients. A gosnmp.GoSNMP is not safe for
// concurrent use, so each request takes a client of its own; at most
// concurrency clients (each with its UDP socket) exist, and idle ones are
// reused.
type pool struct {
	dev *device
	sem chan struct{}

	mu     sync.Mutex
	idle   []*client
	closed bool
}

type client struct {
	g    *gosnmp.GoSNMP
	conn *cancelConn
}

func newPool(dev *device) *pool {
	return &pool{dev: dev, sem: make(chan struct{}, dev.concurrency)}
}

// requestError marks an error of gosnmp's request/response machinery (as
// opposed to a response we understood and refuse): the client that got it
// is not reused.
type requestError struct{ err error }

func (e requestError) Error() string { return e.err.Error() }
func (e requestError) Unwrap() error { return e.err }

// do runs fn with a client of the device, bound to ctx: cancelling ctx
// aborts the request at once.
func (p *pool) do(ctx context.Context, fn func(*gosnmp.GoSNMP) error) error {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.sem }()
	if err := ctx.Err(); err != nil { // select picks randomly among ready cases
		return err
	}

	c, err := p.get(ctx)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return err
	}
	stop := c.conn.bind(ctx)
	c.g.Context = ctx
	err = fn(c.g)
	stop()
	c.g.Context = context.Background()

	var re requestError
	if errors.As(err, &re) {
		c.close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		// gosnmp times the last read out at the context's deadline, which
		// may come just before the context notices.
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return context.DeadlineExceeded
		}
		return p.describe(re.err, c.conn.last)
	}
	p.put(c)
	return err
}

func (p *pool) get(ctx context.Context) (*client, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	return p.dial(ctx)
}

func (p *pool) put(c *client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.close()
		return
	}
	p.idle = append(p.idle, c)
}

func (p *pool) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var errs []error
	for _, c := range p.idle {
		errs = append(errs, c.close())
	}
	p.idle = nil
	return errors.Join(errs...)
}

func (p *pool) dial(ctx context.Context) (*client, error) {
	dev := p.dev
	g := &gosnmp.GoSNMP{
		Target:    dev.host,
		Port:      dev.port,
		Transport: "udp",
		Version:   dev.version,
		Community: dev.community,
		Timeout:   dev.timeout,
		Retries:   dev.retries,
		Context:   ctx,
		MaxOids:   gosnmp.MaxOids,
	}
	if dev.version == gosnmp.Version3 {
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = gosnmp.AuthPriv
		g.SecurityParameters = &gosnmp.UsmSecurityParameters{
			UserName:                 dev.user,
			AuthenticationProtocol:   dev.auth,
			AuthenticationPassphrase: dev.authPass,
			PrivacyProtocol:          dev.priv,
			PrivacyPassphrase:        dev.privPass,
		}
	}
	if err := g.Connect(); err != nil {
		return nil, fmt.Errorf("open a UDP socket to %s: %w", net.JoinHostPort(dev.host, fmt.Sprint(dev.port)), err)
	}
	cc := &cancelConn{Conn: g.Conn}
	g.Conn = cc
	return &client{g: g, conn: cc}, nil
}

func (c *client) close() error { return c.g.Close() }

// describe turns an error of gosnmp's request machinery into one that says
// what probably went wrong. It never includes a secret.
func (p *pool) describe(err error, lastRead []byte) error {
	dev := p.dev
	if dev.version == gosnmp.Version3 && strings.Contains(err.Error(), "not authentic") {
		// gosnmp discards the device's unauthenticated USM report; read it
		// ourselves to say why the device refused.
		if rep := usmReport(lastRead); rep != nil {
			err = rep
		} else {
			return fmt.Errorf("the device's response failed authentication (wrong auth password or auth_protocol?): %w", err)
		}
	}
	switch {
	case errors.Is(err, gosnmp.ErrMaxRetriesExceeded) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		what := "device down or unreachable, or it ignores the community"
		if dev.version == gosnmp.Version3 {
			what = "device down or unreachable, or it cannot decrypt our requests: wrong priv password or priv_protocol"
		}
		return fmt.Errorf("%w at %s after %d attempt(s) of %s (%s)", ErrNoResponse,
			net.JoinHostPort(dev.host, fmt.Sprint(dev.port)), dev.retries+1, dev.timeout, what)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%s refused the request (ICMP port unreachable: no SNMP agent listens there): %w",
			net.JoinHostPort(dev.host, fmt.Sprint(dev.port)), err)
	case errors.Is(err, gosnmp.ErrUnknownUsername):
		return fmt.Errorf("the device does not know USM user %q: %w", dev.user, err)
	case errors.Is(err, gosnmp.ErrWrongDigest):
		return fmt.Errorf("the device rejected our authentication (wrong auth password or auth_protocol): %w", err)
	case errors.Is(err, gosnmp.ErrDecryption):
		return fmt.Errorf("the device could not decrypt our request (wrong priv password or priv_protocol): %w", err)
	case errors.Is(err, gosnmp.ErrUnknownSecurityLevel):
		return fmt.Errorf("the device does not accept authPriv for USM user %q: %w", dev.user, err)
	case errors.Is(err, gosnmp.ErrNotInTimeWindow), errors.Is(err, gosnmp.ErrUnknownEngineID):
		return fmt.Errorf("SNMPv3 engine synchronisation with the device failed: %w", err)
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return strings.Contains(err.Error(), "timeout")
}

// cancelConn lets a context abort a request that gosnmp is waiting on:
// gosnmp only looks at its Context between attempts and for its deadline,
// so when ctx is cancelled the socket's deadline is moved into the past,
// which fails the pending read at once. gosnmp sets a deadline before every
// attempt; under mu those calls cannot undo the cancellation.
type cancelConn struct {
	net.Conn // not a net.PacketConn, so gosnmp uses Read/Write on the connected socket

	mu  sync.Mutex
	ctx context.Context

	// last is the last datagram read, for diagnosing a response gosnmp
	// refused; only the goroutine holding the client touches it.
	last []byte
}

func (c *cancelConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.last = append(c.last[:0], b[:n]...)
	}
	return n, err
}

// past is a deadline that has passed.
var past = time.Unix(1, 0)

func (c *cancelConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx != nil && c.ctx.Err() != nil {
		t = past
	}
	return c.Conn.SetDeadline(t)
}

// bind ties the connection to ctx until the returned stop is called.
func (c *cancelConn) bind(ctx context.Context) (stop func()) {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
	stopAfter := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		_ = c.Conn.SetDeadline(past)
	})
	return func() {
		stopAfter()
		c.mu.Lock()
		c.ctx = nil
		c.mu.Unlock()
	}
}
