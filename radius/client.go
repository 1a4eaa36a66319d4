package radius

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	rad "layeh.com/radius"
)

// Client exchanges CoA and Disconnect requests with one NAS over UDP. It
// keeps a few sockets, each with the 256 identifiers RADIUS allows; a
// reader per socket hands answers to the waiting request by identifier
// and checks them against that request's authenticator, so a late answer
// to an earlier request that used the same identifier is dropped.
type Client struct {
	addr    string
	secret  []byte
	timeout time.Duration
	retries int

	slots  chan struct{} // concurrency bound
	tokens chan token    // free (socket, identifier) pairs, FIFO: an identifier is reused as late as possible
	socks  []*socket
	closed chan struct{}
	wg     sync.WaitGroup
}

type token struct {
	sock *socket
	id   byte
}

type socket struct {
	conn    *net.UDPConn
	mu      sync.Mutex
	pending [256]*call
}

type call struct {
	req *request
	ch  chan Outcome
}

// ErrClosed is returned by [Client.Exchange] once the client is closed.
var ErrClosed = errors.New("radius: client closed")

// NewClient returns a client for the NAS at addr (host:port of its
// dynamic-authorization port) with its shared secret. An unanswered
// request is resent, identical, every timeout, retries times; at most
// concurrency requests are in flight, over one UDP socket per 256 of them.
// It fails when addr does not resolve or a socket cannot be opened. Close
// it when done.
func NewClient(addr string, secret []byte, timeout time.Duration, retries, concurrency int) (*Client, error) {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	n := (concurrency + 255) / 256
	c := &Client{
		addr: addr, secret: secret, timeout: timeout, retries: retries,
		slots:  make(chan struct{}, concurrency),
		tokens: make(chan token, n*256),
		closed: make(chan struct{}),
	}
	for range n {
		conn, err := net.DialUDP("udp", nil, raddr)
		if err != nil {
			c.Close()
			return nil, err
		}
		s := &socket{conn: conn}
		c.socks = append(c.socks, s)
		for id := range 256 {
			c.tokens <- token{s, byte(id)}
		}
		c.wg.Go(func() { c.read(s) })
	}
	return c, nil
}

// Close closes the sockets and waits for the readers.
func (c *Client) Close() {
	select {
	case <-c.closed:
		return
	default:
	}
	close(c.closed)
	for _, s := range c.socks {
		s.conn.Close()
	}
	c.wg.Wait()
}

func (c *Client) read(s *socket) {
	buf := make([]byte, rad.MaxPacketLength)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			select {
			case <-c.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// ICMP port unreachable and the like: the waiting request
			// times out and is resent.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if n < headerLen {
			continue
		}
		s.mu.Lock()
		cl := s.pending[buf[1]]
		s.mu.Unlock()
		if cl == nil {
			continue
		}
		out, err := parseResponse(buf[:n], cl.req, c.secret)
		if err != nil {
			continue // not an authentic answer to this request
		}
		select {
		case cl.ch <- out:
		default:
		}
	}
}

// Exchange sends a request (CoA-Request or Disconnect-Request) with attrs
// and a Message-Authenticator, and waits for the NAS's authentic answer
// (ACK or NAK), resending the same packet after each timeout up to the
// retry count. It fails when an attribute cannot be encoded, when no
// answer came after the last attempt, with ctx's error when ctx ends
// first, and with [ErrClosed] once the client is closed. A NAK is an
// [Outcome], not an error.
func (c *Client) Exchange(ctx context.Context, code rad.Code, attrs rad.Attributes) (Outcome, error) {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	case <-c.closed:
		return Outcome{}, ErrClosed
	}
	defer func() { <-c.slots }()
	var tok token
	select {
	case tok = <-c.tokens:
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	}
	defer func() { c.tokens <- tok }()

	req, err := encodeRequest(code, tok.id, c.secret, attrs)
	if err != nil {
		return Outcome{}, err
	}
	cl := &call{req: req, ch: make(chan Outcome, 1)}
	s := tok.sock
	s.mu.Lock()
	s.pending[tok.id] = cl
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.pending[tok.id] = nil
		s.mu.Unlock()
	}()

	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	var lastErr error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			timer.Reset(c.timeout)
		}
		// A retransmission is the same packet: same identifier and
		// authenticator (RFC 5080 §2.2.1), so the NAS can spot duplicates.
		if _, err := s.conn.Write(req.wire); err != nil {
			lastErr = err
		}
		select {
		case out := <-cl.ch:
			return out, nil
		case <-timer.C:
		case <-ctx.Done():
			return Outcome{}, ctx.Err()
		case <-c.closed:
			return Outcome{}, ErrClosed
		}
	}
	if lastErr != nil {
		return Outcome{}, fmt.Errorf("no answer from %s after %d attempts (last send error: %v)", c.addr, c.retries+1, lastErr)
	}
	return Outcome{}, fmt.Errorf("no answer from %s after %d attempts %s apart", c.addr, c.retries+1, c.timeout)
}
