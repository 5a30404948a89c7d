package node

import (
	"context"
	"errors"
	"testing"

	"github.com/convene/convene/crdt"
)

// TestRenameIdentity: a rename is the identity's own naming operation:
// the gathering's view and the local list show the new name, and so does
// identities.json after a reopen; a bad name or an identity this node
// does not hold stores nothing.
func TestRenameIdentity(t *testing.T) {
	ctx := context.Background()
	n, dir := initNode(t, false)
	bob, err := n.CreateIdentity(ctx, "Bob")
	if err != nil {
		t.Fatal(err)
	}
	before := n.Log().Len()
	got, err := n.RenameIdentity(ctx, bob.ID, "Roberto")
	if err != nil || got.ID != bob.ID || got.Name != "Roberto" {
		t.Fatalf("rename: %+v, %v", got, err)
	}
	if d := n.Log().Len() - before; d != 1 {
		t.Errorf("the rename stored %d operations, want 1", d)
	}
	name := func(n *Node, id crdt.IdentityID) (s string) {
		n.View(func(st *crdt.State) { i, _ := st.Identity(id); s = i.Name })
		return s
	}
	if s := name(n, bob.ID); s != "Roberto" {
		t.Errorf("the gathering's view: %q", s)
	}
	before = n.Log().Len()
	for _, c := range []struct {
		id   crdt.IdentityID
		name string
		want error
	}{
		{bob.ID, "", crdt.ErrInvalid},
		{crdt.IdentityID{}, "Nobody", crdt.ErrInvalid},
		{crdt.IdentityID{1}, "Mallory", ErrUnknownIdentity},
	} {
		if _, err := n.RenameIdentity(ctx, c.id, c.name); !errors.Is(err, c.want) {
			t.Errorf("rename %x to %q: %v, want %v", c.id[:2], c.name, err, c.want)
		}
	}
	if n.Log().Len() != before {
		t.Errorf("refused renames stored operations")
	}
	n.Close()
	n = openNode(t, dir, false)
	ids := n.Identities()
	if len(ids) != 2 || ids[1].ID != bob.ID || ids[1].Name != "Roberto" {
		t.Errorf("identities after reopen: %+v", ids)
	}
	if s := name(n, bob.ID); s != "Roberto" {
		t.Errorf("the gathering's view after reopen: %q", s)
	}
}
