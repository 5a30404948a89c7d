package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/convene/convene/crdt"
)

func TestCollect(t *testing.T) {
	s := newSample(t)
	x := s.collect()
	if len(x.Sessions) != 1 || len(x.Events) != 2 || len(x.Groups) != 3 || x.Name != "Techie Congress 2026" {
		t.Fatalf("collected %d sessions, %d events, %d groups, name %q", len(x.Sessions), len(x.Events), len(x.Groups), x.Name)
	}
	se := x.Sessions[0]
	if got := len(se.Revisions[s.pConflict]); got != 3 {
		t.Errorf("conflicted proposal: %d revisions, want 3", got)
	}
	if got := len(se.Revisions[s.pWaiting]); got != 1 {
		t.Errorf("waiting proposal: %d revisions, want 1", got)
	}
	if _, err := Collect(s.state, Options{Sessions: []crdt.OpID{s.groupA}}); !errors.Is(err, crdt.ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}
	one, err := Collect(s.state, Options{Sessions: []crdt.OpID{s.session}})
	if err != nil || len(one.Sessions) != 1 || one.Events != nil {
		t.Errorf("one session: %d sessions, %d events, %v", len(one.Sessions), len(one.Events), err)
	}
}

func TestMarkdown(t *testing.T) {
	s := newSample(t)
	x := s.collect()
	x.Sessions[0].Document.Session.Title = "Transport <b>now</b>"
	var buf bytes.Buffer
	if err := Markdown(&buf, x); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	d := x.Sessions[0].Document
	// Ranks in order, with counts and endorsing group names.
	last := -1
	for _, p := range d.Proposals {
		if p.Rank == 0 {
			continue
		}
		line := strconv.Itoa(p.Rank) + ". "
		i := strings.Index(md, "\n"+line)
		if i < 0 || i < last {
			t.Fatalf("rank %d missing or out of order in\n%s", p.Rank, md)
		}
		last = i
		if !strings.Contains(md[i:], plural(p.Endorsements, "endorsement")) {
			t.Errorf("rank %d: endorsement count missing", p.Rank)
		}
	}
	for _, want := range []string{
		"# Transport \\<b\\>now\\</b\\>\n",
		"1. Free \"public\" transport, for all;\\\n   no \\<script\\>alert(1)\\</script\\> \\& no \\# headings\\\n   \\- not a list\\\n   1\\. not a list either\n",
		"3 endorsements: ",
		"Protected bike lanes",
		"**In conflict:** 2 concurrent versions",
		"Other version by Les Ateliers, Paris: Night buses every 15 minutes",
		"# Hidden", "- " + hiddenText,
		"# Waiting list", "- Free bikes, for everyone",
		"> What should the city do?\n\n> \\# not a heading",
		"Generated 2026-03-30 12:00 UTC by a node connected to 3 peers, last synced 2026-03-30T11:59:00Z.",
		"provisional",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	for _, g := range []string{"Les Ateliers, Paris", "Dakar \"Nord\"", "Carol's group"} {
		if !strings.Contains(md[:strings.Index(md, "2. ")], g) {
			t.Errorf("top proposal's endorsing group %s missing", g)
		}
	}
	for _, bad := range []string{"<script>", "<b>", "something abusive", "\n- not a list", "\n# not a heading"} {
		if strings.Contains(md, bad) {
			t.Errorf("Markdown holds %q unescaped or hidden text:\n%s", bad, md)
		}
	}
}

func TestMdEscaping(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain text, with commas.", "plain text, with commas."},
		{"*bold* _it_ `code` [link](x) <a> & | ~", "\\*bold\\* \\_it\\_ \\`code\\` \\[link\\](x) \\<a\\> \\& \\| \\~"},
		{"# h", "\\# h"},
		{"- item", "\\- item"},
		{"+ item", "\\+ item"},
		{"=== ", "\\==="},
		{"12. item", "12\\. item"},
		{"3) item", "3\\) item"},
		{"a\nb", "a\\\nb"},
		{"a\n\n\nb", "a\n\nb"},
		{"   indented code", "indented code"},
	}
	for _, c := range cases {
		if got := mdBlock(c.in, ""); got != c.want {
			t.Errorf("mdBlock(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCSV(t *testing.T) {
	s := newSample(t)
	x := s.collect()
	var buf bytes.Buffer
	if err := CSV(&buf, x, CSVProposals); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\r\n") {
		t.Error("RFC 4180 wants CRLF line ends")
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	d := x.Sessions[0].Document
	if len(rows) != 1+len(d.Proposals)+len(d.Waiting) {
		t.Fatalf("%d rows, want a header and %d", len(rows), len(d.Proposals)+len(d.Waiting))
	}
	col := make(map[string]int)
	for i, h := range rows[0] {
		col[h] = i
	}
	for i, p := range d.Proposals {
		r := rows[i+1]
		if r[col["proposal"]] != p.ID.String() || r[col["rank"]] != strconv.Itoa(p.Rank) ||
			r[col["text"]] != p.Text || r[col["endorsements"]] != strconv.Itoa(p.Endorsements) ||
			r[col["revision"]] != p.Revision.String() || r[col["group_name"]] != x.groupName(p.Group) ||
			r[col["session"]] != d.Session.ID.String() {
			t.Errorf("row %d %q does not match proposal %+v", i+1, r, p)
		}
	}
	if got := rows[1][col["text"]]; got != tricky {
		t.Errorf("tricky text came back as %q", got)
	}
	if got := rows[len(rows)-1]; got[col["status"]] != "waiting" || got[col["text"]] != "Free bikes, for everyone" {
		t.Errorf("last row %q, want the waiting proposal", got)
	}
	var hidden int
	for _, r := range rows[1:] {
		if r[col["status"]] == "hidden" {
			hidden++
			if r[col["text"]] != "" {
				t.Errorf("hidden proposal's text exported: %q", r[col["text"]])
			}
		}
	}
	if hidden != 1 {
		t.Errorf("%d hidden rows, want 1", hidden)
	}

	buf.Reset()
	if err := CSV(&buf, x, CSVEndorsements); err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, p := range d.Proposals {
		want += len(p.EndorsedBy)
	}
	if len(rows) != 1+want {
		t.Errorf("%d endorsement rows, want %d", len(rows)-1, want)
	}
	if _, err := ParseCSVKind("votes"); err == nil {
		t.Error("unknown CSV kind accepted")
	}
}

func TestJSON(t *testing.T) {
	s := newSample(t)
	x := s.collect()
	var a, b bytes.Buffer
	if err := JSON(&a, x); err != nil {
		t.Fatal(err)
	}
	if err := JSON(&b, s.collect()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("JSON export is not deterministic")
	}
	var out struct {
		Format    string
		Gathering struct{ ID, Name string }
		Groups    []struct{ ID, Name string }
		Sessions  []struct {
			Session   struct{ ID string }
			Proposals []struct {
				ID, Text, Revision string
				Rank, Endorsements int
				EndorsedBy         []string `json:"endorsed_by"`
				Conflict           bool
				Heads              []string
				History            []struct {
					ID, Text, Group, Author string
					GroupName               string `json:"group_name"`
					AuthorName              string `json:"author_name"`
					At                      string
					Parents                 []string
					Shown, Head, Hidden     bool
					EndorsedBy              []string `json:"endorsed_by"`
				}
			}
			Waiting []struct{ ID, Text string }
		}
		Events []struct{ ID, Title string }
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Format != JSONFormat || out.Gathering.ID != s.keys.Gathering.String() || len(out.Groups) != 3 || len(out.Events) != 2 {
		t.Fatalf("header: %+v", out)
	}
	props := out.Sessions[0].Proposals
	byID := make(map[string]int)
	for i, p := range props {
		byID[p.ID] = i
	}
	edited := props[byID[s.pEdited.String()]]
	if len(edited.History) != 2 || edited.History[1].ID != s.revEdited.String() ||
		edited.History[1].Parents[0] != s.pEdited.String() || !edited.History[1].Shown ||
		edited.History[1].GroupName != "Les Ateliers, Paris" || edited.History[1].AuthorName != "alice" ||
		edited.History[0].Text != "Bike lanes" || edited.History[0].Shown {
		t.Errorf("edited proposal's history: %+v", edited.History)
	}
	// The edit cleared carol's endorsement of the first revision.
	if len(edited.History[0].EndorsedBy) != 0 || len(edited.History[1].EndorsedBy) != 1 || edited.Endorsements != 1 {
		t.Errorf("endorsements per revision: %+v", edited)
	}
	conflict := props[byID[s.pConflict.String()]]
	heads := 0
	for _, r := range conflict.History {
		if r.Head {
			heads++
		}
	}
	if !conflict.Conflict || heads != 2 || len(conflict.Heads) != 2 {
		t.Errorf("conflict: %+v", conflict)
	}
	hidden := props[byID[s.pHidden.String()]]
	if hidden.Text != "" || hidden.History[0].Text != "" || !hidden.History[0].Hidden {
		t.Errorf("hidden proposal's text exported: %+v", hidden)
	}
	if len(out.Sessions[0].Waiting) != 1 || out.Sessions[0].Waiting[0].ID != s.pWaiting.String() {
		t.Errorf("waiting: %+v", out.Sessions[0].Waiting)
	}
	if top := props[0]; top.Rank != 1 || top.Text != tricky || top.Endorsements != 3 {
		t.Errorf("top proposal: %+v", top)
	}
}

func TestActivityStreams(t *testing.T) {
	s := newSample(t)
	x := s.collect()
	x.BaseURL = "http://127.0.0.1:7777/"
	var buf bytes.Buffer
	if err := ActivityStreams(&buf, x); err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(buf.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	ctx := c["@context"].([]any)
	if ctx[0] != "https://www.w3.org/ns/activitystreams" || ctx[1].(map[string]any)["mz"] != "https://joinmobilizon.org/ns#" {
		t.Errorf("@context: %v", ctx)
	}
	if c["type"] != "OrderedCollection" || c["totalItems"].(float64) != 2 {
		t.Fatalf("collection: %v", c)
	}
	items := c["orderedItems"].([]any)
	var paris map[string]any
	for _, it := range items {
		if m := it.(map[string]any); m["uuid"] == s.eventParis.String() {
			paris = m
		}
	}
	if paris == nil {
		t.Fatal("Paris event missing")
	}
	want := map[string]any{
		"type":                      "Event",
		"id":                        "urn:convene:event:" + s.eventParis.String(),
		"name":                      "Assembly, Paris",
		"startTime":                 "2026-03-29T01:30:00+01:00",
		"endTime":                   "2026-03-29T05:00:00+02:00",
		"timezone":                  "Europe/Paris",
		"ical:status":               "TENTATIVE",
		"joinMode":                  "free",
		"participantCount":          2.0,
		"maximumAttendeeCapacity":   2.0,
		"remainingAttendeeCapacity": 0.0,
		"attributedTo":              "urn:convene:group:" + s.groupA.String(),
		"inLanguage":                "fr",
		"content":                   "<p>Bring ideas;<br>and friends, &lt;b&gt;all&lt;/b&gt;.</p>",
		"mediaType":                 "text/html",
	}
	for k, v := range want {
		if paris[k] != v {
			t.Errorf("%s = %v, want %v", k, paris[k], v)
		}
	}
	loc := paris["location"].(map[string]any)
	addr := loc["address"].(map[string]any)
	if loc["type"] != "Place" || loc["name"] != "La Bourse du Travail" || loc["latitude"] != 48.8566 ||
		loc["longitude"] != 2.3522 || addr["type"] != "PostalAddress" || !strings.HasPrefix(addr["streetAddress"].(string), "3 rue") {
		t.Errorf("location: %v", loc)
	}
	tags := paris["tag"].([]any)
	if len(tags) != 2 || tags[0].(map[string]any)["type"] != "Hashtag" || tags[1].(map[string]any)["name"] != "#assembléegénérale" {
		t.Errorf("tags: %v", tags)
	}

	buf.Reset()
	if err := ActivityStreamsEvent(&buf, x, s.eventDakar); err != nil {
		t.Fatal(err)
	}
	var one map[string]any
	if err := json.Unmarshal(buf.Bytes(), &one); err != nil {
		t.Fatal(err)
	}
	if one["@context"] == nil || one["isOnline"] != true || one["maximumAttendeeCapacity"] != nil || one["url"] != nil {
		t.Errorf("single event: %v", one)
	}
	if att := one["attachment"].([]any)[0].(map[string]any); att["href"] != "https://meet.example.org/convene" {
		t.Errorf("online link: %v", att)
	}
	if err := ActivityStreamsEvent(&buf, x, s.groupA); !errors.Is(err, crdt.ErrNotFound) {
		t.Errorf("unknown event: %v", err)
	}
}
