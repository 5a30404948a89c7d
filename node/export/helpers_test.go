package export

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
)

// Test helpers for the export package: deterministic signers and a world
// that seals operations, applies them to a State and keeps their
// encodings for bundles.

// baseWall is the clock of the first operation of a world (2026-03-01).
var baseWall = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).UnixMilli()

func testCredentials(secret string) crdt.Credentials {
	return crdt.Credentials{Secret: sha256.Sum256([]byte(secret)), Founder: testkit.Signer("founder").ID}
}

type world struct {
	tb    testing.TB
	keys  crdt.Keys
	state *crdt.State
	raws  [][]byte
	wall  int64
}

func newWorld(tb testing.TB, secret string) *world {
	creds := testCredentials(secret)
	return &world{tb: tb, keys: creds.Derive(), state: crdt.NewState(creds.Founder), wall: baseWall}
}

// do seals body as the named signer one second after the previous
// operation, applies it and returns its id.
func (w *world) do(signer string, body crdt.Body) crdt.OpID {
	w.tb.Helper()
	w.wall += 1000
	env, op, err := w.keys.Seal(testkit.Signer(signer), crdt.Clock{Wall: w.wall}, body)
	if err != nil {
		w.tb.Fatalf("seal %T: %v", body, err)
	}
	w.state.Apply(op)
	w.raws = append(w.raws, env.Bytes())
	return op.ID
}

func ptr[T any](v T) *T { return &v }

// tricky is proposal text that must survive every format as data.
const tricky = "Free \"public\" transport, for all;\nno <script>alert(1)</script> & no # headings\n- not a list\n1. not a list either"

// sample is a gathering with one session exercising every rule an export
// shows: ranks, endorsements, an edit, a conflict, a hidden proposal, a
// proposal over the cap, and two events (one updated).
type sample struct {
	*world
	session, groupA, groupB, groupC                 crdt.OpID
	pTop, pConflict, pHidden, pWaiting, pEdited     crdt.OpID
	revEdited, headX, headY, eventParis, eventDakar crdt.OpID
}

func newSample(tb testing.TB) *sample {
	s := &sample{world: newWorld(tb, "export sample")}
	s.do("founder", &crdt.GatheringBody{Name: "Techie Congress 2026"})
	for _, n := range []string{"founder", "alice", "bob", "carol"} {
		s.do(n, &crdt.IdentityBody{Name: n})
	}
	s.session = s.do("founder", &crdt.SessionBody{Title: "Transport", Prompt: "What should the city do?\n\n# not a heading", Cap: 4})
	s.groupA = s.do("alice", &crdt.GroupBody{Name: "Les Ateliers, Paris"})
	s.groupB = s.do("bob", &crdt.GroupBody{Name: "Dakar \"Nord\""})
	s.groupC = s.do("carol", &crdt.GroupBody{Name: "Carol's group"})

	s.pTop = s.do("alice", &crdt.ProposalBody{Session: s.session, Group: s.groupA, Text: tricky})
	s.do("bob", &crdt.EndorseBody{Proposal: s.pTop, Group: s.groupB, Revision: s.pTop, Endorse: true})
	s.do("carol", &crdt.EndorseBody{Proposal: s.pTop, Group: s.groupC, Revision: s.pTop, Endorse: true})

	s.pEdited = s.do("bob", &crdt.ProposalBody{Session: s.session, Group: s.groupB, Text: "Bike lanes"})
	s.do("carol", &crdt.EndorseBody{Proposal: s.pEdited, Group: s.groupC, Revision: s.pEdited, Endorse: true})
	// The edit clears carol's endorsement; alice's group wrote it.
	s.revEdited = s.do("alice", &crdt.RevisionBody{Proposal: s.pEdited, Group: s.groupA, Text: "Protected bike lanes", Parents: []crdt.OpID{s.pEdited}})

	s.pConflict = s.do("carol", &crdt.ProposalBody{Session: s.session, Group: s.groupC, Text: "Night buses"})
	s.headX = s.do("alice", &crdt.RevisionBody{Proposal: s.pConflict, Group: s.groupA, Text: "Night buses every 15 minutes", Parents: []crdt.OpID{s.pConflict}})
	s.headY = s.do("bob", &crdt.RevisionBody{Proposal: s.pConflict, Group: s.groupB, Text: "Night trams", Parents: []crdt.OpID{s.pConflict}})

	s.pHidden = s.do("bob", &crdt.ProposalBody{Session: s.session, Group: s.groupB, Text: "something abusive"})
	s.do("founder", &crdt.HideBody{Target: s.pHidden, Hidden: true})

	// Cap is 4 and four visible proposals follow; as from an offline site.
	s.do("carol", &crdt.ProposalBody{Session: s.session, Group: s.groupC, Text: "Car-free Sundays"})
	s.pWaiting = s.do("alice", &crdt.ProposalBody{Session: s.session, Group: s.groupA, Text: "Free bikes, for everyone"})

	lat, lon := 48.8566, 2.3522
	s.eventParis = s.do("alice", &crdt.EventBody{EventFields: crdt.EventFields{
		Title: "Assembly, Paris", Description: "Bring ideas;\nand friends, <b>all</b>.",
		Start: "2026-03-29T00:30:00Z", End: "2026-03-29T03:00:00Z", // across the DST change
		Timezone: "Europe/Paris",
		Place:    &crdt.Place{Venue: "La Bourse du Travail", Address: "3 rue du Château-d'Eau, 75010 Paris", Lat: &lat, Lon: &lon},
		Group:    ptr(s.groupA), Language: "fr", Tags: []string{"transport", "assemblée générale"},
		Capacity: 2, Status: crdt.Tentative,
	}})
	s.eventDakar = s.do("bob", &crdt.EventBody{EventFields: crdt.EventFields{
		Title: "Online call", Start: "2026-04-02T18:00:00Z", End: "2026-04-02T19:00:00Z",
		Timezone: "Africa/Dakar", OnlineURL: "https://meet.example.org/convene", Status: crdt.Confirmed,
	}})
	for _, n := range []string{"alice", "bob", "carol"} {
		s.do(n, &crdt.ParticipationBody{Event: s.eventParis, Status: crdt.Going})
	}
	return s
}

// collect is Collect of every session and the events.
func (w *world) collect() Export {
	w.tb.Helper()
	x, err := Collect(w.state, Options{
		Gathering: w.keys.Gathering, AllSessions: true, Events: true,
		Generated: time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC),
		Freshness: Freshness{Peers: 3, LastSync: time.Date(2026, 3, 30, 11, 59, 0, 0, time.UTC)},
	})
	if err != nil {
		w.tb.Fatal(err)
	}
	return x
}

// bundle writes a bundle of the world's operations.
func (w *world) bundle(since crdt.Clock) []byte {
	w.tb.Helper()
	var buf bytes.Buffer
	err := WriteBundle(&buf, w.keys.Gathering, since, func(fn func([]byte) error) error {
		for _, r := range w.raws {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.tb.Fatal(err)
	}
	return buf.Bytes()
}
