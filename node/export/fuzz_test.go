package export

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/convene/convene/crdt"
)

// fuzzWorld is the gathering of the committed seed corpus
// (testdata/fuzz/FuzzReadBundle): a few operations, so that mutations
// reach every part of the format.
func fuzzWorld(tb testing.TB) *world {
	w := newWorld(tb, "fuzz")
	w.do("founder", &crdt.GatheringBody{Name: "Fuzz"})
	s := w.do("founder", &crdt.SessionBody{Title: "S", Cap: 2})
	g := w.do("founder", &crdt.GroupBody{Name: "G"})
	w.do("founder", &crdt.ProposalBody{Session: s, Group: g, Text: "p"})
	return w
}

func FuzzReadBundle(f *testing.F) {
	w := fuzzWorld(f)
	good := w.bundle(crdt.Clock{})
	f.Add(good)
	f.Add(good[:len(good)-10])
	f.Add([]byte(bundleMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		raws, info, err := ReadBundleInfo(bytes.NewReader(b), w.keys.Gathering, 1<<20)
		if err != nil {
			if raws != nil {
				t.Fatal("operations returned with an error")
			}
			if !errors.Is(err, ErrBadBundle) {
				t.Fatalf("error does not wrap ErrBadBundle: %v", err)
			}
			return
		}
		// Whatever is accepted is sound and survives a round trip.
		for _, r := range raws {
			if _, err := crdt.AcceptSealed(w.keys.Gathering, r); err != nil {
				t.Fatalf("accepted a bad operation: %v", err)
			}
		}
		var buf bytes.Buffer
		err = WriteBundle(&buf, w.keys.Gathering, info.Since, func(fn func([]byte) error) error {
			for _, r := range raws {
				if err := fn(r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		again, err := ReadBundle(&buf, w.keys.Gathering, 1<<20)
		if err != nil || !slices.EqualFunc(raws, again, bytes.Equal) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
