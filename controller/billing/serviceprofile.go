package billing

import (
	"strings"
	"unicode/utf8"
)

// ServiceProfile is the speed a plan sells, as the edge enforces it: the
// rates the subscriber may use, optional bursts above them, a priority,
// and per-vendor overrides for NASes that enforce a named service or
// policy configured on the router instead of raw numbers.
//
// Directions are the subscriber's: download is towards the subscriber,
// upload from them. (A MikroTik "rx" is the router's receive, so the
// subscriber's upload; the renderers in radius/ and the RouterOS driver
// map the directions, this type does not.)
//
// Rates are bits per second. Zero optional fields mean "not set" and take
// the default their doc comment states. [ServiceProfile.Validate] checks
// a profile before it is stored.
//
// Issue 17 (plans carry speed) wires this through the plan, the outbox and
// the agent; this type is the domain's vocabulary for it.
type ServiceProfile struct {
	// DownloadRate is the sustained rate towards the subscriber, bits per
	// second. Required: no default (1 – 100 Gbit/s).
	DownloadRate int64 `json:"download_rate" minimum:"1" maximum:"100000000000"`
	// UploadRate is the sustained rate from the subscriber, bits per
	// second. Required: no default (1 – 100 Gbit/s).
	UploadRate int64 `json:"upload_rate" minimum:"1" maximum:"100000000000"`
	// DownloadBurstRate is the rate towards the subscriber allowed while a
	// burst lasts, bits per second. Default 0: no download burst. When
	// set, at least DownloadRate.
	DownloadBurstRate int64 `json:"download_burst_rate,omitempty" minimum:"0" maximum:"100000000000"`
	// UploadBurstRate is the upload rate allowed while a burst lasts, bits
	// per second. Default 0: no upload burst. When set, at least
	// UploadRate.
	UploadBurstRate int64 `json:"upload_burst_rate,omitempty" minimum:"0" maximum:"100000000000"`
	// DownloadBurstThreshold: a download burst is allowed while the
	// average rate over BurstTime stays below it, bits per second. Default
	// 0: the router's own default (RouterOS uses DownloadRate). Only with a
	// download burst; at most DownloadBurstRate.
	DownloadBurstThreshold int64 `json:"download_burst_threshold,omitempty" minimum:"0" maximum:"100000000000"`
	// UploadBurstThreshold is DownloadBurstThreshold for upload. Default
	// 0: the router's own default (RouterOS uses UploadRate). Only with an
	// upload burst; at most UploadBurstRate.
	UploadBurstThreshold int64 `json:"upload_burst_threshold,omitempty" minimum:"0" maximum:"100000000000"`
	// BurstTime is the window, in seconds, over which the average rate is
	// compared with the burst threshold, both directions. Default 0: the
	// router's own default (RouterOS: 1 s). Only with a burst; at most
	// 3600.
	BurstTime int `json:"burst_time,omitempty" minimum:"0" maximum:"3600"`
	// Priority orders this profile's traffic against others on the same
	// parent, 1 (highest) to 8 (lowest), as RouterOS counts. Default 0:
	// not set, which routers treat as 8.
	Priority int `json:"priority,omitempty" minimum:"0" maximum:"8"`
	// Vendor holds per-vendor overrides: names of services or policies
	// configured on the NAS that enforce this profile there. Default: none
	// (every vendor gets the rates above).
	Vendor VendorOverrides `json:"vendor,omitzero"`
}

// VendorOverrides names, per NAS vendor, what enforces a profile on
// routers that apply a service or policy defined on the router rather
// than rates sent to them. Every field is optional; an empty one means the
// vendor gets the profile's rates (where it can take rates) or nothing.
type VendorOverrides struct {
	// CiscoService is the Cisco ISG service activated for the profile
	// (subscriber:command=activate-service, subscriber:service-name=…).
	// Default "": no service activation.
	CiscoService string `json:"cisco_service,omitempty" maxLength:"64"`
	// CiscoPolicyIn and CiscoPolicyOut name the QoS policy maps applied
	// to the session's input (subscriber upload) and output (subscriber
	// download), ip:sub-qos-policy-in / -out. Default "": none.
	CiscoPolicyIn  string `json:"cisco_policy_in,omitempty" maxLength:"64"`
	CiscoPolicyOut string `json:"cisco_policy_out,omitempty" maxLength:"64"`
	// JuniperService is the Juniper (ERX/Junos) service activated with
	// ERX-Service-Activate; it is sent with the profile's rates as
	// parameters, name(upload,download). Default "": no service activation.
	JuniperService string `json:"juniper_service,omitempty" maxLength:"64"`
	// FilterID is the generic RADIUS Filter-Id naming a filter or profile
	// configured on the NAS. Default "": no Filter-Id.
	FilterID string `json:"filter_id,omitempty" maxLength:"64"`
}

// Limits of a [ServiceProfile].
const (
	// MaxProfileRate is the highest rate a profile may carry: 100 Gbit/s.
	// Anything above is a typo (a rate typed in bytes, or with three zeros
	// too many), not a plan.
	MaxProfileRate int64 = 100_000_000_000
	// MaxProfileBurstTime is the longest burst window, seconds.
	MaxProfileBurstTime = 3600
	// MaxProfilePriority is the lowest priority (RouterOS's 8).
	MaxProfilePriority = 8
	// maxVendorName is the longest vendor service, policy or filter name.
	maxVendorName = 64
)

// Validate checks the profile and trims its vendor names.
//
// Errors: EINVALID naming the field: a missing (zero) or negative rate, a
// rate above 100 Gbit/s, a burst rate below its rate, a burst threshold
// without a burst or above the burst rate, a burst time without a burst or
// outside 0–3600 s, a priority outside 1–8, a vendor name that is too
// long or holds characters a RADIUS attribute or router name cannot carry
// (control characters, spaces, commas, parentheses, '=').
func (p *ServiceProfile) Validate() error {
	for _, r := range []struct {
		field string
		v     int64
	}{{"download_rate", p.DownloadRate}, {"upload_rate", p.UploadRate}} {
		if r.v <= 0 {
			return Errorf(EINVALID, "%s %d must be a positive rate in bits per second", r.field, r.v)
		}
		if r.v > MaxProfileRate {
			return Errorf(EINVALID, "%s %d is above %d (100 Gbit/s); rates are bits per second", r.field, r.v, MaxProfileRate)
		}
	}
	for _, d := range []struct {
		dir                    string
		rate, burst, threshold int64
	}{
		{"download", p.DownloadRate, p.DownloadBurstRate, p.DownloadBurstThreshold},
		{"upload", p.UploadRate, p.UploadBurstRate, p.UploadBurstThreshold},
	} {
		switch {
		case d.burst < 0:
			return Errorf(EINVALID, "%s_burst_rate %d must not be negative (0: no burst)", d.dir, d.burst)
		case d.burst > MaxProfileRate:
			return Errorf(EINVALID, "%s_burst_rate %d is above %d (100 Gbit/s); rates are bits per second", d.dir, d.burst, MaxProfileRate)
		case d.burst != 0 && d.burst < d.rate:
			return Errorf(EINVALID, "%s_burst_rate %d is below %s_rate %d: a burst must be at least the rate", d.dir, d.burst, d.dir, d.rate)
		case d.threshold < 0:
			return Errorf(EINVALID, "%s_burst_threshold %d must not be negative (0: the router's default)", d.dir, d.threshold)
		case d.threshold != 0 && d.burst == 0:
			return Errorf(EINVALID, "%s_burst_threshold %d is set but %s_burst_rate is not", d.dir, d.threshold, d.dir)
		case d.threshold > d.burst:
			return Errorf(EINVALID, "%s_burst_threshold %d is above %s_burst_rate %d: the burst could never start", d.dir, d.threshold, d.dir, d.burst)
		}
	}
	hasBurst := p.DownloadBurstRate != 0 || p.UploadBurstRate != 0
	switch {
	case p.BurstTime < 0 || p.BurstTime > MaxProfileBurstTime:
		return Errorf(EINVALID, "burst_time %d is out of range 0-%d seconds", p.BurstTime, MaxProfileBurstTime)
	case p.BurstTime != 0 && !hasBurst:
		return Errorf(EINVALID, "burst_time %d is set but neither download_burst_rate nor upload_burst_rate is", p.BurstTime)
	}
	if p.Priority < 0 || p.Priority > MaxProfilePriority {
		return Errorf(EINVALID, "priority %d is out of range 1-%d (1 is the highest)", p.Priority, MaxProfilePriority)
	}
	return p.Vendor.validate()
}

func (v *VendorOverrides) validate() error {
	for _, f := range []struct {
		field string
		v     *string
	}{
		{"vendor.cisco_service", &v.CiscoService}, {"vendor.cisco_policy_in", &v.CiscoPolicyIn},
		{"vendor.cisco_policy_out", &v.CiscoPolicyOut}, {"vendor.juniper_service", &v.JuniperService},
		{"vendor.filter_id", &v.FilterID},
	} {
		s := strings.TrimSpace(*f.v)
		if n := utf8.RuneCountInString(s); n > maxVendorName {
			return Errorf(EINVALID, "%s is %d characters long; at most %d are allowed", f.field, n, maxVendorName)
		}
		if i := strings.IndexFunc(s, badVendorNameRune); i >= 0 {
			return Errorf(EINVALID, "%s %q: %q is not allowed in a router's service or policy name", f.field, s, []rune(s[i:])[0])
		}
		*f.v = s
	}
	return nil
}

// badVendorNameRune reports the characters a vendor name may not hold:
// they would change the meaning of the attribute it is rendered into
// (Cisco's "key=value", Juniper's "name(a,b)") or are not printable.
func badVendorNameRune(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '=' || r == ',' || r == '(' || r == ')' || r == ';' || r == '"' ||
		!utf8.ValidRune(r) || r == utf8.RuneError
}
