package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/web/apiv1"
)

func TestSortGroupNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string // "name#id byte"
		want []string
	}{
		{"by name, not id", []string{"Table 3#1", "Housing#2", "agua#3"}, []string{"agua#3", "Housing#2", "Table 3#1"}},
		{"numbers as numbers", []string{"Group 10#1", "Group 2#2"}, []string{"Group 2#2", "Group 10#1"}},
		{"accents folded", []string{"Zona#1", "Éxodo#2", "Escuela#3"}, []string{"Escuela#3", "Éxodo#2", "Zona#1"}},
		{"hidden last", []string{"#1", "Zona#2"}, []string{"Zona#2", "#1"}},
		{"equal names by id", []string{"Same#9", "Same#4"}, []string{"Same#4", "Same#9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var groups []apiv1.GroupName
			for _, s := range tc.in {
				name, b, _ := strings.Cut(s, "#")
				n, err := strconv.Atoi(b)
				if err != nil {
					t.Fatal(err)
				}
				var id crdt.OpID
				id[0] = byte(n)
				groups = append(groups, apiv1.GroupName{ID: id, Name: name})
			}
			sortGroupNames(groups)
			var got []string
			for _, g := range groups {
				got = append(got, g.Name+"#"+strconv.Itoa(int(g.ID[0])))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDocumentNamesGroups: the document names its groups in reading order
// (Group B endorsed first, Group A wrote; an unrelated group is left out)
// and counts each proposal's comments, on the public address too.
func TestDocumentNamesGroups(t *testing.T) {
	h := newHarness(t)
	c := h.cast()
	var unrelated, p, q idJSON
	h.call("POST", "/groups", map[string]any{"name": "Aardvarks"}, 201, &unrelated)
	h.call("POST", "/sessions/"+c.session.ID+"/proposals", map[string]any{"group": c.b.ID, "text": "Bob's", "as": c.bob.ID}, 201, &p)
	h.call("POST", "/sessions/"+c.session.ID+"/proposals", map[string]any{"group": c.a.ID, "text": "Alice's"}, 201, &q)
	h.call("POST", "/proposals/"+p.ID+"/comments", map[string]any{"text": "one"}, 201, nil)
	h.call("POST", "/proposals/"+p.ID+"/comments", map[string]any{"text": "two"}, 201, nil)

	type doc struct {
		Groups   []apiv1.GroupName `json:"groups"`
		Comments map[string]int    `json:"comments"`
	}
	check := func(where string, d doc) {
		t.Helper()
		var names []string
		for _, g := range d.Groups {
			names = append(names, g.Name)
		}
		if !slices.Equal(names, []string{"Group A", "Group B"}) {
			t.Errorf("%s: groups %q, want Group A, Group B", where, names)
		}
		if d.Comments[p.ID] != 2 || d.Comments[q.ID] != 0 || len(d.Comments) != 2 {
			t.Errorf("%s: comments %v", where, d.Comments)
		}
	}
	var d doc
	h.call("GET", "/sessions/"+c.session.ID+"/document", nil, 200, &d)
	check("ui address", d)

	res, err := http.Get(newPublicServer(t, h) + "/api/v1/sessions/" + c.session.ID + "/document")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	d = doc{}
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	check("public address", d)
}
