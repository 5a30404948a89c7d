package web

import (
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
