package crdt

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestTicketText(t *testing.T) {
	k := testKeys(who("founder"))
	tk := k.Ticket()
	text := tk.String()
	enc := strings.TrimPrefix(text, ticketPrefix)
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	// reencode makes a ticket text of raw changed by change, with the
	// checksum of the result, or the original checksum if keepSum.
	reencode := func(change func([]byte) []byte, keepSum bool) string {
		b := change(append([]byte(nil), raw[:len(raw)-ticketChecksum]...))
		if keepSum {
			b = append(b, raw[len(raw)-ticketChecksum:]...)
		} else {
			b = append(b, ticketSum(b)...)
		}
		return ticketPrefix + base64.RawURLEncoding.EncodeToString(b)
	}
	cases := []struct {
		name string
		text string
		want *Ticket // nil: refused
	}{
		{"canonical", text, &tk},
		{"surrounding space", "  " + text + "\n", &tk},
		{"epoch 300", Ticket{Gathering: tk.Gathering, Epoch: 300, Key: tk.Key}.String(), &Ticket{Gathering: tk.Gathering, Epoch: 300, Key: tk.Key}},
		{"largest epoch", Ticket{Epoch: 1<<64 - 1}.String(), &Ticket{Epoch: 1<<64 - 1}},
		{"bare gathering id", tk.Gathering.String(), nil},
		{"invite", "convene:AQ" + enc, nil},
		{"empty", "", nil},
		{"prefix only", ticketPrefix, nil},
		{"upper-case prefix", strings.ToUpper(ticketPrefix) + enc, nil},
		{"padded base64", text + "=", nil},
		{"not the url alphabet", text[:20] + "+" + text[21:], nil},
		{"a letter changed", text[:len(text)-10] + flip(text[len(text)-10]) + text[len(text)-9:], nil},
		{"truncated", text[:len(text)-2], nil},
		{"trailing byte", reencode(func(b []byte) []byte { return append(b, 0) }, false), nil},
		{"checksum of another ticket", reencode(func(b []byte) []byte { b[5] ^= 1; return b }, true), nil},
		{"version 2", reencode(func(b []byte) []byte { b[0] = 2; return b }, false), nil},
		{"epoch not minimal", reencode(func(b []byte) []byte {
			return append(append(b[:33:33], 0x80, 0x00), b[34:]...)
		}, false), nil},
		{"key short", reencode(func(b []byte) []byte { return b[:len(b)-1] }, false), nil},
		{"too long", ticketPrefix + strings.Repeat("A", maxTicketText), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTicket(tc.text)
			if tc.want == nil {
				if !errors.Is(err, ErrBadTicket) {
					t.Fatalf("ParseTicket(%q): %+v, %v; want ErrBadTicket", tc.text, got, err)
				}
				return
			}
			if err != nil || got != *tc.want {
				t.Fatalf("ParseTicket: %+v, %v; want %+v", got, err, *tc.want)
			}
			if again := got.String(); again != strings.TrimSpace(tc.text) {
				t.Fatalf("ticket prints as %q, was %q", again, tc.text)
			}
		})
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// FuzzParseTicket: whatever parses prints back as the same text, so a
// ticket has one text form.
func FuzzParseTicket(f *testing.F) {
	k := testKeys(who("founder"))
	f.Add(k.Ticket().String())
	f.Add(Ticket{Gathering: k.Gathering, Epoch: 1 << 40, Key: [32]byte{1}}.String())
	f.Add(k.Gathering.String())
	f.Add(ticketPrefix)
	f.Fuzz(func(t *testing.T, s string) {
		tk, err := ParseTicket(s)
		if err != nil {
			if !errors.Is(err, ErrBadTicket) {
				t.Fatalf("error not wrapping ErrBadTicket: %v", err)
			}
			return
		}
		if again := tk.String(); again != strings.TrimSpace(s) {
			t.Fatalf("ticket %q prints as %q", s, again)
		}
	})
}
