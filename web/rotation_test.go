package web

import (
	"testing"

	"github.com/convene/convene/node"
	"github.com/convene/convene/web/apiv1"
)

func TestPostRotation(t *testing.T) {
	h := newHarness(t)
	c := h.cast()
	h.callErr("POST", "/invite/rotation", map[string]any{"as": c.bob.ID}, 403, apiv1.CodeForbidden)
	h.callErr("POST", "/invite/rotation", map[string]any{"as": "nope"}, 400, apiv1.CodeBadRequest)
	if got := h.node.Epochs(); len(got) != 0 {
		t.Fatalf("a refused rotation changed the epochs: %+v", got)
	}
	var out apiv1.Rotated
	h.call("POST", "/invite/rotation", map[string]any{}, 200, &out)
	inv, err := node.ParseInvite(out.Invite)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Operations) != 1 || len(inv.Epochs) != 1 || inv.Epochs[0].Epoch != 1 || inv.Epochs[0].Rotation != out.Operations[0] {
		t.Fatalf("rotated: %+v, invite epochs %+v", out, inv.Epochs)
	}
}
