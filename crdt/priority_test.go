package crdt

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// priorityWorld: authority, then five sessions whose latest activity is in
// the order s1 < s0 < s3 < s4 < s2 (s2 latest, by a comment; s4 by an
// endorsement).
func priorityWorld(t *testing.T) *world {
	w := newWorld(t)
	w.op("g", "founder", 1, &GatheringBody{Name: "Town"})
	w.op("ia", "alice", 2, &IdentityBody{Name: "Alice"})
	w.op("ga", "alice", 3, &GroupBody{Name: "Table A"})
	w.op("fb", "founder", 4, &FacilitatorBody{Identity: who("bob")})
	for i := range 5 {
		w.op(fmt.Sprintf("s%d", i), "founder", int64(10+i), &SessionBody{Title: fmt.Sprintf("s%d", i), Cap: 5})
		w.op(fmt.Sprintf("p%d", i), "alice", int64(20+i), &ProposalBody{Session: w.ref(fmt.Sprintf("s%d", i)), Group: w.ref("ga"), Text: "idea"})
	}
	w.op("r0", "alice", 31, &RevisionBody{Proposal: w.ref("p0"), Group: w.ref("ga"), Text: "idea 2", Parents: ids(w, "p0")})
	w.op("r3", "alice", 32, &RevisionBody{Proposal: w.ref("p3"), Group: w.ref("ga"), Text: "idea 2", Parents: ids(w, "p3")})
	w.op("e4", "alice", 33, &EndorseBody{Proposal: w.ref("p4"), Group: w.ref("ga"), Revision: w.ref("p4"), Endorse: true})
	w.op("c2", "bob", 34, &CommentBody{Proposal: w.ref("p2"), Text: "yes"})
	w.op("h2", "founder", 35, &HideBody{Target: w.ref("c2")})
	return w
}

func TestActiveSessionsAndPriority(t *testing.T) {
	w := priorityWorld(t)
	authority := []string{"g", "ia", "ga", "fb"}
	tests := []struct {
		n     int
		limit int
		want  []string // sessions, latest activity first
		ops   []string // what Priority lists (nil: authority plus the sessions' operations)
	}{
		{n: 1, limit: 100, want: []string{"s2"}, ops: append(slices.Clone(authority), "s2", "p2", "c2", "h2")},
		{n: 3, limit: 100, want: []string{"s2", "s4", "s3"}, ops: append(slices.Clone(authority), "s2", "p2", "c2", "h2", "s4", "p4", "e4", "s3", "p3", "r3")},
		{n: 9, limit: 100, want: []string{"s2", "s4", "s3", "s0", "s1"}},
		{n: 3, limit: 3, want: []string{"s2", "s4", "s3"}, ops: []string{"g", "fb", "ia"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d,limit=%d", tt.n, tt.limit), func(t *testing.T) {
			// Any arrival order gives the same answer.
			r := rand.New(rand.NewPCG(uint64(tt.n), uint64(tt.limit)))
			for range 5 {
				s := applyOps(w.founder.ID, shuffled(r, w.ops))
				got := s.ActiveSessions(tt.n)
				var want []OpID
				for _, name := range tt.want {
					want = append(want, w.ref(name))
				}
				if !slices.Equal(got, want) {
					t.Fatalf("ActiveSessions(%d) = %v, want %v", tt.n, got, want)
				}
				refs := s.Priority(tt.n, tt.limit)
				if !slices.IsSortedFunc(refs, func(a, b OpRef) int {
					if c := a.Clock.Compare(b.Clock); c != 0 {
						return c
					}
					return a.ID.compare(b.ID)
				}) {
					t.Fatal("Priority is not sorted")
				}
				if tt.ops == nil {
					if len(refs) != len(w.ops) {
						t.Fatalf("Priority lists %d operations, want all %d", len(refs), len(w.ops))
					}
					continue
				}
				gotIDs := make(map[OpID]bool)
				for _, ref := range refs {
					gotIDs[ref.ID] = true
				}
				if len(refs) != len(tt.ops) {
					t.Errorf("Priority lists %d operations, want %d", len(refs), len(tt.ops))
				}
				for _, name := range tt.ops {
					if !gotIDs[w.ref(name)] {
						t.Errorf("Priority lacks %s", name)
					}
				}
			}
		})
	}
}
