package node

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/store"
)

// initNode creates a gathering in a new directory and opens its node.
func initNode(t testing.TB, memory bool) (*Node, string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := Init(context.Background(), dir, "Techie Congress", "organizer"); err != nil {
		t.Fatal(err)
	}
	return openNode(t, dir, memory), dir
}

// joinNode joins the gathering of creds in a new directory.
func joinNode(t testing.TB, creds crdt.Credentials, memory bool) *Node {
	t.Helper()
	dir := t.TempDir()
	if err := Join(context.Background(), dir, creds, "guest"); err != nil {
		t.Fatal(err)
	}
	return openNode(t, dir, memory)
}

func openNode(t testing.TB, dir string, memory bool) *Node {
	t.Helper()
	n, err := Open(context.Background(), Config{Dir: dir, Memory: memory})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func act(t testing.TB, n *Node, body crdt.Body) crdt.Op {
	t.Helper()
	op, err := n.Act(context.Background(), crdt.IdentityID{}, body)
	if err != nil {
		t.Fatalf("Act %T: %v", body, err)
	}
	return op
}

// raws returns every stored operation's encoding.
func raws(t testing.TB, n *Node) [][]byte {
	t.Helper()
	var out [][]byte
	if err := n.Log().Iterate(context.Background(), func(e *crdt.Envelope) error {
		out = append(out, e.Bytes())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// documentJSON is the JSON of a session's document.
func documentJSON(t testing.TB, n *Node, session crdt.OpID) string {
	t.Helper()
	var out []byte
	n.View(func(s *crdt.State) {
		d, ok := s.Document(session)
		if !ok {
			t.Fatalf("no document for session %s", session)
		}
		var err error
		if out, err = json.Marshal(d); err != nil {
			t.Fatal(err)
		}
	})
	return string(out)
}

// workshop makes a session with a group and a proposal on n.
func workshop(t testing.TB, n *Node) (session, group, proposal crdt.OpID) {
	t.Helper()
	session = act(t, n, &crdt.SessionBody{Title: "Water", Cap: 10}).ID
	group = act(t, n, &crdt.GroupBody{Name: "Table 1"}).ID
	proposal = act(t, n, &crdt.ProposalBody{Session: session, Group: group, Text: "Rain barrels"}).ID
	return
}

// withStore opens the store of the node directory dir (which no node has
// open) and runs fn with gathering g's log.
func withStore(t testing.TB, dir string, g crdt.GatheringID, fn func(l *store.Log)) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(dir, storeDir))
	if err != nil {
		t.Fatal(err)
	}
	l, err := st.Log(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	fn(l)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// tamper is a copy of raw with a byte of its sealed payload changed, so
// that its signature no longer matches.
func tamper(raw []byte) []byte {
	b := slices.Clone(raw)
	b[len(b)-1] ^= 1 // in the signature: a change before it fails admission, with no signature check
	return b
}
