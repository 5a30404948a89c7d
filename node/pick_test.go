package node

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/convene/convene/crdt"
)

// TestActAsPicks: with nobody named, the first local identity the rules
// allow acts; a named identity acts or is refused; with none allowed, the
// answer carries the rules' reason.
func TestActAsPicks(t *testing.T) {
	n, _ := initNode(t, true)
	ctx := context.Background()
	org := n.DefaultIdentity().ID
	bob, err := n.CreateIdentity(ctx, "Bob")
	if err != nil {
		t.Fatal(err)
	}
	sid := act(t, n, &crdt.SessionBody{Title: "Water", Cap: 1}).ID
	gb, err := n.ActAs(ctx, &bob.ID, &crdt.GroupBody{Name: "Bob's table"})
	if err != nil {
		t.Fatal(err)
	}
	stranger := crdt.IdentityID{1}
	cases := []struct {
		name    string
		as      *crdt.IdentityID
		body    crdt.Body
		author  crdt.IdentityID
		wantErr error
	}{
		{"a group's act: its scribe, not the default", nil, &crdt.ProposalBody{Session: sid, Group: gb.ID, Text: "Barrels"}, bob.ID, nil},
		{"a full session: the scribe's reason", nil, &crdt.ProposalBody{Session: sid, Group: gb.ID, Text: "More"}, crdt.IdentityID{}, crdt.ErrCapReached},
		{"a facilitator's act: the facilitator", nil, &crdt.SessionUpdateBody{Session: sid, Title: new("Rain")}, org, nil},
		{"named, not allowed", &bob.ID, &crdt.SessionUpdateBody{Session: sid, Title: new("Snow")}, crdt.IdentityID{}, crdt.ErrForbidden},
		{"named, not local", &stranger, &crdt.GroupBody{Name: "x"}, crdt.IdentityID{}, ErrUnknownIdentity},
		{"named, the zero id", &crdt.IdentityID{}, &crdt.GroupBody{Name: "x"}, crdt.IdentityID{}, ErrUnknownIdentity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := n.Log().Len()
			op, err := n.ActAs(ctx, tc.as, tc.body)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if n.Log().Len() != before {
					t.Fatal("a refused act was stored")
				}
				return
			}
			if op.Author() != tc.author {
				t.Fatalf("made by %s, want %s", op.Author(), tc.author)
			}
		})
	}
}

// TestReviseBase: the base must be the current heads, in any order and
// with repeats; otherwise the error names the heads.
func TestReviseBase(t *testing.T) {
	n, _ := initNode(t, true)
	ctx := context.Background()
	_, g, p := workshop(t, n)
	r1, err := n.Revise(ctx, nil, p, g, "Bigger barrels", []crdt.OpID{p, p})
	if err != nil {
		t.Fatal(err)
	}
	before := n.Log().Len()
	for _, base := range [][]crdt.OpID{{p}, nil, {r1.ID, p}} {
		_, err := n.Revise(ctx, nil, p, g, "stale", base)
		var ce *ConflictError
		switch {
		case len(base) == 0 && !errors.Is(err, crdt.ErrInvalid):
			t.Errorf("base %v: %v, want invalid", base, err)
		case len(base) > 0 && (!errors.As(err, &ce) || !errors.Is(err, crdt.ErrConflict) || !slices.Equal(ce.Heads, []crdt.OpID{r1.ID})):
			t.Errorf("base %v: %v, want a conflict naming %s", base, err, r1.ID)
		}
	}
	if _, err := n.Revise(ctx, nil, crdt.OpID{1}, g, "x", []crdt.OpID{p}); !errors.Is(err, crdt.ErrNotFound) {
		t.Errorf("unknown proposal: %v", err)
	}
	if n.Log().Len() != before {
		t.Fatal("refused edits were stored")
	}
}

// TestRegisterTwice: registering with the status one has makes no
// operation, even when the clicks race.
func TestRegisterTwice(t *testing.T) {
	n, _ := initNode(t, true)
	ctx := context.Background()
	me := n.DefaultIdentity().ID
	eid := act(t, n, &crdt.EventBody{EventFields: crdt.EventFields{Title: "Lunch", Start: "2026-06-02T12:00:00Z", End: "2026-06-02T13:00:00Z", Timezone: "UTC", Status: crdt.Confirmed}}).ID
	before := n.Log().Len()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if reg, err := n.Register(ctx, me, eid, "going"); err != nil || reg.Status != "going" {
				t.Errorf("register: %+v, %v", reg, err)
			}
		})
	}
	wg.Wait()
	if got := n.Log().Len() - before; got != 1 {
		t.Fatalf("%d registrations stored, want 1", got)
	}
	if _, err := n.Register(ctx, crdt.IdentityID{1}, eid, "going"); !errors.Is(err, crdt.ErrForbidden) {
		t.Fatalf("registering an identity held elsewhere: %v", err)
	}
}
