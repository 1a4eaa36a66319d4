package radius

import (
	"fmt"
	"strconv"
	"strings"
)

// RateProfile is a service's speed as the RADIUS renderers take it: rates
// in bits per second from the subscriber's point of view (download is
// towards the subscriber). It mirrors the controller's service profile
// without importing it (this package imports nothing of the controller);
// the caller copies the fields. Zero optional fields are "not set".
type RateProfile struct {
	DownloadRate, UploadRate                     int64
	DownloadBurstRate, UploadBurstRate           int64
	DownloadBurstThreshold, UploadBurstThreshold int64
	// BurstTime is in seconds, both directions.
	BurstTime int
	// Priority is 1 (highest) to 8; 0 is not set.
	Priority int
}

func (p RateProfile) hasBurst() bool { return p.DownloadBurstRate > 0 || p.UploadBurstRate > 0 }

// FormatRate writes a rate in bits per second the way RouterOS reads
// one: with the suffix M (1,000,000) or k (1,000) when the rate is a whole
// number of them, as a plain number otherwise. Negative rates are written
// as 0.
func FormatRate(bps int64) string {
	switch {
	case bps <= 0:
		return "0"
	case bps%1_000_000 == 0:
		return strconv.FormatInt(bps/1_000_000, 10) + "M"
	case bps%1_000 == 0:
		return strconv.FormatInt(bps/1_000, 10) + "k"
	}
	return strconv.FormatInt(bps, 10)
}

// MikrotikRateLimit renders p as the value of Mikrotik-Rate-Limit, in
// RouterOS's documented order:
//
//	rx-rate[/tx-rate] [rx-burst-rate[/tx-burst-rate] [rx-burst-threshold[/tx-burst-threshold] [rx-burst-time[/tx-burst-time] [priority] [rx-rate-min[/tx-rate-min]]]]
//
// "from the point of view of the router (so "rx" is client upload, and
// "tx" is client download)" — MikroTik's RADIUS client manual, Access-Accept
// attributes, Rate-Limit (https://help.mikrotik.com/docs/display/ROS/RADIUS;
// formerly https://wiki.mikrotik.com/wiki/Manual:RADIUS_Client). So every
// pair is upload/download. Both halves of a pair are always written.
//
// Fields are written up to the last one p sets (a threshold or burst time
// without a burst, meaningless to RouterOS, is written as given); a field
// before it that p leaves unset gets the value RouterOS documents as its default, written
// out: a burst rate of 0 (no burst in that direction); as threshold the
// direction's rate when it bursts (0 when it does not); a burst time of
// 1 s with a burst (0 without). Priority alone is "… 0/0 0/0 0/0 P".
// Minimum rates are not rendered (RouterOS then uses the rates).
// [ParseMikrotikRateLimit] reads the value back.
func MikrotikRateLimit(p RateProfile) string {
	pair := func(up, down string) string { return up + "/" + down }
	fields := []string{pair(FormatRate(p.UploadRate), FormatRate(p.DownloadRate))}
	last := 0
	if p.hasBurst() {
		last = 1
	}
	if p.UploadBurstThreshold > 0 || p.DownloadBurstThreshold > 0 {
		last = 2
	}
	if p.BurstTime > 0 {
		last = 3
	}
	if p.Priority > 0 {
		last = 4
	}
	if last >= 1 {
		fields = append(fields, pair(FormatRate(p.UploadBurstRate), FormatRate(p.DownloadBurstRate)))
	}
	if last >= 2 {
		threshold := func(set, rate, burst int64) string {
			switch {
			case set > 0:
				return FormatRate(set)
			case burst <= 0:
				return "0"
			}
			return FormatRate(rate)
		}
		fields = append(fields, pair(threshold(p.UploadBurstThreshold, p.UploadRate, p.UploadBurstRate),
			threshold(p.DownloadBurstThreshold, p.DownloadRate, p.DownloadBurstRate)))
	}
	if last >= 3 {
		t := "0"
		switch {
		case p.BurstTime > 0:
			t = strconv.Itoa(p.BurstTime)
		case p.hasBurst():
			t = "1"
		}
		fields = append(fields, pair(t, t))
	}
	if last >= 4 {
		fields = append(fields, strconv.Itoa(p.Priority))
	}
	return strings.Join(fields, " ")
}

// MikrotikRateLimitAttr is the Mikrotik-Rate-Limit attribute (vendor
// 14988, type 8) carrying [MikrotikRateLimit] of p.
func MikrotikRateLimitAttr(p RateProfile) Attr {
	return Named("Mikrotik-Rate-Limit", MikrotikRateLimit(p))
}

// checkName refuses a router-side service, policy or filter name that
// would change the meaning of the attribute it is rendered into.
func checkName(what, name string) error {
	if name == "" {
		return fmt.Errorf("%s: a name is required", what)
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("=,();\"", r) {
			return fmt.Errorf("%s %q: %q is not allowed in the name", what, name, r)
		}
	}
	return nil
}

// CiscoServiceCommand is the pair of Cisco-AVPair attributes (vendor 9,
// type 1) by which a Cisco ISG activates or deactivates a service defined
// on the router or the RADIUS server for one session, in a CoA-Request:
// subscriber:command=activate-service (or deactivate-service) and
// subscriber:service-name=<service>. Cisco ISG sends one service command
// per CoA-Request. activate false deactivates.
func CiscoServiceCommand(activate bool, service string) ([]Attr, error) {
	if err := checkName("cisco service", service); err != nil {
		return nil, err
	}
	verb := "deactivate"
	if activate {
		verb = "activate"
	}
	return []Attr{
		Named("Cisco-AVPair", "subscriber:command="+verb+"-service"),
		Named("Cisco-AVPair", "subscriber:service-name="+service),
	}, nil
}

// CiscoQoSPolicies are the Cisco-AVPair attributes that apply the QoS
// policy maps named policyIn (the session's input: the subscriber's
// upload) and policyOut (its output: the subscriber's download), defined
// on the router: ip:sub-qos-policy-in=<policy> and
// ip:sub-qos-policy-out=<policy> (Cisco per-session QoS). An empty name
// leaves that direction out; both empty is an error.
func CiscoQoSPolicies(policyIn, policyOut string) ([]Attr, error) {
	if policyIn == "" && policyOut == "" {
		return nil, fmt.Errorf("cisco qos policies: neither an input nor an output policy is named")
	}
	var out []Attr
	for _, d := range []struct{ dir, name string }{{"in", policyIn}, {"out", policyOut}} {
		if d.name == "" {
			continue
		}
		if err := checkName("cisco qos policy "+d.dir, d.name); err != nil {
			return nil, err
		}
		out = append(out, Named("Cisco-AVPair", "ip:sub-qos-policy-"+d.dir+"="+d.name))
	}
	return out, nil
}

// JuniperServiceActivate is the ERX-Service-Activate attribute (vendor
// 4874, type 65, tag 1) that activates service with p's sustained rates as
// its parameters, in bits per second, upload first:
// "<service>(<upload>,<download>)". The service's dynamic profile on the
// router declares its two rate variables in that order (deploy/ documents
// it).
func JuniperServiceActivate(service string, p RateProfile) (Attr, error) {
	if err := checkName("juniper service", service); err != nil {
		return Attr{}, err
	}
	if p.UploadRate <= 0 || p.DownloadRate <= 0 {
		return Attr{}, fmt.Errorf("juniper service %q: rates %d/%d must be positive", service, p.UploadRate, p.DownloadRate)
	}
	return Named("ERX-Service-Activate", fmt.Sprintf("%s(%d,%d)", service, p.UploadRate, p.DownloadRate)), nil
}

// JuniperServiceDeactivate is the ERX-Service-Deactivate attribute
// (vendor 4874, type 66) for service: deactivation takes the name alone.
func JuniperServiceDeactivate(service string) (Attr, error) {
	if err := checkName("juniper service", service); err != nil {
		return Attr{}, err
	}
	return Named("ERX-Service-Deactivate", service), nil
}

// FilterIDAttr is the standard Filter-Id attribute (RFC 2865 §5.11, type
// 11) naming a filter or profile configured on the NAS.
func FilterIDAttr(filter string) (Attr, error) {
	if err := checkName("filter-id", filter); err != nil {
		return Attr{}, err
	}
	return Named("Filter-Id", filter), nil
}

// ParseMikrotikRateLimit reads a Mikrotik-Rate-Limit value (as written by
// [MikrotikRateLimit], by hand in a NAS profile, or echoed by a NAS) into
// a RateProfile, every pair upload (rx) first. As RouterOS reads it: a
// pair with one value applies it to both directions; rates are numbers
// with an optional k (1,000) or M (1,000,000); burst times are seconds,
// with or without "s". Fields left out stay unset (0), which is what
// RouterOS's defaults mean; an explicit 0 reads as 0.
//
// It refuses what a RateProfile cannot hold: minimum rates (the sixth
// field), different upload and download burst times, a priority outside
// 1–8, and anything malformed.
func ParseMikrotikRateLimit(s string) (RateProfile, error) {
	var p RateProfile
	fields := strings.Fields(s)
	switch {
	case len(fields) == 0:
		return p, fmt.Errorf("mikrotik rate limit %q: empty", s)
	case len(fields) > 5:
		return p, fmt.Errorf("mikrotik rate limit %q: minimum rates (the sixth field) are not supported", s)
	}
	ratePair := func(i int, up, down *int64) error {
		u, d, two := strings.Cut(fields[i], "/")
		if !two {
			d = u
		}
		var err error
		if *up, err = parseRouterOSRate(u); err == nil {
			*down, err = parseRouterOSRate(d)
		}
		if err != nil {
			return fmt.Errorf("mikrotik rate limit %q: field %d %q: %w", s, i+1, fields[i], err)
		}
		return nil
	}
	targets := [][2]*int64{{&p.UploadRate, &p.DownloadRate}, {&p.UploadBurstRate, &p.DownloadBurstRate},
		{&p.UploadBurstThreshold, &p.DownloadBurstThreshold}}
	for i := 0; i < len(fields) && i < len(targets); i++ {
		if err := ratePair(i, targets[i][0], targets[i][1]); err != nil {
			return RateProfile{}, err
		}
	}
	if len(fields) > 3 {
		u, d, two := strings.Cut(fields[3], "/")
		if !two {
			d = u
		}
		up, err1 := parseSecondsValue(u)
		down, err2 := parseSecondsValue(d)
		switch {
		case err1 != nil || err2 != nil:
			return RateProfile{}, fmt.Errorf("mikrotik rate limit %q: burst time %q is not seconds", s, fields[3])
		case up != down:
			return RateProfile{}, fmt.Errorf("mikrotik rate limit %q: different upload and download burst times are not supported", s)
		}
		p.BurstTime = up
	}
	if len(fields) > 4 {
		n, err := strconv.Atoi(fields[4])
		if err != nil || n < 1 || n > 8 {
			return RateProfile{}, fmt.Errorf("mikrotik rate limit %q: priority %q is not 1-8", s, fields[4])
		}
		p.Priority = n
	}
	return p, nil
}

// maxParsedRate bounds a parsed rate: 1 Tbit/s, far above any profile.
const maxParsedRate = 1_000_000_000_000

// parseRouterOSRate reads one rate: digits with an optional k or M.
func parseRouterOSRate(v string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(v, "k"):
		mult, v = 1_000, strings.TrimSuffix(v, "k")
	case strings.HasSuffix(v, "M"):
		mult, v = 1_000_000, strings.TrimSuffix(v, "M")
	}
	if v == "" || strings.TrimLeft(v, "0123456789") != "" || len(v) > 13 {
		return 0, fmt.Errorf("not a rate (digits with an optional k or M)")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n*mult > maxParsedRate {
		return 0, fmt.Errorf("rate out of range")
	}
	return n * mult, nil
}

// parseSecondsValue reads a burst time: whole seconds, optionally
// followed by "s", at most a day.
func parseSecondsValue(v string) (int, error) {
	v = strings.TrimSuffix(v, "s")
	if v == "" || strings.TrimLeft(v, "0123456789") != "" || len(v) > 5 {
		return 0, fmt.Errorf("not seconds")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n > 86400 {
		return 0, fmt.Errorf("not seconds")
	}
	return n, nil
}
