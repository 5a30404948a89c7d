package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
)

// Error codes: stable snake_case words that clients may switch on.
const (
	codeBadRequest       = "bad_request"
	codeNotFound         = "not_found"
	codeForbidden        = "forbidden"
	codeNotScribe        = "not_scribe"
	codeCapReached       = "cap_reached"
	codeLimitReached     = "limit_reached"
	codeConflict         = "conflict"
	codeSessionClosed    = "session_closed"
	codeTooLarge         = "too_large"
	codeUnsupportedMedia = "unsupported_media_type"
	codeMethodNotAllowed = "method_not_allowed"
	codeInternal         = "internal"
)

// MaxBody bounds a JSON request body. The largest field (an event's
// description) is 16 KB of UTF-8; JSON escaping can at most sextuple it.
const MaxBody = 64 << 10

// apiError is the body of every error answer. Heads is set for a conflict
// on a revision's base.
type apiError struct {
	Error   string      `json:"error"`
	Message string      `json:"message"`
	Heads   []crdt.OpID `json:"heads,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, codeInternal, "cannot encode the answer")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeErrorBody(w, status, apiError{Error: code, Message: msg})
}

func writeErrorBody(w http.ResponseWriter, status int, e apiError) {
	b, _ := json.Marshal(e)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// errorStatus maps an error from the node or the state to an answer.
func errorStatus(err error) (int, string) {
	switch {
	case errors.Is(err, node.ErrUnknownIdentity):
		return http.StatusBadRequest, codeBadRequest
	case errors.Is(err, crdt.ErrNotFound):
		return http.StatusNotFound, codeNotFound
	case errors.Is(err, crdt.ErrNotScribe):
		return http.StatusForbidden, codeNotScribe
	case errors.Is(err, crdt.ErrForbidden):
		return http.StatusForbidden, codeForbidden
	case errors.Is(err, crdt.ErrCapReached):
		return http.StatusConflict, codeCapReached
	case errors.Is(err, crdt.ErrLimit):
		return http.StatusConflict, codeLimitReached
	case errors.Is(err, crdt.ErrConflict):
		return http.StatusConflict, codeConflict
	case errors.Is(err, crdt.ErrClosed):
		return http.StatusConflict, codeSessionClosed
	case errors.Is(err, crdt.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, codeTooLarge
	case errors.Is(err, crdt.ErrInvalid), errors.Is(err, crdt.ErrMalformed):
		return http.StatusBadRequest, codeBadRequest
	}
	return http.StatusInternalServerError, codeInternal
}

// fail answers with the error's status. Internal errors are logged and
// not shown in detail.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := errorStatus(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		s.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error; see the node's log"
	}
	writeError(w, status, code, msg)
}

// requestError is a client mistake found before the node is asked.
type requestError struct {
	status int
	code   string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{http.StatusBadRequest, codeBadRequest, fmt.Sprintf(format, args...)}
}

// writeRequestError answers err, which is a *requestError or comes from
// the node.
func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var re *requestError
	if errors.As(err, &re) {
		writeError(w, re.status, re.code, re.msg)
		return
	}
	s.fail(w, r, err)
}

// decode reads a JSON request body into v strictly: the right content
// type, bounded size, valid UTF-8, no unknown fields, nothing after the
// value.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return &requestError{http.StatusUnsupportedMediaType, codeUnsupportedMedia, "Content-Type must be application/json"}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &requestError{http.StatusUnsupportedMediaType, codeUnsupportedMedia, "Content-Type must be application/json"}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &requestError{http.StatusUnsupportedMediaType, codeUnsupportedMedia, "JSON must be UTF-8"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &requestError{http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("request body is larger than %d bytes", MaxBody)}
		}
		return badRequest("cannot read the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("request body is empty; a JSON object is expected")
	}
	if !utf8.Valid(body) {
		return badRequest("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("malformed JSON: data after the value")
	}
	return nil
}

// pathID parses an id from a path segment.
func pathID(r *http.Request, name string) (crdt.OpID, error) {
	id, err := crdt.ParseOpID(r.PathValue(name))
	if err != nil {
		return id, badRequest("%s in the path: %v", name, err)
	}
	return id, nil
}

func pathIdentity(r *http.Request, name string) (crdt.IdentityID, error) {
	id, err := crdt.ParseIdentityID(r.PathValue(name))
	if err != nil {
		return id, badRequest("%s in the path: %v", name, err)
	}
	return id, nil
}

// queryAs reads the optional ?as= of a request without a body.
func queryAs(r *http.Request) (*crdt.IdentityID, error) {
	v := r.URL.Query().Get("as")
	if v == "" {
		return nil, nil
	}
	id, err := crdt.ParseIdentityID(v)
	if err != nil {
		return nil, badRequest("as: %v", err)
	}
	return &id, nil
}
