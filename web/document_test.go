package web

import (
	"slices"
	"testing"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/web/apiv1"
)

func TestSortGroupNames(t *testing.T) {
	id := func(b byte) crdt.OpID { var o crdt.OpID; o[0] = b; return o }
	for _, tc := range []struct {
		name string
		in   []apiv1.GroupName
		want []string
	}{
		{"by name, not id", []apiv1.GroupName{{id(1), "Table 3"}, {id(2), "Housing"}, {id(3), "agua"}},
			[]string{"agua", "Housing", "Table 3"}},
		{"numbers as numbers", []apiv1.GroupName{{id(1), "Group 10"}, {id(2), "Group 2"}},
			[]string{"Group 2", "Group 10"}},
		{"accents folded", []apiv1.GroupName{{id(1), "Zona"}, {id(2), "Éxodo"}, {id(3), "Escuela"}},
			[]string{"Escuela", "Éxodo", "Zona"}},
		{"hidden last", []apiv1.GroupName{{id(1), ""}, {id(2), "Zona"}},
			[]string{"Zona", ""}},
		{"equal names by id", []apiv1.GroupName{{id(9), "Same"}, {id(4), "Same"}},
			[]string{"Same#4", "Same#9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sortGroupNames(tc.in)
			var got []string
			for _, g := range tc.in {
				s := g.Name
				if tc.name == "equal names by id" {
					s += "#" + string('0'+g.ID[0])
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
