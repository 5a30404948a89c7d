package crdt

import "time"

// The types below are the read side of State: plain values, safe to hand
// to other goroutines, with JSON tags that are the HTTP API's shapes.

// Document is a session's assembled document (see API.md).
type Document struct {
	Session   Session    `json:"session"`
	Proposals []Proposal `json:"proposals"`
	Waiting   []Waiting  `json:"waiting"`
}

// Session is a workshop document's settings.
type Session struct {
	ID     OpID   `json:"id"`
	Title  string `json:"title"`
	Prompt string `json:"prompt"`
	Cap    int    `json:"cap"`
	Open   bool   `json:"open"`
	// Agenda is never nil; Phase is nil when no step runs (agenda.go).
	Agenda []Step `json:"agenda"`
	Phase  *Phase `json:"phase"`
}

// Proposal is one proposal as the document shows it. Text and Revision are
// the shown head's; Heads holds every head when the proposal is in
// conflict. A hidden proposal keeps its place in the history but its text
// is empty.
type Proposal struct {
	ID           OpID   `json:"id"`
	Rank         int    `json:"rank"`
	Text         string `json:"text"`
	Revision     OpID   `json:"revision"`
	Group        OpID   `json:"group"`
	Endorsements int    `json:"endorsements"`
	EndorsedBy   []OpID `json:"endorsed_by"`
	Conflict     bool   `json:"conflict"`
	Heads        []OpID `json:"heads"`
	Revisions    int    `json:"revisions"`
	Hidden       bool   `json:"hidden"`
	// Translations per language (translate.go); {} when none.
	Translations Translations `json:"translations"`
	// Set only in a view in one language (Document.In) where a fresh
	// translation replaced Text: its language, and the original text.
	TextLang string `json:"text_lang,omitempty"`
	Original string `json:"original,omitempty"`
	// From is an import's provenance (ratify.go), nil for a proposal made
	// here.
	From *Provenance `json:"from"`
}

// Waiting is a proposal over the cap after a merge.
type Waiting struct {
	ID       OpID        `json:"id"`
	Text     string      `json:"text"`
	Revision OpID        `json:"revision"`
	Group    OpID        `json:"group"`
	From     *Provenance `json:"from"`
}

// Revision is one revision of a proposal, in a proposal's history.
type Revision struct {
	ID      OpID       `json:"id"`
	Text    string     `json:"text"`
	Group   OpID       `json:"group"`
	Author  IdentityID `json:"author"`
	At      time.Time  `json:"at"`
	Parents []OpID     `json:"parents"`
	Hidden  bool       `json:"hidden"`
}

// Group is a group and its scribes.
type Group struct {
	ID      OpID         `json:"id"`
	Name    string       `json:"name"` // "" when hidden
	Scribes []IdentityID `json:"scribes"`
	Seated  bool         `json:"seated"`
	Hidden  bool         `json:"hidden"`
}

// Member is an identity the gathering has seen, for GET /members: every
// author of an operation held, the founder and every removed identity.
type Member struct {
	ID          IdentityID `json:"id"`
	Name        string     `json:"name"` // "" when hidden or never given
	Facilitator bool       `json:"facilitator"`
	Removed     bool       `json:"removed"`
	Groups      []OpID     `json:"groups"` // groups it is a scribe of
	Hidden      bool       `json:"hidden"`
}

// Gathering is the gathering's own fields.
type Gathering struct {
	Name    string `json:"name"`
	Seating string `json:"seating"`
}

// Identity is an identity known to the gathering (from its own operation).
type Identity struct {
	ID          IdentityID `json:"id"`
	Name        string     `json:"name"`
	Facilitator bool       `json:"facilitator"`
}

// Comment is a comment on a proposal.
type Comment struct {
	ID     OpID       `json:"id"`
	Author IdentityID `json:"author"`
	Text   string     `json:"text"`
	At     time.Time  `json:"at"`
	Hidden bool       `json:"hidden"`
}

// Event is an event with its last-writer-wins fields resolved and its
// registrations counted. Going excludes the waitlist.
type Event struct {
	ID OpID `json:"id"`
	EventFields
	Creator      IdentityID    `json:"creator"`
	Going        int           `json:"going"`
	Maybe        int           `json:"maybe"`
	Waitlist     int           `json:"waitlist"`
	Participants []Participant `json:"participants"`
	Created      time.Time     `json:"created"`
	Modified     time.Time     `json:"modified"`
	// Sequence counts the updates applied, for iCalendar's SEQUENCE.
	Sequence int `json:"sequence"`
	// Hidden withholds the event's text (title, description, place,
	// link, tags).
	Hidden bool `json:"hidden"`
}

// Participant is one identity's registration for an event.
type Participant struct {
	Identity   IdentityID `json:"identity"`
	Status     string     `json:"status"`
	Waitlisted bool       `json:"waitlisted"`
}

// Time turns a clock's wall time into a time.Time, for display.
func (c Clock) Time() time.Time { return time.UnixMilli(c.Wall).UTC() }
