package web

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/convene/convene/web/apiv1"
)

func TestEvents(t *testing.T) {
	h := newHarness(t)
	c := h.cast()

	// Fields left out take their defaults and still appear.
	var bare eventOut
	h.call("POST", "/events", map[string]any{
		"title": "Lunch", "start": "2026-06-02T12:00:00Z", "end": "2026-06-02T13:00:00Z", "timezone": "UTC",
	}, 201, &bare)
	if bare.Status != "confirmed" || bare.Tags == nil || bare.Place != nil || bare.Group != nil || bare.ID == "" {
		t.Fatalf("bare event: %+v", bare)
	}

	var ev eventOut
	h.call("POST", "/events", map[string]any{
		"title":       "Assembly",
		"description": "All groups; bring your drafts.",
		"start":       "2026-03-28T09:00:00+01:00",
		"end":         "2026-03-29T18:00:00+02:00",
		"timezone":    "Europe/Paris",
		"place":       map[string]any{"venue": "La Bourse", "address": "3 rue du Château-d'Eau, Paris", "lat": 48.87, "lon": 2.36},
		"online_url":  "https://meet.example/assembly",
		"group":       c.b.ID,
		"language":    "fr",
		"tags":        []string{"assembly", "plenary, day 1"},
		"capacity":    1,
		"status":      "tentative",
		"as":          c.bob.ID,
	}, 201, &ev)
	if ev.Title != "Assembly" || ev.Timezone != "Europe/Paris" || ev.Place == nil || ev.Place.Venue != "La Bourse" ||
		ev.Group == nil || *ev.Group != c.b.ID || !slices.Equal(ev.Tags, []string{"assembly", "plenary, day 1"}) ||
		ev.Capacity != 1 || ev.Status != "tentative" || ev.Language != "fr" || ev.OnlineURL == "" {
		t.Fatalf("event: %+v", ev)
	}
	// Acting for group B needs B's scribe: as absent, Bob is picked.
	var ev2 eventOut
	h.call("POST", "/events", map[string]any{
		"title": "B's workshop", "start": "2026-04-01T10:00:00-06:00", "end": "2026-04-01T12:00:00-06:00",
		"timezone": "America/Mexico_City", "group": c.b.ID,
	}, 201, &ev2)
	h.callErr("POST", "/events", map[string]any{
		"title": "Not mine", "start": "2026-04-01T10:00:00Z", "end": "2026-04-01T12:00:00Z",
		"timezone": "UTC", "group": c.b.ID, "as": c.alice.ID,
	}, 403, "not_scribe")

	var list []eventOut
	h.call("GET", "/events", nil, 200, &list)
	if len(list) != 3 || list[0].ID != ev.ID || list[1].ID != ev2.ID || list[2].ID != bare.ID {
		t.Fatalf("events are not sorted by start: %+v", list)
	}

	// Changes.
	var patched eventOut
	h.call("PATCH", "/events/"+ev.ID, map[string]any{"status": "confirmed", "title": "General assembly"}, 200, &patched)
	if patched.Status != "confirmed" || patched.Title != "General assembly" || patched.Sequence <= ev.Sequence || patched.Description != ev.Description {
		t.Fatalf("patched: %+v (was %+v)", patched, ev)
	}
	h.callErr("PATCH", "/events/"+ev.ID, map[string]any{}, 400, "bad_request")
	h.callErr("PATCH", "/events/"+ev.ID, map[string]any{"timezone": "Nowhere/Town"}, 400, "bad_request")
	h.callErr("PATCH", "/events/"+ev.ID, map[string]any{"group": c.a.ID}, 400, "bad_request")
	h.callErr("PATCH", "/events/"+strings.Repeat("ab", 32), map[string]any{"title": "X"}, 404, "not_found")
	var one eventOut
	h.call("GET", "/events/"+ev.ID, nil, 200, &one)
	if one.Title != "General assembly" {
		t.Fatalf("GET event: %+v", one)
	}

	// Registration: capacity 1, so the second is waitlisted.
	var reg struct {
		Status     string `json:"status"`
		Waitlisted bool   `json:"waitlisted"`
	}
	h.call("PUT", "/events/"+ev.ID+"/participants/"+c.alice.ID, map[string]any{"status": "going"}, 200, &reg)
	if reg.Status != "going" || reg.Waitlisted {
		t.Fatalf("Alice: %+v", reg)
	}
	h.call("PUT", "/events/"+ev.ID+"/participants/"+c.bob.ID, map[string]any{"status": "going"}, 200, &reg)
	if reg.Status != "going" || !reg.Waitlisted {
		t.Fatalf("Bob: %+v", reg)
	}
	h.call("GET", "/events/"+ev.ID, nil, 200, &one)
	if one.Going != 1 || one.Waitlist != 1 {
		t.Fatalf("counts: going %d, waitlist %d", one.Going, one.Waitlist)
	}
	// Alice clicks "going" again: no new operation, she keeps her place.
	before := h.digest()
	h.call("PUT", "/events/"+ev.ID+"/participants/"+c.alice.ID, map[string]any{"status": "going"}, 200, &reg)
	if reg.Waitlisted || h.digest() != before {
		t.Fatalf("a repeated registration moved Alice: %+v, digest changed: %v", reg, h.digest() != before)
	}
	// Alice cancels; Bob moves up.
	h.call("PUT", "/events/"+ev.ID+"/participants/"+c.alice.ID, map[string]any{"status": "not_going"}, 200, &reg)
	h.call("PUT", "/events/"+ev.ID+"/participants/"+c.bob.ID, map[string]any{"status": "going"}, 200, &reg)
	if reg.Waitlisted {
		t.Fatalf("Bob still waitlisted after Alice left")
	}
	h.call("PUT", "/events/"+ev.ID+"/participants/"+c.alice.ID, map[string]any{"status": "maybe"}, 200, &reg)
	h.call("GET", "/events/"+ev.ID, nil, 200, &one)
	if one.Going != 1 || one.Maybe != 1 || one.Waitlist != 0 {
		t.Fatalf("counts: %+v", one)
	}
	digest := h.digest()
	h.callErr("PUT", "/events/"+ev.ID+"/participants/"+strings.Repeat("cd", 32), map[string]any{"status": "going"}, 403, "forbidden")
	h.callErr("PUT", "/events/"+ev.ID+"/participants/"+c.bob.ID, map[string]any{"status": "perhaps"}, 400, "bad_request")
	h.callErr("PUT", "/events/"+ev.ID+"/participants/"+c.bob.ID, nil, 415, "unsupported_media_type")
	if h.digest() != digest {
		t.Errorf("refused registrations changed the state")
	}

	// iCalendar, all events and one.
	status, body, hdr := h.do("GET", "/api/v1/events.ics", nil)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/calendar") {
		t.Fatalf("events.ics: %d %s", status, hdr.Get("Content-Type"))
	}
	cal, err := ics.ParseCalendar(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parsing events.ics: %v\n%s", err, body)
	}
	if n := len(cal.Events()); n != 3 {
		t.Fatalf("events.ics has %d events", n)
	}
	ve := cal.Events()[0]
	checkICSEvent(t, ve, ev.ID, patched.Sequence, "CONFIRMED", "Europe/Paris", "2026-03-28T09:00:00+01:00", "General assembly")
	if org := ve.GetProperty(ics.ComponentPropertyOrganizer); org == nil || org.ICalParameters["CN"][0] != "Group B" {
		t.Errorf("ORGANIZER: %+v", org)
	}
	if cats := ve.GetProperties(ics.ComponentPropertyCategories); len(cats) != 2 || cats[1].Value != "plenary, day 1" {
		t.Errorf("CATEGORIES: %+v", cats)
	}
	if geo := ve.GetProperty(ics.ComponentPropertyGeo); geo == nil || geo.Value != "48.87;2.36" {
		t.Errorf("GEO: %+v", geo)
	}
	zones := map[string]bool{}
	for _, z := range cal.Timezones() {
		zones[z.GetProperty(ics.ComponentPropertyTzid).Value] = true
	}
	if !zones["Europe/Paris"] || !zones["America/Mexico_City"] || len(zones) != 2 {
		t.Errorf("VTIMEZONEs: %v", zones)
	}

	status, body, _ = h.do("GET", "/api/v1/events/"+ev2.ID+".ics", nil)
	if status != 200 {
		t.Fatalf("event .ics: %d %s", status, body)
	}
	cal, err = ics.ParseCalendar(strings.NewReader(string(body)))
	if err != nil || len(cal.Events()) != 1 {
		t.Fatalf("parsing one event's .ics: %v\n%s", err, body)
	}
	checkICSEvent(t, cal.Events()[0], ev2.ID, ev2.Sequence, "CONFIRMED", "America/Mexico_City", "2026-04-01T10:00:00-06:00", "B's workshop")
	h.callErr("GET", "/events/"+strings.Repeat("ab", 32)+".ics", nil, 404, "not_found")
	h.callErr("GET", "/events/nothex.ics", nil, 400, "bad_request")
}

func checkICSEvent(t *testing.T, ve *ics.VEvent, id string, seq int, status, tzid, start, summary string) {
	t.Helper()
	prop := func(p ics.ComponentProperty) string {
		if v := ve.GetProperty(p); v != nil {
			return v.Value
		}
		return ""
	}
	if got := prop(ics.ComponentPropertyUniqueId); got != id+"@convene" {
		t.Errorf("UID %q", got)
	}
	if got := prop(ics.ComponentPropertySequence); got != strconv.Itoa(seq) {
		t.Errorf("SEQUENCE %q, want %d", got, seq)
	}
	if got := prop(ics.ComponentPropertyStatus); got != status {
		t.Errorf("STATUS %q, want %s", got, status)
	}
	if got := prop(ics.ComponentPropertySummary); got != summary {
		t.Errorf("SUMMARY %q, want %q", got, summary)
	}
	for _, p := range []ics.ComponentProperty{ics.ComponentPropertyDtstamp, ics.ComponentPropertyLastModified} {
		if prop(p) == "" {
			t.Errorf("no %s", p)
		}
	}
	dt := ve.GetProperty(ics.ComponentPropertyDtStart)
	if dt == nil || len(dt.ICalParameters["TZID"]) != 1 || dt.ICalParameters["TZID"][0] != tzid {
		t.Fatalf("DTSTART without TZID %s: %+v", tzid, dt)
	}
	got, err := ve.GetStartAt()
	want, _ := time.Parse(time.RFC3339, start)
	if err != nil || !got.Equal(want) {
		t.Errorf("DTSTART is %v (%v), want %v", got, err, want)
	}
}

// TestEventParticipantNames: an event names who registered (the page shows
// who is going), in the list and alone; a name a facilitator hid is
// withheld, the registration kept.
func TestEventParticipantNames(t *testing.T) {
	h := newHarness(t)
	c := h.cast()
	var ev apiv1.Event
	h.call("POST", "/events", map[string]any{"title": "Picnic", "start": "2031-05-01T10:00:00Z", "end": "2031-05-01T12:00:00Z", "timezone": "UTC"}, 201, &ev)
	h.call("PUT", "/events/"+ev.ID.String()+"/participants/"+c.alice.ID, map[string]any{"status": "going"}, 200, nil)
	h.call("PUT", "/events/"+ev.ID.String()+"/participants/"+c.bob.ID, map[string]any{"status": "maybe"}, 200, nil)
	names := func() map[string]string {
		var one apiv1.Event
		var list []apiv1.Event
		h.call("GET", "/events/"+ev.ID.String(), nil, 200, &one)
		h.call("GET", "/events", nil, 200, &list)
		if len(list) != 1 || !reflect.DeepEqual(list[0].Participants, one.Participants) {
			t.Fatalf("the list and the event differ: %+v, %+v", list, one)
		}
		out := map[string]string{}
		for _, p := range one.Participants {
			out[p.Identity.String()] = p.Status + " " + p.Name
		}
		return out
	}
	if got, want := names(), map[string]string{c.alice.ID: "going Alice", c.bob.ID: "maybe Bob"}; !reflect.DeepEqual(got, want) {
		t.Errorf("participants %v, want %v", got, want)
	}
	h.call("PUT", "/hidden/"+c.bob.ID, nil, 204, nil)
	if got, want := names(), map[string]string{c.alice.ID: "going Alice", c.bob.ID: "maybe "}; !reflect.DeepEqual(got, want) {
		t.Errorf("participants after hiding Bob %v, want %v", got, want)
	}
}
