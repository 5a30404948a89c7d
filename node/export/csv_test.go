package export

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/convene/convene/crdt"
)

// formulaWorld is a session whose proposals and group names a spreadsheet
// would run as formulas.
func formulaWorld(t *testing.T) Export {
	w := newWorld(t, "csv formulas")
	w.do("founder", &crdt.GatheringBody{Name: "G"})
	w.do("alice", &crdt.IdentityBody{Name: "alice"})
	session := w.do("founder", &crdt.SessionBody{Title: "@session", Cap: 10})
	g := w.do("alice", &crdt.GroupBody{Name: "=HYPERLINK(\"http://evil.example\",\"click\")"})
	for _, text := range []string{"=1+1", "+1 for buses", "-2", "@SUM(A1)", "\tcmd", "\rx", "plain = text", "a=1"} {
		w.do("alice", &crdt.ProposalBody{Session: session, Group: g, Text: text})
	}
	return w.collect()
}

func TestCSVDefusesFormulas(t *testing.T) {
	x := formulaWorld(t)
	cases := []struct {
		kind    CSVKind
		bom     bool
		defused bool
	}{
		{"", false, true},
		{CSVProposals, false, true},
		{"proposals,bom", true, true},
		{"bom,raw", true, false},
		{"raw", false, false},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		if err := CSV(&buf, x, c.kind); err != nil {
			t.Fatalf("%q: %v", c.kind, err)
		}
		b := buf.Bytes()
		if got := bytes.HasPrefix(b, []byte("\xef\xbb\xbf")); got != c.bom {
			t.Errorf("%q: BOM %v, want %v", c.kind, got, c.bom)
		}
		rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))).ReadAll()
		if err != nil {
			t.Fatalf("%q: %v", c.kind, err)
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		texts := map[string]bool{}
		for _, r := range rows[1:] {
			texts[r[col["text"]]] = true
			name := r[col["group_name"]]
			if c.defused != strings.HasPrefix(name, "'=") || !strings.HasSuffix(name, `"click")`) {
				t.Errorf("%q: group name cell %q", c.kind, name)
			}
			if title := r[col["session_title"]]; c.defused != (title == "'@session") {
				t.Errorf("%q: session title cell %q", c.kind, title)
			}
		}
		// encoding/csv with CRLF line ends drops a lone CR, so "\rx" is
		// read back without it.
		for _, tc := range []struct{ raw, defused string }{
			{"=1+1", "'=1+1"}, {"+1 for buses", "'+1 for buses"}, {"-2", "'-2"}, {"@SUM(A1)", "'@SUM(A1)"},
			{"\tcmd", "'\tcmd"}, {"x", "'x"}, {"plain = text", "plain = text"}, {"a=1", "a=1"},
		} {
			want := tc.raw
			if c.defused {
				want = tc.defused
			}
			if !texts[want] {
				t.Errorf("%q: no text cell %q among %v", c.kind, want, texts)
			}
		}
	}
}

func TestParseCSVKind(t *testing.T) {
	for in, want := range map[string]CSVKind{
		"":                       CSVProposals,
		"proposals":              CSVProposals,
		"endorsements":           CSVEndorsements,
		"bom,endorsements,raw":   "endorsements,raw,bom",
		"raw":                    "proposals,raw",
		"bom":                    "proposals,bom",
		"proposals,raw,raw":      "proposals,raw",
		"endorsements,bom":       "endorsements,bom",
		"votes":                  "",
		"proposals,endorsements": "",
		"proposals,":             "",
		"RAW":                    "",
	} {
		got, err := ParseCSVKind(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("ParseCSVKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	var buf bytes.Buffer
	if err := CSV(&buf, Export{}, "votes"); err == nil || buf.Len() != 0 {
		t.Errorf("CSV with an unknown kind: %v, %d bytes written", err, buf.Len())
	}
}
