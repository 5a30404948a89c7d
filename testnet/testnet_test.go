package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
	"github.com/convene/convene/node/store"
)

// Three nodes, every link delayed, write at all three and converge.
func TestThreeNodesConverge(t *testing.T) {
	t.Parallel()
	n := newNet(t, Options{Nodes: 3, Links: true, Latency: 10 * time.Millisecond})
	session := write(t, n, 0, &crdt.SessionBody{Title: "Water", Cap: 10})
	for i := range 3 {
		eventually(t, fmt.Sprintf("the session at node %d", i), func() bool { return has(n, i, session) })
		group := write(t, n, i, &crdt.GroupBody{Name: fmt.Sprintf("Table %d", i)})
		p := write(t, n, i, &crdt.ProposalBody{Session: session, Group: group, Text: fmt.Sprintf("Idea of table %d", i)})
		write(t, n, i, &crdt.CommentBody{Proposal: p, Text: "Seconded"})
	}
	waitConverged(t, n)
	d := sameDocuments(t, n, session)
	if len(d.Proposals) != 3 {
		t.Errorf("%d proposals, want 3", len(d.Proposals))
	}
	if n.WireBytes() == 0 {
		t.Error("no bytes went through the links")
	}
	// Every connection a node dialed goes through a proxy.
	for i := range 3 {
		for _, c := range n.Mesh(i).Host().Network().Conns() {
			if c.Stat().Direction == network.DirOutbound && n.direct[c.RemoteMultiaddr().String()] {
				t.Errorf("node %d dialed %s directly", i, c.RemoteMultiaddr())
			}
		}
	}
}

// Two islands write during a partition — edits of the same proposal,
// endorsements, more proposals than the cap together — and converge on
// one document after the heal.
func TestPartitionedIslandsConvergeAfterHeal(t *testing.T) {
	t.Parallel()
	n := newNet(t, Options{Nodes: 4})
	session := write(t, n, 0, &crdt.SessionBody{Title: "Transport", Cap: 3})
	groups := make([]crdt.OpID, 4)
	for i := range 4 {
		groups[i] = write(t, n, i, &crdt.GroupBody{Name: fmt.Sprintf("Table %d", i)})
	}
	p1 := write(t, n, 0, &crdt.ProposalBody{Session: session, Group: groups[0], Text: "Night buses"})
	waitConverged(t, n)

	a, b := []int{0, 1}, []int{2, 3}
	if err := n.Partition(a, b); err != nil {
		t.Fatal(err)
	}
	for _, i := range a {
		for _, j := range b {
			if n.Mesh(i).Host().Network().Connectedness(n.ids[j]) == network.Connected {
				t.Fatalf("nodes %d and %d still connected after the partition", i, j)
			}
		}
	}
	// Island A edits P1, endorses the edit and adds P2.
	revA := write(t, n, 0, &crdt.RevisionBody{Proposal: p1, Group: groups[0], Text: "Night buses every 20 minutes", Parents: []crdt.OpID{p1}})
	eventually(t, "island A's revision at node 1", func() bool { return has(n, 1, revA) })
	write(t, n, 1, &crdt.EndorseBody{Proposal: p1, Group: groups[1], Revision: revA, Endorse: true})
	p2 := write(t, n, 1, &crdt.ProposalBody{Session: session, Group: groups[1], Text: "Bike lanes"})
	// Island B edits P1 too, endorses its own edit, and fills the session.
	revB := write(t, n, 2, &crdt.RevisionBody{Proposal: p1, Group: groups[2], Text: "Night trams instead", Parents: []crdt.OpID{p1}})
	eventually(t, "island B's revision at node 3", func() bool { return has(n, 3, revB) })
	write(t, n, 3, &crdt.EndorseBody{Proposal: p1, Group: groups[3], Revision: revB, Endorse: true})
	p3 := write(t, n, 3, &crdt.ProposalBody{Session: session, Group: groups[3], Text: "Car-free Sundays"})
	eventually(t, "P3 at node 2", func() bool { return has(n, 2, p3) })
	p4 := write(t, n, 2, &crdt.ProposalBody{Session: session, Group: groups[2], Text: "Free transit"})
	eventually(t, "P4 at node 3", func() bool { return has(n, 3, p4) })
	if _, err := n.Write(context.Background(), 3, &crdt.ProposalBody{Session: session, Group: groups[3], Text: "One too many"}); !errors.Is(err, crdt.ErrCapReached) {
		t.Errorf("a fourth proposal in island B: %v, want %v", err, crdt.ErrCapReached)
	}
	waitConverged(t, n, a...)
	waitConverged(t, n, b...)
	if n.Digest(0) == n.Digest(2) {
		t.Fatal("the islands hold the same operations during the partition")
	}
	if has(n, 0, p3) || has(n, 2, p2) {
		t.Fatal("an operation crossed the partition")
	}

	if err := n.Heal(testContext(t)); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, n)
	d := sameDocuments(t, n, session)
	if got := len(d.Proposals) + len(d.Waiting); got != 4 {
		t.Errorf("%d proposals and waiting, want 4", got)
	}
	if len(d.Waiting) != 1 {
		t.Errorf("%d waiting, want 1 (4 proposals, cap 3)", len(d.Waiting))
	}
	var shown *crdt.Proposal
	for k := range d.Proposals {
		if d.Proposals[k].ID == p1 {
			shown = &d.Proposals[k]
		}
	}
	if shown == nil {
		t.Fatal("P1 is not in the document")
	}
	if !shown.Conflict || len(shown.Heads) != 2 || !slices.Contains(shown.Heads, revA) || !slices.Contains(shown.Heads, revB) {
		t.Errorf("P1: conflict %v, heads %v; want a conflict between %s and %s", shown.Conflict, shown.Heads, revA, revB)
	}
	// The shown head counts its writer and its island's endorser.
	if shown.Endorsements != 2 {
		t.Errorf("P1 shows %d endorsements, want 2", shown.Endorsements)
	}
}

// Gossip a node never sends arrives by reconciliation: periodic, or when
// the node reconnects.
func TestLostGossipHealedByReconciliation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		interval time.Duration
		// reconnect cuts the writer off and heals, so that the new
		// connections reconcile.
		reconnect bool
	}{
		{name: "periodic", interval: 200 * time.Millisecond},
		{name: "reconnect", reconnect: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNet(t, Options{Nodes: 3, SyncInterval: tc.interval})
			session := write(t, n, 0, &crdt.SessionBody{Title: "Food", Cap: 10})
			waitConverged(t, n)
			before := n.ReconStats().OpsReceived

			n.SetGossipLoss(2, 1)
			group := write(t, n, 2, &crdt.GroupBody{Name: "Kitchen"})
			p := write(t, n, 2, &crdt.ProposalBody{Session: session, Group: group, Text: "Community kitchen"})
			const comments = 10
			for k := range comments {
				write(t, n, 2, &crdt.CommentBody{Proposal: p, Text: fmt.Sprintf("Comment %d", k)})
			}
			const made = comments + 2
			if got := n.GossipLost(2); got != made {
				t.Fatalf("%d operations lost, want all %d", got, made)
			}
			if tc.reconnect {
				if err := n.Partition([]int{0, 1}, []int{2}); err != nil {
					t.Fatal(err)
				}
				if err := n.Heal(testContext(t)); err != nil {
					t.Fatal(err)
				}
			}
			waitConverged(t, n)
			// Nodes 0 and 1 each stored the lost operations, by
			// reconciliation: gossip never carried them. The counter
			// moves after the operations are applied, so a converged
			// net may not have counted them yet.
			eventually(t, fmt.Sprintf("reconciliation to store at least %d operations", 2*made), func() bool {
				return n.ReconStats().OpsReceived-before >= 2*made
			})
			sameDocuments(t, n, session)
		})
	}
}

// Forged operations, gossiped on the topic and pushed over the
// reconciliation protocol by a host outside the gathering, are stored
// nowhere.
func TestForgedOperationsRejected(t *testing.T) {
	t.Parallel()
	n := newNet(t, Options{Nodes: 3})
	session := write(t, n, 0, &crdt.SessionBody{Title: "Housing", Cap: 10})
	group := write(t, n, 0, &crdt.GroupBody{Name: "Tenants"})
	p := write(t, n, 0, &crdt.ProposalBody{Session: session, Group: group, Text: "Rent caps"})
	waitConverged(t, n)
	digest := n.Digest(0)

	valid := rawOp(t, n, 0, p)
	forged := [][]byte{badSignature(valid), resealed(t, valid), foreignOp(t)}
	items := make([]store.Item, len(forged))
	for k, f := range forged {
		e, err := crdt.DecodeEnvelope(f)
		if err != nil {
			t.Fatal(err)
		}
		items[k] = store.Item{Clock: e.Clock, ID: e.ID()}
	}

	at := newAttacker(t, n.Node(0).Gathering())
	at.connect(t, n)
	for _, f := range forged {
		at.publish(t, testkit.Batch(f))
	}
	// One bad operation spoils a whole batch, good ones with it.
	at.publish(t, testkit.Batch(forged...))
	for i := range n.Len() {
		for _, f := range forged {
			at.push(t, n, i, f)
		}
	}
	want := int64(len(forged) + 1 + len(forged))
	for i := range n.Len() {
		eventually(t, fmt.Sprintf("node %d to reject %d", i, want), func() bool { return n.Mesh(i).Stats().Rejected >= want })
	}
	for i := range n.Len() {
		for k, it := range items {
			if n.Node(i).Log().Contains(it) {
				t.Errorf("node %d: forgery %d stored", i, k)
			}
		}
		if d := n.Digest(i); d != digest {
			t.Errorf("node %d: digest changed", i)
		}
	}
	// The mesh still works.
	write(t, n, 1, &crdt.CommentBody{Proposal: p, Text: "After the attack"})
	waitConverged(t, n)
}

// A hub holding only the gathering id relays between two islands that
// never connect to each other, and stores nothing it could read.
func TestHubRelaysBetweenIslands(t *testing.T) {
	t.Parallel()
	a, b := []int{0, 1}, []int{2, 3}
	// Gossip the hub takes in before its topic mesh has formed is not
	// passed on by GossipSub; reconciliation carries it.
	n := newNet(t, Options{Nodes: 4, Hub: true, Islands: [][]int{a, b}, SyncInterval: time.Second})
	const textA, textB = "Rain barrels on every roof xyzzy-7431", "Seed library in the old station plugh-2210"
	session := write(t, n, 0, &crdt.SessionBody{Title: "Water", Cap: 10})
	g0 := write(t, n, 0, &crdt.GroupBody{Name: "Table zero"})
	pa := write(t, n, 0, &crdt.ProposalBody{Session: session, Group: g0, Text: textA})
	eventually(t, "the session at node 2, through the hub", func() bool { return has(n, 2, session) })
	g2 := write(t, n, 2, &crdt.GroupBody{Name: "Table two"})
	write(t, n, 2, &crdt.ProposalBody{Session: session, Group: g2, Text: textB})
	waitConverged(t, n)
	sameDocuments(t, n, session)
	for _, i := range a {
		for _, j := range b {
			if n.Mesh(i).Host().Network().Connectedness(n.ids[j]) != network.NotConnected {
				t.Errorf("nodes %d and %d are connected", i, j)
			}
		}
	}

	// The hub stores the sealed operation, never its text.
	e, err := crdt.DecodeEnvelope(rawOp(t, n, 0, pa))
	if err != nil {
		t.Fatal(err)
	}
	found := func(needle []byte) (in []string) {
		err := filepath.WalkDir(filepath.Join(n.HubDir(), "store"), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Contains(b, needle) {
				in = append(in, filepath.Base(path))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	if in := found(e.Sealed); len(in) == 0 {
		t.Fatal("the hub's store files do not hold the sealed proposal: the search cannot work")
	}
	for _, s := range []string{textA, textB, "Table zero", "Testnet Gathering", "participant-2"} {
		if in := found([]byte(s)); len(in) > 0 {
			t.Errorf("the hub's store holds %q in %v", s, in)
		}
	}
}
