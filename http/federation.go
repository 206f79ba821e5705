package http

import (
	"net/http"
	"strings"

	"healthcode"
)

// PeerStatusJSON is the answer of POST /api/v1/peer-status: what the
// region that issued a traveller's code says of their colour, and whether
// this region honours it. Never the reason: a checkpoint learns nothing
// medical.
type PeerStatusJSON struct {
	Region     string `json:"region"`
	RegionName string `json:"region_name"`
	Colour     string `json:"colour"`
	Outcome    string `json:"outcome"`
	Honoured   bool   `json:"honoured"`
}

// federationRoutes are the endpoints of cross-region status: a checkpoint,
// sampling site or clinic of this region asks, through its node, the region
// that issued a traveller's code.
func (s *Server) federationRoutes() []route {
	return []route{
		{Method: "POST", Path: "/api/v1/peer-status", Roles: []healthcode.Role{healthcode.RoleVerifier, healthcode.RoleSampler, healthcode.RoleClinic}, h: s.peerStatus},
	}
}

func (s *Server) peerStatus(w http.ResponseWriter, r *http.Request, _ *healthcode.Principal) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if s.Peers == nil {
		return healthcode.Errorfd(healthcode.ENOTFOUND, "federation.off", "this node knows no other region (no trust list)")
	}
	st, err := s.Peers.PeerStatus(r.Context(), strings.TrimSpace(req.Code))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, PeerStatusJSON{Region: st.Region, RegionName: st.RegionName, Colour: st.Colour.String(),
		Outcome: st.Outcome, Honoured: st.Honoured()})
}
