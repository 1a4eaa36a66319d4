package billing

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func oneMbit() *EdgeProfile {
	return &EdgeProfile{ServiceProfile: ServiceProfile{DownloadRate: 1_000_000, UploadRate: 1_000_000}}
}

func TestProfileSourceForEachState(t *testing.T) {
	for _, tc := range []struct {
		state DesiredState
		want  ProfileSource
	}{
		{StateActive, ProfileFromPlan},
		{StateThrottled, ProfileFromThrottle},
		{StateSuspended, ProfileNone},
		{"", ProfileNone},
	} {
		if got := ProfileSourceFor(tc.state); got != tc.want {
			t.Errorf("ProfileSourceFor(%q) = %q, want %q", tc.state, got, tc.want)
		}
	}
}

func TestLosesService(t *testing.T) {
	for state, want := range map[DesiredState]bool{StateActive: false, StateSuspended: true, StateThrottled: true} {
		if got := state.LosesService(); got != want {
			t.Errorf("%s.LosesService() = %v, want %v", state, got, want)
		}
	}
	if StateThrottled.Valid() {
		t.Error("throttled is a state staff may set; only the sweep decides it")
	}
	if !(ServiceStanding{DesiredState: StateThrottled}).SuspendedForPayment() {
		t.Error("a throttled service is not suspended for payment: paying would not restore it")
	}
}

func TestNeedsProfileRevision(t *testing.T) {
	a, b := oneMbit(), oneMbit()
	b.DownloadRate = 2_000_000
	for _, tc := range []struct {
		name      string
		state     DesiredState
		method    string
		has, want *EdgeProfile
		needs     bool
	}{
		{"active without its plan's profile", StateActive, MethodRouterOS, nil, a, true},
		{"active with another profile", StateActive, MethodRADIUS, a, b, true},
		{"active with its plan's profile", StateActive, MethodRouterOS, a, oneMbit(), false},
		{"active, the plan lost its profile", StateActive, MethodLog, a, nil, true},
		{"active, neither", StateActive, MethodLog, nil, nil, false},
		{"suspended gets it when restored", StateSuspended, MethodRouterOS, nil, a, false},
		{"throttled keeps the throttle profile", StateThrottled, MethodRouterOS, oneMbit(), b, false},
		{"snmp cannot shape", StateActive, MethodSNMP, nil, a, false},
	} {
		if got := NeedsProfileRevision(tc.state, tc.method, tc.has, tc.want); got != tc.needs {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.needs)
		}
	}
}

func TestCheckShaping(t *testing.T) {
	if err := CheckShaping("plan_id", 7, MethodSNMP, true); ErrorCode(err) != EINVALID ||
		!strings.Contains(ErrorMessage(err), "plan_id: service 7 is bound with method snmp") {
		t.Errorf("snmp with a profile: %v", err)
	}
	for _, m := range []string{MethodRouterOS, MethodRADIUS, MethodLog} {
		if err := CheckShaping("plan_id", 7, m, true); err != nil {
			t.Errorf("%s with a profile: %v", m, err)
		}
	}
	if err := CheckShaping("plan_id", 7, MethodSNMP, false); err != nil {
		t.Errorf("snmp without a profile: %v", err)
	}
}

func TestAccountTypeSuspendAction(t *testing.T) {
	for _, tc := range []struct {
		name    string
		action  SuspendAction
		profile *EdgeProfile
		state   DesiredState
		err     string
	}{
		{"default blocks", "", nil, StateSuspended, ""},
		{"block", SuspendBlock, nil, StateSuspended, ""},
		{"block keeps a profile for later", SuspendBlock, oneMbit(), StateSuspended, ""},
		{"throttle", SuspendThrottle, oneMbit(), StateThrottled, ""},
		{"throttle without a profile", SuspendThrottle, nil, "", "throttle_profile is required"},
		{"throttle with a bad profile", SuspendThrottle, &EdgeProfile{}, "", "throttle_profile.download_rate 0"},
		{"unknown action", "slow", nil, "", `suspend_action "slow"`},
	} {
		typ := AccountType{Name: "Res Idential", TimeZone: "UTC", SuspendAction: tc.action, ThrottleProfile: tc.profile}
		err := typ.Validate()
		if tc.err != "" {
			if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tc.err) {
				t.Errorf("%s: %v, want EINVALID %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := typ.SuspendState(); got != tc.state {
			t.Errorf("%s: suspends to %s, want %s", tc.name, got, tc.state)
		}
		if typ.ThrottleProfile != nil && typ.ThrottleProfile.Name != "throttle-res-idential" {
			t.Errorf("%s: throttle profile named %q", tc.name, typ.ThrottleProfile.Name)
		}
	}
}

func TestSpeedWords(t *testing.T) {
	for _, tc := range []struct {
		p    ServiceProfile
		want string
	}{
		{ServiceProfile{DownloadRate: 1_000_000, UploadRate: 1_000_000}, "1 Mbit/s"},
		{ServiceProfile{DownloadRate: 100_000_000, UploadRate: 20_000_000}, "100 Mbit/s down, 20 Mbit/s up"},
		{ServiceProfile{DownloadRate: 1_500_000_000, UploadRate: 512_000}, "1.5 Gbit/s down, 512 kbit/s up"},
		{ServiceProfile{DownloadRate: 900, UploadRate: 900}, "900 bit/s"},
	} {
		if got := tc.p.SpeedWords(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
	}
	if got := ThrottledWords(oneMbit()); got != "slowed to 1 Mbit/s until the balance is paid" {
		t.Errorf("ThrottledWords = %q", got)
	}
}

func TestProfileName(t *testing.T) {
	for plan, want := range map[string]string{"Fiber 100": "fiber-100.v3", "  Fibra Óptica / 1G ": "fibra-ptica-1g.v3", "!!!": "plan.v3"} {
		if got := ProfileName(plan, 3); got != want {
			t.Errorf("ProfileName(%q) = %q, want %q", plan, got, want)
		}
	}
}

func TestPlanValidateNamesItsProfile(t *testing.T) {
	p := Plan{Name: "Fiber 100", Price: 5000, Currency: "USD", Profile: oneMbit()}
	if err := p.Validate(); err != nil || p.ProfileVersion != 1 || p.Profile.Name != "fiber-100.v1" {
		t.Fatalf("validate: %v, version %d, name %q", err, p.ProfileVersion, p.Profile.Name)
	}
	bad := Plan{Name: "Fiber", Price: 5000, Currency: "USD", Profile: &EdgeProfile{ServiceProfile: ServiceProfile{DownloadRate: 1, UploadRate: -1}}}
	if err := bad.Validate(); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "profile.upload_rate") {
		t.Fatalf("bad profile: %v, want EINVALID naming profile.upload_rate", err)
	}
}

func TestPlanProfileChange(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	plan := Plan{ID: 4, Name: "Fiber 100"}
	cur := &EdgeProfile{Name: "fiber-100.v1", ServiceProfile: ServiceProfile{DownloadRate: 100_000_000, UploadRate: 20_000_000}}
	faster := ServiceProfile{DownloadRate: 200_000_000, UploadRate: 20_000_000}
	var services []ProfiledService
	for id := int64(1200); id >= 1; id-- { // out of order: the plan sorts
		services = append(services, ProfiledService{ServiceID: id, AccountID: id, State: StateActive, Method: MethodRouterOS})
	}
	services = append(services,
		ProfiledService{ServiceID: 2001, State: StateSuspended, Method: MethodRADIUS},
		ProfiledService{ServiceID: 2002, State: StateThrottled, Method: MethodRouterOS},
		ProfiledService{ServiceID: 2003, State: StateActive, Method: MethodSNMP})
	req := ProfileChangeRequest{Plan: plan, Current: cur, CurrentVersion: 1, NewProfile: &faster, Services: services, Actor: "staff:ana", Now: now, Reason: "upgrade"}
	// An SNMP service cannot enforce the speed: refused unless allowed.
	if _, err := PlanProfileChange(req); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "has 1 services bound with snmp") ||
		!strings.Contains(ErrorMessage(err), "(services 2003)") || !strings.Contains(ErrorMessage(err), "allow_access_only: true") {
		t.Errorf("a profile over an SNMP service: %v, want EINVALID naming service 2003 and allow_access_only", err)
	}
	req.AllowAccessOnly = true
	c, err := PlanProfileChange(req)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version.Version != 2 || c.Version.Profile.Name != "fiber-100.v2" || c.Version.Profile.DownloadRate != 200_000_000 || c.Version.Actor != "staff:ana" {
		t.Errorf("version %+v", c.Version)
	}
	if len(c.FanOut) != 1200 || c.ReceiveNow != 1200 || c.FanOut[0] != 1 || !slices.IsSorted(c.FanOut) {
		t.Errorf("fan-out %d services starting %v, want 1200 in id order", len(c.FanOut), c.FanOut[:1])
	}
	if b := c.Batches(); len(b) != 3 || len(b[0]) != ProfileFanOutBatch || len(b[2]) != 200 {
		t.Errorf("batches of %d", len(b))
	}
	if c.Later != 2 || !slices.Equal(c.AccessOnly, []int64{2003}) {
		t.Errorf("later %d, access-only %v; want 2, [2003]", c.Later, c.AccessOnly)
	}
	why := strings.Join(c.Why, " | ")
	for _, want := range []string{"fiber-100.v1 (100 Mbit/s down, 20 Mbit/s up) → fiber-100.v2 (200 Mbit/s down, 20 Mbit/s up)",
		"1200 active services receive the new profile now, in 3 batches", "does not hold them", "1 services bound with snmp"} {
		if !strings.Contains(why, want) {
			t.Errorf("why %q lacks %q", why, want)
		}
	}
	if c.Audit.Action != "profile_change" || c.Audit.EntityID != 4 {
		t.Errorf("audit %+v", c.Audit)
	}

	// Taking the profile away is a version too; the same profile, or none
	// twice, is refused; a bad profile names its field.
	req.NewProfile = nil
	if c, err := PlanProfileChange(req); err != nil || c.Version.Profile != nil || !strings.Contains(c.Why[0], "→ no profile") {
		t.Errorf("remove: %+v %v", c.Version, err)
	}
	req.Current, req.CurrentVersion = nil, 2
	if _, err := PlanProfileChange(req); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "has no profile already") {
		t.Errorf("none twice: %v", err)
	}
	req.Current, req.NewProfile = cur, &cur.ServiceProfile
	if _, err := PlanProfileChange(req); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "already has this profile") {
		t.Errorf("same profile: %v", err)
	}
	req.NewProfile = &ServiceProfile{DownloadRate: 10, UploadRate: 10, Priority: 9}
	if _, err := PlanProfileChange(req); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "profile.priority 9") {
		t.Errorf("bad profile: %v", err)
	}
}

// TestProfileRefusalNamesAFewSNMPServices: a refusal names the count and
// the first five SNMP-bound services, not all of them; taking a profile
// away is never refused (nothing to enforce).
func TestProfileRefusalNamesAFewSNMPServices(t *testing.T) {
	var services []ProfiledService
	for id := int64(1); id <= 8; id++ {
		services = append(services, ProfiledService{ServiceID: 10 + id, State: StateActive, Method: MethodSNMP})
	}
	req := ProfileChangeRequest{Plan: Plan{ID: 1, Name: "Copper 20"}, NewProfile: &ServiceProfile{DownloadRate: 20_000_000, UploadRate: 2_000_000},
		Services: services, Now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	_, err := PlanProfileChange(req)
	if msg := ErrorMessage(err); ErrorCode(err) != EINVALID || !strings.Contains(msg, `plan "Copper 20" has 8 services bound with snmp`) ||
		!strings.Contains(msg, "(services 11, 12, 13, 14, 15 and 3 more)") || strings.Contains(msg, "16") {
		t.Errorf("refusal: %v", err)
	}
	req.Current, req.CurrentVersion, req.NewProfile = &EdgeProfile{Name: "copper-20.v1"}, 1, nil
	if _, err := PlanProfileChange(req); err != nil {
		t.Errorf("taking the profile away from a plan with SNMP services: %v", err)
	}
}

// TestSweepThrottlesForAThrottlingType: the same delinquent accounts are
// suspended by a blocking type and throttled by a throttling one, whose
// reason says how fast; the guard weighs throttles like suspensions.
func TestSweepThrottlesForAThrottlingType(t *testing.T) {
	today := mustDate("2026-12-22")
	for _, tc := range []struct {
		name   string
		action SuspendAction
		state  DesiredState
		reason string
	}{
		{"block", SuspendBlock, StateSuspended, "past its delinquency date 2026-12-22"},
		{"throttle", SuspendThrottle, StateThrottled, "past its delinquency date 2026-12-22; slowed to 1 Mbit/s until the balance is paid"},
	} {
		typ := resType()
		typ.SuspendAction, typ.ThrottleProfile = tc.action, oneMbit()
		rule, err := NewDateRule(typ)
		if err != nil {
			t.Fatal(err)
		}
		v := SweepVerdict(typ, rule, today, overdueStanding(1, AccountPastDue, 5000), Contact{Email: "x@example.com"})
		in := SweepInput{Type: typ, Today: today, Guard: SuspensionGuard{Disabled: true}, Verdicts: []Verdict{v},
			SuspendServices: []ServiceRef{{11, "pop-a", 1}}}
		p := PlanSweep(in)
		if len(p.ServiceChanges) != 1 || p.ServiceChanges[0].State != tc.state || !strings.HasSuffix(p.ServiceChanges[0].Reason, tc.reason) {
			t.Errorf("%s: service changes %+v, want %s ending %q", tc.name, p.ServiceChanges, tc.state, tc.reason)
		}
		// So do the subscriber's and the staff's why.
		sub := strings.Join(SubscriberWhy(v.Assessment.Reasons, ResolveLocale("", "", ""), today), " ")
		staff := strings.Join(StaffWhy(v.Assessment.Reasons), " ")
		if tc.state == StateThrottled && (!strings.Contains(sub, "Your service was slowed to 1 Mbit/s because the amount past due was not paid. To restore full speed") ||
			!strings.Contains(staff, "Services throttled to 1 Mbit/s automatically")) {
			t.Errorf("%s: subscriber why %q, staff why %q", tc.name, sub, staff)
		}
		if tc.state == StateSuspended && (!strings.Contains(sub, "Your service was suspended") || strings.Contains(sub, "slowed")) {
			t.Errorf("%s: subscriber why %q", tc.name, sub)
		}
		// The suspension notice says how fast a throttled service stays.
		wantSpeed := map[DesiredState]string{StateThrottled: "1 Mbit/s"}[tc.state]
		if len(p.Notices) != 1 || p.Notices[0].Kind != NoticeSuspended || p.Notices[0].Data.ThrottledTo != wantSpeed {
			t.Errorf("%s: notices %+v, want one suspension notice throttled to %q", tc.name, p.Notices, wantSpeed)
		}
		// The guard holds throttles as it holds suspensions: two over a
		// limit of one.
		in.SuspendServices = append(in.SuspendServices, ServiceRef{12, "pop-a", 1})
		in.Guard = SuspensionGuard{MinServices: 1, POPPercent: 0.1}
		in.Loads = map[string]POPLoad{"pop-a": {Active: 10}}
		if p := PlanSweep(in); p.Held != 1 || len(p.ServiceChanges) != 0 {
			t.Errorf("%s: the guard held %d accounts and let %d changes through", tc.name, p.Held, len(p.ServiceChanges))
		}

		// Approving a held batch does the same.
		ap := PlanApproval(ApprovalInput{Type: typ, Rule: rule, Today: today, BatchID: 3, By: "staff:ana",
			Standings: []Standing{overdueStanding(1, AccountDelinquent, 5000)}})
		cs := ap.ServiceChanges([]ServiceRef{{11, "pop-a", 1}})
		if len(cs) != 1 || cs[0].State != tc.state || !strings.Contains(cs[0].Reason, tc.reason) {
			t.Errorf("%s: approval changes %+v, want %s", tc.name, cs, tc.state)
		}
	}
}

// TestSettlementRestoresAThrottledService: a payment that meets the
// reactivation rule restores a throttled service to active (whose record
// then carries the plan's profile, see ProfileSourceFor).
func TestSettlementRestoresAThrottledService(t *testing.T) {
	typ := resType()
	typ.SuspendAction, typ.ThrottleProfile = SuspendThrottle, oneMbit()
	rule, err := NewDateRule(typ)
	if err != nil {
		t.Fatal(err)
	}
	s := overdueStanding(1, AccountSuspended, 0)
	s.Invoices = nil
	p := PlanSettlement(SettleInput{Type: typ, Rule: rule, Today: mustDate("2026-12-23"), Standing: s,
		Services: []ServiceRef{{11, "pop-a", 1}}, Cause: SettleCause{Kind: CausePayment, PaymentID: 9}})
	if len(p.ServiceChanges) != 1 || p.ServiceChanges[0].State != StateActive || ProfileSourceFor(p.ServiceChanges[0].State) != ProfileFromPlan {
		t.Fatalf("settlement service changes %+v, want the throttled service active with its plan's profile", p.ServiceChanges)
	}
}
