package export

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/convene/convene/crdt"
)

// JSONFormat and JSONVersion name the JSON export's shape.
const (
	JSONFormat  = "convene-export"
	JSONVersion = 1
)

// The JSON export's shape. Documents keep the HTTP API's field names; each
// proposal gains "history", its whole revision DAG.
type (
	jsonExport struct {
		Format    string        `json:"format"`
		Version   int           `json:"version"`
		Gathering jsonGathering `json:"gathering"`
		Generated time.Time     `json:"generated_at"`
		Freshness Freshness     `json:"freshness"`
		Groups    []jsonGroup   `json:"groups"`
		Sessions  []jsonSession `json:"sessions"`
		Events    []crdt.Event  `json:"events,omitempty"`
	}
	jsonGathering struct {
		ID   crdt.GatheringID `json:"id"`
		Name string           `json:"name"`
	}
	jsonGroup struct {
		ID      crdt.OpID         `json:"id"`
		Name    string            `json:"name"`
		Scribes []crdt.IdentityID `json:"scribes"`
	}
	jsonSession struct {
		Session   crdt.Session   `json:"session"`
		Proposals []jsonProposal `json:"proposals"`
		Waiting   []jsonWaiting  `json:"waiting"`
		// Ratification: the session's ratification that counts, or null.
		Ratification *crdt.Ratification `json:"ratification"`
	}
	jsonProposal struct {
		crdt.Proposal
		GroupName      string         `json:"group_name"`
		EndorsedByName []string       `json:"endorsed_by_names"`
		History        []jsonRevision `json:"history"`
	}
	jsonWaiting struct {
		crdt.Waiting
		GroupName string         `json:"group_name"`
		History   []jsonRevision `json:"history"`
	}
	jsonRevision struct {
		crdt.Revision
		GroupName  string      `json:"group_name"`
		AuthorName string      `json:"author_name"`
		Shown      bool        `json:"shown"`
		Head       bool        `json:"head"`
		EndorsedBy []crdt.OpID `json:"endorsed_by"`
	}
)

// JSON writes x as one JSON document: the gathering, the groups, and per
// session the document with every proposal's full revision history
// (texts, groups, authors, times, parents, which revisions are heads and
// which is shown, and the groups whose endorsement of it counts). Events
// are included when x holds them. The output is a deterministic function
// of x.
func JSON(w io.Writer, x Export) error {
	out := jsonExport{
		Format:    JSONFormat,
		Version:   JSONVersion,
		Gathering: jsonGathering{ID: x.Gathering, Name: x.Name},
		Generated: x.Generated.UTC(),
		Freshness: x.Freshness,
		Groups:    make([]jsonGroup, 0, len(x.Groups)),
		Sessions:  make([]jsonSession, 0, len(x.Sessions)),
		Events:    x.Events,
	}
	for _, g := range x.Groups {
		out.Groups = append(out.Groups, jsonGroup{ID: g.ID, Name: g.Name, Scribes: g.Scribes})
	}
	slices.SortFunc(out.Groups, func(a, b jsonGroup) int { return compareIDs(a.ID, b.ID) })
	for _, se := range x.Sessions {
		d := se.Document
		js := jsonSession{
			Session:   d.Session,
			Proposals: make([]jsonProposal, 0, len(d.Proposals)),
			Waiting:   make([]jsonWaiting, 0, len(d.Waiting)),

			Ratification: se.Ratification,
		}
		for _, p := range d.Proposals {
			js.Proposals = append(js.Proposals, jsonProposal{
				Proposal:       p,
				GroupName:      x.groupName(p.Group),
				EndorsedByName: x.groupNames(p.EndorsedBy),
				History:        x.history(se, p.ID, p.Revision, p.Heads),
			})
		}
		for _, p := range d.Waiting {
			js.Waiting = append(js.Waiting, jsonWaiting{
				Waiting:   p,
				GroupName: x.groupName(p.Group),
				History:   x.history(se, p.ID, p.Revision, nil),
			})
		}
		out.Sessions = append(out.Sessions, js)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("export json: %w", err)
	}
	return nil
}

func (x *Export) history(se SessionExport, proposal, shown crdt.OpID, heads []crdt.OpID) []jsonRevision {
	revs := se.Revisions[proposal]
	out := make([]jsonRevision, 0, len(revs))
	for _, r := range revs {
		jr := jsonRevision{
			Revision:   r,
			GroupName:  x.groupName(r.Group),
			AuthorName: x.identityName(r.Author),
			Shown:      r.ID == shown,
			Head:       r.ID == shown || slices.Contains(heads, r.ID),
			EndorsedBy: se.Endorsed[r.ID],
		}
		if jr.EndorsedBy == nil {
			jr.EndorsedBy = []crdt.OpID{}
		}
		out = append(out, jr)
	}
	return out
}

func compareIDs(a, b crdt.OpID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}
