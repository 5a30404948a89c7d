// Package apiv1 is the HTTP contract of a node's JSON API, version 1
// (docs/API.md): the body of every request and answer, the error body and
// its codes, and the one Go client that the CLI, the testnet and the
// benchmarks use. Package web encodes these types; nothing else defines a
// shape of the API.
//
// Where a crdt view already is the document's shape (a session, a group, a
// revision), the type here is an alias of it rather than a copy.
package apiv1

import (
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
)

// Prefix is where the API lives on a node's UI address.
const Prefix = "/api/v1"

// Name names a gathering or an identity in a status.
type Name struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Freshness says how current a node's view is. LastSync is null before the
// first reconciliation.
type Freshness struct {
	Peers    int        `json:"peers"`
	LastSync *time.Time `json:"last_sync"`
}

// FreshnessOf is the wire form of the node's freshness.
func FreshnessOf(f node.Freshness) Freshness {
	out := Freshness{Peers: f.Peers}
	if !f.LastSync.IsZero() {
		t := f.LastSync.UTC()
		out.LastSync = &t
	}
	return out
}

// Peer is a connected peer and how it was found (GET /peers, and the peers
// of a status): the mesh's own record, whose JSON tags are this shape.
// LastSync is omitted before the first reconciliation.
type Peer = node.Peer

// PeersOf is the wire form of the node's peers: never null, nor their
// addresses.
func PeersOf(ps []node.Peer) []Peer {
	out := make([]Peer, len(ps))
	for i, p := range ps {
		p.Addrs = nonNil(p.Addrs)
		p.Identities = nonNil(p.Identities)
		out[i] = p
	}
	return out
}

// Status is the answer of GET /status.
type Status struct {
	PeerID    string    `json:"peer_id"`
	Addrs     []string  `json:"addrs"`
	Gathering Name      `json:"gathering"`
	Identity  Name      `json:"identity"`
	Peers     []Peer    `json:"peers"`
	Ops       int       `json:"ops"`
	Digest    string    `json:"digest"`
	Freshness Freshness `json:"freshness"`
	StoreSize int64     `json:"store_size"`
	Clock     Clock     `json:"clock"`
	Epoch     uint64    `json:"epoch"` // the newest epoch held; a rotation advances it
}

// Clock is this laptop's clock against the room's (see node.ClockStatus).
type Clock = node.ClockStatus

// StatusOf is the wire form of the node's status.
func StatusOf(st node.Status) Status {
	return Status{
		PeerID:    st.PeerID,
		Addrs:     nonNil(st.Addrs),
		Gathering: Name{ID: st.Gathering.String(), Name: st.Name},
		Identity:  Name{ID: st.Identity.ID.String(), Name: st.Identity.Name},
		Peers:     PeersOf(st.Peers),
		Ops:       st.Ops,
		Digest:    st.Digest,
		Freshness: FreshnessOf(st.Freshness),
		StoreSize: st.StoreSize,
		Clock:     st.Clock,
		Epoch:     st.Epoch,
	}
}

// LocalIdentity is an identity this node holds the key of (GET and POST
// /identities).
type LocalIdentity struct {
	ID          crdt.IdentityID `json:"id"`
	Name        string          `json:"name"`
	Default     bool            `json:"default"`
	Facilitator bool            `json:"facilitator"`
}

// Identity is any identity the gathering knows (GET /identities/{id}).
type Identity struct {
	crdt.Identity
	Local bool `json:"local"`
}

// Views that crdt already shapes as the API shows them.
type (
	Session  = crdt.Session
	Group    = crdt.Group
	Revision = crdt.Revision
	Comment  = crdt.Comment
	Place    = crdt.Place
)

// Document is GET /sessions/{sid}/document: the session's document with
// how fresh this node's view is.
type Document struct {
	crdt.Document
	Freshness Freshness `json:"freshness"`
	// History is set while this laptop catches up: "arriving" while the
	// session may still lack operations, "complete" when its document is
	// final and only other history is arriving (node.HistoryArriving,
	// node.HistoryComplete); absent otherwise.
	History string `json:"history,omitempty"`
	// Groups names every group the document mentions (authors, endorsers,
	// waiting proposals), in a stable human order: by name, then by id.
	// Pages list endorsing groups in this order.
	Groups []GroupName `json:"groups"`
	// Comments counts each proposal's comments (hidden ones included), by
	// proposal id.
	Comments map[crdt.OpID]int `json:"comments"`
}

// GroupName is a group as a document names it; Name is "" when hidden.
type GroupName struct {
	ID   crdt.OpID `json:"id"`
	Name string    `json:"name"`
}

// Proposal is GET /proposals/{pid}: the proposal as in the document, with
// its session.
type Proposal struct {
	crdt.Proposal
	Session crdt.OpID `json:"session"`
}

// ProposalCreated answers POST /sessions/{sid}/proposals; a proposal's id
// is the id of its first revision.
type ProposalCreated struct {
	ID       crdt.OpID `json:"id"`
	Revision crdt.OpID `json:"revision"`
}

// RevisionCreated answers POST /proposals/{pid}/revisions.
type RevisionCreated struct {
	Revision crdt.OpID `json:"revision"`
}

// CommentCreated answers POST /proposals/{pid}/comments.
type CommentCreated struct {
	ID crdt.OpID `json:"id"`
}

// Event is an event as the API shows it: every field present, even when
// empty, so that pages need not guess.
type Event struct {
	ID           crdt.OpID       `json:"id"`
	Title        string          `json:"title"`
	Description  string          `json:"description"`
	Start        string          `json:"start"`
	End          string          `json:"end"`
	Timezone     string          `json:"timezone"`
	Place        *crdt.Place     `json:"place"`
	OnlineURL    string          `json:"online_url"`
	Group        *crdt.OpID      `json:"group"`
	Language     string          `json:"language"`
	Tags         []string        `json:"tags"`
	Capacity     int             `json:"capacity"`
	Status       string          `json:"status"`
	Going        int             `json:"going"`
	Maybe        int             `json:"maybe"`
	Waitlist     int             `json:"waitlist"`
	Creator      crdt.IdentityID `json:"creator"`
	Participants []Participant   `json:"participants"`
	Created      time.Time       `json:"created"`
	Modified     time.Time       `json:"modified"`
	Sequence     int             `json:"sequence"`
	Hidden       bool            `json:"hidden"`
}

// Participant is one identity's registration for an event, with the
// identity's name: "" when it is hidden or never named itself (a page
// shows who is going without a lookup per person, and withholds what a
// facilitator hid).
type Participant struct {
	crdt.Participant
	Name string `json:"name"`
}

// EventOf is the wire form of an event; name gives a participant's name
// (nil: none).
func EventOf(e crdt.Event, name func(crdt.IdentityID) string) Event {
	ps := make([]Participant, len(e.Participants))
	for i, p := range e.Participants {
		ps[i].Participant = p
		if name != nil {
			ps[i].Name = name(p.Identity)
		}
	}
	return Event{
		ID:           e.ID,
		Title:        e.Title,
		Description:  e.Description,
		Start:        e.Start,
		End:          e.End,
		Timezone:     e.Timezone,
		Place:        e.Place,
		OnlineURL:    e.OnlineURL,
		Group:        e.Group,
		Language:     e.Language,
		Tags:         nonNil(e.Tags),
		Capacity:     e.Capacity,
		Status:       e.Status,
		Going:        e.Going,
		Maybe:        e.Maybe,
		Waitlist:     e.Waitlist,
		Creator:      e.Creator,
		Participants: ps,
		Created:      e.Created,
		Modified:     e.Modified,
		Sequence:     e.Sequence,
		Hidden:       e.Hidden,
	}
}

// Registration answers PUT /events/{eid}/participants/{identity}.
type Registration struct {
	Status     string `json:"status"`
	Waitlisted bool   `json:"waitlisted"`
}

// ImportResult answers POST /import.
type ImportResult struct {
	Added     int `json:"added"`
	Duplicate int `json:"duplicate"`
}

// Change is the data of a "change" event on GET /stream: the node's own
// record, whose JSON tags are this shape.
type Change = node.Change

// nonNil makes a nil slice an empty one, which JSON shows as [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
