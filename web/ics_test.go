package web

import (
	"bytes"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/convene/convene/crdt"
)

func icsEvent(id byte, title, start, end, zone string) crdt.Event {
	e := crdt.Event{
		EventFields: crdt.EventFields{Title: title, Start: start, End: end, Timezone: zone, Status: crdt.Confirmed},
		Created:     time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Modified:    time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		Sequence:    3,
	}
	e.ID[0] = id
	return e
}

// TestWriteICSZones checks the VTIMEZONE: a span across a daylight-saving
// change carries both observances with the right offsets, and every time
// parses back to the instant it came from.
func TestWriteICSZones(t *testing.T) {
	events := []crdt.Event{
		icsEvent(1, "Winter", "2026-03-28T09:00:00+01:00", "2026-03-28T10:00:00+01:00", "Europe/Paris"),
		icsEvent(2, "Summer", "2026-03-30T09:00:00+02:00", "2026-03-30T10:00:00+02:00", "Europe/Paris"),
		icsEvent(3, "Kolkata", "2026-05-01T09:00:00+05:30", "2026-05-01T10:00:00+05:30", "Asia/Kolkata"),
		icsEvent(4, "Zulu", "2026-05-01T09:00:00Z", "2026-05-01T10:00:00Z", "UTC"),
		icsEvent(5, "Unknown zone", "2026-05-01T09:00:00Z", "2026-05-01T10:00:00Z", "Nowhere/Town"),
	}
	var buf bytes.Buffer
	if err := WriteICS(&buf, "Test; gathering", events, nil); err != nil {
		t.Fatal(err)
	}
	cal, err := ics.ParseCalendar(&buf)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, buf.String())
	}
	var paris *ics.VTimezone
	for _, z := range cal.Timezones() {
		if z.GetProperty(ics.ComponentPropertyTzid).Value == "Europe/Paris" {
			paris = z
		}
	}
	if paris == nil || len(cal.Timezones()) != 2 {
		t.Fatalf("zones: %d, Paris %v", len(cal.Timezones()), paris != nil)
	}
	var kinds []string
	for _, c := range paris.Components {
		var cb *ics.ComponentBase
		switch o := c.(type) {
		case *ics.Standard:
			kinds, cb = append(kinds, "STANDARD"), &o.ComponentBase
		case *ics.Daylight:
			kinds, cb = append(kinds, "DAYLIGHT"), &o.ComponentBase
		default:
			t.Fatalf("unexpected %T in VTIMEZONE", c)
		}
		from := cb.GetProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom)).Value
		to := cb.GetProperty(ics.ComponentProperty(ics.PropertyTzoffsetto)).Value
		dt := cb.GetProperty(ics.ComponentPropertyDtStart).Value
		switch kinds[len(kinds)-1] {
		case "STANDARD":
			if to != "+0100" {
				t.Errorf("STANDARD to %s", to)
			}
		case "DAYLIGHT":
			if from != "+0100" || to != "+0200" || dt != "20260329T020000" {
				t.Errorf("DAYLIGHT %s from %s to %s", dt, from, to)
			}
		}
	}
	if strings.Join(kinds, ",") != "STANDARD,DAYLIGHT" {
		t.Errorf("Paris observances: %v", kinds)
	}
	for i, ve := range cal.Events() {
		got, err := ve.GetStartAt()
		want, _ := time.Parse(time.RFC3339, events[i].Start)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: start %v (%v), want %v", events[i].Title, got, err, want)
		}
		dt := ve.GetProperty(ics.ComponentPropertyDtStart)
		tzid := dt.ICalParameters["TZID"]
		switch events[i].Timezone {
		case "UTC", "Nowhere/Town":
			if tzid != nil || !strings.HasSuffix(dt.Value, "Z") {
				t.Errorf("%s: DTSTART %+v, want UTC", events[i].Title, dt)
			}
		default:
			if len(tzid) != 1 || tzid[0] != events[i].Timezone {
				t.Errorf("%s: TZID %v", events[i].Title, tzid)
			}
		}
	}
}

// TestWriteICSText checks that user text cannot break out of its
// property, and that equal input gives equal output.
func TestWriteICSText(t *testing.T) {
	e := icsEvent(1, "Title\r\nBEGIN:VEVENT\rUID:evil", "2026-05-01T09:00:00Z", "2026-05-01T10:00:00Z", "UTC")
	e.Description = "Line one\nLine two; with, separators \\ and \x00 NUL"
	e.Place = &crdt.Place{Venue: "Hall \"A\"", Address: "1 Main St\r\nX-EVIL:1"}
	gid := crdt.OpID{9}
	e.Group = &gid
	var a, b bytes.Buffer
	groups := map[crdt.OpID]string{gid: "Group \"; evil:1"}
	if err := WriteICS(&a, "G", []crdt.Event{e}, groups); err != nil {
		t.Fatal(err)
	}
	if err := WriteICS(&b, "G", []crdt.Event{e}, groups); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("equal events export differently")
	}
	out := a.String()
	if strings.Count(out, "\r\nBEGIN:VEVENT\r\n") != 1 || strings.Contains(out, "\r\nUID:evil") || strings.Contains(out, "\r\nX-EVIL") {
		t.Fatalf("text escaped its property:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n\x00") {
			t.Errorf("raw control character in line %q", line)
		}
	}
	cal, err := ics.ParseCalendar(strings.NewReader(out))
	if err != nil || len(cal.Events()) != 1 {
		t.Fatalf("parse: %v\n%s", err, out)
	}
	ve := cal.Events()[0]
	if d := ve.GetProperty(ics.ComponentPropertyDescription).Value; d != "Line one\nLine two; with, separators \\ and  NUL" {
		t.Errorf("DESCRIPTION %q", d)
	}
	if s := ve.GetProperty(ics.ComponentPropertySummary).Value; s != "Title\nBEGIN:VEVENT\nUID:evil" {
		t.Errorf("SUMMARY %q", s)
	}
}
