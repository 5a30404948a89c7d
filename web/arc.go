package web

import (
	"net/http"
	"slices"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/web/apiv1"
)

// Translations and the agenda: decode, call the node, encode.

func (s *Server) postTranslation(w http.ResponseWriter, r *http.Request) {
	pid, err := pathID(r, "pid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req apiv1.Translate
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	op, err := s.node.Translate(r.Context(), req.As, pid, req.Group, req.Lang, req.From, req.Text, req.Revision)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apiv1.TranslationCreated{ID: op.ID, Revision: op.Body.(*crdt.TranslationBody).Revision})
}

func (s *Server) postPhase(w http.ResponseWriter, r *http.Request) {
	sid, err := pathID(r, "sid")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req apiv1.StartStep
	if err := decode(w, r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if _, err := s.node.ActAs(r.Context(), req.As, &crdt.PhaseBody{Session: sid, Index: req.Index}); err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.getSession(w, r)
}

// docLang reads the optional ?lang= of a document: one of the gathering's
// languages, or "" for the original texts.
func docLang(r *http.Request) (string, error) {
	lang := r.URL.Query().Get("lang")
	if lang != "" && !slices.Contains(crdt.Languages, lang) {
		return "", badRequest("lang must be one of the gathering's languages: %v", crdt.Languages)
	}
	return lang, nil
}
