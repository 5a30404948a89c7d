package export

import (
	"cmp"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // VTIMEZONE needs zone rules even where the system has none
	"unicode"

	ics "github.com/arran4/golang-ical"

	"github.com/convene/convene/crdt"
)

const (
	icsLocal = "20060102T150405"
	// UIDSuffix makes an event's iCalendar UID: its id, then this.
	UIDSuffix = "@convene"
)

// ICS writes x's events as an iCalendar (RFC 5545) publication. Each event
// keeps the UID id+"@convene" and carries SEQUENCE (the number of updates
// applied) and LAST-MODIFIED, so a calendar that imported an earlier copy
// replaces it. Times are written in the event's own zone (DTSTART;TZID=…),
// with a VTIMEZONE per zone built from Go's zone data for the years used;
// events in UTC or in a zone Go does not know are written in UTC. DTSTAMP
// is x.Generated.
func ICS(w io.Writer, x Export) error {
	cal := ics.NewCalendarFor("convene")
	cal.SetProductId("-//convene//convene events//EN")
	cal.SetMethod(ics.MethodPublish)
	if x.Name != "" {
		cal.SetXWRCalName(x.Name)
	}
	years := make(map[string]map[int]struct{})
	locs := make(map[string]*time.Location)
	var events []ics.Component
	for _, e := range x.Events {
		start, err1 := time.Parse(time.RFC3339, e.Start)
		end, err2 := time.Parse(time.RFC3339, e.End)
		if err1 != nil || err2 != nil {
			// crdt validates both; an event without times cannot be
			// placed in a calendar, so it is left out rather than guessed.
			continue
		}
		ev := ics.NewEvent(e.ID.String() + UIDSuffix)
		ev.SetDtStampTime(x.Generated)
		ev.SetCreatedTime(e.Created)
		ev.SetModifiedAt(e.Modified)
		ev.SetSequence(e.Sequence)
		var lang []ics.PropertyParameter
		if crdt.IsLanguageTag(e.Language) {
			lang = append(lang, &ics.KeyValues{Key: string(ics.ParameterLanguage), Value: []string{e.Language}})
		}
		ev.SetSummary(e.Title, lang...)
		if e.Description != "" {
			ev.SetDescription(e.Description, lang...)
		}
		switch e.Status {
		case crdt.Tentative:
			ev.SetStatus(ics.ObjectStatusTentative)
		case crdt.Cancelled:
			ev.SetStatus(ics.ObjectStatusCancelled)
		default:
			ev.SetStatus(ics.ObjectStatusConfirmed)
		}
		if loc := zone(e.Timezone); loc != nil {
			locs[e.Timezone] = loc
			if years[e.Timezone] == nil {
				years[e.Timezone] = make(map[int]struct{})
			}
			for _, t := range []time.Time{start.In(loc), end.In(loc)} {
				years[e.Timezone][t.Year()] = struct{}{}
			}
			ev.SetProperty(ics.ComponentPropertyDtStart, start.In(loc).Format(icsLocal), ics.WithTZID(e.Timezone))
			ev.SetProperty(ics.ComponentPropertyDtEnd, end.In(loc).Format(icsLocal), ics.WithTZID(e.Timezone))
		} else {
			ev.SetStartAt(start)
			ev.SetEndAt(end)
		}
		if loc := placeText(e); loc != "" {
			ev.SetLocation(loc)
		}
		if p := e.Place; p != nil && p.Lat != nil && p.Lon != nil {
			ev.SetProperty(ics.ComponentPropertyGeo,
				strconv.FormatFloat(*p.Lat, 'f', -1, 64)+";"+strconv.FormatFloat(*p.Lon, 'f', -1, 64))
		}
		if u := x.eventURL(e); u != "" {
			ev.SetURL(u)
		}
		if e.Group != nil {
			addOrganizer(ev, groupURN(*e.Group), x.groupName(*e.Group))
		} else {
			addOrganizer(ev, "urn:convene:identity:"+e.Creator.String(), x.identityName(e.Creator))
		}
		for _, t := range e.Tags {
			// One CATEGORIES property per tag: the library escapes commas
			// in a value, so a joined list would read as one category.
			ev.AddCategory(t)
		}
		events = append(events, ev)
	}
	names := make([]string, 0, len(years))
	for z := range years {
		names = append(names, z)
	}
	slices.Sort(names)
	for _, z := range names {
		ys := make([]int, 0, len(years[z]))
		for y := range years[z] {
			ys = append(ys, y)
		}
		slices.Sort(ys)
		cal.Components = append(cal.Components, vtimezone(z, locs[z], ys))
	}
	cal.Components = append(cal.Components, events...)
	if err := cal.SerializeTo(w, ics.WithNewLineWindows); err != nil {
		return fmt.Errorf("export ics: %w", err)
	}
	return nil
}

// zone loads an event's zone; nil means "write UTC": the zone is UTC
// itself, or unknown to Go.
func zone(name string) *time.Location {
	switch name {
	case "", "UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Zulu", "Zulu", "Etc/Universal", "Universal":
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	return loc
}

// observance is one STANDARD or DAYLIGHT sub-component: from the instant
// at, the offset is to (it was from just before).
type observance struct {
	at       time.Time
	from, to int
	abbr     string
	dst      bool
}

// vtimezone describes a zone's offsets over the given years with one
// observance per transition (no RRULE): the one in effect on 1 January
// of each year, and every transition within it, found with ZoneBounds.
func vtimezone(name string, loc *time.Location, years []int) *ics.VTimezone {
	seen := make(map[int64]bool)
	var obs []observance
	add := func(o observance) {
		if !seen[o.at.Unix()] {
			seen[o.at.Unix()] = true
			obs = append(obs, o)
		}
	}
	for _, y := range years {
		t := time.Date(y, 1, 1, 0, 0, 0, 0, loc)
		abbr, off := t.Zone()
		start, _ := t.ZoneBounds()
		if start.IsZero() {
			// In effect since the zone data begins: say since 1970 (or
			// the year, if earlier), with no change of offset.
			base := time.Date(min(y, 1970), 1, 1, 0, 0, 0, 0, time.FixedZone("", off))
			add(observance{at: base, from: off, to: off, abbr: abbr, dst: t.IsDST()})
		} else {
			_, prev := start.Add(-time.Second).In(loc).Zone()
			add(observance{at: start, from: prev, to: off, abbr: abbr, dst: t.IsDST()})
		}
		yearEnd := time.Date(y+1, 1, 1, 0, 0, 0, 0, loc)
		cur := t
		for range 16 { // real zones change a few times a year at most
			_, next := cur.ZoneBounds()
			if next.IsZero() || !next.Before(yearEnd) {
				break
			}
			_, from := cur.Zone()
			n := next.In(loc)
			nabbr, to := n.Zone()
			add(observance{at: next, from: from, to: to, abbr: nabbr, dst: n.IsDST()})
			cur = n
		}
	}
	slices.SortFunc(obs, func(a, b observance) int { return cmp.Compare(a.at.Unix(), b.at.Unix()) })
	tz := ics.NewTimezone(name)
	for _, o := range obs {
		c := ics.ComponentBase{}
		// DTSTART of an observance is the local time before the change.
		c.SetProperty(ics.ComponentPropertyDtStart, o.at.In(time.FixedZone("", o.from)).Format(icsLocal))
		c.SetProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), utcOffset(o.from))
		c.SetProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), utcOffset(o.to))
		if o.abbr != "" {
			c.SetProperty(ics.ComponentProperty(ics.PropertyTzname), o.abbr)
		}
		if o.dst {
			tz.Components = append(tz.Components, &ics.Daylight{ComponentBase: c})
		} else {
			tz.Components = append(tz.Components, &ics.Standard{ComponentBase: c})
		}
	}
	return tz
}

// utcOffset formats seconds east of UTC as RFC 5545's UTC-OFFSET.
func utcOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	s := fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}

func placeText(e crdt.Event) string {
	if p := e.Place; p != nil {
		var parts []string
		for _, s := range []string{p.Venue, p.Address} {
			if s = strings.TrimSpace(s); s != "" {
				parts = append(parts, s)
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, ", ")
		}
	}
	return e.OnlineURL
}

// eventURL is the event's page: its online link if it has one, else its
// page on the exporting node when other machines can open it.
func (x *Export) eventURL(e crdt.Event) string {
	return cmp.Or(e.OnlineURL, x.pageURL(e))
}

// pageURL is the event's page under publicBase, or "".
func (x *Export) pageURL(e crdt.Event) string {
	if base := x.publicBase(); base != "" {
		return base + "/events/" + e.ID.String()
	}
	return ""
}

// publicBase is x.BaseURL without its trailing slash when another machine
// can open it, else "". A loopback address is the full UI of the laptop
// that exported: in anyone else's calendar or fediverse server it points
// at their own machine.
func (x *Export) publicBase() string {
	u, err := url.Parse(x.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	host := u.Hostname()
	if host == "localhost" {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return ""
	}
	return strings.TrimRight(x.BaseURL, "/")
}

func groupURN(id crdt.OpID) string { return "urn:convene:group:" + id.String() }

// addOrganizer adds ORGANIZER;CN="name":uri. RFC 5545 has no escapes in
// parameter values: a name with , ; or : must be a quoted string, and a
// double quote, which cannot appear in one, is written ^' (RFC 6868, as
// are ^ and newlines). The library backslash-escapes parameter values
// instead, which calendars read as literal backslashes, so the quoted
// parameter is written as part of the property name, which the library
// writes as it is (and still folds).
func addOrganizer(ev *ics.VEvent, uri, name string) {
	ev.Properties = append(ev.Properties, ics.IANAProperty{BaseProperty: ics.BaseProperty{
		IANAToken: string(ics.ComponentPropertyOrganizer) + ";" + string(ics.ParameterCn) + "=" + quoteParam(name),
		Value:     uri,
	}})
}

// quoteParam writes s as an RFC 5545 quoted-string parameter value, with
// RFC 6868's ^ escapes. Other control characters, which no parameter value
// may hold, become spaces.
func quoteParam(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == '^':
			b.WriteString("^^")
		case r == '"':
			b.WriteString("^'")
		case r == '\n':
			b.WriteString("^n")
		case unicode.IsControl(r) && r != '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
