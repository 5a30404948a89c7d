package apiv1

import (
	"context"
	"net/http"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
)

// Ratification and merging (docs/API.md, "Ratification and merging").

// CodeNotRatified: GET /sessions/{sid}/ratified before a ratification
// counts (404).
const CodeNotRatified = "not_ratified"

// CodeBadRatifiedFile: an imported ratified document file was refused
// (400); the message starts with the reason: truncated, malformed,
// bad_signature or tampered.
const CodeBadRatifiedFile = "bad_ratified_file"

// Ratify is POST /sessions/{sid}/ratification.
type Ratify struct {
	As *crdt.IdentityID `json:"as,omitempty"`
}

// RatificationMade answers POST /sessions/{sid}/ratification.
type RatificationMade struct {
	ID     crdt.OpID   `json:"id"`
	Digest crdt.Digest `json:"digest"`
}

// Ratified is GET /sessions/{sid}/ratified: the ratified document in the
// shape of a document (proposals in rank order, from the revisions the
// ratification fixed; "waiting" is empty), the names of the groups it
// mentions, the ratification that counts and every counting one.
type Ratified struct {
	crdt.Document
	Groups       []GroupName         `json:"groups"`
	Ratification crdt.Ratification   `json:"ratification"`
	History      []crdt.Ratification `json:"history"`
}

// Import is POST /sessions/{sid}/imports: either File (a ratified document
// file, base64 in JSON) or Session and Proposals (of this gathering).
// Group, when set, is the importer's group the proposals join; otherwise a
// group named after the source is used (made if needed).
type Import struct {
	File      []byte           `json:"file,omitempty"`
	Session   *crdt.OpID       `json:"session,omitempty"`
	Proposals []crdt.OpID      `json:"proposals,omitempty"`
	Group     *crdt.OpID       `json:"group,omitempty"`
	As        *crdt.IdentityID `json:"as,omitempty"`
}

// Skipped is a source not imported, and why.
type Skipped = node.Skipped

// Imported answers POST /sessions/{sid}/imports: the new proposals' ids,
// and the sources skipped (already imported, or no room under the cap).
type Imported struct {
	Imported []crdt.OpID `json:"imported"`
	Skipped  []Skipped   `json:"skipped"`
}

// Ratify is POST /sessions/{sid}/ratification.
func (c *Client) Ratify(ctx context.Context, sid crdt.OpID, req Ratify) (RatificationMade, error) {
	return api[RatificationMade](ctx, c, "POST", "/sessions/"+sid.String()+"/ratification", req)
}

// Ratified is GET /sessions/{sid}/ratified.
func (c *Client) Ratified(ctx context.Context, sid crdt.OpID) (Ratified, error) {
	return api[Ratified](ctx, c, "GET", "/sessions/"+sid.String()+"/ratified", nil)
}

// RatifiedFile is GET /sessions/{sid}/ratified?format=html: the ratified
// document file, the same bytes as `convene export --format ratified`.
func (c *Client) RatifiedFile(ctx context.Context, sid crdt.OpID) ([]byte, error) {
	return c.Call(ctx, "GET", Prefix+"/sessions/"+sid.String()+"/ratified?format=html", nil, http.StatusOK, nil)
}

// ImportInto is POST /sessions/{sid}/imports.
func (c *Client) ImportInto(ctx context.Context, sid crdt.OpID, req Import) (Imported, error) {
	return api[Imported](ctx, c, "POST", "/sessions/"+sid.String()+"/imports", req)
}
