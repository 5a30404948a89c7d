package export

import (
	"fmt"
	"time"

	"github.com/convene/convene/crdt"
)

// Export is everything an export shows, copied out of a crdt.State by
// Collect so that writing the file needs no lock.
type Export struct {
	Gathering crdt.GatheringID
	Name      string // the gathering's name
	Generated time.Time
	Freshness Freshness
	// BaseURL, when set (e.g. "http://127.0.0.1:7777"), makes event and
	// group links in ICS and ActivityStreams absolute web addresses; when
	// empty they are urn:convene: names.
	BaseURL string
	// Lang, when set, is the language a Markdown export is written in:
	// fresh translations into it replace the texts (markdown_lang.go).
	Lang string

	Sessions   []SessionExport
	Events     []crdt.Event
	Groups     map[crdt.OpID]crdt.Group
	Identities map[crdt.IdentityID]crdt.Identity
}

// SessionExport is one session's document and the history behind it.
type SessionExport struct {
	Document crdt.Document
	// Revisions holds every valid revision of each proposal in the
	// document or its waiting list, by proposal id, root first.
	Revisions map[crdt.OpID][]crdt.Revision
	// Endorsed holds, by revision id, the groups whose endorsement of that
	// revision counts. Only a proposal's shown revision carries
	// endorsements that count (an edit clears them), so only shown
	// revisions appear.
	Endorsed map[crdt.OpID][]crdt.OpID
	// Ratification is the session's ratification that counts, if any
	// (crdt/ratified.go).
	Ratification *crdt.Ratification
}

// Freshness says how current the exporting node's view was.
type Freshness struct {
	Peers    int       `json:"peers"`
	LastSync time.Time `json:"last_sync,omitzero"`
}

// Options say what Collect gathers.
type Options struct {
	Gathering   crdt.GatheringID
	Sessions    []crdt.OpID // these sessions, in this order
	AllSessions bool        // every session, in creation order (Sessions ignored)
	Events      bool        // the events
	Generated   time.Time   // when the export is made
	Freshness   Freshness
	BaseURL     string
}

// Collect copies what an export shows out of s. Call it with the node's
// read lock held (node.View); the result is then safe to use without it.
// A session in opt.Sessions that s does not hold is an error wrapping
// crdt.ErrNotFound.
func Collect(s *crdt.State, opt Options) (Export, error) {
	x := Export{
		Gathering:  opt.Gathering,
		Name:       s.Name(),
		Generated:  opt.Generated,
		Freshness:  opt.Freshness,
		BaseURL:    opt.BaseURL,
		Groups:     make(map[crdt.OpID]crdt.Group),
		Identities: make(map[crdt.IdentityID]crdt.Identity),
	}
	for _, g := range s.Groups() {
		x.Groups[g.ID] = g
	}
	for _, id := range s.Identities() {
		x.Identities[id.ID] = id
	}
	ids := opt.Sessions
	if opt.AllSessions {
		ids = ids[:0:0]
		for _, ss := range s.Sessions() {
			ids = append(ids, ss.ID)
		}
	}
	for _, id := range ids {
		d, ok := s.Document(id)
		if !ok {
			return Export{}, fmt.Errorf("export: session %s: %w", id, crdt.ErrNotFound)
		}
		se := SessionExport{
			Document:  d,
			Revisions: make(map[crdt.OpID][]crdt.Revision, len(d.Proposals)+len(d.Waiting)),
			Endorsed:  make(map[crdt.OpID][]crdt.OpID, len(d.Proposals)),
		}
		for _, p := range d.Proposals {
			se.Revisions[p.ID], _ = s.Revisions(p.ID)
			se.Endorsed[p.Revision] = p.EndorsedBy
		}
		for _, w := range d.Waiting {
			se.Revisions[w.ID], _ = s.Revisions(w.ID)
		}
		if rd, ok := s.Ratified(id); ok {
			se.Ratification = &rd.Ratification
		}
		x.Sessions = append(x.Sessions, se)
	}
	if opt.Events {
		x.Events = s.Events()
	}
	return x, nil
}

// groupName is a group's name, or a short form of its id when the group
// operation has not arrived.
func (x *Export) groupName(id crdt.OpID) string {
	if g, ok := x.Groups[id]; ok {
		return g.Name
	}
	return "group " + id.String()[:8]
}

func (x *Export) identityName(id crdt.IdentityID) string {
	if i, ok := x.Identities[id]; ok {
		return i.Name
	}
	return "identity " + id.String()[:8]
}

func (x *Export) groupNames(ids []crdt.OpID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = x.groupName(id)
	}
	return out
}

// provenance says in words where an imported proposal came from.
func provenance(f *crdt.Provenance) string {
	s := fmt.Sprintf("Imported from gathering %s, session %s, proposal %s, revision %s",
		f.Gathering.String()[:12], f.Session.String()[:12], f.Proposal.String()[:12], f.Revision.String()[:12])
	if !f.Digest.IsZero() {
		s += ", ratified document " + f.Digest.String()[:12]
	}
	return s
}

// hiddenText stands in for text a facilitator hid.
const hiddenText = "[hidden by a facilitator]"
