package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
)

// The ratified document file (issue 14): one HTML page that prints as the
// document a facilitator hands to an assembly, and carries, in a script
// element at its end, the machine-readable part that `convene verify`
// checks with no data directory: the document's text, the signed
// ratification operation and the disclosure that opens its payload
// (crdt/disclose.go). The page is a pure function of that part, so the
// check renders it again and compares: an edit of the printed text shows
// as tampering even where the signed part was left alone.

// FormatRatified is the export format of a ratified document file.
const FormatRatified = "ratified"

// RatifiedFileFormat names the machine-readable part's shape.
const RatifiedFileFormat = "convene-ratified/1"

// MaxRatifiedFile bounds a ratified document file a reader accepts: 800
// proposals of 8 KB of text, escaped, fit.
const MaxRatifiedFile = 32 << 20

// RatifiedFile is the machine-readable part of a ratified document file.
// The gathering's name and the facilitator's name are shown, not signed;
// everything else is covered by the signature or the digest.
type RatifiedFile struct {
	Format       string            `json:"format"`
	Gathering    RatifiedGathering `json:"gathering"`
	Document     crdt.RatifiedText `json:"document"`
	Ratification crdt.Ratification `json:"ratification"`
	ByName       string            `json:"by_name"`
	Key          crdt.IdentityID   `json:"key"`
	Envelope     []byte            `json:"envelope"`   // base64 of the signed operation
	Disclosure   []byte            `json:"disclosure"` // base64 of the payload's subkey
	Generated    time.Time         `json:"generated_at"`
}

// RatifiedGathering names the source gathering.
type RatifiedGathering struct {
	ID   crdt.GatheringID `json:"id"`
	Name string           `json:"name"`
}

// ErrNotRatified: the session has no ratified document yet.
var ErrNotRatified = errors.New("not_ratified")

// Reasons a ratified document file is refused (VerifyError.Code).
const (
	ReasonTruncated = "truncated"
	ReasonMalformed = "malformed"
	ReasonSignature = "bad_signature"
	ReasonTampered  = "tampered"
)

// VerifyError says why a ratified document file is refused.
type VerifyError struct {
	Code string // one of the Reason constants
	Err  error
}

func (e *VerifyError) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *VerifyError) Unwrap() error { return e.Err }

func refuse(code string, format string, args ...any) error {
	return &VerifyError{Code: code, Err: fmt.Errorf(format, args...)}
}

// RatifiedFileOf reads a session's ratified document from a node.
func RatifiedFileOf(ctx context.Context, n *node.Node, sid crdt.OpID, now time.Time) (RatifiedFile, error) {
	var rd crdt.RatifiedDocument
	var ok bool
	f := RatifiedFile{Format: RatifiedFileFormat, Generated: now.UTC().Truncate(time.Second)}
	n.View(func(st *crdt.State) {
		if rd, ok = st.Ratified(sid); ok {
			f.Gathering = RatifiedGathering{ID: n.Gathering(), Name: st.Name()}
			if id, ok := st.Identity(rd.Ratification.By); ok {
				f.ByName = id.Name
			}
		}
	})
	if !ok {
		return f, fmt.Errorf("%w: session %s has no ratified document", ErrNotRatified, sid)
	}
	env, d, err := n.RatificationEnvelope(ctx, rd.Ratification.ID)
	if err != nil {
		return f, err
	}
	f.Document, f.Ratification, f.Key = rd.Text, rd.Ratification, env.Author
	f.Envelope, f.Disclosure = env.Bytes(), d[:]
	return f, nil
}

// WriteRatifiedOf writes a session's ratified document file.
func WriteRatifiedOf(ctx context.Context, w io.Writer, n *node.Node, sid crdt.OpID, now time.Time) error {
	f, err := RatifiedFileOf(ctx, n, sid, now)
	if err != nil {
		return err
	}
	b, err := RenderRatified(f)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Markers of the machine-readable part. encoding/json escapes '<', so the
// JSON between them never holds "</script>".
const (
	ratifiedOpen  = `<script type="application/json" id="convene-ratified">`
	ratifiedClose = "</script>\n</body>\n</html>\n"
)

// ReadRatified parses a ratified document file and checks it whole: the
// signature (crdt's one rule set), the digest against the file's text, the
// shown metadata against the signed operation, and the page against the
// one its data renders. Every refusal is a *VerifyError.
func ReadRatified(b []byte) (RatifiedFile, *crdt.RatificationBody, error) {
	var f RatifiedFile
	if len(b) > MaxRatifiedFile {
		return f, nil, refuse(ReasonMalformed, "the file is %d bytes, limit %d", len(b), MaxRatifiedFile)
	}
	i := bytes.LastIndex(b, []byte(ratifiedOpen))
	if i < 0 || !bytes.HasSuffix(b, []byte(ratifiedClose)) {
		if bytes.HasPrefix(b, []byte("<!doctype html>")) {
			return f, nil, refuse(ReasonTruncated, "the file ends before its signed part does")
		}
		return f, nil, refuse(ReasonMalformed, "not a ratified document file")
	}
	js := b[i+len(ratifiedOpen) : len(b)-len(ratifiedClose)]
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, nil, refuse(ReasonMalformed, "the signed part: %v", err)
	}
	if dec.More() {
		return f, nil, refuse(ReasonMalformed, "the signed part: data after the value")
	}
	if f.Format != RatifiedFileFormat {
		return f, nil, refuse(ReasonMalformed, "format %q, want %q", f.Format, RatifiedFileFormat)
	}
	if len(f.Disclosure) != len(crdt.Disclosure{}) {
		return f, nil, refuse(ReasonMalformed, "the disclosure is %d bytes, want 32", len(f.Disclosure))
	}
	env, body, err := crdt.CheckRatified(f.Envelope, crdt.Disclosure(f.Disclosure), f.Document)
	switch {
	case errors.Is(err, crdt.ErrSignature), errors.Is(err, crdt.ErrSealed):
		return f, nil, refuse(ReasonSignature, "%w", err)
	case errors.Is(err, crdt.ErrTampered):
		return f, nil, refuse(ReasonTampered, "%w", err)
	case err != nil:
		return f, nil, refuse(ReasonMalformed, "the signed operation: %w", err)
	}
	r := f.Ratification
	if r.ID != env.ID() || r.By != env.Author || f.Key != env.Author || !r.At.Equal(env.Clock.Time()) ||
		r.Digest != body.Digest || f.Gathering.ID != env.Gathering {
		return f, nil, refuse(ReasonTampered, "the ratification shown (id, author, time, digest or gathering) is not the signed one")
	}
	page, err := RenderRatified(f)
	if err != nil {
		return f, nil, refuse(ReasonMalformed, "%w", err)
	}
	if !bytes.Equal(page, b) {
		return f, nil, refuse(ReasonTampered, "the readable text differs from the signed data (byte %d)", firstDiff(page, b))
	}
	return f, body, nil
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// ImportRatified checks a ratified document file (as ReadRatified) and
// imports its proposals into session sid of n (node.Import), each with its
// provenance, as a group named after the source gathering unless group is
// given.
func ImportRatified(ctx context.Context, n *node.Node, as *crdt.IdentityID, sid crdt.OpID, group *crdt.OpID, file []byte) ([]crdt.OpID, []node.Skipped, error) {
	f, body, err := ReadRatified(file)
	if err != nil {
		return nil, nil, err
	}
	sources := make([]node.ImportSource, 0, len(f.Document.Proposals))
	for _, p := range f.Document.Proposals {
		sources = append(sources, node.ImportSource{Text: p.Text, From: crdt.Provenance{
			Gathering: f.Gathering.ID, Session: f.Document.Session, Proposal: p.ID, Revision: p.Revision, Digest: body.Digest,
		}})
	}
	name := f.Gathering.Name
	if name == "" {
		name = "Imported " + f.Gathering.ID.String()[:8]
	}
	for len(name) > crdt.MaxName {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return n.Import(ctx, as, sid, group, name, sources)
}
