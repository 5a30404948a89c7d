package export

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
)

// TestActivityStreamsStableIDs: the same events exported by two laptops
// (each through its own UI address) and by a stopped node carry the same
// ids, so a consumer that reads two exports sees one event, not two.
func TestActivityStreamsStableIDs(t *testing.T) {
	ctx := context.Background()
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	creds, err := node.Init(ctx, dirA, "Congress", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Join(ctx, dirB, creds, "bob"); err != nil {
		t.Fatal(err)
	}
	a, b := openNode(t, dirA), openNode(t, dirB)
	g := act(t, a, &crdt.GroupBody{Name: "Housing"})
	act(t, a, &crdt.EventBody{EventFields: crdt.EventFields{
		Title: "Assembly", Start: "2026-04-02T18:00:00Z", End: "2026-04-02T19:00:00Z", Timezone: "Europe/Paris",
		Place: &crdt.Place{Venue: "Hall"}, Group: &g, Status: crdt.Confirmed,
	}})
	importInto(t, b, nodeBundle(t, a, crdt.Clock{}))

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	export := func(n *node.Node, base string) []byte {
		var buf bytes.Buffer
		if err := Write(ctx, &buf, n, Request{Format: FormatActivityStreams, Now: now, BaseURL: base}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	fromA := export(a, "http://127.0.0.1:7790")
	fromB := export(b, "http://127.0.0.1:7791/")
	a.Close()
	stopped := openNode(t, dirA)
	fromStopped := export(stopped, "")
	if !bytes.Equal(fromA, fromB) || !bytes.Equal(fromA, fromStopped) {
		t.Fatalf("exports differ:\n%s\n%s\n%s", fromA, fromB, fromStopped)
	}
	var c struct {
		ID    string
		Items []struct{ ID, AttributedTo, URL string } `json:"orderedItems"`
	}
	if err := json.Unmarshal(fromA, &c); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID, "urn:convene:events:") || strings.Contains(string(fromA), creds.Derive().Gathering.String()) || len(c.Items) != 1 ||
		!strings.HasPrefix(c.Items[0].ID, "urn:convene:event:") || c.Items[0].AttributedTo != "urn:convene:group:"+g.String() || c.Items[0].URL != "" {
		t.Errorf("ids: %+v", c)
	}

	// Another gathering's collection has another id.
	dirC := filepath.Join(t.TempDir(), "c")
	if _, err := node.Init(ctx, dirC, "Congress", "carol"); err != nil {
		t.Fatal(err)
	}
	var other struct{ ID string }
	if err := json.Unmarshal(export(openNode(t, dirC), ""), &other); err != nil || other.ID == c.ID {
		t.Errorf("two gatherings share the collection id %q (%v)", other.ID, err)
	}
}

// TestActivityStreamsForPlainConsumers: the context leaves location and
// its coordinates their ActivityStreams meaning, states ical:status once,
// and only an event with no place is online.
func TestActivityStreamsForPlainConsumers(t *testing.T) {
	ctx := asContext[1].(map[string]any)
	for _, term := range []string{"location", "latitude", "longitude", "name", "status"} {
		if _, ok := ctx[term]; ok {
			t.Errorf("the context redefines %q", term)
		}
	}
	for term, v := range ctx {
		if v == "ical:status" {
			t.Errorf("the context aliases %q to ical:status", term)
		}
	}

	w := newWorld(t, "plain consumers")
	w.do("founder", &crdt.GatheringBody{Name: "G"})
	lat, lon := 14.69, -17.44
	times := crdt.EventFields{Start: "2026-04-02T18:00:00Z", End: "2026-04-02T19:00:00Z", Timezone: "UTC", Status: crdt.Confirmed}
	cases := []struct {
		title  string
		place  *crdt.Place
		online string
		// want
		isOnline  bool
		placeName string
	}{
		{"online", nil, "https://meet.example.org/a", true, ""},
		{"hybrid", &crdt.Place{Venue: "Hall"}, "https://meet.example.org/b", false, "Hall"},
		{"address only", &crdt.Place{Address: "1 rue X"}, "", false, "1 rue X"},
		{"coordinates only, with a link", &crdt.Place{Lat: &lat, Lon: &lon}, "https://meet.example.org/c", false, ""},
		{"nowhere", nil, "", false, ""},
	}
	ids := map[string]crdt.OpID{}
	for _, c := range cases {
		f := times
		f.Title, f.Place, f.OnlineURL = c.title, c.place, c.online
		ids[c.title] = w.do("founder", &crdt.EventBody{EventFields: f})
	}
	x := w.collect()
	for _, c := range cases {
		var buf bytes.Buffer
		if err := ActivityStreamsEvent(&buf, x, ids[c.title]); err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		if err := json.Unmarshal(buf.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev["isOnline"] != c.isOnline {
			t.Errorf("%s: isOnline %v, want %v", c.title, ev["isOnline"], c.isOnline)
		}
		if _, ok := ev["status"]; ok || ev["ical:status"] != "CONFIRMED" {
			t.Errorf("%s: status %v, ical:status %v", c.title, ev["status"], ev["ical:status"])
		}
		loc, _ := ev["location"].(map[string]any)
		if (loc != nil) != (c.place != nil) || (loc != nil && (loc["type"] != "Place" || (loc["name"] != nil && loc["name"] != c.placeName) || (c.placeName != "" && loc["name"] != c.placeName))) {
			t.Errorf("%s: location %v", c.title, loc)
		}
	}
}
