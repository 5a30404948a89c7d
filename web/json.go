package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/export"
	"github.com/convene/convene/web/apiv1"
)

// MaxBody bounds a JSON request body. The largest field (an event's
// description) is 16 KB of UTF-8; JSON escaping can at most sextuple it.
const MaxBody = 64 << 10

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, apiv1.CodeInternal, "cannot encode the answer")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeErrorBody(w, status, apiv1.ErrorBody{Code: code, Message: msg})
}

func writeErrorBody(w http.ResponseWriter, status int, e apiv1.ErrorBody) {
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
		return http.StatusBadRequest, apiv1.CodeBadRequest
	case errors.Is(err, export.ErrNotRatified):
		return http.StatusNotFound, apiv1.CodeNotRatified
	case errors.Is(err, crdt.ErrNotFound):
		return http.StatusNotFound, apiv1.CodeNotFound
	case errors.Is(err, crdt.ErrNotScribe):
		return http.StatusForbidden, apiv1.CodeNotScribe
	case errors.Is(err, crdt.ErrForbidden):
		return http.StatusForbidden, apiv1.CodeForbidden
	case errors.Is(err, crdt.ErrCapReached):
		return http.StatusConflict, apiv1.CodeCapReached
	case errors.Is(err, crdt.ErrLimit):
		return http.StatusConflict, apiv1.CodeLimitReached
	case errors.Is(err, crdt.ErrConflict):
		return http.StatusConflict, apiv1.CodeConflict
	case errors.Is(err, crdt.ErrClosed):
		return http.StatusConflict, apiv1.CodeSessionClosed
	case errors.Is(err, crdt.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, apiv1.CodeTooLarge
	case errors.Is(err, crdt.ErrInvalid), errors.Is(err, crdt.ErrMalformed):
		return http.StatusBadRequest, apiv1.CodeBadRequest
	case diskFull(err):
		return http.StatusInsufficientStorage, apiv1.CodeDiskFull
	}
	return http.StatusInternalServerError, apiv1.CodeInternal
}

// fail answers with the error's status. Internal errors are logged and
// not shown in detail.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := errorStatus(err)
	body := apiv1.ErrorBody{Code: code, Message: err.Error()}
	if status == http.StatusInternalServerError {
		s.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Message = "internal error; see the node's log"
	}
	var ce *node.ConflictError
	if errors.As(err, &ce) {
		// The editor was behind: the answer names the heads to edit from.
		body.Message = "base is not the proposal's current heads; re-read the proposal and edit again"
		body.Heads = ce.Heads
	}
	writeErrorBody(w, status, body)
}

// requestError is a client mistake found before the node is asked.
type requestError struct {
	status int
	code   string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{http.StatusBadRequest, apiv1.CodeBadRequest, fmt.Sprintf(format, args...)}
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
// type, bounded size, valid UTF-8, no unknown fields, field names exactly
// as written (not in another case) and each once, nothing after the value.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeMax(w, r, v, MaxBody)
}

// decodeMax is decode with a bound of max bytes.
func decodeMax(w http.ResponseWriter, r *http.Request, v any, max int64) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return &requestError{http.StatusUnsupportedMediaType, apiv1.CodeUnsupportedMedia, "Content-Type must be application/json"}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &requestError{http.StatusUnsupportedMediaType, apiv1.CodeUnsupportedMedia, "Content-Type must be application/json"}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &requestError{http.StatusUnsupportedMediaType, apiv1.CodeUnsupportedMedia, "JSON must be UTF-8"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &requestError{http.StatusRequestEntityTooLarge, apiv1.CodeTooLarge, fmt.Sprintf("request body is larger than %d bytes", max)}
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
	if err := checkFieldNames(body, reflect.TypeOf(v)); err != nil {
		return badRequest("malformed JSON: %v", err)
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
