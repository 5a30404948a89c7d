package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/export"
	"github.com/convene/convene/web/apiv1"
)

// MaxBundle bounds an uploaded bundle (POST /import).
const MaxBundle = 1 << 30

// getExport answers GET /export?format=json|csv|ics|md|activitystreams|bundle
// [&session=ID][&csv=proposals|endorsements][&since=RFC3339][&lang=es]: the same bytes
// as `convene export`.
func (s *Server) getExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := export.Request{Format: q.Get("format"), Now: time.Now(), BaseURL: "http://" + r.Host}
	if req.Format == "" {
		writeError(w, http.StatusBadRequest, apiv1.CodeBadRequest, "give format=json, csv, ics, md, activitystreams, bundle or ratified")
		return
	}
	if sid := q.Get("session"); sid != "" {
		id, err := crdt.ParseOpID(sid)
		if err != nil {
			writeError(w, http.StatusBadRequest, apiv1.CodeBadRequest, "session: "+err.Error())
			return
		}
		req.Session = id
	}
	if k := q.Get("csv"); k != "" {
		kind, err := export.ParseCSVKind(k)
		if err != nil {
			writeError(w, http.StatusBadRequest, apiv1.CodeBadRequest, err.Error())
			return
		}
		req.CSV = kind
	}
	if l := q.Get("lang"); l != "" {
		if !crdt.IsLanguage(l) || req.Format != export.FormatMarkdown {
			writeError(w, http.StatusBadRequest, apiv1.CodeBadRequest, fmt.Sprintf("lang is for format=md, one of %v", crdt.Languages))
			return
		}
		req.Lang = l
	}
	since, err := export.ParseSince(q.Get("since"))
	if err != nil {
		writeError(w, http.StatusBadRequest, apiv1.CodeBadRequest, err.Error())
		return
	}
	req.Since = since
	ext := req.Format
	switch ext {
	case export.FormatActivityStreams:
		ext = "json"
	case export.FormatRatified:
		ext = "html"
	}
	// Streamed: a bundle can be as large as the store. The headers go out
	// with the first byte, so an error before it is still an error status;
	// one after it cuts the response short, which a client sees as a
	// failed download rather than a complete file.
	sw := &streamWriter{w: w, header: func(h http.Header) {
		h.Set("Content-Type", export.ContentType(req.Format))
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="convene-%s.%s"`, s.node.Gathering().String()[:12], ext))
		h.Set("Cache-Control", "no-store")
	}}
	err = export.Write(r.Context(), sw, s.node, req)
	switch {
	case err == nil:
		sw.start() // an empty export still answers 200
	case !sw.started:
		s.writeErr(w, r, badRequestIfFormat(err))
	default:
		s.log.Error("export failed after it started", "format", req.Format, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// streamWriter sends the status and headers of a successful answer on the
// first write.
type streamWriter struct {
	w       http.ResponseWriter
	header  func(http.Header)
	started bool
}

func (sw *streamWriter) start() {
	if !sw.started {
		sw.started = true
		sw.header(sw.w.Header())
		sw.w.WriteHeader(http.StatusOK)
	}
}

func (sw *streamWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	sw.start()
	return sw.w.Write(p)
}

// badRequestIfFormat turns an unknown format into a client error.
func badRequestIfFormat(err error) error {
	if errors.Is(err, export.ErrUnknownFormat) {
		return &requestError{http.StatusBadRequest, apiv1.CodeBadRequest, err.Error()}
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
			writeError(w, http.StatusRequestEntityTooLarge, apiv1.CodeTooLarge, fmt.Sprintf("bundle is larger than %d bytes", MaxBundle))
			return
		}
		if errors.Is(err, export.ErrBadBundle) {
			writeError(w, http.StatusBadRequest, apiv1.CodeBadBundle, err.Error())
			return
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apiv1.ImportResult{Added: res.Added, Duplicate: res.Duplicate})
}
