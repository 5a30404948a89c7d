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
)

// eventJSON is an event as the API shows it: every field present, even
// when empty, so that pages need not guess.
type eventJSON struct {
	ID           crdt.OpID          `json:"id"`
	Title        string             `json:"title"`
	Description  string             `json:"description"`
	Start        string             `json:"start"`
	End          string             `json:"end"`
	Timezone     string             `json:"timezone"`
	Place        *crdt.Place        `json:"place"`
	OnlineURL    string             `json:"online_url"`
	Group        *crdt.OpID         `json:"group"`
	Language     string             `json:"language"`
	Tags         []string           `json:"tags"`
	Capacity     int                `json:"capacity"`
	Status       string             `json:"status"`
	Going        int                `json:"going"`
	Maybe        int                `json:"maybe"`
	Waitlist     int                `json:"waitlist"`
	Creator      crdt.IdentityID    `json:"creator"`
	Participants []crdt.Participant `json:"participants"`
	Created      time.Time          `json:"created"`
	Modified     time.Time          `json:"modified"`
	Sequence     int                `json:"sequence"`
}

func toEventJSON(e crdt.Event) eventJSON {
	return eventJSON{
		ID:           e.ID,
		Title:        e.Title,
		Description:  e.Description,
		Start:        e.Start,
		End:          e.End,
		Timezone:     e.Timezone,
		Place:        e.Place,
		OnlineURL:    e.OnlineURL,
		Group:        e.Group,
		Language:     e.Language,
		Tags:         nonNil(e.Tags),
		Capacity:     e.Capacity,
		Status:       e.Status,
		Going:        e.Going,
		Maybe:        e.Maybe,
		Waitlist:     e.Waitlist,
		Creator:      e.Creator,
		Participants: nonNil(e.Participants),
		Created:      e.Created,
		Modified:     e.Modified,
		Sequence:     e.Sequence,
	}
}

func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) {
	var es []crdt.Event
	s.view(func(st *crdt.State) { es = st.Events() }) // by start, then creation
	out := make([]eventJSON, len(es))
	for i, e := range es {
		out[i] = toEventJSON(e)
	}
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
			writeError(w, http.StatusNotFound, codeNotFound, "no such event")
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
	var req struct {
		crdt.EventFields
		As *crdt.IdentityID `json:"as"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	body := &crdt.EventBody{EventFields: req.EventFields}
	body.Status = cmp.Or(body.Status, crdt.Confirmed)
	op, err := s.act(r.Context(), req.As, body)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.answerEvent(w, http.StatusCreated, op.ID)
}

func (s *Server) answerEvent(w http.ResponseWriter, status int, eid crdt.OpID) {
	var e crdt.Event
	var ok bool
	s.view(func(st *crdt.State) { e, ok = st.Event(eid) })
	if !ok {
		writeError(w, http.StatusNotFound, codeNotFound, "no such event")
		return
	}
	writeJSON(w, status, toEventJSON(e))
}

func (s *Server) patchEvent(w http.ResponseWriter, r *http.Request) {
	eid, err := pathID(r, "eid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req struct {
		crdt.EventPatch
		As *crdt.IdentityID `json:"as"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	p := req.EventPatch
	if p == (crdt.EventPatch{}) {
		s.writeErr(w, r, badRequest("nothing to change"))
		return
	}
	if _, err := s.act(r.Context(), req.As, &crdt.EventUpdateBody{Event: eid, Set: p}); err != nil {
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
	var req struct {
		Status string `json:"status"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if !s.isLocal(who) {
		writeError(w, http.StatusForbidden, codeForbidden, "only an identity held on this node can register here")
		return
	}
	out := struct {
		Status     string `json:"status"`
		Waitlisted bool   `json:"waitlisted"`
	}{}
	registration := func() {
		s.view(func(st *crdt.State) {
			e, _ := st.Event(eid)
			for _, p := range e.Participants {
				if p.Identity == who {
					out.Status, out.Waitlisted = p.Status, p.Waitlisted
				}
			}
		})
	}
	// Registering again with the same status makes no operation: a second
	// click on "going" must not move its author down the waitlist.
	registration()
	if out.Status != req.Status {
		if _, err := s.node.Act(r.Context(), who, &crdt.ParticipationBody{Event: eid, Status: req.Status}); err != nil {
			s.writeErr(w, r, err)
			return
		}
		out.Status = req.Status
		registration()
	}
	writeJSON(w, http.StatusOK, out)
}
