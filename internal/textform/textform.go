// Package textform is the one text form of the small binary records people
// copy by hand (invites, hub tickets): a readable prefix, then base64url.
//
// It is pure, like internal/varint, so that crdt may import it.
package textform

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrForm is text that is not in the form: too long, another prefix, or
// not base64url.
var ErrForm = errors.New("not in its text form")

// Encode writes b after prefix.
func Encode(prefix string, b []byte) string {
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Decode reads what Encode wrote. Surrounding space is ignored (people
// paste with it); text longer than max is refused before it is decoded.
func Decode(s, prefix string, max int) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) > max {
		return nil, fmt.Errorf("%w: too long", ErrForm)
	}
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return nil, fmt.Errorf("%w: it must start with %q", ErrForm, prefix)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url", ErrForm)
	}
	return b, nil
}
