package web

import (
	"strings"
	"testing"
)

// TestRenameIdentity: PATCH /identities/{id} renames a local identity
// through a second naming operation: the local list, the gathering's view
// and the status follow; bad names and identities this laptop does not
// hold change nothing; a name a facilitator hid stays withheld.
func TestRenameIdentity(t *testing.T) {
	h := newHarness(t)
	var bob identJSON
	h.call("POST", "/identities", map[string]any{"name": "Bob"}, 201, &bob)
	ops := func() int {
		var st struct{ Ops int }
		h.call("GET", "/status", nil, 200, &st)
		return st.Ops
	}
	before := ops()

	var got identJSON
	h.call("PATCH", "/identities/"+bob.ID, map[string]any{"name": "Roberto"}, 200, &got)
	if got.ID != bob.ID || got.Name != "Roberto" || got.Default {
		t.Errorf("rename answered %+v", got)
	}
	if n := ops(); n != before+1 {
		t.Errorf("a rename stored %d operations, want 1", n-before)
	}
	var ids []identJSON
	h.call("GET", "/identities", nil, 200, &ids)
	if len(ids) != 2 || ids[1].Name != "Roberto" {
		t.Errorf("local identities after the rename: %+v", ids)
	}
	var one struct{ Name string }
	h.call("GET", "/identities/"+bob.ID, nil, 200, &one)
	if one.Name != "Roberto" {
		t.Errorf("the gathering's view: %q, want Roberto", one.Name)
	}

	// The default identity too; the status names it.
	h.call("PATCH", "/identities/"+ids[0].ID, map[string]any{"name": "Alicia"}, 200, nil)
	var st struct{ Identity struct{ Name string } }
	h.call("GET", "/status", nil, 200, &st)
	if st.Identity.Name != "Alicia" {
		t.Errorf("status identity %q, want Alicia", st.Identity.Name)
	}

	before = ops()
	h.callErr("PATCH", "/identities/"+bob.ID, map[string]any{"name": "   "}, 400, "bad_request")
	h.callErr("PATCH", "/identities/"+bob.ID, map[string]any{"name": strings.Repeat("n", 500)}, 413, "too_large")
	h.callErr("PATCH", "/identities/"+bob.ID, map[string]any{"nom": "x"}, 400, "bad_request")
	h.callErr("PATCH", "/identities/"+strings.Repeat("ab", 32), map[string]any{"name": "Mallory"}, 404, "not_found")
	h.callErr("PATCH", "/identities/nope", map[string]any{"name": "Mallory"}, 400, "bad_request")
	if n := ops(); n != before {
		t.Errorf("refused renames stored %d operations", n-before)
	}

	// A facilitator hid Bob's name: renaming does not bring it back.
	h.call("PUT", "/hidden/"+bob.ID, nil, 204, nil)
	h.call("PATCH", "/identities/"+bob.ID, map[string]any{"name": "Bobby"}, 200, nil)
	h.call("GET", "/identities/"+bob.ID, nil, 200, &one)
	if one.Name != "" {
		t.Errorf("a hidden identity's new name is shown: %q", one.Name)
	}
}
