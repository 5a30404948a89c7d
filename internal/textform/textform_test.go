package textform

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, b := range [][]byte{{}, {0}, {1, 2, 3, 250}, bytes.Repeat([]byte{7}, 100)} {
		got, err := Decode("  "+Encode("x:", b)+"\n", "x:", 1000)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("%x: got %x, %v", b, got, err)
		}
	}
}

func TestRefused(t *testing.T) {
	for _, tc := range []struct{ name, s string }{
		{"other prefix", "y:AAAA"},
		{"no prefix", "AAAA"},
		{"not base64url", "x:AA+A"},
		{"padding", "x:AA=="},
		{"non-canonical last bits", "x:AB"},
		{"too long", "x:" + string(bytes.Repeat([]byte{'A'}, 20))},
	} {
		if _, err := Decode(tc.s, "x:", 16); !errors.Is(err, ErrForm) {
			t.Errorf("%s: %v, want ErrForm", tc.name, err)
		}
	}
}
