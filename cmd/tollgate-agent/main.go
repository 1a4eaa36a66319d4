package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/keepalive"

	"github.com/tollgate-isp/tollgate/agent"
	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/logdriver"
	"github.com/tollgate-isp/tollgate/enforcement/radius"
	"github.com/tollgate-isp/tollgate/enforcement/routeros"
	"github.com/tollgate-isp/tollgate/enforcement/snmp"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// version is set by the linker.
var version = "dev"

// defaultMemoryLimit is the Go runtime's soft memory limit unless
// GOMEMLIMIT says otherwise. Applying a large snapshot briefly holds the
// whole message; with the limit the garbage collector returns it sooner, so
// an agent applying a 100,000-service snapshot peaks at about 75 MiB instead
// of 110. It is soft: an agent that needs more gets more, at some CPU cost.
const defaultMemoryLimit = 64 << 20

// maxSnapshotBytes is the largest message the agent accepts from the
// controller: room for a snapshot of about a million services.
const maxSnapshotBytes = 256 << 20

const usage = `tollgate-agent enforces a POP's suspend/restore decisions from the Tollgate controller.

Usage:
  tollgate-agent [flags]

Settings come from defaults, then the config file, then TOLLGATE_* environment
variables, then flags. deploy/agent.example.yaml documents every setting.
The Go runtime's soft memory limit is 64 MiB unless GOMEMLIMIT is set.

The state file must exist: --init-state creates it on the agent's first start
at its POP. A missing or damaged file stops the agent (exit status 1);
--reset-state starts afresh from the controller's snapshot.

Flags:
`

func main() {
	err := run(os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "tollgate-agent:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("tollgate-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	configPath := fs.String("config", os.Getenv("TOLLGATE_CONFIG"), "path to the YAML config file (env TOLLGATE_CONFIG)")
	pop := fs.String("pop", "", "POP id (overrides pop)")
	controller := fs.String("controller", "", "controller gRPC address host:port (overrides controller.address)")
	metricsListen := fs.String("metrics-listen", "", `metrics listen address, or "off" (overrides metrics.listen; default :9100)`)
	redirectListen := fs.String("redirect-listen", "", `redirect responder listen address, or "off" (overrides redirect.listen; default off)`)
	logLevel := fs.String("log-level", "", "debug, info, warn or error (overrides log.level)")
	stateFile := fs.String("state-file", "", "path of the agent's state file (overrides state_file; default "+defaultStateFile+")")
	initState := fs.Bool("init-state", false, "create the state file if it does not exist: for the agent's first start at its POP (enrolment and the first-boot unit pass it); without it a missing file stops the agent")
	resetState := fs.Bool("reset-state", false, "keep the existing state file aside (as <state file>.reset-<time>) and start from an empty one: the POP's whole state is fetched from the controller, and no redirects are served until it has arrived (the recovery from a damaged state file)")
	checkState := fs.Bool("check-state", false, "open the state file (creating it with --init-state, anew with --reset-state), print what it holds and exit; exit status 1 if it is missing or damaged")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	for dst, v := range map[*string]string{&cfg.POP: *pop, &cfg.Controller.Address: *controller, &cfg.Metrics.Listen: *metricsListen, &cfg.Redirect.Listen: *redirectListen, &cfg.Log.Level: *logLevel, &cfg.StateFile: *stateFile} {
		if v != "" {
			*dst = v
		}
	}
	if err := cfg.finish(); err != nil {
		return err
	}
	log, err := cfg.Log.NewLogger(os.Stderr)
	if err != nil {
		return err
	}
	creds, certNotAfter, err := cfg.transportCredentials()
	if err != nil {
		return err
	}
	if cfg.Controller.InsecurePlaintext {
		log.Warn("connecting to the controller over plaintext gRPC (controller.insecure_plaintext): development only")
	}

	if err := prepareStateFile(cfg.StateFile, *initState, *resetState, log); err != nil {
		return err
	}
	if *checkState {
		return printStateFile(os.Stdout, cfg.StateFile, cfg.POP)
	}

	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	conn, err := grpc.NewClient(cfg.Controller.Address, grpc.WithTransportCredentials(creds),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
		// A POP's snapshot is one message: about 100 bytes a service, so
		// gRPC's default 4 MiB limit would stop at some 40,000 services.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxSnapshotBytes)),
		// gRPC's own reconnect backoff grows to 2 minutes, which would keep
		// an agent away long after a controller outage; cap it like the
		// agent's.
		grpc.WithConnectParams(grpc.ConnectParams{MinConnectTimeout: 20 * time.Second, Backoff: backoff.Config{
			BaseDelay: min(time.Second, cfg.Reconnect.BackoffMax), Multiplier: 1.6, Jitter: 0.2, MaxDelay: cfg.Reconnect.BackoffMax}}))
	if err != nil {
		return fmt.Errorf("controller.address: %w", err)
	}
	defer conn.Close()

	// Drivers are registered here, explicitly, by binding method.
	drivers := map[string]enforcement.Driver{
		"log": logdriver.New(log.With("driver", "log")),
	}
	if len(cfg.RouterOS.Routers) > 0 {
		d, err := routeros.New(cfg.RouterOS, log.With("driver", "routeros"))
		if err != nil {
			return err
		}
		defer d.Close()
		drivers["routeros"] = d
	}
	if len(cfg.SNMP.Devices) > 0 {
		d, err := snmp.New(cfg.SNMP, log.With("driver", "snmp"))
		if err != nil {
			return err
		}
		defer d.Close()
		drivers[snmp.Method] = d
	}
	metrics := agent.NewMetrics(reg)
	if !certNotAfter.IsZero() {
		metrics.ClientCertificate(certNotAfter)
		if left := time.Until(certNotAfter); left < 30*24*time.Hour {
			log.Warn("the agent's client certificate expires soon: renew it (deploy/README.md)", "not_after", certNotAfter, "left", left.Round(time.Hour))
		}
	}
	a, err := agent.New(agent.Config{POP: cfg.POP, AgentID: cfg.AgentID, Version: version, RetryInterval: cfg.RetryInterval, StateFile: cfg.StateFile,
		BackoffMin: cfg.Reconnect.BackoffMin, BackoffMax: cfg.Reconnect.BackoffMax, ReconcileInterval: cfg.ReconcileInterval, Leases: cfg.Leases},
		conn, drivers, log, clock.Real{}, metrics)
	if err != nil {
		return err
	}
	if a.Store().AwaitingSnapshot() {
		log.Warn("the state file holds no snapshot from the controller yet: serving no redirects until it has arrived", "state_file", cfg.StateFile)
	}
	if cfg.RADIUS != nil {
		// After the agent: the session table lives in its state file, and
		// the driver's authorize index is preloaded from its stored desired
		// state (AddDriver) before the endpoint answers anyone.
		svc, err := radius.Open(*cfg.RADIUS, a.Store(), log.With("driver", "radius"))
		if err != nil {
			return err
		}
		defer svc.Close()
		if err := a.AddDriver("radius", svc.Driver); err != nil {
			return err
		}
		if cfg.LearnFromRADIUS {
			a.LearnFromRADIUS(func(user string) []netip.Prefix {
				var out []netip.Prefix
				for _, s := range svc.Sessions.Find(user, nil) {
					if s.FramedIP.IsValid() {
						out = append(out, netip.PrefixFrom(s.FramedIP, 32))
					}
					for _, p := range []netip.Prefix{s.FramedIPv6Prefix, s.DelegatedIPv6Prefix} {
						if p.IsValid() {
							out = append(out, p)
						}
					}
				}
				return out
			}, 0)
		}
		if err := svc.ServeAuthorize(); err != nil {
			return err
		}
	}

	if cfg.Metrics.Listen != "off" {
		if err := serveMetrics(ctx, cfg.Metrics.Listen, reg, log); err != nil {
			return err
		}
	}
	// The redirect responder reads the agent's state file, which Run closes
	// when it returns: on a signal the responder stops first, then the
	// agent.
	agentCtx := ctx
	if cfg.Redirect.Listen != "off" {
		srv, err := serveRedirect(cfg.Redirect.Listen, agent.NewResponder(a), log)
		if err != nil {
			return err
		}
		var stopAgent context.CancelFunc
		agentCtx, stopAgent = context.WithCancel(context.WithoutCancel(ctx))
		defer stopAgent()
		go func() {
			<-ctx.Done()
			shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdownCtx); err != nil {
				log.Warn("redirect responder did not shut down cleanly", "err", err)
			}
			stopAgent()
		}()
	}
	log.Info("agent starting", "pop", cfg.POP, "agent_id", cfg.AgentID, "controller", cfg.Controller.Address, "version", version)
	err = a.Run(agentCtx)
	log.Info("agent stopped", "applied_revision", a.AppliedRevision())
	return err
}

// prepareStateFile applies --reset-state (the file is kept aside) and
// refuses a missing state file unless --init-state or --reset-state allows
// creating it: a file that vanished must not pass for a POP with nothing to
// enforce.
func prepareStateFile(path string, initState, resetState bool, log *slog.Logger) error {
	if resetState {
		keptAs, err := agent.ResetStateFile(path, time.Now())
		if err != nil {
			return err
		}
		log.Warn("state reset: starting from an empty state file; the POP's whole state is fetched from the controller and no redirects are served until it has arrived",
			"state_file", path, "previous_file_kept_as", keptAs)
		return nil
	}
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("state file: %w", err)
	case initState:
		log.Info("creating the state file (--init-state)", "state_file", path)
		return nil
	}
	return fmt.Errorf("state file %s does not exist. On the agent's first start at its POP, pass --init-state (the enrolment steps and "+
		"the first-boot unit do); if the file was lost, start with --reset-state: the agent then fetches the POP's whole state "+
		"from the controller and serves no redirects until it has arrived", path)
}

// printStateFile opens the state file (see [agent.OpenStore]) and prints
// what it holds (--check-state).
func printStateFile(w io.Writer, path, pop string) error {
	st, err := agent.OpenStore(path, pop)
	if err != nil {
		return err
	}
	defer st.Close()
	counts := st.Counts()
	fmt.Fprintf(w, "state file %s: POP %s, revision %d, %d services (%d active, %d suspended, %d removing), %d failed",
		path, st.POP(), st.Revision(), st.Len(), counts["active"], counts["suspended"], counts["removing"], st.FailedCount())
	if st.AwaitingSnapshot() {
		fmt.Fprint(w, "; awaiting the controller's first snapshot (no redirects until it arrives)")
	}
	fmt.Fprintln(w)
	return nil
}

func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics.listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener failed", "err", err)
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String())
	return nil
}

// serveRedirect serves h, the redirect responder, on addr until the
// returned server is shut down. Its clients are subscribers' devices, many
// and not always well-behaved: timeouts are short, headers small, and
// every connection carries one request. Malformed requests and the like
// are logged at debug level only.
func serveRedirect(addr string, h http.Handler, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("redirect.listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       5 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.With("component", "redirect").Handler(), slog.LevelDebug),
	}
	srv.SetKeepAlivesEnabled(false)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("redirect responder failed", "err", err)
		}
	}()
	log.Info("redirect responder listening", "addr", ln.Addr().String())
	return srv, nil
}
