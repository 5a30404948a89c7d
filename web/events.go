package web

import (
	"bytes"
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/export"
	"github.com/convene/convene/web/apiv1"
)

func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) {
	var out []apiv1.Event
	s.view(func(st *crdt.State) {
		es := st.Events() // by start, then creation
		out = make([]apiv1.Event, len(es))
		for i, e := range es {
			out[i] = apiv1.EventOf(e, identityName(st))
		}
	})
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("eid")
	ics := false
	if trimmed, ok := strings.CutSuffix(raw, ".ics"); ok {
		raw, ics = trimmed, true
	}
	eid, err := crdt.ParseOpID(raw)
	if err != nil {
		s.writeErr(w, r, badRequest("eid in the path: %v", err))
		return
	}
	if ics {
		s.serveICS(w, r, &eid)
		return
	}
	s.answerEvent(w, http.StatusOK, eid)
}

func (s *Server) getEventsICS(w http.ResponseWriter, r *http.Request) { s.serveICS(w, r, nil) }

// serveICS answers the events, or only one, as iCalendar, built by the same
// code as `convene export --format ics`. Event links point at the address
// the request came to, so a phone on the public address gets links it can
// open.
func (s *Server) serveICS(w http.ResponseWriter, r *http.Request, only *crdt.OpID) {
	opt := export.Options{
		Gathering: s.node.Keys().Gathering,
		Events:    true,
		Generated: time.Now(),
		BaseURL:   "http://" + r.Host,
	}
	var x export.Export
	var err error
	s.view(func(st *crdt.State) { x, err = export.Collect(st, opt) })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	filename := "events.ics"
	if only != nil {
		x.Events = slices.DeleteFunc(x.Events, func(e crdt.Event) bool { return e.ID != *only })
		if len(x.Events) == 0 {
			writeError(w, http.StatusNotFound, apiv1.CodeNotFound, "no such event")
			return
		}
		filename = only.String() + ".ics"
	}
	var buf bytes.Buffer
	if err := export.ICS(&buf, x); err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) {
	var req apiv1.CreateEvent
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	body := &crdt.EventBody{EventFields: req.EventFields}
	body.Status = cmp.Or(body.Status, crdt.Confirmed)
	op, err := s.node.ActAs(r.Context(), req.As, body)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.answerEvent(w, http.StatusCreated, op.ID)
}

func (s *Server) answerEvent(w http.ResponseWriter, status int, eid crdt.OpID) {
	var out apiv1.Event
	var ok bool
	s.view(func(st *crdt.State) {
		var e crdt.Event
		if e, ok = st.Event(eid); ok {
			out = apiv1.EventOf(e, identityName(st))
		}
	})
	if !ok {
		writeError(w, http.StatusNotFound, apiv1.CodeNotFound, "no such event")
		return
	}
	writeJSON(w, status, out)
}

// identityName is an identity's name in st: "" when it is hidden or never
// named itself.
func identityName(st *crdt.State) func(crdt.IdentityID) string {
	return func(id crdt.IdentityID) string {
		i, _ := st.Identity(id)
		return i.Name
	}
}

func (s *Server) patchEvent(w http.ResponseWriter, r *http.Request) {
	eid, err := pathID(r, "eid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req apiv1.UpdateEvent
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	p := req.EventPatch
	if p == (crdt.EventPatch{}) {
		s.writeErr(w, r, badRequest("nothing to change"))
		return
	}
	if _, err := s.node.ActAs(r.Context(), req.As, &crdt.EventUpdateBody{Event: eid, Set: p}); err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.answerEvent(w, http.StatusOK, eid)
}

func (s *Server) putParticipant(w http.ResponseWriter, r *http.Request) {
	eid, err := pathID(r, "eid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	who, err := pathIdentity(r, "identity")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req apiv1.Register
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	reg, err := s.node.Register(r.Context(), who, eid, req.Status)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.Registration{Status: reg.Status, Waitlisted: reg.Waitlisted})
}
