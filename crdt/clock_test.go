package crdt

import (
	"math"
	"testing"
)

func TestHLCNow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		observe  []Clock
		physical int64
		want     Clock
	}{
		{"physical ahead", []Clock{{Wall: 1000, Logical: 7}}, 1001, Clock{Wall: 1001}},
		{"same millisecond", []Clock{{Wall: 1000, Logical: 7}}, 1000, Clock{Wall: 1000, Logical: 8}},
		{"physical behind", []Clock{{Wall: 1000, Logical: 7}}, 999, Clock{Wall: 1000, Logical: 8}},
		{"counter spent", []Clock{{Wall: 1000, Logical: math.MaxUint32}}, 999, Clock{Wall: 1001}},
		{"counter spent, physical equal", []Clock{{Wall: 1000, Logical: math.MaxUint32}}, 1000, Clock{Wall: 1001}},
		{"counter spent, physical ahead", []Clock{{Wall: 1000, Logical: math.MaxUint32}}, 1005, Clock{Wall: 1005}},
		{"older observation ignored", []Clock{{Wall: 1000, Logical: math.MaxUint32}, {Wall: 500}}, 999, Clock{Wall: 1001}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h HLC
			for _, c := range tc.observe {
				h.Observe(c)
			}
			before := h.Last()
			got := h.Now(tc.physical)
			if got != tc.want {
				t.Errorf("Now(%d) after %v = %v, want %v", tc.physical, tc.observe, got, tc.want)
			}
			if !before.Less(got) {
				t.Errorf("Now(%d) = %v does not order after %v", tc.physical, got, before)
			}
			if h.Last() != got {
				t.Errorf("Last() = %v after Now gave %v", h.Last(), got)
			}
		})
	}
}
