package web

import (
	"net/http"

	"github.com/convene/convene/web/apiv1"
)

// postRotation is POST /invite/rotation: facilitators only (403 forbidden
// otherwise, from the rules).
func (s *Server) postRotation(w http.ResponseWriter, r *http.Request) {
	var req apiv1.Rotate
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	ids, err := s.node.Rotate(r.Context(), req.As)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.Rotated{Invite: s.node.Invite().String(), Operations: ids})
}
