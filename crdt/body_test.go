package crdt

import (
	"errors"
	"strings"
	"testing"
)

// TestEventLanguage checks an event's language: empty, or the shape of a
// BCP 47 tag, so that no other format has to escape it.
func TestEventLanguage(t *testing.T) {
	for _, tc := range []struct {
		lang string
		want error
	}{
		{"", nil},
		{"en", nil},
		{"pt-BR", nil},
		{"zh-Hant-TW", nil},
		{"x-klingon", nil},
		{strings.Repeat("a", 35), nil},
		{strings.Repeat("a", 36), ErrTooLarge},
		{"en\x00", ErrInvalid},
		{"\xff\xfe", ErrInvalid},
		{"en US", ErrInvalid},
		{"en;x=1", ErrInvalid},
		{"fr\r\nX", ErrInvalid},
		{"é", ErrInvalid},
	} {
		whole := &EventBody{EventFields{Title: "x", Start: "2026-05-01T10:00:00Z", End: "2026-05-01T11:00:00Z", Timezone: "UTC", Status: Confirmed, Language: tc.lang}}
		update := &EventUpdateBody{Set: EventPatch{Language: &tc.lang}}
		for _, b := range []Body{whole, update} {
			err := b.validate()
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("%T language %q: err = %v, want %v", b, tc.lang, err, tc.want)
			}
		}
		if got, want := IsLanguageTag(tc.lang), tc.lang != "" && tc.want == nil; got != want {
			t.Errorf("IsLanguageTag(%q) = %v, want %v", tc.lang, got, want)
		}
	}
}
