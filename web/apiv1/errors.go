package apiv1

import (
	"bytes"
	"fmt"

	"github.com/convene/convene/crdt"
)

// Error codes: stable snake_case words that clients may switch on
// (docs/API.md, "Requests and errors").
const (
	CodeBadRequest       = "bad_request"
	CodeBadBundle        = "bad_bundle"
	CodeNotFound         = "not_found"
	CodeForbidden        = "forbidden"
	CodeRotatedOut       = "rotated_out"
	CodeNotScribe        = "not_scribe"
	CodeCapReached       = "cap_reached"
	CodeLimitReached     = "limit_reached"
	CodeConflict         = "conflict"
	CodeSessionClosed    = "session_closed"
	CodeTooLarge         = "too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeTooManyRequests  = "too_many_requests"
	CodeDiskFull         = "disk_full"
	CodeInternal         = "internal"
)

// ErrorBody is the body of every error answer. Heads is set for a conflict
// on a revision's base.
type ErrorBody struct {
	Code    string      `json:"error"`
	Message string      `json:"message"`
	Heads   []crdt.OpID `json:"heads,omitempty"`
}

// Error is an answer the client did not want: another status than the one
// asked for. ErrorBody holds the decoded error body, when there is one.
type Error struct {
	Method, Path string
	Status       int
	Want         int // 0: any 2xx
	ErrorBody
	Body []byte // the answer as it came
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s %s: %s (%s)", e.Method, e.Path, e.Message, e.Code)
	}
	want := "2xx"
	if e.Want != 0 {
		want = fmt.Sprint(e.Want)
	}
	return fmt.Sprintf("%s %s: status %d, want %s: %s", e.Method, e.Path, e.Status, want, bytes.TrimSpace(e.Body))
}
