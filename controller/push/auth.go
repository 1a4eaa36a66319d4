package push

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/tollgate-isp/tollgate/internal/pki"
)

// AuthorizeClientCertificate is the mutual-TLS authorizer for
// [WithAuthorizer]: the caller must have presented a client certificate that
// the TLS handshake verified, and that certificate must name pop
// ([pki.PopFromCert]). An agent enrolled for one POP can thus neither watch
// nor report for another.
func AuthorizeClientCertificate(ctx context.Context, pop string) error {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return errors.New("no peer information on the call")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return errors.New("the connection is not TLS: no client certificate")
	}
	chains := info.State.VerifiedChains
	if len(chains) == 0 || len(chains[0]) == 0 {
		return errors.New("no verified client certificate")
	}
	certPOP, err := pki.PopFromCert(chains[0][0])
	if err != nil {
		return fmt.Errorf("client certificate: %w", err)
	}
	if certPOP != pop {
		return fmt.Errorf("the client certificate is for POP %q; it may not use POP %q", certPOP, pop)
	}
	return nil
}

// clientCertificateNotAfter is the expiry of the verified client
// certificate of the call's peer; zero without one (plaintext, or no
// certificate).
func clientCertificateNotAfter(ctx context.Context) time.Time {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return time.Time{}
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return time.Time{}
	}
	return info.State.VerifiedChains[0][0].NotAfter
}

// LogHandshakeFailures wraps a server's transport credentials so that a
// failed TLS handshake (a certificate from another CA, none at all, an
// expired one) is logged with the peer's address: otherwise only the agent
// would know. At most one line a second is written; the next line counts
// those left out.
func LogHandshakeFailures(creds credentials.TransportCredentials, log *slog.Logger) credentials.TransportCredentials {
	return &loggedCreds{TransportCredentials: creds, log: log, limit: &logLimit{}}
}

type loggedCreds struct {
	credentials.TransportCredentials
	log   *slog.Logger
	limit *logLimit
}

type logLimit struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (c *loggedCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	nc, info, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil && !errors.Is(err, io.EOF) {
		c.limit.mu.Lock()
		now := time.Now()
		if now.Sub(c.limit.last) < time.Second {
			c.limit.suppressed++
			c.limit.mu.Unlock()
			return nc, info, err
		}
		left := c.limit.suppressed
		c.limit.last, c.limit.suppressed = now, 0
		c.limit.mu.Unlock()
		c.log.Warn("agent TLS handshake failed", "remote", conn.RemoteAddr().String(), "err", err, "failures_not_logged", left)
	}
	return nc, info, err
}

func (c *loggedCreds) Clone() credentials.TransportCredentials {
	return &loggedCreds{TransportCredentials: c.TransportCredentials.Clone(), log: c.log, limit: c.limit}
}
