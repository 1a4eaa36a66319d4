package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	rad "layeh.com/radius"
)

// AccountingServer receives RADIUS accounting (RFC 2866) from NASes, or
// copied by the ISP's RADIUS server, into a session table.
type AccountingServer struct {
	conn      *net.UDPConn
	sessions  *Sessions
	log       *slog.Logger
	requireMA bool
	secret    []byte // default; nil when none
	clients   []acctClient
	done      chan struct{}
	wg        sync.WaitGroup
	// replies queues the answers of a durable table's records to the
	// writer, which sends them once the records are written.
	replies chan pendingReply

	stats AccountingStats

	// warned limits the warnings about dropped packets to one per sender
	// per minute (only the serve goroutine uses it).
	warned map[netip.Addr]time.Time
}

type pendingReply struct {
	b  []byte
	to netip.AddrPort
}

// maxReplyBatch bounds how many records one write of the session table
// covers before their Accounting-Responses go out.
const maxReplyBatch = 1024

type acctClient struct {
	prefix netip.Prefix
	secret []byte
}

// AccountingStats counts what the listener received.
type AccountingStats struct {
	Received atomic.Uint64 // datagrams
	Answered atomic.Uint64 // Accounting-Responses sent
	Dropped  atomic.Uint64 // malformed, unknown sender, bad authenticator
}

// ListenAccounting starts an accounting listener on cfg.Listen (UDP)
// feeding sessions. It answers every authentic Accounting-Request with an
// Accounting-Response once recorded, and silently drops the rest (RFC
// 2866 §3). When sessions is attached to a store ([Sessions.Attach]),
// "recorded" means written: records are written in batches (all those
// that arrived while the previous batch was being written, up to 1024 in
// one transaction) and each is answered only after its batch is on disk;
// when a write fails nothing is answered and the NAS resends. It fails
// when a secret cannot be read, a client's source is neither an address
// nor a prefix, no secret is set at all, or cfg.Listen cannot be resolved
// or listened on. Close it when done.
func ListenAccounting(cfg AccountingConfig, sessions *Sessions, log *slog.Logger) (*AccountingServer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &AccountingServer{sessions: sessions, log: log, requireMA: cfg.RequireMessageAuthenticator, done: make(chan struct{})}
	if cfg.SecretFile != "" || cfg.SecretEnv != "" {
		b, err := cfg.Secret.Load()
		if err != nil {
			return nil, fmt.Errorf("radius accounting: %w", err)
		}
		s.secret = b
	}
	for _, c := range cfg.Clients {
		p, err := ParsePrefix(c.Source)
		if err != nil {
			return nil, fmt.Errorf("radius accounting: client %q: %w", c.Source, err)
		}
		b, err := c.Secret.Load()
		if err != nil {
			return nil, fmt.Errorf("radius accounting: client %s: %w", c.Source, err)
		}
		s.clients = append(s.clients, acctClient{p, b})
	}
	if s.secret == nil && len(s.clients) == 0 {
		return nil, errors.New("radius accounting: no shared secret: set secret_file or secret_env, or clients")
	}
	addr := cfg.Listen
	if addr == "" {
		addr = ":1813"
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("radius accounting: %w", err)
	}
	s.conn, err = net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("radius accounting: %w", err)
	}
	_ = s.conn.SetReadBuffer(4 << 20)
	if sessions.Durable() {
		s.replies = make(chan pendingReply, maxReplyBatch)
		s.wg.Go(s.writeReplies)
	}
	s.wg.Go(s.serve)
	return s, nil
}

// Addr returns the address the listener is bound to.
func (s *AccountingServer) Addr() net.Addr { return s.conn.LocalAddr() }

// Stats returns the listener's counters.
func (s *AccountingServer) Stats() *AccountingStats { return &s.stats }

// Close stops the listener.
func (s *AccountingServer) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	close(s.done)
	err := s.conn.Close()
	s.wg.Wait()
	return err
}

// secretFor returns the secret of a sender: the longest matching client
// prefix, else the default secret, else nil (dropped).
func (s *AccountingServer) secretFor(src netip.Addr) []byte {
	best, bits := s.secret, -1
	for _, c := range s.clients {
		if c.prefix.Contains(src) && c.prefix.Bits() > bits {
			best, bits = c.secret, c.prefix.Bits()
		}
	}
	return best
}

func (s *AccountingServer) serve() {
	buf := make([]byte, rad.MaxPacketLength)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.stats.Received.Add(1)
		reply := s.handle(buf[:n], from.Addr().Unmap())
		switch {
		case reply == nil:
		case s.replies != nil:
			select {
			case s.replies <- pendingReply{reply, from}:
			case <-s.done:
				return
			}
		default:
			if _, err := s.conn.WriteToUDPAddrPort(reply, from); err == nil {
				s.stats.Answered.Add(1)
			}
		}
	}
}

// writeReplies writes the session table's changes in batches and sends
// the Accounting-Responses of each batch's records once it is written.
func (s *AccountingServer) writeReplies() {
	batch := make([]pendingReply, 0, maxReplyBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-s.replies:
			batch = append(batch, r)
		case <-s.done:
			return
		}
	drain:
		for len(batch) < maxReplyBatch {
			select {
			case r := <-s.replies:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if err := s.sessions.Flush(); err != nil {
			s.stats.Dropped.Add(uint64(len(batch)))
			s.log.Error("radius accounting: writing sessions to the state file failed; not answering, the NAS resends", "records", len(batch), "err", err)
			continue
		}
		for _, r := range batch {
			if _, err := s.conn.WriteToUDPAddrPort(r.b, r.to); err == nil {
				s.stats.Answered.Add(1)
			}
		}
	}
}

// handle processes one datagram and returns the answer, or nil to drop it.
func (s *AccountingServer) handle(b []byte, src netip.Addr) []byte {
	secret := s.secretFor(src)
	if secret == nil {
		s.stats.Dropped.Add(1)
		s.log.Debug("radius accounting: dropped a packet from an unknown sender", "from", src)
		return nil
	}
	rec, pkt, err := parseAccountingRequest(b, secret, s.requireMA)
	if err != nil {
		s.stats.Dropped.Add(1)
		now := time.Now()
		if last, ok := s.warned[src]; !ok || now.Sub(last) > time.Minute {
			if s.warned == nil || len(s.warned) > 1024 {
				s.warned = make(map[netip.Addr]time.Time)
			}
			s.warned[src] = now
			s.log.Warn("radius accounting: dropped a packet (further drops from this sender are not logged for a minute)", "from", src, "err", err)
		}
		return nil
	}
	res := s.sessions.Apply(rec, src)
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("radius accounting", "from", src, "status", statusName(rec.StatusType), "user", rec.UserName,
			"session", rec.SessionID, "nas", nasKey(&rec, src), "framed_ip", rec.FramedIP, "result", res)
	}
	return encodeResponse(rad.CodeAccountingResponse, pkt, secret)
}

func statusName(t uint32) string {
	switch t {
	case acctStatusStart:
		return "Start"
	case acctStatusStop:
		return "Stop"
	case acctStatusInterim:
		return "Interim-Update"
	case acctStatusAcctOn:
		return "Accounting-On"
	case acctStatusAcctOff:
		return "Accounting-Off"
	}
	return strings.TrimSpace(fmt.Sprint(t))
}
