package crdt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Ratification (issue 14): facilitators fix a session's document as it
// stands. The operation names the ranked proposals' revisions and the
// groups whose endorsement of each counted, and carries the digest of the
// document they make (RatifiedDigest); the ratified document is rebuilt
// from those ids, whose operations never change, so later edits,
// endorsements and hides change nothing in it.

// MaxRatifiedIDs bounds the ids one ratification carries (a revision per
// proposal plus its endorsing groups): 800 ids are 25.6 KiB, which with the
// title pads to a 28 KiB bucket (seal.go), under MaxEnvelopeSize once
// sealed. A document needing more cannot be ratified in one operation.
const MaxRatifiedIDs = 800

// digestLabel starts the digest's input, so that no other hash of the
// project can be mistaken for a ratified document's.
const digestLabel = "convene/ratified-document/v1\x00"

// Digest is the SHA-256 of a ratified document's canonical encoding.
type Digest [32]byte

func (d Digest) String() string                { return hex.EncodeToString(d[:]) }
func (d Digest) IsZero() bool                  { return d == Digest{} }
func (d Digest) MarshalText() ([]byte, error)  { return hexText(d[:]) }
func (d *Digest) UnmarshalText(b []byte) error { return parseHex32((*[32]byte)(d), b) }

// RatifiedEntry is one ranked proposal of a ratification: the revision
// shown and the groups whose endorsement of it counted (sorted, distinct);
// a hidden group is named by the hide operation that hid it, which
// withholds its name from the document (ratified.go, textOf).
type RatifiedEntry struct {
	Revision   OpID   `json:"revision"`
	EndorsedBy []OpID `json:"endorsed_by"`
}

// RatificationBody fixes a session's document: its title and its ranked
// proposals in rank order, with the digest of the document they make.
type RatificationBody struct {
	Session OpID            `json:"session"`
	Title   string          `json:"title"`
	Entries []RatifiedEntry `json:"entries"`
	Digest  Digest          `json:"digest"`
}

func (*RatificationBody) Kind() Kind { return KindRatification }

func (b *RatificationBody) validate() error {
	if err := checkName("title", b.Title); err != nil {
		return err
	}
	n := 0
	seen := make(map[OpID]bool, len(b.Entries))
	for _, e := range b.Entries {
		if seen[e.Revision] {
			return invalid("a ratification names each revision once")
		}
		seen[e.Revision] = true
		n += 1 + len(e.EndorsedBy)
		for i := 1; i < len(e.EndorsedBy); i++ {
			if e.EndorsedBy[i-1].compare(e.EndorsedBy[i]) >= 0 {
				return invalid("endorsing groups must be sorted and distinct")
			}
		}
	}
	if n > MaxRatifiedIDs {
		return fmt.Errorf("%w: the document names %d revisions and endorsements, one ratification at most %d", ErrTooLarge, n, MaxRatifiedIDs)
	}
	return nil
}

func (b *RatificationBody) encode(w *writer) {
	w.id(b.Session)
	w.str(b.Title)
	w.uvarint(uint64(len(b.Entries)))
	for _, e := range b.Entries {
		w.id(e.Revision)
		w.ids(e.EndorsedBy)
	}
	w.id(b.Digest)
}

func (b *RatificationBody) decode(r *reader) {
	b.Session = r.id()
	b.Title = r.str(MaxName)
	n := r.count(MaxRatifiedIDs, 33)
	if n > 0 {
		b.Entries = make([]RatifiedEntry, n)
		for i := range b.Entries {
			b.Entries[i].Revision = r.id()
			b.Entries[i].EndorsedBy = r.ids(MaxRatifiedIDs)
		}
	}
	b.Digest = r.id()
}

// GroupRef is a group as a ratified document names it. An endorsing group
// whose name is withheld has an empty Name and, as ID, the id of the hide
// operation that hid it.
type GroupRef struct {
	ID   OpID   `json:"id"`
	Name string `json:"name"`
}

// RatifiedProposal is one proposal of a ratified document, everything the
// digest covers.
type RatifiedProposal struct {
	ID         OpID        `json:"id"`
	Revision   OpID        `json:"revision"`
	Group      GroupRef    `json:"group"`
	Text       string      `json:"text"`
	EndorsedBy []GroupRef  `json:"endorsed_by"` // sorted by id
	From       *Provenance `json:"from"`
}

// RatifiedText is what a ratification's digest covers: the session, its
// title and the ranked proposals in rank order.
type RatifiedText struct {
	Session   OpID               `json:"session"`
	Title     string             `json:"title"`
	Proposals []RatifiedProposal `json:"proposals"`
}

// RatifiedDigest is the digest of a ratified document: SHA-256 of
//
//	"convene/ratified-document/v1" and a NUL byte
//	session id (32 bytes), title (string)
//	proposal count (uvarint), then per proposal in rank order:
//	  proposal id, revision id, group id (32 bytes each), group name,
//	  text (strings), endorsing group count (uvarint), per endorsing group
//	  in id order: group id, group name (a group whose name is withheld:
//	  the id of the hide operation that hid it, and an empty name; no
//	  group's name is empty); provenance: 0, or 1 then the
//	  source gathering, session, proposal, revision and digest (32 bytes
//	  each)
//
// with strings as a uvarint byte length then the UTF-8 bytes and uvarints
// minimal (wire.go). docs/DECISIONS.md states it for other implementers.
func RatifiedDigest(t RatifiedText) Digest {
	w := writer{b: []byte(digestLabel)}
	w.id(t.Session)
	w.str(t.Title)
	w.uvarint(uint64(len(t.Proposals)))
	for _, p := range t.Proposals {
		w.id(p.ID)
		w.id(p.Revision)
		w.id(p.Group.ID)
		w.str(p.Group.Name)
		w.str(p.Text)
		w.uvarint(uint64(len(p.EndorsedBy)))
		for _, g := range p.EndorsedBy {
			w.id(g.ID)
			w.str(g.Name)
		}
		if w.present(p.From != nil) {
			p.From.encode(&w)
		}
	}
	return sha256.Sum256(w.b)
}

// Provenance says where an imported proposal came from: the source
// gathering, session, proposal and revision, and the digest of the ratified
// document it was taken from (zero when taken from a session of the same
// gathering that was not ratified).
type Provenance struct {
	Gathering GatheringID `json:"gathering"`
	Session   OpID        `json:"session"`
	Proposal  OpID        `json:"proposal"`
	Revision  OpID        `json:"revision"`
	Digest    Digest      `json:"digest,omitzero"`
}

func (p *Provenance) encode(w *writer) {
	w.id(p.Gathering)
	w.id(p.Session)
	w.id(p.Proposal)
	w.id(p.Revision)
	w.id(p.Digest)
}

func (p *Provenance) decode(r *reader) {
	p.Gathering = r.id()
	p.Session = r.id()
	p.Proposal = r.id()
	p.Revision = r.id()
	p.Digest = r.id()
}

// importKey is what makes two imports the same: one source revision of
// one source proposal of one gathering enters a session once.
type importKey struct {
	gathering GatheringID
	proposal  OpID
	revision  OpID
}

func (p *Provenance) key() importKey {
	return importKey{p.Gathering, p.Proposal, p.Revision}
}
