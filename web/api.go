package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
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
		{"POST", "/facilitators", s.postFacilitator, false},

		{"GET", "/sessions", s.getSessions, true},
		{"POST", "/sessions", s.postSession, false},
		{"GET", "/sessions/{sid}", s.getSession, true},
		{"PATCH", "/sessions/{sid}", s.patchSession, false},
		{"GET", "/sessions/{sid}/document", s.getDocument, true},
		{"POST", "/sessions/{sid}/proposals", s.postProposal, false},

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

		{"PUT", "/hidden/{id}", s.putHidden, false},
		{"DELETE", "/hidden/{id}", s.deleteHidden, false},

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
			writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed here; allowed: "+allowed)
		})
	}
	mux.HandleFunc(APIPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, "no such API endpoint")
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
		writeError(w, http.StatusNotFound, codeNotFound, "no such "+what)
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

// act makes an operation as the named local identity or, when as is nil,
// as the first local identity (default first) that the rules allow to make
// it — for group acts, a scribe of the group. When none may, the first one
// with the standing to make it tries (a scribe facing a full session), or
// else the default identity, so that the answer carries the rules' reason.
func (s *Server) act(ctx context.Context, as *crdt.IdentityID, body crdt.Body) (crdt.Op, error) {
	var who crdt.IdentityID
	if as != nil {
		who = *as
	} else {
		ids := s.node.Identities() // the default first
		s.view(func(st *crdt.State) {
			standing := false
			for _, li := range ids {
				err := st.Check(li.ID, body)
				if err == nil {
					who = li.ID
					return
				}
				if !standing && !errors.Is(err, crdt.ErrNotScribe) && !errors.Is(err, crdt.ErrForbidden) {
					who, standing = li.ID, true
				}
			}
		})
	}
	return s.node.Act(ctx, who, body)
}

// --- status

type statusJSON struct {
	PeerID    string        `json:"peer_id"`
	Addrs     []string      `json:"addrs"`
	Gathering nameJSON      `json:"gathering"`
	Identity  nameJSON      `json:"identity"`
	Peers     []node.Peer   `json:"peers"`
	Ops       int           `json:"ops"`
	Digest    string        `json:"digest"`
	Freshness freshnessJSON `json:"freshness"`
	StoreSize int64         `json:"store_size"`
}

type nameJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type freshnessJSON struct {
	Peers    int        `json:"peers"`
	LastSync *time.Time `json:"last_sync"`
}

func freshness(f node.Freshness) freshnessJSON {
	out := freshnessJSON{Peers: f.Peers}
	if !f.LastSync.IsZero() {
		t := f.LastSync.UTC()
		out.LastSync = &t
	}
	return out
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	st := s.node.Status()
	writeJSON(w, http.StatusOK, statusJSON{
		PeerID:    st.PeerID,
		Addrs:     nonNil(st.Addrs),
		Gathering: nameJSON{ID: st.Gathering.String(), Name: st.Name},
		Identity:  nameJSON{ID: st.Identity.ID.String(), Name: st.Identity.Name},
		Peers:     nonNilPeers(st.Peers),
		Ops:       st.Ops,
		Digest:    st.Digest,
		Freshness: freshness(st.Freshness),
		StoreSize: st.StoreSize,
	})
}

func (s *Server) getPeers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, nonNilPeers(s.node.Status().Peers))
}

func nonNilPeers(ps []node.Peer) []node.Peer {
	out := make([]node.Peer, len(ps))
	for i, p := range ps {
		p.Addrs = nonNil(p.Addrs)
		out[i] = p
	}
	return out
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
	out := make([]localIdentityJSON, len(ids))
	s.view(func(st *crdt.State) {
		for i, li := range ids {
			out[i] = localIdentityJSON{ID: li.ID, Name: li.Name, Default: li.Default, Facilitator: st.IsFacilitator(li.ID)}
		}
	})
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) postIdentity(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	li, err := s.node.CreateIdentity(r.Context(), req.Name)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, localIdentityJSON{ID: li.ID, Name: li.Name, Default: li.Default})
}

type identityJSON struct {
	crdt.Identity
	Local bool `json:"local"`
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
		writeError(w, http.StatusNotFound, codeNotFound, "no such identity in this gathering")
		return
	}
	writeJSON(w, http.StatusOK, identityJSON{Identity: ident, Local: s.isLocal(id)})
}

func (s *Server) postFacilitator(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Identity crdt.IdentityID  `json:"identity"`
		As       *crdt.IdentityID `json:"as"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if _, err := s.act(r.Context(), req.As, &crdt.FacilitatorBody{Identity: req.Identity}); err != nil {
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
	var req struct {
		Title  string           `json:"title"`
		Prompt string           `json:"prompt"`
		Cap    *int             `json:"cap"`
		As     *crdt.IdentityID `json:"as"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	body := &crdt.SessionBody{Title: req.Title, Prompt: req.Prompt, Cap: crdt.DefaultCap}
	if req.Cap != nil {
		body.Cap = *req.Cap
	}
	op, err := s.act(r.Context(), req.As, body)
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
	var req struct {
		Title  *string          `json:"title"`
		Prompt *string          `json:"prompt"`
		Cap    *int             `json:"cap"`
		Open   *bool            `json:"open"`
		As     *crdt.IdentityID `json:"as"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	body := &crdt.SessionUpdateBody{Session: sid, Title: req.Title, Prompt: req.Prompt, Cap: req.Cap, Open: req.Open}
	if _, err := s.act(r.Context(), req.As, body); err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.getSession(w, r)
}

// documentJSON is a session's document with how fresh this node's view is.
type documentJSON struct {
	crdt.Document
	Freshness freshnessJSON `json:"freshness"`
}

// getDocument serves the document as the state assembled it. Its slices
// are the state's cache, shared with other readers: they are never
// modified here (crdt makes them non-nil, and Heads never empty).
func (s *Server) getDocument(w http.ResponseWriter, r *http.Request) {
	fr := freshness(s.node.Freshness())
	serveView(s, w, r, "sid", "session", func(st *crdt.State, sid crdt.OpID) (documentJSON, bool) {
		doc, ok := st.Document(sid)
		return documentJSON{Document: doc, Freshness: fr}, ok
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
	var req struct {
		Name string           `json:"name"`
		As   *crdt.IdentityID `json:"as"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	op, err := s.act(r.Context(), req.As, &crdt.GroupBody{Name: req.Name})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	g := crdt.Group{ID: op.ID, Name: req.Name, Scribes: []crdt.IdentityID{op.Author}}
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
	var req struct {
		Identity crdt.IdentityID  `json:"identity"`
		As       *crdt.IdentityID `json:"as"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if _, err := s.act(r.Context(), req.As, &crdt.ScribeBody{Group: gid, Identity: req.Identity}); err != nil {
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
	var req struct {
		Group crdt.OpID        `json:"group"`
		Text  string           `json:"text"`
		As    *crdt.IdentityID `json:"as"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	op, err := s.act(r.Context(), req.As, &crdt.ProposalBody{Session: sid, Group: req.Group, Text: req.Text})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]crdt.OpID{"id": op.ID, "revision": op.ID})
}

type proposalJSON struct {
	crdt.Proposal
	Session crdt.OpID `json:"session"`
}

func (s *Server) getProposal(w http.ResponseWriter, r *http.Request) {
	serveView(s, w, r, "pid", "proposal", func(st *crdt.State, pid crdt.OpID) (out proposalJSON, ok bool) {
		out.Proposal, out.Session, ok = st.Proposal(pid)
		return out, ok
	})
}

func (s *Server) getRevisions(w http.ResponseWriter, r *http.Request) {
	serveView(s, w, r, "pid", "proposal", (*crdt.State).Revisions)
}

func compareID(a, b crdt.OpID) int { return bytes.Compare(a[:], b[:]) }

func (s *Server) postRevision(w http.ResponseWriter, r *http.Request) {
	pid, err := pathID(r, "pid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req struct {
		Group crdt.OpID        `json:"group"`
		Text  string           `json:"text"`
		Base  []crdt.OpID      `json:"base"`
		As    *crdt.IdentityID `json:"as"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if len(req.Base) == 0 {
		s.writeErr(w, r, badRequest("base must name the revision(s) the edit starts from"))
		return
	}
	if len(req.Base) > crdt.MaxParents {
		s.writeErr(w, r, badRequest("base names at most %d revisions", crdt.MaxParents))
		return
	}
	base := slices.Clone(req.Base)
	slices.SortFunc(base, compareID)
	base = slices.Compact(base)

	var heads []crdt.OpID
	var ok bool
	s.view(func(st *crdt.State) {
		var p crdt.Proposal
		p, _, ok = st.Proposal(pid)
		heads = slices.Clone(p.Heads)
	})
	if !ok {
		writeError(w, http.StatusNotFound, codeNotFound, "no such proposal")
		return
	}
	slices.SortFunc(heads, compareID)
	if !slices.Equal(base, heads) {
		writeErrorBody(w, http.StatusConflict, apiError{
			Error:   codeConflict,
			Message: "base is not the proposal's current heads; re-read the proposal and edit again",
			Heads:   heads,
		})
		return
	}
	op, err := s.act(r.Context(), req.As, &crdt.RevisionBody{Proposal: pid, Group: req.Group, Text: req.Text, Parents: base})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]crdt.OpID{"revision": op.ID})
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
	gid, err := pathID(r, "gid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	as, err := queryAs(r)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var p crdt.Proposal
	var ok bool
	s.view(func(st *crdt.State) { p, _, ok = st.Proposal(pid) })
	if !ok {
		writeError(w, http.StatusNotFound, codeNotFound, "no such proposal")
		return
	}
	body := &crdt.EndorseBody{Proposal: pid, Group: gid, Revision: p.Revision, Endorse: endorse}
	if _, err := s.act(r.Context(), as, body); err != nil {
		s.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
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
	var req struct {
		Text string           `json:"text"`
		As   *crdt.IdentityID `json:"as"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	op, err := s.act(r.Context(), req.As, &crdt.CommentBody{Proposal: pid, Text: req.Text})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]crdt.OpID{"id": op.ID})
}

func (s *Server) putHidden(w http.ResponseWriter, r *http.Request)    { s.hide(w, r, true) }
func (s *Server) deleteHidden(w http.ResponseWriter, r *http.Request) { s.hide(w, r, false) }

func (s *Server) hide(w http.ResponseWriter, r *http.Request, hidden bool) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	as, err := queryAs(r)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if _, err := s.act(r.Context(), as, &crdt.HideBody{Target: id, Hidden: hidden}); err != nil {
		s.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
