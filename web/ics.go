package web

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/convene/convene/crdt"
)

// ICSDomain follows an event id in its iCalendar UID.
const ICSDomain = "convene"

const (
	icsLocal = "20060102T150405"
	icsUTC   = "20060102T150405Z"
	// maxTransitions bounds the observances of one VTIMEZONE, whatever the
	// span of the events.
	maxTransitions = 400
)

// WriteICS writes events as an iCalendar (RFC 5545) calendar named name.
// groups names the organizing groups. Each event's UID is its id followed
// by "@convene", stable across nodes and exports; SEQUENCE counts its
// updates; DTSTAMP is its last modification, so equal states export equal
// bytes. Times carry their zone's TZID, and each zone used gets a VTIMEZONE
// covering the events' span; an event whose zone is unknown here is written
// in UTC.
func WriteICS(w io.Writer, name string, events []crdt.Event, groups map[crdt.OpID]string) error {
	cal := ics.NewCalendarFor("convene")
	if name != "" {
		cal.SetName(icsText(name))
		cal.SetXWRCalName(icsText(name))
	}

	// Zones first: calendar readers want VTIMEZONE before its users.
	type span struct {
		loc      *time.Location
		from, to time.Time
	}
	spans := map[string]*span{}
	var zones []string
	for _, e := range events {
		loc, start, end, ok := eventTimes(e)
		if !ok || loc == time.UTC {
			continue
		}
		sp := spans[e.Timezone]
		if sp == nil {
			sp = &span{loc: loc, from: start, to: end}
			spans[e.Timezone] = sp
			zones = append(zones, e.Timezone)
		}
		if start.Before(sp.from) {
			sp.from = start
		}
		if end.After(sp.to) {
			sp.to = end
		}
	}
	for _, z := range zones {
		sp := spans[z]
		cal.AddVTimezone(vtimezone(z, sp.loc, sp.from, sp.to))
	}

	for _, e := range events {
		ev := cal.AddEvent(e.ID.String() + "@" + ICSDomain)
		ev.SetSequence(e.Sequence)
		ev.SetProperty(ics.ComponentPropertyCreated, e.Created.UTC().Format(icsUTC))
		ev.SetProperty(ics.ComponentPropertyLastModified, e.Modified.UTC().Format(icsUTC))
		ev.SetProperty(ics.ComponentPropertyDtstamp, e.Modified.UTC().Format(icsUTC))
		if loc, start, end, ok := eventTimes(e); ok {
			if loc == time.UTC {
				ev.SetProperty(ics.ComponentPropertyDtStart, start.UTC().Format(icsUTC))
				ev.SetProperty(ics.ComponentPropertyDtEnd, end.UTC().Format(icsUTC))
			} else {
				ev.SetProperty(ics.ComponentPropertyDtStart, start.Format(icsLocal), ics.WithTZID(e.Timezone))
				ev.SetProperty(ics.ComponentPropertyDtEnd, end.Format(icsLocal), ics.WithTZID(e.Timezone))
			}
		}
		switch e.Status {
		case crdt.Tentative:
			ev.SetStatus(ics.ObjectStatusTentative)
		case crdt.Cancelled:
			ev.SetStatus(ics.ObjectStatusCancelled)
		default:
			ev.SetStatus(ics.ObjectStatusConfirmed)
		}
		ev.SetSummary(icsText(e.Title))
		if e.Description != "" {
			ev.SetDescription(icsText(e.Description))
		}
		if p := e.Place; p != nil {
			var parts []string
			for _, s := range []string{p.Venue, p.Address} {
				if s = strings.TrimSpace(icsText(s)); s != "" {
					parts = append(parts, s)
				}
			}
			if len(parts) > 0 {
				ev.SetLocation(strings.Join(parts, ", "))
			}
			if p.Lat != nil && p.Lon != nil {
				ev.SetProperty(ics.ComponentPropertyGeo,
					strconv.FormatFloat(*p.Lat, 'f', -1, 64)+";"+strconv.FormatFloat(*p.Lon, 'f', -1, 64))
			}
		}
		if e.OnlineURL != "" && !strings.ContainsAny(e.OnlineURL, "\r\n") {
			ev.SetURL(e.OnlineURL)
			if e.Place == nil {
				ev.SetLocation(e.OnlineURL)
			}
		}
		for _, tag := range e.Tags {
			ev.AddCategory(icsText(tag))
		}
		if e.Language != "" {
			ev.SetProperty(ics.ComponentProperty("X-CONVENE-LANGUAGE"), icsText(e.Language))
		}
		if e.Group != nil {
			gname := groups[*e.Group]
			if gname == "" {
				gname = e.Group.String()
			}
			ev.SetProperty(ics.ComponentPropertyOrganizer, "urn:convene:group:"+e.Group.String(), ics.WithCN(icsParam(gname)))
		}
	}
	// RFC 5545 lines end in CRLF, whatever the platform.
	if err := cal.SerializeTo(w, ics.WithNewLineWindows); err != nil {
		return fmt.Errorf("writing iCalendar: %w", err)
	}
	return nil
}

// eventTimes resolves an event's start and end in its zone. A zone this
// build does not know makes the times UTC.
func eventTimes(e crdt.Event) (loc *time.Location, start, end time.Time, ok bool) {
	start, err1 := time.Parse(time.RFC3339, e.Start)
	end, err2 := time.Parse(time.RFC3339, e.End)
	if err1 != nil || err2 != nil {
		return nil, start, end, false
	}
	if end.Before(start) {
		start, end = end, start
	}
	loc, err := time.LoadLocation(e.Timezone)
	if err != nil || e.Timezone == "" || e.Timezone == "UTC" || e.Timezone == "Etc/UTC" {
		return time.UTC, start.UTC(), end.UTC(), true
	}
	return loc, start.In(loc), end.In(loc), true
}

// vtimezone describes zone z over [from, to]: the observance in effect at
// from, then each transition until to.
func vtimezone(z string, loc *time.Location, from, to time.Time) *ics.VTimezone {
	tz := ics.NewTimezone(z)
	t := from.In(loc)
	zstart, zend := t.ZoneBounds()
	prevOffset := offsetAt(loc, zstart.Add(-time.Second))
	if zstart.IsZero() {
		_, prevOffset = t.Zone()
	}
	addObservance(tz, loc, zstart, prevOffset, t)
	for i := 0; i < maxTransitions && !zend.IsZero() && !zend.After(to); i++ {
		at := zend.In(loc)
		_, off := t.Zone()
		addObservance(tz, loc, zend, off, at)
		t = at
		_, zend = t.ZoneBounds()
	}
	return tz
}

func offsetAt(loc *time.Location, t time.Time) int {
	if t.IsZero() {
		return 0
	}
	_, off := t.In(loc).Zone()
	return off
}

// addObservance adds the observance that starts at start (zero: since
// always), with the offset fromOffset before it and the zone of in after.
func addObservance(tz *ics.VTimezone, loc *time.Location, start time.Time, fromOffset int, in time.Time) {
	abbr, toOffset := in.Zone()
	var cb *ics.ComponentBase
	if in.IsDST() {
		d := &ics.Daylight{}
		tz.Components = append(tz.Components, d)
		cb = &d.ComponentBase
	} else {
		st := tz.AddStandard()
		cb = &st.ComponentBase
	}
	// DTSTART of an observance is local time as it was before the change.
	dtstart := "19700101T000000"
	if !start.IsZero() {
		dtstart = start.In(time.FixedZone("", fromOffset)).Format(icsLocal)
	}
	cb.SetProperty(ics.ComponentPropertyDtStart, dtstart)
	cb.SetProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), utcOffset(fromOffset))
	cb.SetProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), utcOffset(toOffset))
	if abbr != "" && !strings.ContainsAny(abbr, "+-0123456789") {
		cb.SetProperty(ics.ComponentProperty(ics.PropertyTzname), abbr)
	}
}

func utcOffset(secs int) string {
	sign := '+'
	if secs < 0 {
		sign, secs = '-', -secs
	}
	h, m, s := secs/3600, secs/60%60, secs%60
	if s != 0 {
		return fmt.Sprintf("%c%02d%02d%02d", sign, h, m, s)
	}
	return fmt.Sprintf("%c%02d%02d", sign, h, m)
}

// icsText drops what must not reach an iCalendar line: carriage returns
// (a lone CR could end a line early) and other control characters except
// newline and tab. The library escapes the rest.
func icsText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
}

// icsParam makes a parameter value safe: no quotes, separators or line
// breaks.
func icsParam(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 || r == 0x7f || r == '"':
			return -1
		case r == ';' || r == ':' || r == ',' || r == '\\':
			return ' '
		}
		return r
	}, s)
}
