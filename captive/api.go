package captive

// MediaType is the content type of the RFC 8908 captive-portal API.
const MediaType = "application/captive+json"

// Status is the RFC 8908 captive-portal API document (section 5).
type Status struct {
	// Captive is true while the client is in a captive state: its service
	// is suspended and it can reach only the portal and the walled garden.
	Captive bool `json:"captive"`
	// UserPortalURL is where a person can act to leave the captive state.
	UserPortalURL string `json:"user-portal-url,omitempty"`
	// VenueInfoURL is informational: the ISP's own site.
	VenueInfoURL string `json:"venue-info-url,omitempty"`
	// CanExtendSession is false: paying, not the API, ends suspension.
	CanExtendSession bool `json:"can-extend-session"`
}
