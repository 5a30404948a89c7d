package mesh_test

import (
	"fmt"
	"testing"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/recon"
)

// TestGateHolderBounded: an outsider that holds a gathering's learning
// gate (a session that starts learning, then stalls) makes an honest
// peer's sessions wait for it only until its hold budget runs out, not
// the gate's whole bound (3 s) at each session. Each round, the attacker
// holds the gate with a fresh session while the honest peer reconciles a
// new operation; the sessions that waited out the whole bound are counted
// (Stats.GateTimeouts), not timed: without the budget, every round's
// session did.
func TestGateHolderBounded(t *testing.T) {
	a, creds := newGathering(t)
	b := joinNode(t, creds, "bob")
	g := creds.Derive().Gathering
	// Replicas: b's operations reach a by reconciliation only.
	ma := replica(t, a, mesh.Config{})
	mb := replica(t, b, mesh.Config{})
	connect(t, ma, mb)
	waitConverged(t, a, b)

	// The attacker's first message is a fingerprint of made-up items,
	// which never matches: a's answer asks about them, and the session
	// stays learning, holding the gate, while the attacker says nothing.
	ix := recon.NewIndex()
	for i := range 17 {
		ix.Insert(recon.Item{Clock: crdt.Clock{Wall: int64(i + 1)}, ID: crdt.OpID{byte(i + 1)}})
	}
	msg, err := recon.NewReconciler(ix, recon.Options{}).Initiate()
	if err != nil {
		t.Fatal(err)
	}
	h := bareHost(t)
	dialMesh(t, h, ma)
	hold := func() *wire {
		w := newWire(t, openSession(t, h, ma, g))
		w.send('R', msg)
		w.until('R') // past a's gate, and learning
		return w
	}

	const rounds = 5
	var w *wire
	for i := range rounds {
		if w != nil {
			w.s.Reset()
			waitFor(t, "the attacker's session to end", func() bool { return mesh.InboundSessions(ma, g) == 0 })
		}
		w = hold()
		id := act(t, b, fmt.Sprintf("round %d", i), 1)[0]
		mb.SyncNow(testContext(t), g)
		waitFor(t, "b's operation to reach a", func() bool { return has(t, a, id) })
		if mesh.InboundSessions(ma, g) == 0 {
			t.Fatalf("round %d: the attacker's session ended: it held nothing", i)
		}
	}
	// The first round's session waits until the attacker's budget runs
	// out, which is before its own bound runs out (the attacker's session
	// was there first); later ones do not wait for it at all. So none
	// should time out; one is let pass as a margin.
	if n := ma.Stats().GateTimeouts; n > 1 {
		t.Errorf("%d sessions waited out the gate's whole bound in %d rounds of an attacker holding it, want at most 1", n, rounds)
	}
}
