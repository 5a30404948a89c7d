package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/web/apiv1"
)

// route is one API endpoint. Public routes are also served, read-only, by
// the public handler.
type route struct {
	method  string
	path    string // below APIPrefix
	handler http.HandlerFunc
	public  bool
}

func (s *Server) routes() []route {
	return []route{
		{"GET", "/status", s.getStatus, false},
		{"GET", "/peers", s.getPeers, false},

		{"GET", "/identities", s.getIdentities, false},
		{"POST", "/identities", s.postIdentity, false},
		{"GET", "/identities/{id}", s.getIdentity, false},
		{"PATCH", "/identities/{id}", s.patchIdentity, false},
		{"POST", "/facilitators", s.postFacilitator, false},
		{"POST", "/invite/rotation", s.postRotation, false},

		{"GET", "/sessions", s.getSessions, true},
		{"POST", "/sessions", s.postSession, false},
		{"GET", "/sessions/{sid}", s.getSession, true},
		{"PATCH", "/sessions/{sid}", s.patchSession, false},
		{"GET", "/sessions/{sid}/document", s.getDocument, true},
		{"POST", "/sessions/{sid}/proposals", s.postProposal, false},
		{"POST", "/sessions/{sid}/phase", s.postPhase, false},
		{"POST", "/sessions/{sid}/ratification", s.postRatification, false},
		{"GET", "/sessions/{sid}/ratified", s.getRatified, true},
		{"POST", "/sessions/{sid}/imports", s.postImports, false},

		{"GET", "/groups", s.getGroups, true},
		{"POST", "/groups", s.postGroup, false},
		{"GET", "/groups/{gid}", s.getGroup, true},
		{"POST", "/groups/{gid}/scribes", s.postScribe, false},

		{"GET", "/proposals/{pid}", s.getProposal, false},
		{"GET", "/proposals/{pid}/revisions", s.getRevisions, false},
		{"POST", "/proposals/{pid}/revisions", s.postRevision, false},
		{"PUT", "/proposals/{pid}/endorsements/{gid}", s.putEndorsement, false},
		{"DELETE", "/proposals/{pid}/endorsements/{gid}", s.deleteEndorsement, false},
		{"GET", "/proposals/{pid}/comments", s.getComments, false},
		{"POST", "/proposals/{pid}/comments", s.postComment, false},
		{"POST", "/proposals/{pid}/translations", s.postTranslation, false},

		{"GET", "/hidden", s.getHidden, false},
		{"PUT", "/hidden/{id}", s.putHidden, false},
		{"DELETE", "/hidden/{id}", s.deleteHidden, false},

		{"GET", "/members", s.getMembers, false},
		{"POST", "/removals", s.postRemoval, false},
		{"GET", "/gathering", s.getGathering, false},
		{"PATCH", "/gathering", s.patchGathering, false},
		{"PUT", "/groups/{gid}/seat", s.putSeat, false},
		{"DELETE", "/groups/{gid}/seat", s.deleteSeat, false},
		{"GET", "/flags", s.getFlags, false},

		{"GET", "/events", s.getEvents, true},
		{"POST", "/events", s.postEvent, false},
		{"GET", "/events.ics", s.getEventsICS, true},
		{"GET", "/events/{eid}", s.getEvent, true},
		{"PATCH", "/events/{eid}", s.patchEvent, false},
		{"PUT", "/events/{eid}/participants/{identity}", s.putParticipant, false},

		{"GET", "/export", s.getExport, false},
		{"POST", "/import", s.postImport, false},

		{"GET", "/stream", s.getStream, true},
	}
}

// apiMux routes the API. A known path with a method it does not serve gets
// 405 with Allow; an unknown path 404; both as JSON.
func (s *Server) apiMux(publicOnly bool) *http.ServeMux {
	mux := http.NewServeMux()
	allow := map[string][]string{}
	var paths []string
	for _, rt := range s.routes() {
		if publicOnly && !rt.public {
			continue
		}
		p := APIPrefix + rt.path
		mux.HandleFunc(rt.method+" "+p, rt.handler)
		if _, ok := allow[p]; !ok {
			paths = append(paths, p)
		}
		allow[p] = append(allow[p], rt.method)
	}
	for _, p := range paths {
		methods := allow[p]
		if slices.Contains(methods, "GET") {
			methods = append(methods, "HEAD")
		}
		allowed := strings.Join(methods, ", ")
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allowed)
			writeError(w, http.StatusMethodNotAllowed, apiv1.CodeMethodNotAllowed, r.Method+" is not allowed here; allowed: "+allowed)
		})
	}
	mux.HandleFunc(APIPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, apiv1.CodeNotFound, "no such API endpoint")
	})
	return mux
}

// view runs fn under the node's read lock.
func (s *Server) view(fn func(st *crdt.State)) { s.node.View(fn) }

// serveView answers a GET of one thing named by the id in path parameter
// param: 400 for a malformed id, 404 when get finds nothing, else get's
// value as JSON. get runs under the node's read lock.
func serveView[T any](s *Server, w http.ResponseWriter, r *http.Request, param, what string, get func(st *crdt.State, id crdt.OpID) (T, bool)) {
	id, err := pathID(r, param)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var v T
	var ok bool
	s.view(func(st *crdt.State) { v, ok = get(st, id) })
	if !ok {
		writeError(w, http.StatusNotFound, apiv1.CodeNotFound, "no such "+what)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) isLocal(id crdt.IdentityID) bool {
	for _, li := range s.node.Identities() {
		if li.ID == id {
			return true
		}
	}
	return false
}

// --- status

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, apiv1.StatusOf(s.node.Status()))
}

func (s *Server) getPeers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, apiv1.PeersOf(s.node.Status().Peers))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// --- identities

type localIdentityJSON struct {
	ID          crdt.IdentityID `json:"id"`
	Name        string          `json:"name"`
	Default     bool            `json:"default"`
	Facilitator bool            `json:"facilitator"`
}

func (s *Server) getIdentities(w http.ResponseWriter, r *http.Request) {
	ids := s.node.Identities()
	out := make([]apiv1.LocalIdentity, len(ids))
	s.view(func(st *crdt.State) {
		for i, li := range ids {
			out[i] = apiv1.LocalIdentity{ID: li.ID, Name: li.Name, Default: li.Default, Facilitator: st.IsFacilitator(li.ID)}
		}
	})
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) postIdentity(w http.ResponseWriter, r *http.Request) {
	var req apiv1.CreateIdentity
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	li, err := s.node.CreateIdentity(r.Context(), req.Name)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apiv1.LocalIdentity{ID: li.ID, Name: li.Name, Default: li.Default})
}

// patchIdentity renames a local identity: its own naming operation, so
// every laptop shows the new name (docs/API.md).
func (s *Server) patchIdentity(w http.ResponseWriter, r *http.Request) {
	id, err := pathIdentity(r, "id")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req apiv1.RenameIdentity
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	li, err := s.node.RenameIdentity(r.Context(), id, req.Name)
	if errors.Is(err, node.ErrUnknownIdentity) {
		writeError(w, http.StatusNotFound, apiv1.CodeNotFound, "no local identity "+id.String()+": only the laptop that holds an identity's key can rename it")
		return
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var facil bool
	s.view(func(st *crdt.State) { facil = st.IsFacilitator(li.ID) })
	writeJSON(w, http.StatusOK, apiv1.LocalIdentity{ID: li.ID, Name: li.Name, Default: li.Default, Facilitator: facil})
}

func (s *Server) getIdentity(w http.ResponseWriter, r *http.Request) {
	id, err := pathIdentity(r, "id")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var ident crdt.Identity
	var ok bool
	s.view(func(st *crdt.State) { ident, ok = st.Identity(id) })
	if !ok {
		writeError(w, http.StatusNotFound, apiv1.CodeNotFound, "no such identity in this gathering")
		return
	}
	writeJSON(w, http.StatusOK, apiv1.Identity{Identity: ident, Local: s.isLocal(id)})
}

func (s *Server) postFacilitator(w http.ResponseWriter, r *http.Request) {
	var req apiv1.AddFacilitator
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if _, err := s.node.ActAs(r.Context(), req.As, &crdt.FacilitatorBody{Identity: req.Identity}); err != nil {
		s.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- sessions

func (s *Server) getSessions(w http.ResponseWriter, r *http.Request) {
	var out []crdt.Session
	s.view(func(st *crdt.State) { out = st.Sessions() })
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	serveView(s, w, r, "sid", "session", (*crdt.State).Session)
}

func (s *Server) postSession(w http.ResponseWriter, r *http.Request) {
	var req apiv1.CreateSession
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	body := &crdt.SessionBody{Title: req.Title, Prompt: req.Prompt, Cap: crdt.DefaultCap}
	if req.Cap != nil {
		body.Cap = *req.Cap
	}
	op, err := s.node.ActAs(r.Context(), req.As, body)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	sess := crdt.Session{ID: op.ID, Title: body.Title, Prompt: body.Prompt, Cap: body.Cap, Open: true}
	s.view(func(st *crdt.State) {
		if got, ok := st.Session(op.ID); ok {
			sess = got
		}
	})
	writeJSON(w, http.StatusCreated, sess)
}

func (s *Server) patchSession(w http.ResponseWriter, r *http.Request) {
	sid, err := pathID(r, "sid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req apiv1.UpdateSession
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	var upd *crdt.SessionUpdateBody
	if req.Title != nil || req.Prompt != nil || req.Cap != nil || req.Open != nil {
		upd = &crdt.SessionUpdateBody{Session: sid, Title: req.Title, Prompt: req.Prompt, Cap: req.Cap, Open: req.Open}
	}
	var agenda *crdt.AgendaBody
	if req.Agenda != nil {
		agenda = &crdt.AgendaBody{Session: sid, Steps: *req.Agenda}
	}
	if err := s.node.UpdateSession(r.Context(), req.As, upd, agenda); err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.getSession(w, r)
}

// getDocument serves the document as the state assembled it. Its slices
// are the state's cache, shared with other readers: they are never
// modified here (crdt makes them non-nil, and Heads never empty).
func (s *Server) getDocument(w http.ResponseWriter, r *http.Request) {
	lang, err := docLang(r)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	fr := apiv1.FreshnessOf(s.node.Freshness())
	hist := s.node.History()
	serveView(s, w, r, "sid", "session", func(st *crdt.State, sid crdt.OpID) (apiv1.Document, bool) {
		doc, ok := st.Document(sid)
		if !ok {
			return apiv1.Document{}, false
		}
		if lang != "" {
			doc = doc.In(lang)
		}
		out := documentJSON(st, doc, fr)
		out.History = hist.Of(st, sid)
		return out, true
	})
}

// --- groups

func groupJSON(g crdt.Group) crdt.Group {
	g.Scribes = nonNil(g.Scribes)
	return g
}

func (s *Server) getGroups(w http.ResponseWriter, r *http.Request) {
	var out []crdt.Group
	s.view(func(st *crdt.State) { out = st.Groups() })
	for i := range out {
		out[i] = groupJSON(out[i])
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	serveView(s, w, r, "gid", "group", func(st *crdt.State, gid crdt.OpID) (crdt.Group, bool) {
		g, ok := st.Group(gid)
		return groupJSON(g), ok
	})
}

func (s *Server) postGroup(w http.ResponseWriter, r *http.Request) {
	var req apiv1.CreateGroup
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	op, err := s.node.ActAs(r.Context(), req.As, &crdt.GroupBody{Name: req.Name})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	g := crdt.Group{ID: op.ID, Name: req.Name, Scribes: []crdt.IdentityID{op.Author()}}
	s.view(func(st *crdt.State) {
		if got, ok := st.Group(op.ID); ok {
			g = got
		}
	})
	writeJSON(w, http.StatusCreated, groupJSON(g))
}

func (s *Server) postScribe(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "gid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req apiv1.AddScribe
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if _, err := s.node.ActAs(r.Context(), req.As, &crdt.ScribeBody{Group: gid, Identity: req.Identity}); err != nil {
		s.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- proposals

func (s *Server) postProposal(w http.ResponseWriter, r *http.Request) {
	sid, err := pathID(r, "sid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req apiv1.Propose
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	op, err := s.node.ActAs(r.Context(), req.As, &crdt.ProposalBody{Session: sid, Group: req.Group, Text: req.Text})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apiv1.ProposalCreated{ID: op.ID, Revision: op.ID})
}

func (s *Server) getProposal(w http.ResponseWriter, r *http.Request) {
	serveView(s, w, r, "pid", "proposal", func(st *crdt.State, pid crdt.OpID) (out apiv1.Proposal, ok bool) {
		out.Proposal, out.Session, ok = st.Proposal(pid)
		return out, ok
	})
}

func (s *Server) getRevisions(w http.ResponseWriter, r *http.Request) {
	serveView(s, w, r, "pid", "proposal", (*crdt.State).Revisions)
}

func (s *Server) postRevision(w http.ResponseWriter, r *http.Request) {
	pid, err := pathID(r, "pid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req apiv1.Revise
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	op, err := s.node.Revise(r.Context(), req.As, pid, req.Group, req.Text, req.Base)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apiv1.RevisionCreated{Revision: op.ID})
}

func (s *Server) putEndorsement(w http.ResponseWriter, r *http.Request)    { s.endorse(w, r, true) }
func (s *Server) deleteEndorsement(w http.ResponseWriter, r *http.Request) { s.endorse(w, r, false) }

// endorse endorses, or withdraws from, the revision shown now.
func (s *Server) endorse(w http.ResponseWriter, r *http.Request, endorse bool) {
	pid, err := pathID(r, "pid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.actOn(w, r, "gid", func(ctx context.Context, as *crdt.IdentityID, gid crdt.OpID) error {
		return s.node.Endorse(ctx, as, pid, gid, endorse)
	})
}

func (s *Server) getComments(w http.ResponseWriter, r *http.Request) {
	serveView(s, w, r, "pid", "proposal", (*crdt.State).Comments)
}

func (s *Server) postComment(w http.ResponseWriter, r *http.Request) {
	pid, err := pathID(r, "pid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req apiv1.PostComment
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	op, err := s.node.ActAs(r.Context(), req.As, &crdt.CommentBody{Proposal: pid, Text: req.Text})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apiv1.CommentCreated{ID: op.ID})
}

func (s *Server) putHidden(w http.ResponseWriter, r *http.Request)    { s.hide(w, r, true) }
func (s *Server) deleteHidden(w http.ResponseWriter, r *http.Request) { s.hide(w, r, false) }

func (s *Server) hide(w http.ResponseWriter, r *http.Request, hidden bool) {
	s.actOn(w, r, "id", func(ctx context.Context, as *crdt.IdentityID, id crdt.OpID) error {
		_, err := s.node.ActAs(ctx, as, &crdt.HideBody{Target: id, Hidden: hidden})
		return err
	})
}
