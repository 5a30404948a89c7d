package node

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/convene/convene/internal/testkit"
	"os"
	"path/filepath"
	"testing"

	"github.com/convene/convene/crdt"
)

// pages is everything the state shows of its sessions, as the pages ask
// for it: documents, each proposal's revisions and comments, ratified
// documents.
func pages(t *testing.T, n *Node) []byte {
	t.Helper()
	var out []any
	n.View(func(s *crdt.State) {
		for _, ss := range s.Sessions() {
			d, _ := s.Document(ss.ID)
			rd, _ := s.Ratified(ss.ID)
			out = append(out, d, rd)
			for _, p := range d.Proposals {
				revs, _ := s.Revisions(p.ID)
				cs, _ := s.Comments(p.ID)
				out = append(out, revs, cs)
			}
		}
	})
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestColdTextStarts: after a clean shutdown the snapshot holds old
// revisions and comments without their texts, and the pages read them back
// from the store; after kill -9 (the old snapshot plus what was written
// since) and with no snapshot at all, the pages are byte-identical, the
// ratified document (its digest checked against cold texts) included.
func TestColdTextStarts(t *testing.T) {
	ctx := context.Background()
	n, dir := initNode(t, false)
	session, group, proposal := workshop(t, n)
	rev := act(t, n, &crdt.RevisionBody{Proposal: proposal, Group: group, Text: "Rain barrels, first draft", Parents: []crdt.OpID{proposal}})
	act(t, n, &crdt.CommentBody{Proposal: proposal, Text: "a cold comment"})
	act(t, n, &crdt.RevisionBody{Proposal: proposal, Group: group, Text: "Rain barrels on every roof", Parents: []crdt.OpID{rev.ID}})
	if _, err := n.Ratify(ctx, nil, session); err != nil {
		t.Fatal(err)
	}
	n.Close()

	snap, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, cold := range []string{"first draft", "a cold comment"} {
		if bytes.Contains(snap, []byte(cold)) {
			t.Errorf("the snapshot holds %q, which no document shows", cold)
		}
	}
	if !bytes.Contains(snap, []byte("on every roof")) {
		t.Error("the snapshot lacks the head's text")
	}

	// The crash image: written since the clean start, copied while open.
	n = openNode(t, dir, false)
	act(t, n, &crdt.CommentBody{Proposal: proposal, Text: "after the snapshot"})
	crashed := testkit.CopyDir(t, dir)
	n.Close()
	bare := testkit.CopyDir(t, dir)
	if err := os.Remove(filepath.Join(bare, snapshotFile)); err != nil {
		t.Fatal(err)
	}

	show := func(dir string) []byte {
		n := openNode(t, dir, false)
		defer n.Close()
		return pages(t, n)
	}
	want := show(bare)
	for _, s := range []string{"first draft", "a cold comment", "after the snapshot", "on every roof"} {
		if !bytes.Contains(want, []byte(s)) {
			t.Fatalf("the rebuilt pages lack %q", s)
		}
	}
	for _, c := range []struct{ name, dir string }{{"clean", dir}, {"kill -9", crashed}} {
		if got := show(c.dir); !bytes.Equal(got, want) {
			t.Errorf("%s: the pages differ from the rebuild's:\n got %s\nwant %s", c.name, got, want)
		}
	}
}
