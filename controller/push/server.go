package push

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
	pb "github.com/tollgate-isp/tollgate/proto/tollgate/v1"
)

// Config tunes the push service. Zero values take the documented defaults.
type Config struct {
	// HeartbeatInterval is how often an idle stream sends a heartbeat (and
	// re-reads the feed, in case a notification was lost). Default 5s.
	HeartbeatInterval time.Duration
	// BatchSize is the most changes sent in one Delta. Default 500.
	BatchSize int
}

func (c Config) withDefaults() Config {
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 5 * time.Second
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	return c
}

// Server implements the Enforcement gRPC service.
type Server struct {
	pb.UnimplementedEnforcementServer

	feed    billing.EnforcementFeed
	hub     *Hub
	clock   clock.Clock
	log     *slog.Logger
	cfg     Config
	metrics *Metrics

	// authorize, when set, decides whether the caller may use a POP's stream
	// (mTLS identity scoping).
	authorize func(ctx context.Context, pop string) error
	// onReport, when set, is called after each report is recorded.
	onReport func(billing.AgentReport)
	// redirect, when set, gives each POP's redirect responder settings,
	// sent first on every Watch stream.
	redirect func(pop string) *pb.Redirect

	// agents are the agents with a Watch stream open on this server, for
	// the lag and commit→ack metrics.
	agentsMu sync.Mutex
	agents   map[agentKey]*agentState
}

// Option configures a Server.
type Option func(*Server)

// WithAuthorizer makes the server check the POP of each Watch and of each
// Report message against the caller's identity; a non-nil error refuses the
// call with PermissionDenied and the error's text.
// [AuthorizeClientCertificate] is the mutual-TLS one.
func WithAuthorizer(f func(ctx context.Context, pop string) error) Option {
	return func(s *Server) { s.authorize = f }
}

// WithReportObserver registers f to be called after every recorded report
// (used by benchmarks and the demo to see acknowledgements as they land).
func WithReportObserver(f func(billing.AgentReport)) Option {
	return func(s *Server) { s.onReport = f }
}

// WithRedirect makes every Watch stream begin with the POP's redirect
// settings: the portal URL and the POP's token-signing key
// (captive.DeriveKey), which the agent's redirect responder mints tokens
// with. f is called once per stream, with the POP the stream was authorized
// for; a nil result means the portal is not configured and nothing is sent
// (an agent keeps settings it received before), while an empty Redirect
// tells the agent to forget its settings.
//
// The settings are sent only when a stream opens: a changed key or portal
// URL (a master-secret rotation) reaches an agent when it next connects, so
// the portal must keep accepting the previous master until every agent has
// reconnected. The key travels only over the POP's own (mutual-TLS) stream
// and is never logged.
func WithRedirect(f func(pop string) *pb.Redirect) Option {
	return func(s *Server) { s.redirect = f }
}

// NewServer returns a push server reading feed and woken by hub. metrics may
// be nil.
func NewServer(feed billing.EnforcementFeed, hub *Hub, clk clock.Clock, log *slog.Logger, cfg Config, metrics *Metrics, opts ...Option) *Server {
	s := &Server{feed: feed, hub: hub, clock: clk, log: log, cfg: cfg.withDefaults(), metrics: metrics, agents: make(map[agentKey]*agentState)}
	if s.metrics == nil {
		s.metrics = NewMetrics(nil)
	}
	s.metrics.certificates.server.Store(s)
	if uc, ok := feed.(UnconfirmedCounter); ok {
		s.metrics.unconfirmed.source.Store(&uc)
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *Server) checkPOP(ctx context.Context, pop string) error {
	if err := billing.ValidatePOPID(pop); err != nil {
		return status.Error(codes.InvalidArgument, billing.ErrorMessage(err))
	}
	if s.authorize != nil {
		if err := s.authorize(ctx, pop); err != nil {
			s.log.Warn("refused an agent the POP it asked for", "pop", pop, "err", err)
			return status.Error(codes.PermissionDenied, err.Error())
		}
	}
	return nil
}

// Watch implements the Enforcement service.
func (s *Server) Watch(req *pb.WatchRequest, stream pb.Enforcement_WatchServer) error {
	ctx := stream.Context()
	pop := req.GetPop()
	if err := s.checkPOP(ctx, pop); err != nil {
		return err
	}
	log := s.log.With("pop", pop, "agent", req.GetAgentId())
	log.Info("agent watching", "since_revision", req.GetSinceRevision(), "agent_version", req.GetAgentVersion(), "features", req.GetFeatures())
	since := req.GetSinceRevision()
	if since < 0 {
		return status.Error(codes.InvalidArgument, "since_revision must not be negative")
	}
	s.metrics.connected.WithLabelValues(pop).Inc()
	defer s.metrics.connected.WithLabelValues(pop).Dec()
	// What a stream sends depends on what its agent reads: the same
	// records become THROTTLED only for an agent that announced
	// FeatureServiceProfiles (see toProto). The stream converts the feed's
	// records for its agent; it decides nothing.
	shapes := slices.Contains(req.GetFeatures(), FeatureServiceProfiles)
	agent := s.attach(pop, req.GetAgentId(), shapes, clientCertificateNotAfter(ctx))
	defer s.detach(agent)
	heartbeat := time.NewTicker(s.cfg.HeartbeatInterval)
	defer heartbeat.Stop()

	if s.redirect != nil {
		if r := s.redirect(pop); r != nil {
			if err := stream.Send(&pb.WatchResponse{Message: &pb.WatchResponse_Redirect{Redirect: r}}); err != nil {
				return err
			}
			s.metrics.sent.WithLabelValues(pop, "redirect").Inc()
			log.Debug("sent redirect settings", "portal_url", r.GetPortalUrl(), "key_id", r.GetKeyId())
		}
	}

	wake := s.hub.Wait(pop)
	needSnapshot := since == 0
	for {
		if needSnapshot {
			rev, err := s.sendSnapshot(ctx, stream, pop, shapes)
			if err != nil {
				return err
			}
			since, needSnapshot = rev, false
		}
		changes, latest, snap, err := s.feed.ChangesSince(ctx, pop, since, s.cfg.BatchSize)
		if err != nil {
			return s.internal(ctx, log, "read enforcement changes", err)
		}
		s.metrics.popRevision.WithLabelValues(pop).Set(float64(latest))
		s.setLatest(agent, latest)
		if snap {
			log.Info("agent is outside the retained history; sending a snapshot", "since_revision", since, "latest", latest)
			needSnapshot = true
			continue
		}
		if len(changes) > 0 {
			delta := &pb.Delta{Revision: changes[len(changes)-1].Revision, Changes: make([]*pb.Service, len(changes))}
			for i, c := range changes {
				delta.Changes[i] = toProto(c, shapes)
			}
			// Remembered before sending, so that an ack racing the send
			// still finds the commit times.
			agent.sentDelta(changes)
			if err := stream.Send(&pb.WatchResponse{Message: &pb.WatchResponse_Delta{Delta: delta}}); err != nil {
				return err
			}
			s.metrics.sent.WithLabelValues(pop, "delta").Inc()
			since = delta.Revision
			if len(changes) == s.cfg.BatchSize {
				continue // more to send
			}
		}
		select {
		case <-ctx.Done():
			log.Info("agent stream closed", "err", context.Cause(ctx))
			return nil
		case <-wake:
			wake = s.hub.Wait(pop)
		case <-heartbeat.C:
			hb := &pb.Heartbeat{Revision: latest, SentAtUnixNano: s.clock.Now().UnixNano(), IntervalMs: s.cfg.HeartbeatInterval.Milliseconds()}
			if err := stream.Send(&pb.WatchResponse{Message: &pb.WatchResponse_Heartbeat{Heartbeat: hb}}); err != nil {
				return err
			}
			s.metrics.sent.WithLabelValues(pop, "heartbeat").Inc()
		}
	}
}

func (s *Server) sendSnapshot(ctx context.Context, stream pb.Enforcement_WatchServer, pop string, shapes bool) (int64, error) {
	rev, services, err := s.feed.Snapshot(ctx, pop)
	if err != nil {
		return 0, s.internal(ctx, s.log, "read snapshot", err)
	}
	snap := &pb.Snapshot{Revision: rev, Services: make([]*pb.Service, len(services))}
	for i, c := range services {
		snap.Services[i] = toProto(c, shapes)
	}
	if err := stream.Send(&pb.WatchResponse{Message: &pb.WatchResponse_Snapshot{Snapshot: snap}}); err != nil {
		return 0, err
	}
	s.metrics.sent.WithLabelValues(pop, "snapshot").Inc()
	return rev, nil
}

// Report implements the Enforcement service.
func (s *Server) Report(stream pb.Enforcement_ReportServer) error {
	ctx := stream.Context()
	checked, checkedOK := "", false
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&pb.ReportResponse{})
		}
		if err != nil {
			return err
		}
		// Every message names its POP; each POP the stream uses is checked
		// like a Watch's.
		if !checkedOK || msg.GetPop() != checked {
			if err := s.checkPOP(ctx, msg.GetPop()); err != nil {
				return err
			}
			checked, checkedOK = msg.GetPop(), true
		}
		r, err := fromProtoReport(msg, s.clock.Now(), clockOffset(s.clock))
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		r.Shapes = s.agentShapes(r.POP, r.AgentID)
		if err := s.feed.RecordReport(ctx, r); err != nil {
			return s.internal(ctx, s.log, "record agent report", err)
		}
		s.metrics.appliedRevision.WithLabelValues(r.POP).Set(float64(r.AppliedRevision))
		if st := s.agent(r.POP, r.AgentID); st != nil {
			s.acked(st, r.AppliedRevision, r.ReceivedAt)
		}
		for _, res := range r.Results {
			outcome := "applied"
			switch {
			case res.Pending != "":
				outcome = "pending"
			case !res.Applied:
				outcome = "failed"
			}
			s.metrics.results.WithLabelValues(r.POP, outcome).Inc()
		}
		if s.onReport != nil {
			s.onReport(r)
		}
	}
}

func (s *Server) internal(ctx context.Context, log *slog.Logger, what string, err error) error {
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	log.Error(what, "err", err)
	return status.Error(codes.Unavailable, what+" failed; retry")
}

// FeatureServiceProfiles is the WatchRequest feature of agents that
// enforce Service.profile and DESIRED_STATE_THROTTLED.
const FeatureServiceProfiles = "service-profiles"

// toProto converts a record for an agent; shapes is whether the agent
// announced FeatureServiceProfiles. Every agent receives the profile (one
// that predates profiles skips the unknown field). A throttled service goes
// as THROTTLED only to an agent that shapes, and only with a profile to
// throttle to (the Shaper contract); otherwise as SUSPENDED, so no agent
// ever reads an unknown state as "not suspended".
func toProto(c billing.EnforcementChange, shapes bool) *pb.Service {
	state := stateToProto(c.DesiredState)
	if c.DesiredState == billing.StateThrottled && (!shapes || c.Profile == nil) {
		state = pb.DesiredState_DESIRED_STATE_SUSPENDED
	}
	return &pb.Service{
		ServiceId:    strconv.FormatInt(c.ServiceID, 10),
		DesiredState: state,
		Profile:      profileToProto(c.Profile),
		Revision:     c.Revision,
		Reason:       c.Reason,
		Removed:      c.Removed,
		Binding: &pb.Binding{
			Method:         c.Binding.Method,
			Addresses:      c.Binding.Addresses,
			RadiusUsername: c.Binding.RADIUSUsername,
			Device:         c.Binding.Device,
			IfIndex:        c.Binding.IfIndex,
		},
	}
}

// profileToProto converts a profile (nil: none).
func profileToProto(p *billing.EdgeProfile) *pb.ServiceProfile {
	if p == nil {
		return nil
	}
	return &pb.ServiceProfile{
		Name: p.Name, DownloadRate: p.DownloadRate, UploadRate: p.UploadRate,
		DownloadBurstRate: p.DownloadBurstRate, UploadBurstRate: p.UploadBurstRate,
		DownloadBurstThreshold: p.DownloadBurstThreshold, UploadBurstThreshold: p.UploadBurstThreshold,
		BurstTimeSeconds: int32(p.BurstTime), Priority: int32(p.Priority),
		CiscoService: p.Vendor.CiscoService, CiscoPolicyIn: p.Vendor.CiscoPolicyIn, CiscoPolicyOut: p.Vendor.CiscoPolicyOut,
		JuniperService: p.Vendor.JuniperService, FilterId: p.Vendor.FilterID,
	}
}

func stateToProto(s billing.DesiredState) pb.DesiredState {
	switch s {
	case billing.StateActive:
		return pb.DesiredState_DESIRED_STATE_ACTIVE
	case billing.StateSuspended:
		return pb.DesiredState_DESIRED_STATE_SUSPENDED
	case billing.StateThrottled:
		return pb.DesiredState_DESIRED_STATE_THROTTLED
	}
	return pb.DesiredState_DESIRED_STATE_UNSPECIFIED
}

func stateFromProto(s pb.DesiredState) billing.DesiredState {
	switch s {
	case pb.DesiredState_DESIRED_STATE_ACTIVE:
		return billing.StateActive
	case pb.DesiredState_DESIRED_STATE_SUSPENDED:
		return billing.StateSuspended
	case pb.DesiredState_DESIRED_STATE_THROTTLED:
		return billing.StateThrottled
	}
	return ""
}

// clockOffset is how far clk runs from the real time: the dev clock's
// offset, zero for the real clock.
func clockOffset(clk clock.Clock) time.Duration {
	if o, ok := clk.(interface{ Offset() time.Duration }); ok {
		return o.Offset()
	}
	return 0
}

// fromProtoReport reads an agent's report received at now (the controller's
// clock). Read-back times come on the agent's real clock; offset (the
// controller clock's distance from the real time, see clockOffset) puts
// them on the controller's clock, so "last confirmed" is comparable with
// every other time the controller shows.
func fromProtoReport(m *pb.ReportRequest, now time.Time, offset time.Duration) (billing.AgentReport, error) {
	r := billing.AgentReport{POP: m.GetPop(), AgentID: m.GetAgentId(), AppliedRevision: m.GetAppliedRevision(), ReceivedAt: now}
	if r.AgentID == "" {
		return r, errors.New("agent_id is required")
	}
	for _, res := range m.GetResults() {
		id, err := strconv.ParseInt(res.GetServiceId(), 10, 64)
		if err != nil {
			return r, errors.New("service_id " + strconv.Quote(res.GetServiceId()) + " is not a service id")
		}
		sr := billing.ServiceResult{
			ServiceID:     id,
			Revision:      res.GetRevision(),
			Applied:       res.GetOutcome() == pb.Outcome_OUTCOME_APPLIED,
			Error:         res.GetError(),
			Pending:       pendingReason(res),
			ObservedState: stateFromProto(res.GetObservedState()),
			// Bounded like the name a driver records (a queue comment).
			ObservedProfile: truncate(res.GetObservedProfile(), 200),
		}
		if ns := res.GetObservedAtUnixNano(); ns > 0 {
			sr.ObservedAt = time.Unix(0, ns).Add(offset)
		}
		r.Results = append(r.Results, sr)
	}
	for _, l := range m.GetLearnedAddresses() {
		id, err := strconv.ParseInt(l.GetServiceId(), 10, 64)
		if err != nil {
			return r, errors.New("learned address: service_id " + strconv.Quote(l.GetServiceId()) + " is not a service id")
		}
		la, err := billing.ParseLearnedAddress(id, l.GetAddress(), l.GetSource())
		if err != nil {
			return r, errors.New(billing.ErrorMessage(err))
		}
		if ns := l.GetExpiresAtUnixNano(); ns > 0 {
			la.ExpiresAt = time.Unix(0, ns).Add(offset)
		}
		r.Learned = append(r.Learned, la)
	}
	for _, src := range m.GetLearnedComplete() {
		if src != billing.LearnedDHCP && src != billing.LearnedRADIUS {
			return r, errors.New("learned_complete: source " + strconv.Quote(src) + " is not one of dhcp, radius")
		}
		r.LearnedComplete = append(r.LearnedComplete, src)
	}
	return r, nil
}

// truncate cuts s to at most n bytes (on a rune boundary).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// pendingReason is the reason of an OUTCOME_PENDING result ("" for other
// outcomes); an agent that gives none gets a generic one.
func pendingReason(res *pb.ServiceResult) string {
	if res.GetOutcome() != pb.Outcome_OUTCOME_PENDING {
		return ""
	}
	if r := res.GetPendingReason(); r != "" {
		return r
	}
	return "applied; takes effect later"
}
