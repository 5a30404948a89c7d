package crdt

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// TestOldInviteCountsNowhere: after a rotation from epoch 3 to 4, an
// identity the rotation was not sealed to (a laptop that joined with the
// old invite) writes under epoch 3 with any clock, backdated before the
// rotation and before the gathering's whole history included: nothing of it
// counts anywhere, in any delivery order, with duplicates. A member the
// rotation was sealed to, offline during it, writes under epoch 3 too: its
// operations count exactly as if there had been no rotation.
func TestOldInviteCountsNowhere(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			m := runSim(t, 200+seed, 1500)
			r, founder := m.r, testSigner("founder")
			union := slices.Clone(m.sites[0].ops)
			held := applyOps(founder.ID, union)
			old := m.epochKeys[3] // no rotation of the simulation closes it
			var to []IdentityID
			for _, mb := range held.Members() {
				if !mb.Removed {
					to = append(to, mb.ID) // as node.Rotate chooses them
				}
			}
			var secret [32]byte
			secret[0] = 42
			bodies, err := old.Rotate(founder, secret, to)
			if err != nil {
				t.Fatal(err)
			}
			var rot []Op
			for i, b := range bodies {
				_, op, err := old.Seal(founder, Clock{Wall: m.now + 1000, Logical: uint32(i)}, b)
				if err != nil {
					t.Fatal(err)
				}
				rot = append(rot, op)
			}
			base := append(slices.Clone(union), rot...)

			// writes has who write under epoch 3 with any clock, from
			// the view of a site, building on earlier ones now and then.
			writes := func(who Signer, site *simSite, n int) []Op {
				var out []Op
				for len(out) < n {
					body := m.body(site, who.ID)
					if body == nil {
						continue
					}
					c := Clock{Wall: r.Int64N(m.now + 3000), Logical: r.Uint32N(4)}
					_, op, err := old.Seal(who, c, body)
					if err != nil {
						continue
					}
					out = append(out, op)
					if r.IntN(4) == 0 {
						site.receive(op)
					}
				}
				return out
			}

			stranger := testSigner(fmt.Sprintf("stranger-%d", seed))
			extra := writes(stranger, m.sites[1], 300)
			want := dump(t, applyOps(founder.ID, base))
			got := applyOps(founder.ID, shuffled(r, append(slices.Clone(base), extra...)))
			requireSameDump(t, "after the old invite's operations", want, dump(t, got))
			// A snapshot keeps each operation's epoch.
			loaded, err := LoadSnapshot(founder.ID, got.Snapshot())
			if err != nil {
				t.Fatal(err)
			}
			requireSameDump(t, "the snapshot", want, dump(t, loaded))
			if got.MayWrite(stranger.ID, 3) || !got.MayWrite(stranger.ID, 4) {
				t.Error("MayWrite does not say that epoch 3 is closed to the stranger only")
			}
			// Without the rotation the same operations would count.
			if bytes.Equal(dump(t, applyOps(founder.ID, union)), dump(t, applyOps(founder.ID, append(slices.Clone(union), extra...)))) {
				t.Error("the stranger's operations would change nothing even without the rotation")
			}

			// A member the rotation was sealed to, not a facilitator,
			// writes under the old epoch as if offline during it.
			var site *simSite
			var member Signer
			for _, st := range m.sites {
				for _, sg := range st.signers {
					if site == nil && slices.Contains(to, sg.ID) && !held.IsFacilitator(sg.ID) {
						site, member = st, sg
					}
				}
			}
			if site == nil {
				t.Skip("no member left who is not a facilitator")
			}
			late := writes(member, site, 200)
			withRot := applyOps(founder.ID, shuffled(r, append(slices.Clone(base), late...)))
			noRot := applyOps(founder.ID, append(slices.Clone(union), late...))
			requireSameDump(t, "a member's operations of the old epoch", dump(t, noRot), dump(t, withRot))
			if bytes.Equal(want, dump(t, withRot)) {
				t.Error("the member's late operations changed nothing: the test shows nothing")
			}
		})
	}
}

// TestRotationClosesEpochRules: the cases one by one.
func TestRotationClosesEpochRules(t *testing.T) {
	w := newWorld(t)
	w.op("g", "founder", 10, &GatheringBody{Name: "G"})
	w.op("ann-name", "ann", 11, &IdentityBody{Name: "Ann"})
	w.op("fac", "founder", 12, &FacilitatorBody{Identity: who("fay")})
	rotate := func(name, signer string, from Keys, wall int64, to ...string) {
		var ids []IdentityID
		for _, n := range to {
			ids = append(ids, who(n))
		}
		bodies, err := from.Rotate(testSigner(signer), [32]byte{byte(wall)}, ids)
		if err != nil {
			t.Fatal(err)
		}
		keys := w.keys
		w.keys = from
		w.op(name, signer, wall, bodies[0])
		w.keys = keys
	}
	e0 := w.keys
	e1 := DeriveEpoch(e0.Gathering, e0.Founder, 1, [32]byte{20})
	rotate("rot", "founder", e0, 20, "founder", "ann")
	// Backdated before everything, under epoch 0.
	w.op("bob-name", "bob", 1, &IdentityBody{Name: "Bob"})
	w.op("fay-name", "fay", 1, &IdentityBody{Name: "Fay"})
	w.op("ann-late", "ann", 30, &IdentityBody{Name: "Ann2"})
	s := w.state()
	names := map[string]string{}
	for _, mb := range s.Members() {
		names[mb.Name] = mb.ID.String()
	}
	if _, ok := names["Bob"]; ok {
		t.Error("an identity the rotation left out is a member by its epoch-0 writes")
	}
	if _, ok := names["Fay"]; !ok {
		t.Error("a facilitator left out of a rotation lost its writes")
	}
	if _, ok := names["Ann2"]; !ok {
		t.Error("a recipient's late epoch-0 write does not count")
	}
	if s.MayWrite(who("bob"), 0) || !s.MayWrite(who("bob"), 1) {
		t.Error("MayWrite")
	}
	// A facilitator who wrote nothing is a member: the next rotation
	// seals to it.
	w.op("gus", "founder", 31, &FacilitatorBody{Identity: who("gus")})
	if !slices.ContainsFunc(w.state().Members(), func(m Member) bool { return m.ID == who("gus") && m.Facilitator }) {
		t.Error("an appointed facilitator who wrote nothing is not a member")
	}
	// Under epoch 1 bob counts (a facilitator gave him the new invite).
	w.keys = e1
	w.op("bob-new", "bob", 40, &IdentityBody{Name: "Bob1"})
	w.keys = e0
	found := false
	for _, mb := range w.state().Members() {
		found = found || mb.Name == "Bob1"
	}
	if !found {
		t.Error("a write under the open epoch does not count")
	}
	// A rotation not by a facilitator, or sealed under another epoch,
	// closes nothing.
	w2 := newWorld(t)
	w2.op("n", "bob", 1, &IdentityBody{Name: "Bob"})
	bodies, _ := e0.Rotate(testSigner("ann"), [32]byte{9}, []IdentityID{who("ann")})
	w2.op("by-ann", "ann", 5, bodies[0])
	bodies, _ = e1.Rotate(w2.founder, [32]byte{8}, []IdentityID{who("ann")})
	w2.op("wrong-epoch", "founder", 6, bodies[0]) // to epoch 2, sealed under 0
	if !w2.state().MayWrite(who("bob"), 0) || !w2.state().MayWrite(who("bob"), 1) {
		t.Error("a rotation that does not count closed an epoch")
	}
}
