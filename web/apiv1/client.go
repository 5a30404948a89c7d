package apiv1

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/convene/convene/crdt"
)

// Client talks to one node's API with its token. Every method is bounded
// by its context only: a bundle going either way can take minutes.
type Client struct {
	Base  string // http://HOST:PORT, the node's UI address
	Token string
	HTTP  *http.Client // nil: http.DefaultClient
}

// RequestOption changes a request just before it is sent.
type RequestOption func(*http.Request)

// send sends a request to path (from the server root) with the token. A
// json.RawMessage body is sent as is, an io.Reader as a bundle
// (application/octet-stream), anything else non-nil is encoded as JSON.
func (c *Client) send(ctx context.Context, method, path string, in any, opts ...RequestOption) (*http.Response, error) {
	var rd io.Reader
	ct := "application/json"
	switch b := in.(type) {
	case nil:
	case json.RawMessage:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd, ct = b, "application/octet-stream"
	default:
		enc, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if in != nil {
		req.Header.Set("Content-Type", ct)
	}
	for _, o := range opts {
		o(req)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return resp, nil
}

// Do sends a request to path (from the server root, so that tests can reach
// pages too) and returns the status and body, whatever the status.
func (c *Client) Do(ctx context.Context, method, path string, in any, opts ...RequestOption) (int, []byte, error) {
	resp, err := c.send(ctx, method, path, in, opts...)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return resp.StatusCode, b, nil
}

// Call sends a request that must answer want (0: any 2xx), decoding the
// answer into out when out is not nil, and returns the answer's body.
// Another status is an *Error.
func (c *Client) Call(ctx context.Context, method, path string, in any, want int, out any) ([]byte, error) {
	code, b, err := c.Do(ctx, method, path, in)
	if err != nil {
		return nil, err
	}
	if (want != 0 && code != want) || (want == 0 && (code < 200 || code > 299)) {
		e := &Error{Method: method, Path: path, Status: code, Want: want, Body: b}
		json.Unmarshal(b, &e.ErrorBody) // best effort: the status says enough
		return nil, e
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode %s: %w", method, path, b, err)
		}
	}
	return b, nil
}

// Get fetches path (from the server root), which must answer 2xx, into
// out (if not nil).
func (c *Client) Get(ctx context.Context, path string, out any) ([]byte, error) {
	return c.Call(ctx, http.MethodGet, path, nil, 0, out)
}

// Post sends in to path (from the server root), which must answer 2xx,
// decoding into out (if not nil).
func (c *Client) Post(ctx context.Context, path string, in, out any) ([]byte, error) {
	return c.Call(ctx, http.MethodPost, path, in, 0, out)
}

// api calls an endpoint below Prefix.
func api[T any](ctx context.Context, c *Client, method, path string, in any) (T, error) {
	var out T
	var dst any = &out
	if _, none := any(out).(struct{}); none {
		dst = nil
	}
	_, err := c.Call(ctx, method, Prefix+path, in, 0, dst)
	return out, err
}

func asQuery(as *crdt.IdentityID) string {
	if as == nil {
		return ""
	}
	return "?as=" + as.String()
}

// Status is GET /status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	return api[Status](ctx, c, "GET", "/status", nil)
}

// Peers is GET /peers.
func (c *Client) Peers(ctx context.Context) ([]Peer, error) {
	return api[[]Peer](ctx, c, "GET", "/peers", nil)
}

// Identities is GET /identities, the default first.
func (c *Client) Identities(ctx context.Context) ([]LocalIdentity, error) {
	return api[[]LocalIdentity](ctx, c, "GET", "/identities", nil)
}

// CreateIdentity is POST /identities.
func (c *Client) CreateIdentity(ctx context.Context, req CreateIdentity) (LocalIdentity, error) {
	return api[LocalIdentity](ctx, c, "POST", "/identities", req)
}

// RenameIdentity is PATCH /identities/{id}.
func (c *Client) RenameIdentity(ctx context.Context, id crdt.IdentityID, req RenameIdentity) (LocalIdentity, error) {
	return api[LocalIdentity](ctx, c, "PATCH", "/identities/"+id.String(), req)
}

// Identity is GET /identities/{id}.
func (c *Client) Identity(ctx context.Context, id crdt.IdentityID) (Identity, error) {
	return api[Identity](ctx, c, "GET", "/identities/"+id.String(), nil)
}

// AddFacilitator is POST /facilitators.
func (c *Client) AddFacilitator(ctx context.Context, req AddFacilitator) error {
	_, err := api[struct{}](ctx, c, "POST", "/facilitators", req)
	return err
}

// Sessions is GET /sessions.
func (c *Client) Sessions(ctx context.Context) ([]Session, error) {
	return api[[]Session](ctx, c, "GET", "/sessions", nil)
}

// CreateSession is POST /sessions.
func (c *Client) CreateSession(ctx context.Context, req CreateSession) (Session, error) {
	return api[Session](ctx, c, "POST", "/sessions", req)
}

// Session is GET /sessions/{sid}.
func (c *Client) Session(ctx context.Context, sid crdt.OpID) (Session, error) {
	return api[Session](ctx, c, "GET", "/sessions/"+sid.String(), nil)
}

// UpdateSession is PATCH /sessions/{sid}.
func (c *Client) UpdateSession(ctx context.Context, sid crdt.OpID, req UpdateSession) (Session, error) {
	return api[Session](ctx, c, "PATCH", "/sessions/"+sid.String(), req)
}

// Document is GET /sessions/{sid}/document.
func (c *Client) Document(ctx context.Context, sid crdt.OpID) (Document, error) {
	return api[Document](ctx, c, "GET", "/sessions/"+sid.String()+"/document", nil)
}

// Propose is POST /sessions/{sid}/proposals.
func (c *Client) Propose(ctx context.Context, sid crdt.OpID, req Propose) (ProposalCreated, error) {
	return api[ProposalCreated](ctx, c, "POST", "/sessions/"+sid.String()+"/proposals", req)
}

// Groups is GET /groups.
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	return api[[]Group](ctx, c, "GET", "/groups", nil)
}

// CreateGroup is POST /groups.
func (c *Client) CreateGroup(ctx context.Context, req CreateGroup) (Group, error) {
	return api[Group](ctx, c, "POST", "/groups", req)
}

// Group is GET /groups/{gid}.
func (c *Client) Group(ctx context.Context, gid crdt.OpID) (Group, error) {
	return api[Group](ctx, c, "GET", "/groups/"+gid.String(), nil)
}

// AddScribe is POST /groups/{gid}/scribes.
func (c *Client) AddScribe(ctx context.Context, gid crdt.OpID, req AddScribe) error {
	_, err := api[struct{}](ctx, c, "POST", "/groups/"+gid.String()+"/scribes", req)
	return err
}

// Proposal is GET /proposals/{pid}.
func (c *Client) Proposal(ctx context.Context, pid crdt.OpID) (Proposal, error) {
	return api[Proposal](ctx, c, "GET", "/proposals/"+pid.String(), nil)
}

// Revisions is GET /proposals/{pid}/revisions.
func (c *Client) Revisions(ctx context.Context, pid crdt.OpID) ([]Revision, error) {
	return api[[]Revision](ctx, c, "GET", "/proposals/"+pid.String()+"/revisions", nil)
}

// Revise is POST /proposals/{pid}/revisions. A base that is not the current
// heads is an *Error with code "conflict" carrying them.
func (c *Client) Revise(ctx context.Context, pid crdt.OpID, req Revise) (RevisionCreated, error) {
	return api[RevisionCreated](ctx, c, "POST", "/proposals/"+pid.String()+"/revisions", req)
}

// Endorse is PUT (endorse true) or DELETE /proposals/{pid}/endorsements/{gid}.
func (c *Client) Endorse(ctx context.Context, pid, gid crdt.OpID, endorse bool, as *crdt.IdentityID) error {
	method := "PUT"
	if !endorse {
		method = "DELETE"
	}
	_, err := api[struct{}](ctx, c, method, "/proposals/"+pid.String()+"/endorsements/"+gid.String()+asQuery(as), nil)
	return err
}

// Comments is GET /proposals/{pid}/comments.
func (c *Client) Comments(ctx context.Context, pid crdt.OpID) ([]Comment, error) {
	return api[[]Comment](ctx, c, "GET", "/proposals/"+pid.String()+"/comments", nil)
}

// PostComment is POST /proposals/{pid}/comments.
func (c *Client) PostComment(ctx context.Context, pid crdt.OpID, req PostComment) (CommentCreated, error) {
	return api[CommentCreated](ctx, c, "POST", "/proposals/"+pid.String()+"/comments", req)
}

// Hide is PUT (hidden true) or DELETE /hidden/{id}.
func (c *Client) Hide(ctx context.Context, id crdt.OpID, hidden bool, as *crdt.IdentityID) error {
	method := "PUT"
	if !hidden {
		method = "DELETE"
	}
	_, err := api[struct{}](ctx, c, method, "/hidden/"+id.String()+asQuery(as), nil)
	return err
}

// Events is GET /events.
func (c *Client) Events(ctx context.Context) ([]Event, error) {
	return api[[]Event](ctx, c, "GET", "/events", nil)
}

// CreateEvent is POST /events.
func (c *Client) CreateEvent(ctx context.Context, req CreateEvent) (Event, error) {
	return api[Event](ctx, c, "POST", "/events", req)
}

// Event is GET /events/{eid}.
func (c *Client) Event(ctx context.Context, eid crdt.OpID) (Event, error) {
	return api[Event](ctx, c, "GET", "/events/"+eid.String(), nil)
}

// UpdateEvent is PATCH /events/{eid}.
func (c *Client) UpdateEvent(ctx context.Context, eid crdt.OpID, req UpdateEvent) (Event, error) {
	return api[Event](ctx, c, "PATCH", "/events/"+eid.String(), req)
}

// Register is PUT /events/{eid}/participants/{identity}.
func (c *Client) Register(ctx context.Context, eid crdt.OpID, who crdt.IdentityID, req Register) (Registration, error) {
	return api[Registration](ctx, c, "PUT", "/events/"+eid.String()+"/participants/"+who.String(), req)
}

// Export is GET /export with the query q (format, session, csv, since),
// copying the answer to w as it comes.
func (c *Client) Export(ctx context.Context, q url.Values, w io.Writer) error {
	path := Prefix + "/export?" + q.Encode()
	resp, err := c.send(ctx, "GET", path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errorOf("GET", path, resp)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// Import is POST /import of the bundle read from r.
func (c *Client) Import(ctx context.Context, r io.Reader) (ImportResult, error) {
	return api[ImportResult](ctx, c, "POST", "/import", r)
}

// errorOf reads an error answer (its first 64 KiB).
func errorOf(method, path string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Method: method, Path: path, Status: resp.StatusCode, Body: b}
	json.Unmarshal(b, &e.ErrorBody)
	return e
}
