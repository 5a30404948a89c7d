package apiv1

import "github.com/convene/convene/crdt"

// Request bodies. As names the local identity that acts; when it is nil
// the node picks one the rules allow (docs/API.md, "Who acts"). The server
// refuses fields that are not listed here, by their exact names.

// CreateIdentity is POST /identities.
type CreateIdentity struct {
	Name string `json:"name"`
}

// AddFacilitator is POST /facilitators.
type AddFacilitator struct {
	Identity crdt.IdentityID  `json:"identity"`
	As       *crdt.IdentityID `json:"as,omitempty"`
}

// CreateSession is POST /sessions; a nil Cap is the default cap.
type CreateSession struct {
	Title  string           `json:"title"`
	Prompt string           `json:"prompt,omitempty"`
	Cap    *int             `json:"cap,omitempty"`
	As     *crdt.IdentityID `json:"as,omitempty"`
}

// UpdateSession is PATCH /sessions/{sid}: the fields to change.
type UpdateSession struct {
	Title  *string `json:"title,omitempty"`
	Prompt *string `json:"prompt,omitempty"`
	Cap    *int    `json:"cap,omitempty"`
	Open   *bool   `json:"open,omitempty"`
	// Agenda replaces the session's steps ([] clears them).
	Agenda *[]crdt.Step     `json:"agenda,omitempty"`
	As     *crdt.IdentityID `json:"as,omitempty"`
}

// CreateGroup is POST /groups.
type CreateGroup struct {
	Name string           `json:"name"`
	As   *crdt.IdentityID `json:"as,omitempty"`
}

// AddScribe is POST /groups/{gid}/scribes.
type AddScribe struct {
	Identity crdt.IdentityID  `json:"identity"`
	As       *crdt.IdentityID `json:"as,omitempty"`
}

// Propose is POST /sessions/{sid}/proposals.
type Propose struct {
	Group crdt.OpID        `json:"group"`
	Text  string           `json:"text"`
	As    *crdt.IdentityID `json:"as,omitempty"`
}

// Revise is POST /proposals/{pid}/revisions; Base must be the proposal's
// current heads.
type Revise struct {
	Group crdt.OpID        `json:"group"`
	Text  string           `json:"text"`
	Base  []crdt.OpID      `json:"base"`
	As    *crdt.IdentityID `json:"as,omitempty"`
}

// PostComment is POST /proposals/{pid}/comments.
type PostComment struct {
	Text string           `json:"text"`
	As   *crdt.IdentityID `json:"as,omitempty"`
}

// CreateEvent is POST /events; an empty Status is "confirmed".
type CreateEvent struct {
	crdt.EventFields
	As *crdt.IdentityID `json:"as,omitempty"`
}

// UpdateEvent is PATCH /events/{eid}: the fields to change.
type UpdateEvent struct {
	crdt.EventPatch
	As *crdt.IdentityID `json:"as,omitempty"`
}

// Register is PUT /events/{eid}/participants/{identity}.
type Register struct {
	Status string `json:"status"` // going, maybe or not_going
}
