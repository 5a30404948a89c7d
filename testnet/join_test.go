package testnet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/testnet/link"
)

// A laptop that was away while the room wrote a long history (an old
// session's thousands of revisions) and a few current sessions reconnects
// over a slow link: it shows the current sessions' documents, final and
// marked complete, while the old history is still arriving; then it
// catches up on everything. Asserted on the order of events (the document
// is final while the laptop holds fewer operations than the room), not on
// timing: the link is slow so that the history takes a while whatever the
// machine.
func TestJoinShowsCurrentDocumentsFirst(t *testing.T) {
	t.Parallel()
	const old = 3000
	shape := link.Shape{Rate: 1_000_000, Delay: 10 * time.Millisecond}
	n := newNet(t, Options{Nodes: 2, Links: true, Shape: shape})
	if err := n.Partition([]int{0}, []int{1}); err != nil {
		t.Fatal(err)
	}
	group := write(t, n, 0, &crdt.GroupBody{Name: "Table"})
	past := write(t, n, 0, &crdt.SessionBody{Title: "Last year", Cap: 10})
	prop := write(t, n, 0, &crdt.ProposalBody{Session: past, Group: group, Text: "First draft"})
	head := prop
	for k := range old {
		head = write(t, n, 0, &crdt.RevisionBody{Proposal: prop, Group: group, Parents: []crdt.OpID{head},
			Text: fmt.Sprintf("Draft %d: fewer cars, more trees, and benches every hundred metres", k)})
	}
	var current []crdt.OpID
	for s := range 3 {
		sid := write(t, n, 0, &crdt.SessionBody{Title: fmt.Sprintf("Today %d", s), Cap: 10})
		p := write(t, n, 0, &crdt.ProposalBody{Session: sid, Group: group, Text: "Opening idea"})
		write(t, n, 0, &crdt.RevisionBody{Proposal: p, Group: group, Parents: []crdt.OpID{p}, Text: "Opening idea, revised"})
		write(t, n, 0, &crdt.CommentBody{Proposal: p, Text: "Agreed"})
		current = append(current, sid)
	}
	total := n.Node(0).Log().Len()
	want := make([][]byte, len(current))
	for i, sid := range current {
		_, want[i] = document(t, n, 0, sid)
	}

	if err := n.Heal(testContext(t)); err != nil {
		t.Fatal(err)
	}
	// Poll until the laptop holds everything, noting whether the current
	// documents were ever final and complete before that.
	laptop := n.Node(1)
	early := -1 // operations held when the documents were first final
	pastArriving := false
	eventually(t, "the laptop holds every operation", func() bool {
		held := laptop.Log().Len()
		if early < 0 && held < total && currentFinal(laptop, current, want) {
			early = held
		}
		if held < total {
			h := laptop.History()
			laptop.View(func(s *crdt.State) { pastArriving = pastArriving || h.Of(s, past) == node.HistoryArriving })
		}
		return n.Converged()
	})
	if early < 0 {
		t.Fatalf("the current documents were final only once all %d operations had arrived", total)
	}
	t.Logf("current documents final and complete with %d of %d operations", early, total)
	if !pastArriving {
		t.Error("the old session was never marked as arriving during the catch-up")
	}
	// The old session was marked as arriving meanwhile (its history came
	// last); once everything is held, nothing is.
	h := laptop.History()
	laptop.View(func(s *crdt.State) {
		for _, sid := range append(current, past) {
			if got := h.Of(s, sid); got != "" {
				t.Errorf("session %s: history %q after the catch-up, want complete", sid, got)
			}
		}
	})
	if _, b := document(t, n, 1, past); !bytes.Equal(b, mustDoc(t, n, 0, past)) {
		t.Error("the old session's document differs after the catch-up")
	}
}

// currentFinal reports whether nd shows every session of sids with the
// document in want and says that its history is complete.
func currentFinal(nd *node.Node, sids []crdt.OpID, want [][]byte) bool {
	h := nd.History()
	ok := true
	nd.View(func(s *crdt.State) {
		for i, sid := range sids {
			d, found := s.Document(sid)
			if !found || h.Of(s, sid) == node.HistoryArriving {
				ok = false
				return
			}
			b, err := json.Marshal(d)
			if err != nil || !bytes.Equal(b, want[i]) {
				ok = false
				return
			}
		}
	})
	return ok
}

func mustDoc(t testing.TB, n *Net, i int, sid crdt.OpID) []byte {
	t.Helper()
	_, b := document(t, n, i, sid)
	return b
}
