package web

import (
	"cmp"
	"slices"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/web/apiv1"
)

// documentJSON adds to a document what its pages need and the state holds
// elsewhere: the names of the groups it mentions, in the order people
// read them, and each proposal's comment count. doc's slices are the
// state's cache and stay untouched.
func documentJSON(st *crdt.State, doc crdt.Document, fr apiv1.Freshness) apiv1.Document {
	seen := make(map[crdt.OpID]bool)
	var groups []apiv1.GroupName
	add := func(id crdt.OpID) {
		if seen[id] {
			return
		}
		seen[id] = true
		g, ok := st.Group(id)
		if !ok {
			return
		}
		groups = append(groups, apiv1.GroupName{ID: id, Name: g.Name})
	}
	comments := make(map[crdt.OpID]int, len(doc.Proposals))
	for _, p := range doc.Proposals {
		add(p.Group)
		for _, g := range p.EndorsedBy {
			add(g)
		}
		cs, _ := st.Comments(p.ID)
		comments[p.ID] = len(cs)
	}
	for _, w := range doc.Waiting {
		add(w.Group)
	}
	sortGroupNames(groups)
	return apiv1.Document{Document: doc, Freshness: fr, Groups: nonNil(groups), Comments: comments}
}

// sortGroupNames orders groups by name as a person reads a list (case and
// accents folded, "Group 2" before "Group 10"), hidden names last, then by
// id so that equal names keep one order on every laptop.
func sortGroupNames(groups []apiv1.GroupName) {
	// A collator is not safe for concurrent use: one per call.
	c := collate.New(language.Und, collate.IgnoreCase, collate.IgnoreDiacritics, collate.Numeric)
	slices.SortFunc(groups, func(a, b apiv1.GroupName) int {
		if (a.Name == "") != (b.Name == "") {
			if a.Name == "" {
				return 1
			}
			return -1
		}
		if n := c.CompareString(a.Name, b.Name); n != 0 {
			return n
		}
		return cmp.Compare(a.ID.String(), b.ID.String())
	})
}
