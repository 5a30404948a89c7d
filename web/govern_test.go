package web

import (
	"context"
	"net/http"
	"testing"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/web/apiv1"
)

func TestGovernEndpoints(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	ctx := context.Background()
	alice := must(c.Identities(ctx)).get(t)[0].ID
	bob := must(c.CreateIdentity(ctx, apiv1.CreateIdentity{Name: "Bob"})).get(t).ID
	carol := must(c.CreateIdentity(ctx, apiv1.CreateIdentity{Name: "Carol"})).get(t).ID
	g := must(c.CreateGroup(ctx, apiv1.CreateGroup{Name: "Table 1", As: &bob})).get(t)

	members := must(c.Members(ctx)).get(t)
	if len(members) != 3 || members[0].ID != alice || !members[0].Facilitator || members[1].ID != bob || len(members[1].Groups) != 1 {
		t.Fatalf("members: %+v", members)
	}
	sameAsServed(t, c, "/members", members)

	// Refusals change nothing.
	before := must(c.Status(ctx)).get(t).Ops
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"POST", "/removals", map[string]any{"identity": bob.String(), "as": carol.String()}, http.StatusForbidden, apiv1.CodeForbidden},
		{"POST", "/removals", map[string]any{"identity": bob.String(), "as": carol.String(), "rotate": true}, http.StatusForbidden, apiv1.CodeForbidden},
		{"POST", "/removals", map[string]any{"identity": crdt.IdentityID{7}.String(), "rotate": true}, http.StatusNotFound, apiv1.CodeNotFound},
		{"POST", "/removals", map[string]any{"identity": alice.String(), "as": alice.String()}, http.StatusForbidden, apiv1.CodeForbidden},
		{"POST", "/removals", map[string]any{"identity": "zz"}, http.StatusBadRequest, apiv1.CodeBadRequest},
		{"POST", "/removals", map[string]any{"identity": bob.String(), "why": "x"}, http.StatusBadRequest, apiv1.CodeBadRequest},
		{"POST", "/removals", map[string]any{"identity": crdt.IdentityID{7}.String()}, http.StatusNotFound, apiv1.CodeNotFound},
		{"PATCH", "/gathering", map[string]any{}, http.StatusBadRequest, apiv1.CodeBadRequest},
		{"PATCH", "/gathering", map[string]any{"name": "X", "seating": "sideways"}, http.StatusBadRequest, apiv1.CodeBadRequest},
		{"PATCH", "/gathering", map[string]any{"seating": "seated", "as": carol.String()}, http.StatusForbidden, apiv1.CodeForbidden},
		{"PUT", "/groups/zz/seat", nil, http.StatusBadRequest, apiv1.CodeBadRequest},
		{"PUT", "/groups/" + crdt.OpID{7}.String() + "/seat", nil, http.StatusNotFound, apiv1.CodeNotFound},
		{"PUT", "/groups/" + g.ID.String() + "/seat?as=" + carol.String(), nil, http.StatusForbidden, apiv1.CodeForbidden},
		{"PUT", "/hidden/" + g.ID.String() + "?as=" + carol.String(), nil, http.StatusForbidden, apiv1.CodeForbidden},
	} {
		h.callErr(tc.method, tc.path, tc.body, tc.status, tc.code)
	}
	if after := must(c.Status(ctx)).get(t).Ops; after != before {
		t.Fatalf("%d ops after refusals, %d before", after, before)
	}

	name := "Renamed"
	seated := crdt.SeatingSeated
	gv := must(c.UpdateGathering(ctx, apiv1.UpdateGathering{Name: &name, Seating: &seated})).get(t)
	if gv.Name != name || gv.Seating != seated || gv.ID != h.node.Gathering() {
		t.Fatalf("gathering: %+v", gv)
	}
	sameAsServed(t, c, "/gathering", must(c.Gathering(ctx)).get(t))

	if err := c.Seat(ctx, g.ID, true, nil); err != nil {
		t.Fatal(err)
	}
	if got := must(c.Group(ctx, g.ID)).get(t); !got.Seated {
		t.Fatalf("group after seating: %+v", got)
	}
	if err := c.Seat(ctx, g.ID, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Hide(ctx, g.ID, true, nil); err != nil {
		t.Fatal(err)
	}
	if got := must(c.Group(ctx, g.ID)).get(t); got.Seated || !got.Hidden || got.Name != "" {
		t.Fatalf("group after unseating and hiding: %+v", got)
	}
	if err := c.Hide(ctx, crdt.OpID(carol), true, nil); err != nil {
		t.Fatal(err)
	}
	hidden := must(c.Hidden(ctx)).get(t)
	if len(hidden) != 2 || hidden[0].Kind != "group" || hidden[0].ID != g.ID || hidden[1].Kind != "identity" || hidden[1].ID != crdt.OpID(carol) {
		t.Fatalf("hidden: %+v", hidden)
	}
	sameAsServed(t, c, "/hidden", hidden)
	if err := c.Remove(ctx, apiv1.Remove{Identity: bob, Reason: "disrupts"}); err != nil {
		t.Fatal(err)
	}
	for _, m := range must(c.Members(ctx)).get(t) {
		if (m.ID == bob) != m.Removed || (m.ID == carol) != m.Hidden {
			t.Errorf("member after removal and hiding: %+v", m)
		}
	}
	// Removal and rotation in one step: 200 with both, and the node
	// seals under the new epoch, which the removed identity was not given.
	rr := must(c.RemoveAndRotate(ctx, apiv1.Remove{Identity: carol, Reason: "leaked the invite"})).get(t)
	if len(rr.Removals) != 1 || len(rr.Rotations) != 1 || h.node.Keys().Epoch != 1 || h.node.Invite().String() != rr.Invite {
		t.Fatalf("remove and rotate: %+v, epoch %d", rr, h.node.Keys().Epoch)
	}
	var rot *crdt.RotationBody
	h.node.View(func(st *crdt.State) { rot = st.Rotations()[0].Body.(*crdt.RotationBody) })
	for _, sh := range rot.Shares {
		if sh.To == carol || sh.To == bob {
			t.Errorf("the rotation was sealed to a removed identity %s", sh.To)
		}
	}
	flags := must(c.Flags(ctx)).get(t)
	if len(flags) != 0 {
		t.Fatalf("flags on a node alone: %+v", flags)
	}
	sameAsServed(t, c, "/flags", flags)
}
