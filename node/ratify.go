package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/convene/convene/crdt"
)

// Ratification and merging on this node (issue 14). The rules are crdt's
// (ratify.go, ratified.go); what is decided here is who acts and which
// group imported proposals belong to.

// Ratify fixes a session's document as it now stands, as the local
// identity *as (nil: the first local facilitator). The document is read
// and the ratification made under the write lock, so nothing applied in
// between changes what it fixes.
func (n *Node) Ratify(ctx context.Context, as *crdt.IdentityID, sid crdt.OpID) (crdt.Op, error) {
	n.writeMu.Lock()
	var body *crdt.RatificationBody
	var err error
	n.View(func(st *crdt.State) { body, err = st.RatificationOf(sid) })
	var env *crdt.Envelope
	var op crdt.Op
	if err == nil {
		env, op, err = n.actAs(ctx, as, body)
	}
	n.writeMu.Unlock()
	if err != nil {
		return crdt.Op{}, err
	}
	n.publish(ctx, env)
	return op, nil
}

// RatificationEnvelope returns a stored ratification's envelope and the
// disclosure of its payload (crdt/disclose.go): what a ratified document
// file carries so that it can be checked with no keys.
func (n *Node) RatificationEnvelope(ctx context.Context, id crdt.OpID) (*crdt.Envelope, crdt.Disclosure, error) {
	raw, ok, err := n.Stored(ctx, id)
	if err != nil {
		return nil, crdt.Disclosure{}, err
	}
	if !ok {
		return nil, crdt.Disclosure{}, fmt.Errorf("%w: operation %s", crdt.ErrNotFound, id)
	}
	env, err := crdt.DecodeEnvelope(raw)
	if err != nil {
		return nil, crdt.Disclosure{}, err
	}
	d, err := n.ring.Disclose(env)
	return env, d, err
}

// ImportSource is one proposal to import: its text and where it came from.
type ImportSource struct {
	Text string
	From crdt.Provenance
}

// Skipped is a source that was not imported, and why (an error code of
// the API: "conflict" for one already imported, "cap_reached"…).
type Skipped struct {
	Proposal crdt.OpID `json:"proposal"`
	Reason   string    `json:"reason"`
}

// Import makes, in session sid, one proposal per source with its
// provenance, as the local facilitator *as (nil: the first local
// facilitator) and as group (nil: a group of that facilitator named name,
// made if it has none). A source already imported into the session, or
// for which the cap leaves no room, is skipped with its reason; the
// others are imported. It returns the new proposals' ids.
func (n *Node) Import(ctx context.Context, as *crdt.IdentityID, sid crdt.OpID, group *crdt.OpID, name string, sources []ImportSource) ([]crdt.OpID, []Skipped, error) {
	n.writeMu.Lock()
	ids, skipped, envs, err := n.importLocked(ctx, as, sid, group, name, sources)
	n.writeMu.Unlock()
	for _, e := range envs {
		n.publish(ctx, e)
	}
	return ids, skipped, err
}

func (n *Node) importLocked(ctx context.Context, as *crdt.IdentityID, sid crdt.OpID, group *crdt.OpID, name string, sources []ImportSource) ([]crdt.OpID, []Skipped, []*crdt.Envelope, error) {
	if n.closed {
		return nil, nil, nil, errors.New("node is closed")
	}
	k, err := n.facilitator(as)
	if err != nil {
		return nil, nil, nil, err
	}
	// A file's texts and its gathering's name are only as well formed as
	// its signer made them (a digest binds them, nothing bounds them): check
	// every one before making anything, so that a bad one changes nothing
	// rather than leave half a file imported.
	for _, src := range sources {
		from := src.From
		if err := crdt.Validate(&crdt.ProposalBody{Session: sid, Text: src.Text, From: &from}); err != nil {
			return nil, nil, nil, fmt.Errorf("proposal %s of the source: %w", src.From.Proposal, err)
		}
	}
	if group == nil {
		if err := crdt.Validate(&crdt.GroupBody{Name: name}); err != nil {
			return nil, nil, nil, fmt.Errorf("a group for the imported proposals: %w", err)
		}
	}
	var envs []*crdt.Envelope
	var gid crdt.OpID
	if group != nil {
		gid = *group
	} else {
		var found bool
		n.View(func(st *crdt.State) {
			for _, g := range st.Groups() {
				if g.Name == name && st.IsScribe(g.ID, k.ID) {
					gid, found = g.ID, true
				}
			}
		})
		if !found {
			// A group is made only for a session that can take proposals.
			var sv crdt.Session
			ok, seated := false, false
			n.View(func(st *crdt.State) {
				sv, ok = st.Session(sid)
				seated = st.Gathering().Seating == crdt.SeatingSeated
			})
			if !ok {
				return nil, nil, nil, fmt.Errorf("%w: session %s", crdt.ErrNotFound, sid)
			}
			if !sv.Open {
				return nil, nil, nil, fmt.Errorf("%w: session %s", crdt.ErrClosed, sid)
			}
			// A new group is not seated, so in a seated gathering none of
			// the proposals could join it: refuse before making it.
			if seated {
				return nil, nil, nil, fmt.Errorf("%w: the gathering is seated; name a seated group for the imported proposals", crdt.ErrForbidden)
			}
			env, op, err := n.act(ctx, k.signer, &crdt.GroupBody{Name: name}, nil)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("a group for the imported proposals: %w", err)
			}
			envs, gid = append(envs, env), op.ID
		}
	}
	ids := []crdt.OpID{}
	skipped := []Skipped{}
	for _, src := range sources {
		from := src.From
		env, op, err := n.act(ctx, k.signer, &crdt.ProposalBody{Session: sid, Group: gid, Text: src.Text, From: &from}, nil)
		switch {
		case errors.Is(err, crdt.ErrConflict):
			skipped = append(skipped, Skipped{Proposal: from.Proposal, Reason: "conflict"})
		case errors.Is(err, crdt.ErrCapReached):
			skipped = append(skipped, Skipped{Proposal: from.Proposal, Reason: "cap_reached"})
		case err != nil:
			return ids, skipped, envs, err
		default:
			envs, ids = append(envs, env), append(ids, op.ID)
		}
	}
	return ids, skipped, envs, nil
}

// MaxImportSources bounds the proposals one import names: as many as one
// ratification can fix (crdt.MaxRatifiedIDs), far above any session's cap.
const MaxImportSources = crdt.MaxRatifiedIDs

// CanImport says whether the local identity *as (nil: the first local
// facilitator) may import, so that a caller who may not is refused before
// any work is done on what it sent (a ratified file is parsed, its
// signature checked and its page rendered again).
func (n *Node) CanImport(as *crdt.IdentityID) error {
	_, err := n.facilitator(as)
	return err
}

// facilitator is the local identity *as, or the first local facilitator.
func (n *Node) facilitator(as *crdt.IdentityID) (localKey, error) {
	if as != nil {
		k, err := n.actor(as, nil)
		if err != nil {
			return k, err
		}
		ok := false
		n.View(func(st *crdt.State) { ok = st.IsFacilitator(k.ID) })
		if !ok {
			return localKey{}, fmt.Errorf("%w: only a facilitator can import proposals", crdt.ErrForbidden)
		}
		return k, nil
	}
	for _, li := range n.Identities() {
		ok := false
		n.View(func(st *crdt.State) { ok = st.IsFacilitator(li.ID) })
		if ok {
			k, _ := n.identity(li.ID)
			return k, nil
		}
	}
	return localKey{}, fmt.Errorf("%w: only a facilitator can import proposals", crdt.ErrForbidden)
}

// SessionSources reads the proposals pids of session src, of this
// gathering, as sources to import: each one's shown revision, with the
// digest of src's ratified document when that revision is the one it
// fixed.
func (n *Node) SessionSources(src crdt.OpID, pids []crdt.OpID) ([]ImportSource, string, error) {
	var out []ImportSource
	var title string
	var err error
	n.View(func(st *crdt.State) {
		sv, ok := st.Session(src)
		if !ok {
			err = fmt.Errorf("%w: session %s", crdt.ErrNotFound, src)
			return
		}
		title = sv.Title
		rd, ratified := st.Ratified(src)
		for _, pid := range pids {
			p, psid, ok := st.Proposal(pid)
			if !ok || psid != src {
				err = fmt.Errorf("%w: proposal %s in session %s", crdt.ErrNotFound, pid, src)
				return
			}
			if p.Hidden || p.Text == "" {
				err = fmt.Errorf("%w: proposal %s is hidden", crdt.ErrConflict, pid)
				return
			}
			from := crdt.Provenance{Gathering: n.Gathering(), Session: src, Proposal: pid, Revision: p.Revision}
			if ratified {
				for _, rp := range rd.Text.Proposals {
					if rp.Revision == p.Revision {
						from.Digest = rd.Ratification.Digest
					}
				}
			}
			out = append(out, ImportSource{Text: p.Text, From: from})
		}
	})
	return out, title, err
}

// ImportSession imports proposals pids of session src of this gathering
// into session sid (see Import and SessionSources), as a group named after
// the source session unless group is given.
func (n *Node) ImportSession(ctx context.Context, as *crdt.IdentityID, sid crdt.OpID, group *crdt.OpID, src crdt.OpID, pids []crdt.OpID) ([]crdt.OpID, []Skipped, error) {
	if len(pids) == 0 {
		return nil, nil, fmt.Errorf("%w: name the proposals to import", crdt.ErrInvalid)
	}
	// Each source costs a Check under the write lock that reads the whole
	// session, so a request body full of ids (or one id repeated) would
	// hold every writer for minutes: bound the list, and name each once.
	if len(pids) > MaxImportSources {
		return nil, nil, fmt.Errorf("%w: %d proposals to import, at most %d at once", crdt.ErrTooLarge, len(pids), MaxImportSources)
	}
	seen := make(map[crdt.OpID]bool, len(pids))
	for _, pid := range pids {
		if seen[pid] {
			return nil, nil, fmt.Errorf("%w: proposal %s is named twice", crdt.ErrInvalid, pid)
		}
		seen[pid] = true
	}
	if err := n.CanImport(as); err != nil {
		return nil, nil, err
	}
	sources, title, err := n.SessionSources(src, pids)
	if err != nil {
		return nil, nil, err
	}
	return n.Import(ctx, as, sid, group, title, sources)
}
