package recon

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// FuzzDecodeMessage checks that the decoder never panics, and that what it
// accepts re-encodes to the same bytes (the encoding is canonical apart
// from the bit fields, which the encoder never pads).
func FuzzDecodeMessage(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		ranges, err := decodeMessage(msg)
		if err != nil {
			return
		}
		e := newEncoder()
		var lower Bound
		for i := range ranges {
			r := &ranges[i]
			switch r.mode {
			case modeSkip:
				e.buf = append(e.buf, byte(modeSkip))
				e.close(&r.upper)
			case modeFingerprint:
				e.fingerprint(&lower, &r.upper, r.fp)
			case modeIDList:
				e.idList(&lower, &r.upper, r.keys)
			case modeIDListDiff:
				e.idListDiff(&lower, &r.upper, r.keys, r.bits)
			}
			lower = r.upper
		}
		if !bytes.Equal(e.buf, msg) {
			t.Fatalf("re-encoded %x as %x", msg, e.buf)
		}
	})
}

// FuzzReconcile feeds arbitrary messages to both sides of a session in
// progress: they must be refused or answered, never panic.
func FuzzReconcile(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	a, b := pair(rnd, 300, 20, 20)
	ia, ib := indexOf(f, a), indexOf(f, b)
	f.Fuzz(func(t *testing.T, msg []byte) {
		ra, rb := NewReconciler(ia, Options{}), NewReconciler(ib, Options{})
		m, err := ra.Initiate()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, _, err := rb.Reconcile(msg); err != nil && rb.Stats().MessagesReceived != 0 {
			t.Fatal("a refused message was counted")
		}
		reply, _, _, _, err := NewReconciler(ib, Options{}).Reconcile(m)
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, _, _ = ra.Reconcile(msg)
		_, _, _, _, _ = ra.Reconcile(reply)
	})
}

// seedMessages are the messages of real sessions, for the fuzz corpus.
func seedMessages(tb testing.TB) [][]byte {
	var out [][]byte
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, c := range [][3]int{{0, 0, 0}, {5, 2, 0}, {300, 20, 20}, {40, 0, 3}} {
		a, b := pair(rnd, c[0], c[1], c[2])
		ra, rb := NewReconciler(indexOf(tb, a), Options{}), NewReconciler(indexOf(tb, b), Options{})
		msg, _ := ra.Initiate()
		to, from := rb, ra
		for msg != nil {
			out = append(out, msg)
			msg, _, _, _, _ = to.Reconcile(msg)
			to, from = from, to
		}
	}
	return out
}
