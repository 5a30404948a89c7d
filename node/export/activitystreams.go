package export

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/convene/convene/crdt"
)

// asContext is the JSON-LD context of the events, with the terms Mobilizon
// uses for its Event extensions (its mz: namespace, schema.org for
// capacity and addresses, the iCalendar namespace for status), so that
// Mobilizon and other fediverse software read the fields they know.
// location, latitude and longitude keep their ActivityStreams meaning
// (as:location, an as:Place): redefining them as schema.org terms, as
// Mobilizon's own context does, hides the place from every consumer that
// knows only ActivityStreams. Mobilizon reads the same JSON keys either
// way. status is not aliased to ical:status: the object carries
// ical:status itself, and an alias would state it twice.
var asContext = []any{
	"https://www.w3.org/ns/activitystreams",
	map[string]any{
		"sc":                        "http://schema.org#",
		"mz":                        "https://joinmobilizon.org/ns#",
		"pt":                        "https://joinpeertube.org/ns#",
		"ical":                      "http://www.w3.org/2002/12/cal/ical#",
		"Hashtag":                   "as:Hashtag",
		"PostalAddress":             "sc:PostalAddress",
		"address":                   map[string]string{"@id": "sc:address", "@type": "sc:PostalAddress"},
		"streetAddress":             "sc:streetAddress",
		"maximumAttendeeCapacity":   "sc:maximumAttendeeCapacity",
		"remainingAttendeeCapacity": "sc:remainingAttendeeCapacity",
		"inLanguage":                "sc:inLanguage",
		"uuid":                      "sc:identifier",
		"participantCount":          map[string]string{"@id": "mz:participantCount", "@type": "sc:Integer"},
		"joinMode":                  map[string]string{"@id": "mz:joinMode", "@type": "mz:joinModeType"},
		"joinModeType":              map[string]string{"@id": "mz:joinModeType", "@type": "rdfs:Class"},
		"anonymousParticipationEnabled": map[string]string{
			"@id": "mz:anonymousParticipationEnabled", "@type": "sc:Boolean",
		},
		"repliesModerationOption": map[string]string{
			"@id": "mz:repliesModerationOption", "@type": "mz:repliesModerationOptionType",
		},
		"repliesModerationOptionType": map[string]string{"@id": "mz:repliesModerationOptionType", "@type": "rdfs:Class"},
		"commentsEnabled":             map[string]string{"@id": "pt:commentsEnabled", "@type": "sc:Boolean"},
		"isOnline":                    map[string]string{"@id": "mz:isOnline", "@type": "sc:Boolean"},
		"timezone":                    map[string]string{"@id": "mz:timezone", "@type": "sc:Text"},
	},
}

const asPublic = "https://www.w3.org/ns/activitystreams#Public"

type (
	asCollection struct {
		Context      any       `json:"@context"`
		ID           string    `json:"id,omitempty"`
		Type         string    `json:"type"`
		Name         string    `json:"name,omitempty"`
		TotalItems   int       `json:"totalItems"`
		OrderedItems []asEvent `json:"orderedItems"`
	}
	asEvent struct {
		Context                       any      `json:"@context,omitempty"`
		ID                            string   `json:"id"`
		Type                          string   `json:"type"`
		URL                           string   `json:"url,omitempty"`
		UUID                          string   `json:"uuid"`
		Name                          string   `json:"name"`
		Content                       string   `json:"content"`
		MediaType                     string   `json:"mediaType"`
		StartTime                     string   `json:"startTime"`
		EndTime                       string   `json:"endTime"`
		Timezone                      string   `json:"timezone,omitempty"`
		Published                     string   `json:"published"`
		Updated                       string   `json:"updated"`
		AttributedTo                  string   `json:"attributedTo"`
		To                            []string `json:"to"`
		ICalStatus                    string   `json:"ical:status"`
		JoinMode                      string   `json:"joinMode"`
		ParticipantCount              int      `json:"participantCount"`
		MaximumAttendeeCapacity       *int     `json:"maximumAttendeeCapacity"`
		RemainingAttendeeCapacity     *int     `json:"remainingAttendeeCapacity"`
		AnonymousParticipationEnabled bool     `json:"anonymousParticipationEnabled"`
		RepliesModerationOption       string   `json:"repliesModerationOption"`
		CommentsEnabled               bool     `json:"commentsEnabled"`
		IsOnline                      bool     `json:"isOnline"`
		InLanguage                    string   `json:"inLanguage,omitempty"`
		Tag                           []asTag  `json:"tag"`
		Location                      *asPlace `json:"location,omitempty"`
		Attachment                    []asLink `json:"attachment,omitempty"`
	}
	asTag struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	asPlace struct {
		Type      string           `json:"type"`
		Name      string           `json:"name,omitempty"`
		Address   *asPostalAddress `json:"address,omitempty"`
		Latitude  *float64         `json:"latitude,omitempty"`
		Longitude *float64         `json:"longitude,omitempty"`
	}
	asPostalAddress struct {
		Type          string `json:"type"`
		StreetAddress string `json:"streetAddress"`
	}
	asLink struct {
		Type      string `json:"type"`
		Href      string `json:"href"`
		MediaType string `json:"mediaType"`
		Name      string `json:"name"`
	}
)

// ActivityStreams writes x's events as an ActivityStreams 2.0
// OrderedCollection of Event objects in the shape Mobilizon federates
// (joinMode, participantCount, capacities, ical:status, a Place with a
// PostalAddress and coordinates, Hashtag tags, attributedTo the organizing
// group). Descriptions become HTML-escaped paragraphs.
//
// Ids are urn:convene: names built from the gathering's and the events'
// ids (see collectionURN), never from the exporting node's address: every laptop, running or
// stopped, gives the same event the same id, so a consumer that imports
// two exports sees one event, not two. Only url, a link for people, uses
// x.BaseURL, and only when another machine can open it (publicBase).
func ActivityStreams(w io.Writer, x Export) error {
	c := asCollection{
		Context:      asContext,
		ID:           collectionURN(x.Gathering),
		Type:         "OrderedCollection",
		Name:         x.Name,
		OrderedItems: make([]asEvent, 0, len(x.Events)),
	}
	for _, e := range x.Events {
		c.OrderedItems = append(c.OrderedItems, x.asEvent(e))
	}
	c.TotalItems = len(c.OrderedItems)
	return writeJSON(w, c)
}

// ActivityStreamsEvent writes one event of x as a standalone Event object
// (with its @context). It is an error wrapping crdt.ErrNotFound if x does
// not hold the event.
func ActivityStreamsEvent(w io.Writer, x Export, id crdt.OpID) error {
	for _, e := range x.Events {
		if e.ID == id {
			ev := x.asEvent(e)
			ev.Context = asContext
			return writeJSON(w, ev)
		}
	}
	return fmt.Errorf("export: event %s: %w", id, crdt.ErrNotFound)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("export activitystreams: %w", err)
	}
	return nil
}

func (x *Export) asEvent(e crdt.Event) asEvent {
	ev := asEvent{
		ID:                      "urn:convene:event:" + e.ID.String(),
		Type:                    "Event",
		URL:                     x.pageURL(e),
		UUID:                    e.ID.String(),
		Name:                    e.Title,
		Content:                 htmlParagraphs(e.Description),
		MediaType:               "text/html",
		StartTime:               inZone(e.Start, e.Timezone),
		EndTime:                 inZone(e.End, e.Timezone),
		Timezone:                e.Timezone,
		Published:               e.Created.UTC().Format(time.RFC3339),
		Updated:                 e.Modified.UTC().Format(time.RFC3339),
		To:                      []string{asPublic},
		ICalStatus:              strings.ToUpper(orDefault(e.Status, crdt.Confirmed)),
		JoinMode:                "free",
		ParticipantCount:        e.Going,
		RepliesModerationOption: "closed",
		IsOnline:                isOnlineOnly(e),
		InLanguage:              e.Language,
		Tag:                     make([]asTag, 0, len(e.Tags)),
	}
	if e.Group != nil {
		ev.AttributedTo = groupURN(*e.Group)
	} else {
		ev.AttributedTo = "urn:convene:identity:" + e.Creator.String()
	}
	if e.Capacity > 0 {
		capacity, left := e.Capacity, max(e.Capacity-e.Going, 0)
		ev.MaximumAttendeeCapacity, ev.RemainingAttendeeCapacity = &capacity, &left
	}
	for _, t := range e.Tags {
		if h := hashtag(t); h != "" {
			ev.Tag = append(ev.Tag, asTag{Type: "Hashtag", Name: "#" + h})
		}
	}
	if p := e.Place; hasPlace(e) {
		// A plain ActivityStreams consumer reads only name and the
		// coordinates, so name says the address when there is no venue.
		pl := &asPlace{Type: "Place", Name: cmp.Or(p.Venue, p.Address), Latitude: p.Lat, Longitude: p.Lon}
		if p.Address != "" {
			pl.Address = &asPostalAddress{Type: "PostalAddress", StreetAddress: p.Address}
		}
		ev.Location = pl
	}
	if e.OnlineURL != "" {
		ev.Attachment = []asLink{{Type: "Link", Href: e.OnlineURL, MediaType: "text/html", Name: "Website"}}
	}
	return ev
}

// collectionURN names a gathering's events collection by a one-way
// function of its id: exports are published (on a fediverse server, a
// web page), and the gathering id names its GossipSub topic, which would
// let a watcher see who takes part.
func collectionURN(g crdt.GatheringID) string {
	h := sha256.Sum256(append([]byte("convene activitystreams collection\x00"), g[:]...))
	return "urn:convene:events:" + hex.EncodeToString(h[:16])
}

func hasPlace(e crdt.Event) bool {
	p := e.Place
	return p != nil && (p.Venue != "" || p.Address != "" || p.Lat != nil)
}

// isOnlineOnly: the event happens online and nowhere else. Mobilizon's
// isOnline means "no place to go to", so a hybrid event (a place and a
// link) is not online.
func isOnlineOnly(e crdt.Event) bool { return e.OnlineURL != "" && !hasPlace(e) }

// inZone rewrites an RFC 3339 time in the event's zone, as Mobilizon
// does, keeping it as it is if either does not parse.
func inZone(s, zone string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	if loc, err := time.LoadLocation(zone); err == nil && zone != "" {
		t = t.In(loc)
	}
	return t.Format(time.RFC3339)
}

// hashtag keeps a tag's letters, digits and underscores.
func hashtag(t string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' {
			return r
		}
		return -1
	}, t)
}

// htmlParagraphs renders plain text as escaped HTML paragraphs.
func htmlParagraphs(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\r\n", "\n")
	if s == "" {
		return ""
	}
	var b strings.Builder
	for _, p := range strings.Split(s, "\n\n") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(html.EscapeString(p), "\n", "<br>"))
		b.WriteString("</p>")
	}
	return b.String()
}
