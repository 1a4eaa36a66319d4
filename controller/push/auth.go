package push

import (
	"context"
	"errors"
	"fmt"

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
