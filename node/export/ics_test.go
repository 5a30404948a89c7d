package export

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
)

func parseICS(t *testing.T, x Export) (*ics.Calendar, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := ICS(&buf, x); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for i, l := range strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line %d is %d octets, RFC 5545 folds at 75", i+1, len(l))
		}
		if strings.Contains(l, "\n") {
			t.Fatalf("line %d ends with a bare LF", i+1)
		}
	}
	cal, err := ics.ParseCalendar(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return cal, text
}

func eventByUID(t *testing.T, cal *ics.Calendar, uid string) *ics.VEvent {
	t.Helper()
	for _, e := range cal.Events() {
		if e.Id() == uid {
			return e
		}
	}
	t.Fatalf("no event %s", uid)
	return nil
}

func prop(t *testing.T, e *ics.VEvent, p ics.ComponentProperty) *ics.IANAProperty {
	t.Helper()
	v := e.GetProperty(p)
	if v == nil {
		t.Fatalf("event %s has no %s", e.Id(), p)
	}
	return v
}

func TestICS(t *testing.T) {
	s := newSample(t)
	cal, text := parseICS(t, s.collect())
	if len(cal.Events()) != 2 {
		t.Fatalf("%d events", len(cal.Events()))
	}
	e := eventByUID(t, cal, s.eventParis.String()+"@convene")
	checks := map[ics.ComponentProperty]string{
		ics.ComponentPropertySequence:     "0",
		ics.ComponentPropertyStatus:       "TENTATIVE",
		ics.ComponentPropertySummary:      "Assembly, Paris",
		ics.ComponentPropertyDescription:  "Bring ideas;\nand friends, <b>all</b>.",
		ics.ComponentPropertyDtStart:      "20260329T013000",
		ics.ComponentPropertyDtEnd:        "20260329T050000",
		ics.ComponentPropertyGeo:          "48.8566;2.3522",
		ics.ComponentPropertyLocation:     "La Bourse du Travail, 3 rue du Château-d'Eau, 75010 Paris",
		ics.ComponentPropertyOrganizer:    "urn:convene:group:" + s.groupA.String(),
		ics.ComponentPropertyLastModified: "20260301T090{",
		ics.ComponentPropertyDtstamp:      "20260330T120000Z",
	}
	for p, want := range checks {
		got := prop(t, e, p).Value
		if strings.HasSuffix(want, "{") {
			if !strings.HasPrefix(got, strings.TrimSuffix(want, "{")) {
				t.Errorf("%s = %q, want a time starting %q", p, got, want)
			}
			continue
		}
		if got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	if tz := prop(t, e, ics.ComponentPropertyDtStart).ICalParameters["TZID"]; len(tz) != 1 || tz[0] != "Europe/Paris" {
		t.Errorf("DTSTART TZID %v", tz)
	}
	if cn := prop(t, e, ics.ComponentPropertyOrganizer).ICalParameters["CN"]; len(cn) != 1 || cn[0] != "Les Ateliers, Paris" {
		t.Errorf("ORGANIZER CN %v", cn)
	}
	start, err := e.GetStartAt()
	if err != nil || !start.Equal(time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)) {
		t.Errorf("start %v, %v", start, err)
	}
	end, err := e.GetEndAt()
	if err != nil || !end.Equal(time.Date(2026, 3, 29, 3, 0, 0, 0, time.UTC)) {
		t.Errorf("end %v (across the DST change), %v", end, err)
	}
	var cats []string
	for _, c := range e.GetProperties(ics.ComponentPropertyCategories) {
		cats = append(cats, c.Value)
	}
	if strings.Join(cats, "|") != "transport|assemblée générale" {
		t.Errorf("CATEGORIES %q", cats)
	}

	// One VTIMEZONE per zone used, with the 2026 transitions.
	tzs := cal.Timezones()
	if len(tzs) != 2 {
		t.Fatalf("%d VTIMEZONEs, want Africa/Dakar and Europe/Paris", len(tzs))
	}
	paris := tzs[1]
	if id := paris.GetProperty(ics.ComponentPropertyTzid); id == nil || id.Value != "Europe/Paris" {
		t.Fatalf("second VTIMEZONE is %v", id)
	}
	var observances []string
	for _, c := range paris.SubComponents() {
		var kind string
		var cb *ics.ComponentBase
		switch o := c.(type) {
		case *ics.Standard:
			kind, cb = "S", &o.ComponentBase
		case *ics.Daylight:
			kind, cb = "D", &o.ComponentBase
		default:
			t.Fatalf("unexpected %T in VTIMEZONE", c)
		}
		get := func(p ics.Property) string {
			if v := cb.GetProperty(ics.ComponentProperty(p)); v != nil {
				return v.Value
			}
			return "?"
		}
		observances = append(observances, kind+" "+get(ics.PropertyDtstart)+" "+get(ics.PropertyTzoffsetfrom)+">"+get(ics.PropertyTzoffsetto)+" "+get(ics.PropertyTzname))
	}
	want := []string{
		"S 20251026T030000 +0200>+0100 CET",
		"D 20260329T020000 +0100>+0200 CEST",
		"S 20261025T030000 +0200>+0100 CET",
	}
	if strings.Join(observances, "\n") != strings.Join(want, "\n") {
		t.Errorf("Europe/Paris observances:\n%s\nwant\n%s", strings.Join(observances, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(text, "METHOD:PUBLISH\r\n") || !strings.Contains(text, "X-WR-CALNAME:Techie Congress 2026\r\n") {
		t.Error("calendar properties missing")
	}

	// Dakar: UTC all year, no TZID needed but one is given; URL is the
	// online link.
	d := eventByUID(t, cal, s.eventDakar.String()+"@convene")
	if got := prop(t, d, ics.ComponentPropertyUrl).Value; got != "https://meet.example.org/convene" {
		t.Errorf("URL %q", got)
	}
	if got := prop(t, d, ics.ComponentPropertyOrganizer).Value; got != "urn:convene:identity:"+testkit.Signer("bob").ID.String() {
		t.Errorf("ORGANIZER without a group %q", got)
	}

	// An update keeps the UID and raises SEQUENCE and LAST-MODIFIED.
	s.do("alice", &crdt.EventUpdateBody{Event: s.eventParis, Set: crdt.EventPatch{Status: ptr(crdt.Cancelled)}})
	s.do("alice", &crdt.EventUpdateBody{Event: s.eventParis, Set: crdt.EventPatch{Title: ptr("Assembly (cancelled)")}})
	cal2, _ := parseICS(t, s.collect())
	e2 := eventByUID(t, cal2, s.eventParis.String()+"@convene")
	if got := prop(t, e2, ics.ComponentPropertySequence).Value; got != "2" {
		t.Errorf("SEQUENCE after two updates %q", got)
	}
	if got := prop(t, e2, ics.ComponentPropertyStatus).Value; got != "CANCELLED" {
		t.Errorf("STATUS %q", got)
	}
	m1, _ := e.GetLastModifiedAt()
	m2, _ := e2.GetLastModifiedAt()
	if !m2.After(m1) {
		t.Errorf("LAST-MODIFIED %v not after %v", m2, m1)
	}
}

func TestVTimezoneZones(t *testing.T) {
	cases := []struct {
		zone  string
		years []int
		want  int // observances
	}{
		{"Asia/Tokyo", []int{2026}, 1},               // no DST
		{"America/Mexico_City", []int{2026}, 1},      // DST abolished in 2022
		{"America/New_York", []int{2026, 2027}, 5},   // in effect 1 Jan 2026, 2 changes each year
		{"Australia/Sydney", []int{2026}, 3},         // southern hemisphere: DST on 1 January
		{"America/St_Johns", []int{2026}, 3},         // half-hour offset
		{"Asia/Kathmandu", []int{2026}, 1},           // +0545
		{"Europe/Paris", []int{1950}, 1},             // before the zone data's rules: one observance
		{"America/New_York", []int{2026, 2030}, 6},   // gap years: each year's start stated
		{"Pacific/Kiritimati", []int{2026, 2026}, 1}, // +14
	}
	for _, c := range cases {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		tz := vtimezone(c.zone, loc, c.years)
		if got := len(tz.SubComponents()); got != c.want {
			t.Errorf("%s %v: %d observances, want %d\n%s", c.zone, c.years, got, c.want, tz.Serialize(nil))
		}
	}
	for sec, want := range map[int]string{0: "+0000", 3600: "+0100", -18000: "-0500", 20700: "+0545", -12600: "-0330", 561: "+000921"} {
		if got := utcOffset(sec); got != want {
			t.Errorf("utcOffset(%d) = %s, want %s", sec, got, want)
		}
	}
}

// TestOrganizerQuoting: a name with , ; : or " comes back whole from a
// real parser (golang-ical), written as RFC 5545 wants: a quoted string,
// with RFC 6868's ^ escapes for what a quoted string cannot hold.
// golang-ical does not decode RFC 6868, so the test does it; backslashes
// are left out because golang-ical reads them as escapes even inside
// quotes, which RFC 5545 does not.
func TestOrganizerQuoting(t *testing.T) {
	cases := []struct{ name, wire string }{
		{`Table 3: Housing; Land, "Rights"`, `CN="Table 3: Housing; Land, ^'Rights^'"`},
		{"Plain", `CN="Plain"`},
		{"Carol's group", `CN="Carol's group"`},
		{"a^b ^'", `CN="a^^b ^^'"`},
		{"Línea 2, «Sur» — 東京", `CN="Línea 2, «Sur» — 東京"`},
		{strings.Repeat("Long; name, ", 8) + "end", ""},
	}
	w := newWorld(t, "organizer quoting")
	w.do("founder", &crdt.GatheringBody{Name: "G"})
	events := map[string]crdt.OpID{}
	for i, c := range cases {
		// One identity per group: an identity creates at most a few.
		who := fmt.Sprintf("organizer %d", i)
		g := w.do(who, &crdt.GroupBody{Name: c.name})
		events[c.name] = w.do(who, &crdt.EventBody{EventFields: crdt.EventFields{
			Title: "E", Start: "2026-04-02T18:00:00Z", End: "2026-04-02T19:00:00Z", Timezone: "UTC",
			Group: &g, Status: crdt.Confirmed,
		}})
	}
	cal, text := parseICS(t, w.collect())
	unfolded := strings.ReplaceAll(text, "\r\n ", "")
	for _, c := range cases {
		org := prop(t, eventByUID(t, cal, events[c.name].String()+UIDSuffix), ics.ComponentPropertyOrganizer)
		cn := org.ICalParameters[string(ics.ParameterCn)]
		if len(cn) != 1 || rfc6868Decode(cn[0]) != c.name || !strings.HasPrefix(org.Value, "urn:convene:group:") {
			t.Errorf("ORGANIZER of %q parsed as CN %q, value %q", c.name, cn, org.Value)
		}
		if c.wire != "" && !strings.Contains(unfolded, "ORGANIZER;"+c.wire+":urn:convene:group:") {
			t.Errorf("ORGANIZER of %q not written as %s", c.name, c.wire)
		}
	}
}

// rfc6868Decode undoes RFC 6868's ^ escapes, as a calendar that supports
// them does.
func rfc6868Decode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '^' && i+1 < len(s) {
			switch s[i+1] {
			case '^':
				b.WriteByte('^')
				i++
				continue
			case '\'':
				b.WriteByte('"')
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestICSURL: URL is an event's online link, or its page on the exporting
// node only when another machine can open that address.
func TestICSURL(t *testing.T) {
	s := newSample(t)
	paris := s.eventParis.String()
	for base, want := range map[string]string{
		"":                             "",
		"http://127.0.0.1:7777/":       "",
		"http://[::1]:7777":            "",
		"http://localhost:7777":        "",
		"http://0.0.0.0:8080":          "",
		"not a url":                    "",
		"http://192.168.1.20:8080/":    "http://192.168.1.20:8080/events/" + paris,
		"https://congress.example.org": "https://congress.example.org/events/" + paris,
	} {
		x := s.collect()
		x.BaseURL = base
		cal, _ := parseICS(t, x)
		got := ""
		if u := eventByUID(t, cal, paris+UIDSuffix).GetProperty(ics.ComponentPropertyUrl); u != nil {
			got = u.Value
		}
		if got != want {
			t.Errorf("base %q: URL %q, want %q", base, got, want)
		}
		if u := prop(t, eventByUID(t, cal, s.eventDakar.String()+UIDSuffix), ics.ComponentPropertyUrl); u.Value != "https://meet.example.org/convene" {
			t.Errorf("base %q: online event's URL %q", base, u.Value)
		}
	}
}
