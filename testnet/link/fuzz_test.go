package link

import (
	"errors"
	"testing"
)

// FuzzParseShape: any text either reads as a valid shape, which String
// writes back to the same shape, or is refused with ErrShape.
func FuzzParseShape(f *testing.F) {
	for _, s := range []string{"", "unshaped", "rate=64k,delay=300ms,jitter=20ms,loss=30%", "rate=1.5M,loss=0.02,rto=1s,queue=4096", "loss=2", "rate=-1k", "delay"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		s, err := ParseShape(v)
		if err != nil {
			if !errors.Is(err, ErrShape) {
				t.Fatalf("ParseShape(%q): %v, not ErrShape", v, err)
			}
			return
		}
		again, err := ParseShape(s.String())
		if err != nil || again != s {
			t.Fatalf("ParseShape(%q) = %+v; its String %q reads back as %+v, %v", v, s, s.String(), again, err)
		}
	})
}
