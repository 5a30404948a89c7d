package web

import (
	"context"
	"net/http"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/web/apiv1"
)

// How a gathering governs itself: members, removals, the gathering's name
// and seating, seats and flags of backdating. The rules are the node's and
// crdt's; these decode, call and encode.

func (s *Server) getMembers(w http.ResponseWriter, r *http.Request) {
	var out []apiv1.Member
	s.view(func(st *crdt.State) { out = st.Members() })
	writeJSON(w, http.StatusOK, nonNil(out))
}

// getHidden is GET /hidden: everything hidden now, of every kind (the
// facilitator's list).
func (s *Server) getHidden(w http.ResponseWriter, r *http.Request) {
	var out []apiv1.HiddenItem
	s.view(func(st *crdt.State) { out = st.Hidden() })
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (s *Server) postRemoval(w http.ResponseWriter, r *http.Request) {
	var req apiv1.Remove
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if req.Rotate {
		ops, rots, err := s.node.RemoveAndRotate(r.Context(), req.As, req.Identity, req.Reason)
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		out := apiv1.Removed{Removals: make([]crdt.OpID, len(ops)), Rotations: rots, Invite: s.node.Invite().String()}
		for i, o := range ops {
			out.Removals[i] = o.ID
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if _, err := s.node.Remove(r.Context(), req.As, req.Identity, req.Reason); err != nil {
		s.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) gathering(g crdt.Gathering) apiv1.Gathering {
	return apiv1.Gathering{ID: s.node.Gathering(), Name: g.Name, Seating: g.Seating}
}

func (s *Server) getGathering(w http.ResponseWriter, r *http.Request) {
	var g crdt.Gathering
	s.view(func(st *crdt.State) { g = st.Gathering() })
	writeJSON(w, http.StatusOK, s.gathering(g))
}

func (s *Server) patchGathering(w http.ResponseWriter, r *http.Request) {
	var req apiv1.UpdateGathering
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	g, err := s.node.SetGathering(r.Context(), req.As, req.Name, req.Seating)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.gathering(g))
}

func (s *Server) putSeat(w http.ResponseWriter, r *http.Request)    { s.seat(w, r, true) }
func (s *Server) deleteSeat(w http.ResponseWriter, r *http.Request) { s.seat(w, r, false) }

func (s *Server) seat(w http.ResponseWriter, r *http.Request, seated bool) {
	s.actOn(w, r, "gid", func(ctx context.Context, as *crdt.IdentityID, gid crdt.OpID) error {
		return s.node.Seat(ctx, as, gid, seated)
	})
}

// actOn answers a PUT or DELETE without a body on the id in path parameter
// param, acting as ?as=: 204 once act succeeds.
func (s *Server) actOn(w http.ResponseWriter, r *http.Request, param string, act func(ctx context.Context, as *crdt.IdentityID, id crdt.OpID) error) {
	id, err := pathID(r, param)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	as, err := queryAs(r)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if err := act(r.Context(), as, id); err != nil {
		s.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getFlags(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, nonNil(s.node.Flags()))
}
