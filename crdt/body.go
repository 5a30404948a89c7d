package crdt

import (
	"bytes"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind says what an operation does. Values are part of the encoding: never
// renumber them.
type Kind uint8

const (
	KindGathering     Kind = 1  // rename the gathering (facilitators)
	KindIdentity      Kind = 2  // an identity names itself
	KindFacilitator   Kind = 3  // a facilitator appoints another
	KindSession       Kind = 4  // create a session
	KindSessionUpdate Kind = 5  // facilitators: title, prompt, cap, open
	KindGroup         Kind = 6  // create a group; the author is its scribe
	KindScribe        Kind = 7  // a scribe adds a scribe
	KindProposal      Kind = 8  // a group's new proposal (its first revision)
	KindRevision      Kind = 9  // an edit of a proposal
	KindEndorse       Kind = 10 // a group endorses or withdraws, per revision
	KindComment       Kind = 11 // anyone comments on a proposal
	KindHide          Kind = 12 // facilitators hide or show content
	KindEvent         Kind = 13 // create an event
	KindEventUpdate   Kind = 14 // change an event's fields
	KindParticipation Kind = 15 // an identity's going / maybe / not going
	KindRemoval       Kind = 16 // facilitators remove an identity (govern.go)
	KindSeating       Kind = 17 // facilitators set the gathering open or seated
	KindSeat          Kind = 18 // facilitators seat or unseat a group
	KindRotation      Kind = 19 // facilitators start the next epoch (rotation.go)
	KindTranslation   Kind = 20 // a group translates a revision (translate.go)
	KindAgenda        Kind = 21 // facilitators set a session's steps (agenda.go)
	KindPhase         Kind = 22 // facilitators start a step (agenda.go)
	KindRatification  Kind = 23 // facilitators fix a session's document (ratify.go)
	KindImport        Kind = 24 // a proposal with provenance: ProposalBody with From
)

// Size bounds, in bytes of UTF-8.
const (
	MaxName        = 200
	MaxText        = 8000
	MaxDescription = 16000
	MaxTags        = 32
	MaxTag         = 64
	MaxParents     = 64
	MaxCap         = 1000
	DefaultCap     = 10

	maxAddress  = MaxName * 2
	maxURL      = MaxName * 4
	maxLanguage = 35
	maxZone     = 64
)

// Participation statuses.
const (
	Going    = "going"
	Maybe    = "maybe"
	NotGoing = "not_going"
)

// Event statuses.
const (
	Tentative = "tentative"
	Confirmed = "confirmed"
	Cancelled = "cancelled"
)

// Body is the payload of an operation. The JSON tags of the body types are
// for display; sealed payloads and snapshots use the binary encoding of
// wire.go.
type Body interface {
	Kind() Kind
	validate() error
	encode(w *writer) // see wire.go
	decode(r *reader)
}

func newBody(k Kind) Body {
	switch k {
	case KindGathering:
		return &GatheringBody{}
	case KindIdentity:
		return &IdentityBody{}
	case KindFacilitator:
		return &FacilitatorBody{}
	case KindSession:
		return &SessionBody{}
	case KindSessionUpdate:
		return &SessionUpdateBody{}
	case KindGroup:
		return &GroupBody{}
	case KindScribe:
		return &ScribeBody{}
	case KindProposal:
		return &ProposalBody{}
	case KindRevision:
		return &RevisionBody{}
	case KindEndorse:
		return &EndorseBody{}
	case KindComment:
		return &CommentBody{}
	case KindHide:
		return &HideBody{}
	case KindEvent:
		return &EventBody{}
	case KindEventUpdate:
		return &EventUpdateBody{}
	case KindParticipation:
		return &ParticipationBody{}
	case KindRemoval:
		return &RemovalBody{}
	case KindSeating:
		return &SeatingBody{}
	case KindSeat:
		return &SeatBody{}
	case KindRotation:
		return &RotationBody{}
	case KindTranslation:
		return &TranslationBody{}
	case KindAgenda:
		return &AgendaBody{}
	case KindPhase:
		return &PhaseBody{}
	case KindRatification:
		return &RatificationBody{}
	case KindImport:
		return &ProposalBody{From: new(Provenance)}
	}
	return nil
}

type GatheringBody struct {
	Name string `json:"name"`
}

type IdentityBody struct {
	Name string `json:"name"`
}

type FacilitatorBody struct {
	Identity IdentityID `json:"identity"`
}

type SessionBody struct {
	Title  string `json:"title"`
	Prompt string `json:"prompt,omitempty"`
	Cap    int    `json:"cap"`
}

// SessionUpdateBody changes the fields it sets; each field is
// last-writer-wins.
type SessionUpdateBody struct {
	Session OpID    `json:"session"`
	Title   *string `json:"title,omitempty"`
	Prompt  *string `json:"prompt,omitempty"`
	Cap     *int    `json:"cap,omitempty"`
	Open    *bool   `json:"open,omitempty"`
}

type GroupBody struct {
	Name string `json:"name"`
}

type ScribeBody struct {
	Group    OpID       `json:"group"`
	Identity IdentityID `json:"identity"`
}

// ProposalBody creates a proposal; the operation is also its first
// revision, so the proposal id and that revision's id are the same. From,
// when set, makes it an import (KindImport, ratify.go): a facilitator's
// copy of a proposal of another session or gathering.
type ProposalBody struct {
	Session OpID        `json:"session"`
	Group   OpID        `json:"group"`
	Text    string      `json:"text"`
	From    *Provenance `json:"from,omitempty"`
}

// RevisionBody edits a proposal. Parents are the heads its author saw.
type RevisionBody struct {
	Proposal OpID   `json:"proposal"`
	Group    OpID   `json:"group"`
	Text     string `json:"text"`
	Parents  []OpID `json:"parents"`
}

// EndorseBody endorses (or, with Endorse false, withdraws from) one
// revision of a proposal.
type EndorseBody struct {
	Proposal OpID `json:"proposal"`
	Group    OpID `json:"group"`
	Revision OpID `json:"revision"`
	Endorse  bool `json:"endorse"`
}

type CommentBody struct {
	Proposal OpID   `json:"proposal"`
	Text     string `json:"text"`
}

// HideBody hides or shows content: a proposal, revision, comment, group
// (its name), event or identity (its name; Target holds the identity's
// key, which has the size of an operation id).
type HideBody struct {
	Target OpID `json:"target"`
	Hidden bool `json:"hidden"`
}

// Place is where an event happens.
type Place struct {
	Venue   string   `json:"venue,omitempty"`
	Address string   `json:"address,omitempty"`
	Lat     *float64 `json:"lat,omitempty"`
	Lon     *float64 `json:"lon,omitempty"`
}

// EventFields are an event's fields. Start and End are RFC 3339 times;
// Timezone is an IANA zone name; Group is the organizing group, if any.
type EventFields struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Start       string   `json:"start"`
	End         string   `json:"end"`
	Timezone    string   `json:"timezone"`
	Place       *Place   `json:"place,omitempty"`
	OnlineURL   string   `json:"online_url,omitempty"`
	Group       *OpID    `json:"group,omitempty"`
	Language    string   `json:"language,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Capacity    int      `json:"capacity,omitempty"`
	Status      string   `json:"status"`
}

type EventBody struct {
	EventFields
}

// EventPatch names the fields an update sets; each is last-writer-wins.
type EventPatch struct {
	Title       *string   `json:"title,omitempty"`
	Description *string   `json:"description,omitempty"`
	Start       *string   `json:"start,omitempty"`
	End         *string   `json:"end,omitempty"`
	Timezone    *string   `json:"timezone,omitempty"`
	Place       *Place    `json:"place,omitempty"`
	OnlineURL   *string   `json:"online_url,omitempty"`
	Language    *string   `json:"language,omitempty"`
	Tags        *[]string `json:"tags,omitempty"`
	Capacity    *int      `json:"capacity,omitempty"`
	Status      *string   `json:"status,omitempty"`
}

type EventUpdateBody struct {
	Event OpID       `json:"event"`
	Set   EventPatch `json:"set"`
}

type ParticipationBody struct {
	Event  OpID   `json:"event"`
	Status string `json:"status"`
}

func (*GatheringBody) Kind() Kind     { return KindGathering }
func (*IdentityBody) Kind() Kind      { return KindIdentity }
func (*FacilitatorBody) Kind() Kind   { return KindFacilitator }
func (*SessionBody) Kind() Kind       { return KindSession }
func (*SessionUpdateBody) Kind() Kind { return KindSessionUpdate }
func (*GroupBody) Kind() Kind         { return KindGroup }
func (*ScribeBody) Kind() Kind        { return KindScribe }
func (b *ProposalBody) Kind() Kind {
	if b.From != nil {
		return KindImport
	}
	return KindProposal
}
func (*RevisionBody) Kind() Kind      { return KindRevision }
func (*EndorseBody) Kind() Kind       { return KindEndorse }
func (*CommentBody) Kind() Kind       { return KindComment }
func (*HideBody) Kind() Kind          { return KindHide }
func (*EventBody) Kind() Kind         { return KindEvent }
func (*EventUpdateBody) Kind() Kind   { return KindEventUpdate }
func (*ParticipationBody) Kind() Kind { return KindParticipation }

func (b *GatheringBody) validate() error { return checkName("name", b.Name) }
func (b *IdentityBody) validate() error  { return checkName("name", b.Name) }
func (b *FacilitatorBody) validate() error {
	return nil
}

func (b *SessionBody) validate() error {
	if err := checkName("title", b.Title); err != nil {
		return err
	}
	if err := checkText("prompt", b.Prompt, MaxText, true); err != nil {
		return err
	}
	return checkCap(b.Cap)
}

func (b *SessionUpdateBody) validate() error {
	if b.Title == nil && b.Prompt == nil && b.Cap == nil && b.Open == nil {
		return invalid("session update changes nothing")
	}
	if b.Title != nil {
		if err := checkName("title", *b.Title); err != nil {
			return err
		}
	}
	if b.Prompt != nil {
		if err := checkText("prompt", *b.Prompt, MaxText, true); err != nil {
			return err
		}
	}
	if b.Cap != nil {
		return checkCap(*b.Cap)
	}
	return nil
}

func (b *GroupBody) validate() error    { return checkName("name", b.Name) }
func (b *ScribeBody) validate() error   { return nil }
func (b *ProposalBody) validate() error { return checkText("text", b.Text, MaxText, false) }

func (b *RevisionBody) validate() error {
	if len(b.Parents) == 0 || len(b.Parents) > MaxParents {
		return invalid("a revision names 1 to %d parent revisions", MaxParents)
	}
	for i := 1; i < len(b.Parents); i++ {
		if b.Parents[i-1].compare(b.Parents[i]) >= 0 {
			return invalid("parent revisions must be sorted and distinct")
		}
	}
	return checkText("text", b.Text, MaxText, false)
}

func (b *EndorseBody) validate() error { return nil }
func (b *CommentBody) validate() error { return checkText("text", b.Text, MaxText, false) }
func (b *HideBody) validate() error    { return nil }

func (b *EventBody) validate() error {
	f := b.EventFields
	return (&EventPatch{
		Title: &f.Title, Description: &f.Description, Start: &f.Start, End: &f.End,
		Timezone: &f.Timezone, Place: f.Place, OnlineURL: &f.OnlineURL, Language: &f.Language,
		Tags: &f.Tags, Capacity: &f.Capacity, Status: &f.Status,
	}).validate(true)
}

func (b *EventUpdateBody) validate() error { return b.Set.validate(false) }

func (b *ParticipationBody) validate() error {
	switch b.Status {
	case Going, Maybe, NotGoing:
		return nil
	}
	return invalid("participation status must be going, maybe or not_going")
}

// validate checks the fields set. With whole, the times must also be in
// order (an update may move start and end separately; the state orders
// them when it shows the event).
func (p *EventPatch) validate(whole bool) error {
	if p.Title != nil {
		if err := checkName("title", *p.Title); err != nil {
			return err
		}
	}
	if p.Description != nil {
		if err := checkText("description", *p.Description, MaxDescription, true); err != nil {
			return err
		}
	}
	var start, end time.Time
	var err error
	if p.Start != nil {
		if start, err = checkTime("start", *p.Start); err != nil {
			return err
		}
	}
	if p.End != nil {
		if end, err = checkTime("end", *p.End); err != nil {
			return err
		}
	}
	if whole && end.Before(start) {
		return invalid("end is before start")
	}
	if p.Timezone != nil {
		if err := checkZone(*p.Timezone); err != nil {
			return err
		}
	}
	if p.Place != nil {
		if err := p.Place.validate(); err != nil {
			return err
		}
	}
	if p.OnlineURL != nil && *p.OnlineURL != "" {
		u, err := url.Parse(*p.OnlineURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(*p.OnlineURL) > maxURL {
			return invalid("online_url must be an http or https URL")
		}
	}
	if p.Language != nil {
		if err := checkText("language", *p.Language, maxLanguage, true); err != nil {
			return err
		}
		if *p.Language != "" && !IsLanguageTag(*p.Language) {
			return invalid("language must be a BCP 47 language tag such as en or pt-BR")
		}
	}
	if p.Tags != nil {
		if len(*p.Tags) > MaxTags {
			return invalid("at most %d tags", MaxTags)
		}
		for _, t := range *p.Tags {
			if err := checkText("tag", t, MaxTag, false); err != nil {
				return err
			}
		}
	}
	if p.Capacity != nil && (*p.Capacity < 0 || *p.Capacity > 1_000_000) {
		return invalid("capacity must be between 0 (no limit) and 1000000")
	}
	if p.Status != nil {
		switch *p.Status {
		case Tentative, Confirmed, Cancelled:
		default:
			return invalid("status must be tentative, confirmed or cancelled")
		}
	}
	return nil
}

func (p *Place) validate() error {
	if err := checkText("venue", p.Venue, MaxName, true); err != nil {
		return err
	}
	if err := checkText("address", p.Address, maxAddress, true); err != nil {
		return err
	}
	if (p.Lat == nil) != (p.Lon == nil) {
		return invalid("coordinates need both lat and lon")
	}
	if p.Lat != nil && (math.IsNaN(*p.Lat) || *p.Lat < -90 || *p.Lat > 90 || math.IsNaN(*p.Lon) || *p.Lon < -180 || *p.Lon > 180) {
		return invalid("coordinates out of range")
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func checkName(field, s string) error { return checkText(field, s, MaxName, false) }

func checkText(field, s string, max int, emptyOK bool) error {
	switch {
	case !utf8.ValidString(s):
		return invalid("%s is not valid UTF-8", field)
	case len(s) > max:
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, field, len(s), max)
	case !emptyOK && strings.TrimSpace(s) == "":
		return invalid("%s is empty", field)
	case strings.ContainsRune(s, 0):
		return invalid("%s contains a NUL character", field)
	}
	return nil
}

// IsLanguageTag reports whether s has the shape of a BCP 47 language tag:
// 1 to 35 ASCII letters, digits and hyphens. Whether the subtags are
// registered is not checked; the shape is what keeps the value safe to put
// unquoted in other formats (an iCalendar LANGUAGE parameter).
func IsLanguageTag(s string) bool {
	if s == "" || len(s) > maxLanguage {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func checkCap(c int) error {
	if c < 1 || c > MaxCap {
		return invalid("cap must be between 1 and %d", MaxCap)
	}
	return nil
}

func checkTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, invalid("%s must be an RFC 3339 time", field)
	}
	return t, nil
}

// checkZone checks the shape of an IANA zone name. Whether the zone exists
// is checked where the zone database is at hand (the node), since this
// package reads no files.
func checkZone(z string) error {
	if z == "" || len(z) > maxZone {
		return invalid("timezone must be an IANA zone name")
	}
	for _, r := range z {
		if !(r == '/' || r == '_' || r == '-' || r == '+' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return invalid("timezone must be an IANA zone name")
		}
	}
	return nil
}

func (id OpID) compare(o OpID) int { return bytes.Compare(id[:], o[:]) }
