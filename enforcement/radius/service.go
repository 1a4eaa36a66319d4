package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Service is everything the agent runs for RADIUS: the session table, the
// driver, the accounting listener and, when configured, the authorize
// endpoint's HTTP listener.
type Service struct {
	Sessions   *Sessions
	Driver     *Driver
	Accounting *AccountingServer // nil when accounting.listen is "off"
	// Authorize is the authorize endpoint; it is also served on
	// cfg.Authorize.Listen unless that is "off" or empty.
	Authorize http.Handler

	authorizeLn  net.Listener
	authorizeSrv *http.Server
}

// Open starts the RADIUS pieces from the agent's config: the driver for
// cfg.NAS, the accounting listener, and the authorize endpoint answering
// with lookup. Close it on shutdown.
func Open(cfg Config, lookup LookupFunc, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{Sessions: NewSessions(cfg.Sessions)}
	var err error
	if s.Driver, err = NewDriver(cfg.NAS, s.Sessions, log); err != nil {
		return nil, err
	}
	if cfg.Accounting.Listen != "off" {
		if s.Accounting, err = ListenAccounting(cfg.Accounting, s.Sessions, log); err != nil {
			s.Close()
			return nil, err
		}
	}
	if lookup != nil {
		if s.Authorize, err = NewAuthorizeHandler(s.Driver, cfg.Authorize, lookup); err != nil {
			s.Close()
			return nil, err
		}
	}
	if l := cfg.Authorize.Listen; l != "" && l != "off" {
		if s.Authorize == nil {
			s.Close()
			return nil, errors.New("radius: authorize.listen is set but no lookup was given")
		}
		if s.authorizeLn, err = net.Listen("tcp", l); err != nil {
			s.Close()
			return nil, fmt.Errorf("radius authorize: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle(AuthorizePath, s.Authorize)
		s.authorizeSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = s.authorizeSrv.Serve(s.authorizeLn) }()
	}
	return s, nil
}

// AuthorizeAddr returns the authorize listener's address, or nil.
func (s *Service) AuthorizeAddr() net.Addr {
	if s.authorizeLn == nil {
		return nil
	}
	return s.authorizeLn.Addr()
}

// Close stops the listeners and closes the driver.
func (s *Service) Close() error {
	var errs []error
	if s.authorizeSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, s.authorizeSrv.Shutdown(ctx))
		cancel()
	}
	if s.Accounting != nil {
		errs = append(errs, s.Accounting.Close())
	}
	if s.Driver != nil {
		errs = append(errs, s.Driver.Close())
	}
	return errors.Join(errs...)
}
