package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// Service is everything the agent runs for RADIUS: the session table, the
// driver, the accounting listener and, when configured, the authorize
// endpoint's HTTP listener.
type Service struct {
	Sessions   *radiusproto.Sessions
	Driver     *Driver
	Accounting *radiusproto.AccountingServer // nil when accounting.listen is "off"
	// Authorize is the authorize endpoint; it is also served on
	// cfg.Authorize.Listen unless that is "off" or empty.
	Authorize http.Handler

	authorizeListen string
	authorizeLn     net.Listener
	authorizeSrv    *http.Server
	log             *slog.Logger
	stopFlush       chan struct{}
	flushDone       chan struct{}
}

// flushInterval is how often changes to the session table that no
// accounting record carried (a CoA's acknowledgement, a session the NAS
// said is gone) are written to the store.
const flushInterval = time.Second

// Open starts the RADIUS pieces from the agent's config: the driver for
// cfg.NAS, the accounting listener, and the authorize endpoint answering
// from the driver's record of what it was told to suspend. With store
// (the agent's state file; nil: memory only), the session table is
// loaded from it first and kept in it (see [ListenAccounting]). Close it
// on shutdown, before the store.
func Open(cfg Config, store radiusproto.SessionStore, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{Sessions: radiusproto.NewSessions(cfg.Sessions), log: log}
	var err error
	if s.Driver, err = NewDriver(cfg.NAS, s.Sessions, log); err != nil {
		return nil, err
	}
	if store != nil {
		n, err := s.Sessions.Attach(store)
		if err != nil {
			s.Close()
			return nil, err
		}
		log.Info("radius sessions loaded from the state file", "sessions", n)
		s.stopFlush, s.flushDone = make(chan struct{}), make(chan struct{})
		go s.flushLoop()
	}
	if cfg.Accounting.Listen != "off" {
		if s.Accounting, err = radiusproto.ListenAccounting(cfg.Accounting, s.Sessions, log); err != nil {
			s.Close()
			return nil, err
		}
	}
	if len(cfg.NAS) > 0 {
		if s.Authorize, err = NewAuthorizeHandler(s.Driver, cfg.Authorize); err != nil {
			s.Close()
			return nil, err
		}
	}
	if l := cfg.Authorize.Listen; l != "" && l != "off" && s.Authorize == nil {
		s.Close()
		return nil, errors.New("radius: authorize.listen is set but no NAS is configured")
	}
	s.authorizeListen = cfg.Authorize.Listen
	return s, nil
}

// ServeAuthorize starts the authorize endpoint's listener (authorize.listen;
// nothing when it is "off" or empty). Call it once the driver knows the
// desired state ([Driver.Preload]), so that it never answers from an empty
// record. It fails when the address cannot be listened on.
func (s *Service) ServeAuthorize() error {
	l := s.authorizeListen
	if l == "" || l == "off" || s.authorizeLn != nil {
		return nil
	}
	ln, err := net.Listen("tcp", l)
	if err != nil {
		return fmt.Errorf("radius authorize: %w", err)
	}
	s.authorizeLn = ln
	mux := http.NewServeMux()
	mux.Handle(AuthorizePath, s.Authorize)
	s.authorizeSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.authorizeSrv.Serve(ln) }()
	return nil
}

// AuthorizeAddr returns the authorize listener's address, or nil.
func (s *Service) AuthorizeAddr() net.Addr {
	if s.authorizeLn == nil {
		return nil
	}
	return s.authorizeLn.Addr()
}

func (s *Service) flushLoop() {
	defer close(s.flushDone)
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopFlush:
			return
		case <-t.C:
			if err := s.Sessions.Flush(); err != nil {
				s.log.Warn("radius: writing sessions to the state file", "err", err)
			}
		}
	}
}

// Close stops the listeners, writes the session table's last changes and
// closes the driver.
func (s *Service) Close() error {
	var errs []error
	defer func() {
		if s.stopFlush != nil {
			close(s.stopFlush)
			<-s.flushDone
			s.stopFlush = nil
			if err := s.Sessions.Flush(); err != nil {
				s.log.Warn("radius: writing sessions to the state file at exit", "err", err)
			}
		}
	}()
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
