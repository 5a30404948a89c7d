package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/export"
)

// MaxBundle bounds an uploaded bundle (POST /import).
const MaxBundle = 1 << 30

// getExport answers GET /export?format=json|csv|ics|md|activitystreams|bundle
// [&session=ID][&csv=proposals|endorsements][&since=RFC3339]: the same bytes
// as `convene export`.
func (s *Server) getExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := export.Request{Format: q.Get("format"), Now: time.Now(), BaseURL: "http://" + r.Host}
	if req.Format == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "give format=json, csv, ics, md, activitystreams or bundle")
		return
	}
	if sid := q.Get("session"); sid != "" {
		id, err := crdt.ParseOpID(sid)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, "session: "+err.Error())
			return
		}
		req.Session = id
	}
	if k := q.Get("csv"); k != "" {
		kind, err := export.ParseCSVKind(k)
		if err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
		req.CSV = kind
	}
	since, err := export.ParseSince(q.Get("since"))
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	req.Since = since
	// Buffered, so that an error is still an error status and not a
	// truncated download.
	var buf bytes.Buffer
	if err := export.Write(r.Context(), &buf, s.node, req); err != nil {
		s.fail(w, r, badRequestIfFormat(err))
		return
	}
	ext := req.Format
	if ext == export.FormatActivityStreams {
		ext = "json"
	}
	h := w.Header()
	h.Set("Content-Type", export.ContentType(req.Format))
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="convene-%s.%s"`, s.node.Gathering().String()[:12], ext))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// badRequestIfFormat turns an unknown format into a client error.
func badRequestIfFormat(err error) error {
	if errors.Is(err, export.ErrUnknownFormat) {
		return &requestError{http.StatusBadRequest, codeBadRequest, err.Error()}
	}
	return err
}

// postImport answers POST /import with a bundle as the body
// (application/octet-stream): all or nothing, idempotent.
func (s *Server) postImport(w http.ResponseWriter, r *http.Request) {
	res, err := export.Import(r.Context(), s.node, http.MaxBytesReader(w, r.Body, MaxBundle), MaxBundle, time.Now())
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("bundle is larger than %d bytes", MaxBundle))
			return
		}
		if errors.Is(err, export.ErrBadBundle) {
			writeError(w, http.StatusBadRequest, "bad_bundle", err.Error())
			return
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"added": res.Added, "duplicate": res.Duplicate})
}
