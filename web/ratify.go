package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/export"
	"github.com/convene/convene/web/apiv1"
)

// MaxImportBody bounds POST /sessions/{sid}/imports: a ratified document
// file of export.MaxRatifiedFile bytes, base64 in JSON.
const MaxImportBody = export.MaxRatifiedFile/3*4 + 4096

// postRatification is POST /sessions/{sid}/ratification: facilitators
// only (403 forbidden otherwise, from the rules).
func (s *Server) postRatification(w http.ResponseWriter, r *http.Request) {
	sid, err := pathID(r, "sid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req apiv1.Ratify
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	op, err := s.node.Ratify(r.Context(), req.As, sid)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apiv1.RatificationMade{ID: op.ID, Digest: op.Body.(*crdt.RatificationBody).Digest})
}

// getRatified is GET /sessions/{sid}/ratified[?format=html]: the ratified
// document as JSON, or its file (the bytes of `convene export --format
// ratified`) as a download.
func (s *Server) getRatified(w http.ResponseWriter, r *http.Request) {
	sid, err := pathID(r, "sid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	switch r.URL.Query().Get("format") {
	case "":
	case "html":
		var buf bytes.Buffer
		err := export.WriteRatifiedOf(r.Context(), &buf, s.node, sid, time.Now())
		if errors.Is(err, export.ErrNotRatified) {
			writeError(w, http.StatusNotFound, apiv1.CodeNotRatified, err.Error())
			return
		}
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", export.ContentType(export.FormatRatified))
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="ratified-%s.html"`, sid.String()[:12]))
		h.Set("Cache-Control", "no-store")
		w.Write(buf.Bytes())
		return
	default:
		writeError(w, http.StatusBadRequest, apiv1.CodeBadRequest, "format must be html, or absent for JSON")
		return
	}
	var out apiv1.Ratified
	var ok bool
	s.view(func(st *crdt.State) {
		var rd crdt.RatifiedDocument
		if rd, ok = st.Ratified(sid); ok {
			sv, _ := st.Session(sid)
			out = ratifiedJSON(sv, rd)
		}
	})
	if !ok {
		writeError(w, http.StatusNotFound, apiv1.CodeNotRatified, "session "+sid.String()+" has no ratified document")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// ratifiedJSON puts a ratified document in the shape of a document.
func ratifiedJSON(sv crdt.Session, rd crdt.RatifiedDocument) apiv1.Ratified {
	sv.Title = rd.Text.Title
	out := apiv1.Ratified{
		Document:     crdt.Document{Session: sv, Proposals: make([]crdt.Proposal, 0, len(rd.Text.Proposals)), Waiting: []crdt.Waiting{}},
		Ratification: rd.Ratification,
		History:      rd.History,
	}
	seen := map[crdt.OpID]bool{}
	name := func(g crdt.GroupRef) {
		if !seen[g.ID] {
			seen[g.ID] = true
			out.Groups = append(out.Groups, apiv1.GroupName{ID: g.ID, Name: g.Name})
		}
	}
	for i, p := range rd.Text.Proposals {
		by := make([]crdt.OpID, len(p.EndorsedBy))
		for j, g := range p.EndorsedBy {
			by[j] = g.ID
			name(g)
		}
		name(p.Group)
		out.Proposals = append(out.Proposals, crdt.Proposal{
			ID: p.ID, Rank: i + 1, Text: p.Text, Revision: p.Revision, Group: p.Group.ID,
			Endorsements: len(by), EndorsedBy: by, Heads: []crdt.OpID{p.Revision}, Revisions: 1, From: p.From,
		})
	}
	out.Groups = nonNil(out.Groups)
	sortGroupNames(out.Groups)
	return out
}

// postImports is POST /sessions/{sid}/imports: facilitators only.
func (s *Server) postImports(w http.ResponseWriter, r *http.Request) {
	sid, err := pathID(r, "sid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req apiv1.Import
	if err := decodeMax(w, r, &req, MaxImportBody); err != nil {
		s.writeErr(w, r, err)
		return
	}
	var ids []crdt.OpID
	var skipped []apiv1.Skipped
	switch {
	case len(req.File) > 0 && req.Session == nil && len(req.Proposals) == 0:
		ids, skipped, err = export.ImportRatified(r.Context(), s.node, req.As, sid, req.Group, req.File)
	case len(req.File) == 0 && req.Session != nil:
		ids, skipped, err = s.node.ImportSession(r.Context(), req.As, sid, req.Group, *req.Session, req.Proposals)
	default:
		err = badRequest(`give either "file" or "session" and "proposals"`)
	}
	var ve *export.VerifyError
	if errors.As(err, &ve) {
		writeError(w, http.StatusBadRequest, apiv1.CodeBadRatifiedFile, ve.Error())
		return
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apiv1.Imported{Imported: nonNil(ids), Skipped: nonNil(skipped)})
}
