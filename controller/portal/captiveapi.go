package portal

import (
	"encoding/json"
	"net/http"

	"github.com/tollgate-isp/tollgate/captive"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// captiveAPI serves the RFC 8908 captive-portal API for the client's
// address: captive while the service bound to it is suspended, with a
// user-portal-url that signs the subscriber in (a fresh captive token).
// An address Tollgate does not know is not captive. Announce the URL
// (PublicURL + "/captive-portal/api") with DHCP option 114 or the IPv6 RA
// option of RFC 8910.
func (s *Server) captiveAPI(w http.ResponseWriter, r *http.Request) {
	st := captive.Status{VenueInfoURL: s.cfg.VenueInfoURL}
	addr := s.clientAddr(r)
	if addr.IsValid() {
		svc, err := s.captive.ServiceByAddress(r.Context(), addr.String())
		switch {
		case err == nil && svc.DesiredState.LosesService() && svc.AccountID != nil:
			st.Captive = true
			st.UserPortalURL = s.PublicURL() + "/"
			if tok, err := captive.Mint(s.CaptiveKey(svc.POP), svc.ID, s.wall.Now().Add(TokenTTL)); err == nil {
				st.UserPortalURL = s.PublicURL() + "/c/" + tok
			}
		case err != nil && billing.ErrorCode(err) != billing.ENOTFOUND:
			s.log.Error("portal: captive API lookup", "err", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", captive.MediaType)
	h.Set("Cache-Control", "private, no-store")
	_ = json.NewEncoder(w).Encode(st)
}
