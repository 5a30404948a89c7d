package crdt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// Test helpers for the crdt package: deterministic signers, a world that
// seals named operations, and a canonical dump of everything a State shows.

// testSigner derives a key pair from a name, so tests are reproducible.
func testSigner(name string) Signer {
	seed := sha256.Sum256([]byte("convene test signer " + name))
	s, err := NewSigner(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		panic(err)
	}
	return s
}

func testKeys(founder IdentityID) Keys {
	return Credentials{Secret: sha256.Sum256([]byte("convene test secret")), Founder: founder}.Derive()
}

// world seals operations by named signers at explicit clocks and remembers
// them by name.
type world struct {
	tb      testing.TB
	founder Signer
	keys    Keys
	ids     map[string]OpID
	ops     []Op
	envs    []*Envelope
}

func newWorld(tb testing.TB) *world {
	f := testSigner("founder")
	return &world{tb: tb, founder: f, keys: testKeys(f.ID), ids: make(map[string]OpID)}
}

// who is the identity of a named signer.
func who(name string) IdentityID { return testSigner(name).ID }

// op seals body as signer at clock wall (logical 0) and names it.
func (w *world) op(name, signer string, wall int64, body Body) OpID {
	w.tb.Helper()
	return w.opAt(name, signer, Clock{Wall: wall}, body)
}

func (w *world) opAt(name, signer string, c Clock, body Body) OpID {
	w.tb.Helper()
	env, op, err := w.keys.Seal(testSigner(signer), c, body)
	if err != nil {
		w.tb.Fatalf("seal %s: %v", name, err)
	}
	if name != "" {
		if _, dup := w.ids[name]; dup {
			w.tb.Fatalf("operation name %s used twice", name)
		}
		w.ids[name] = op.ID
	}
	w.ops = append(w.ops, op)
	w.envs = append(w.envs, env)
	return op.ID
}

// ref is the id of a named operation.
func (w *world) ref(name string) OpID {
	w.tb.Helper()
	id, ok := w.ids[name]
	if !ok {
		w.tb.Fatalf("no operation named %s", name)
	}
	return id
}

// refp is ref as a pointer, for optional fields.
func (w *world) refp(name string) *OpID {
	id := w.ref(name)
	return &id
}

// state applies the world's operations in order.
func (w *world) state() *State {
	return applyOps(w.founder.ID, w.ops)
}

func applyOps(founder IdentityID, ops []Op) *State {
	s := NewState(founder)
	for _, op := range ops {
		s.Apply(op)
	}
	return s
}

// shuffled returns ops in a random order with some duplicates.
func shuffled(r *rand.Rand, ops []Op) []Op {
	out := make([]Op, 0, len(ops)+len(ops)/4)
	out = append(out, ops...)
	for range len(ops) / 4 {
		out = append(out, ops[r.IntN(len(ops))])
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func ptr[T any](v T) *T { return &v }

// dump is everything a State shows, as canonical JSON.
func dump(tb testing.TB, s *State) []byte {
	tb.Helper()
	type propDump struct {
		Proposal  Proposal   `json:"proposal"`
		Session   OpID       `json:"session"`
		Revisions []Revision `json:"revisions"`
		Comments  []Comment  `json:"comments"`
	}
	var all struct {
		Name       string             `json:"name"`
		Identities []Identity         `json:"identities"`
		Sessions   []Session          `json:"sessions"`
		Documents  []Document         `json:"documents"`
		Proposals  []propDump         `json:"proposals"`
		Groups     []Group            `json:"groups"`
		Events     []Event            `json:"events"`
		Members    []Member           `json:"members"`
		Gathering  Gathering          `json:"gathering"`
		Ratified   []RatifiedDocument `json:"ratified"`
	}
	all.Name = s.Name()
	all.Members = s.Members()
	all.Gathering = s.Gathering()
	all.Identities = s.Identities()
	all.Sessions = s.Sessions()
	for _, ss := range all.Sessions {
		d, ok := s.Document(ss.ID)
		if !ok {
			tb.Fatalf("session %s listed but has no document", ss.ID)
		}
		all.Documents = append(all.Documents, d)
		if rd, ok := s.Ratified(ss.ID); ok {
			all.Ratified = append(all.Ratified, rd)
		}
		var ids []OpID
		for _, p := range d.Proposals {
			ids = append(ids, p.ID)
		}
		for _, p := range d.Waiting {
			ids = append(ids, p.ID)
		}
		for _, id := range ids {
			p, sid, ok := s.Proposal(id)
			revs, ok2 := s.Revisions(id)
			cs, ok3 := s.Comments(id)
			if !ok || !ok2 || !ok3 || sid != ss.ID {
				tb.Fatalf("proposal %s in the document but not readable", id)
			}
			all.Proposals = append(all.Proposals, propDump{p, sid, revs, cs})
		}
	}
	all.Groups = s.Groups()
	all.Events = s.Events()
	b, err := json.MarshalIndent(all, "", " ")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// requireSameDump fails with the first differing line.
func requireSameDump(tb testing.TB, what string, want, got []byte) {
	tb.Helper()
	if bytes.Equal(want, got) {
		return
	}
	wl, gl := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
	for i := range min(len(wl), len(gl)) {
		if !bytes.Equal(wl[i], gl[i]) {
			tb.Fatalf("%s: states differ at line %d:\nwant %s\ngot  %s", what, i+1, wl[i], gl[i])
		}
	}
	tb.Fatalf("%s: states differ in length (%d vs %d lines)", what, len(wl), len(gl))
}

// authored is the author key an operation made by hand holds.
func authored(id IdentityID) *opSigner { return &opSigner{author: id} }
