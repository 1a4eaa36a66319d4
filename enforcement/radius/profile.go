package radius

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tollgate-isp/tollgate/enforcement"
	radiusproto "github.com/tollgate-isp/tollgate/radius"
)

// Vendor profiles: how a NAS is told to suspend and restore a session.
const (
	ProfileMikrotikAddressList = "mikrotik-address-list"
	ProfileMikrotikRateLimit   = "mikrotik-rate-limit"
	ProfileCiscoAVPair         = "cisco-avpair"
	ProfileJuniperERX          = "juniper-erx"
	ProfileFilterID            = "filter-id"
	ProfileDisconnect          = "disconnect"
)

// Profiles lists the vendor profiles.
var Profiles = []string{
	ProfileMikrotikAddressList, ProfileMikrotikRateLimit, ProfileCiscoAVPair,
	ProfileJuniperERX, ProfileFilterID, ProfileDisconnect,
}

// DefaultSuspendedName is the default address list, service name and
// Filter-Id of a suspended session.
const DefaultSuspendedName = "tollgate-suspended"

// ReplyAttr is one attribute of the authorize endpoint's answer, by its
// FreeRADIUS dictionary name.
type ReplyAttr struct {
	Attribute string `yaml:"attribute"`
	Value     string `yaml:"value"`
}

// action is what one operation sends to one session: CoA-Requests with
// these attribute sets, in order, or a Disconnect-Request.
type action struct {
	disconnect bool
	coas       [][]radiusproto.Attr
}

// profile is a NAS's vendor profile, resolved from its config.
type profile struct {
	name    string
	suspend action
	restore action
	// marker attributes: seen in accounting with these values, the session
	// is suspended; seen with other values, it is not (markerTypes).
	marker []radiusproto.Attr
	// reply is what the authorize endpoint returns for a suspended user.
	reply []radiusproto.Attr
}

func newProfile(c NASConfig) (*profile, error) {
	orDefault := func(v string) string {
		if v == "" {
			return DefaultSuspendedName
		}
		return v
	}
	p := &profile{name: c.Profile}
	switch c.Profile {
	case ProfileMikrotikAddressList:
		list := orDefault(c.AddressList)
		p.suspend.coas = [][]radiusproto.Attr{{radiusproto.Named("Mikrotik-Address-List", list)}}
		if c.ActiveAddressList != "" {
			p.restore.coas = [][]radiusproto.Attr{{radiusproto.Named("Mikrotik-Address-List", c.ActiveAddressList)}}
		} else {
			p.restore.disconnect = true
		}
		p.marker = []radiusproto.Attr{radiusproto.Named("Mikrotik-Address-List", list)}
		p.reply = p.marker
	case ProfileMikrotikRateLimit:
		rate := c.RateLimit
		if rate == "" {
			rate = "64k/64k"
		}
		p.suspend.coas = [][]radiusproto.Attr{{radiusproto.Named("Mikrotik-Rate-Limit", rate)}}
		if c.ActiveRateLimit != "" {
			p.restore.coas = [][]radiusproto.Attr{{radiusproto.Named("Mikrotik-Rate-Limit", c.ActiveRateLimit)}}
		} else {
			p.restore.disconnect = true
		}
		p.marker = []radiusproto.Attr{radiusproto.Named("Mikrotik-Rate-Limit", rate)}
		p.reply = p.marker
	case ProfileCiscoAVPair:
		// Cisco ISG: one service command per CoA-Request.
		svc := orDefault(c.SuspendedService)
		cmd := func(verb, service string) []radiusproto.Attr {
			return []radiusproto.Attr{
				radiusproto.Named("Cisco-AVPair", "subscriber:command="+verb+"-service"),
				radiusproto.Named("Cisco-AVPair", "subscriber:service-name="+service),
			}
		}
		if c.ActiveService != "" {
			p.suspend.coas = append(p.suspend.coas, cmd("deactivate", c.ActiveService))
		}
		p.suspend.coas = append(p.suspend.coas, cmd("activate", svc))
		p.restore.coas = append(p.restore.coas, cmd("deactivate", svc))
		if c.ActiveService != "" {
			p.restore.coas = append(p.restore.coas, cmd("activate", c.ActiveService))
		}
		p.marker = []radiusproto.Attr{radiusproto.Named("Cisco-AVPair", "subscriber:service-name="+svc)}
		// An ISG activates the services named in Cisco-Account-Info
		// "A<service>" of an Access-Accept (auto-service).
		p.reply = []radiusproto.Attr{radiusproto.Named("Cisco-Account-Info", "A"+svc)}
	case ProfileJuniperERX:
		svc := orDefault(c.SuspendedService)
		var s, r []radiusproto.Attr
		if c.ActiveService != "" {
			s = append(s, radiusproto.Named("ERX-Service-Deactivate", c.ActiveService))
		}
		s = append(s, radiusproto.Named("ERX-Service-Activate", svc))
		r = append(r, radiusproto.Named("ERX-Service-Deactivate", svc))
		if c.ActiveService != "" {
			r = append(r, radiusproto.Named("ERX-Service-Activate", c.ActiveService))
		}
		p.suspend.coas, p.restore.coas = [][]radiusproto.Attr{s}, [][]radiusproto.Attr{r}
		p.marker = []radiusproto.Attr{radiusproto.Named("ERX-Service-Activate", svc)}
		p.reply = p.marker
	case ProfileFilterID:
		f := orDefault(c.SuspendedFilter)
		p.suspend.coas = [][]radiusproto.Attr{{radiusproto.Named("Filter-Id", f)}}
		if c.ActiveFilter != "" {
			p.restore.coas = [][]radiusproto.Attr{{radiusproto.Named("Filter-Id", c.ActiveFilter)}}
		} else {
			p.restore.disconnect = true
		}
		p.marker = []radiusproto.Attr{radiusproto.Named("Filter-Id", f)}
		p.reply = p.marker
	case ProfileDisconnect:
		// Suspended sessions are cut; the reconnect is authorized with the
		// suspended reply (Filter-Id by default) by the authorize endpoint.
		p.suspend.disconnect = true
		p.restore.disconnect = true
		p.marker = []radiusproto.Attr{radiusproto.Named("Filter-Id", orDefault(c.SuspendedFilter))}
		p.reply = p.marker
	default:
		return nil, fmt.Errorf("profile %q is not one of %s", c.Profile, strings.Join(Profiles, ", "))
	}
	if len(c.AuthorizeReply) > 0 {
		p.reply = nil
		for _, r := range c.AuthorizeReply {
			a, ok := radiusproto.Lookup(r.Attribute)
			if !ok {
				return nil, fmt.Errorf("authorize_reply: attribute %q is not one of %s", r.Attribute, strings.Join(radiusproto.DictionaryNames(), ", "))
			}
			a.Value = r.Value
			p.reply = append(p.reply, a)
		}
		if c.Profile == ProfileDisconnect {
			p.marker = p.reply
		}
	}
	for _, as := range append(append(slices.Clone(p.suspend.coas), p.restore.coas...), p.reply) {
		for _, a := range as {
			if len(a.Value) == 0 || len(a.Value) > radiusproto.MaxVSAValue-1 {
				return nil, fmt.Errorf("%s value %q must be 1 to %d characters", radiusproto.AttrName(a), a.Value, radiusproto.MaxVSAValue-1)
			}
		}
	}
	return p, nil
}

// markerValue says whether value v of a marker attribute shows the
// suspended value want. Juniper services carry parameters in parentheses,
// Cisco AVPairs are matched whole.
func markerValue(m radiusproto.Attr, v string) bool {
	if m.Vendor == radiusproto.VendorJuniperERX {
		if i := strings.IndexByte(v, '('); i >= 0 {
			v = v[:i]
		}
		w := m.Value
		if i := strings.IndexByte(w, '('); i >= 0 {
			w = w[:i]
		}
		return v == w
	}
	return v == m.Value
}

// markerKey is the part of a marker's value that names what it sets: the
// key of a Cisco AVPair ("subscriber:service-name="), so that the other
// AVPairs of an accounting record say nothing about the state.
func markerKey(m radiusproto.Attr) string {
	if m.Vendor == radiusproto.VendorCisco {
		if i := strings.IndexByte(m.Value, '='); i >= 0 {
			return m.Value[:i+1]
		}
	}
	return ""
}

// classify reads a session's state from the attributes of an accounting
// record: suspended when it carries every marker with its suspended
// value; active when it carries a marker attribute but not with that
// value; nothing when it carries none (most NASes do not report these
// attributes at all).
func (p *profile) classify(attrs []radiusproto.Attr) (enforcement.State, bool) {
	seen, matched := false, 0
	for _, m := range p.marker {
		hit := false
		for _, a := range attrs {
			if !radiusproto.SameAttr(a, m) || !strings.HasPrefix(a.Value, markerKey(m)) {
				continue
			}
			seen = true
			if markerValue(m, a.Value) {
				hit = true
			}
		}
		if hit {
			matched++
		}
	}
	switch {
	case matched == len(p.marker) && matched > 0:
		return enforcement.Suspended, true
	case seen:
		return enforcement.Active, true
	}
	return "", false
}
