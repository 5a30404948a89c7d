package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
)

// Formats that Write knows. They are the `--format` values of `convene
// export` and the `format` parameter of GET /api/v1/export.
const (
	FormatJSON            = "json"
	FormatCSV             = "csv"
	FormatICS             = "ics"
	FormatMarkdown        = "md"
	FormatBundle          = "bundle"
	FormatActivityStreams = "activitystreams"
)

// ErrUnknownFormat: Write was asked for a format it does not know.
var ErrUnknownFormat = errors.New("unknown export format")

// Request says what to export from a node.
type Request struct {
	Format  string
	Session crdt.OpID  // zero: every session
	CSV     CSVKind    // for FormatCSV; empty means proposals
	Since   crdt.Clock // for FormatBundle: only operations from this clock on
	Lang    string     // for FormatMarkdown: the document in this language (see LangMarkdown)
	Now     time.Time
	BaseURL string
}

// ContentType is the media type of a format, for HTTP answers.
func ContentType(format string) string {
	switch format {
	case FormatJSON:
		return "application/json"
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatICS:
		return "text/calendar; charset=utf-8"
	case FormatMarkdown:
		return "text/markdown; charset=utf-8"
	case FormatActivityStreams:
		return "application/activity+json"
	case FormatRatified:
		return "text/html; charset=utf-8"
	}
	return "application/octet-stream"
}

// Write exports from a running or freshly opened node: the CLI and the HTTP
// API both call it, so they give the same bytes.
func Write(ctx context.Context, w io.Writer, n *node.Node, req Request) error {
	if req.Format == FormatBundle {
		return WriteLogBundle(ctx, w, n.Log(), req.Since)
	}
	if req.Format == FormatRatified {
		if req.Session.IsZero() {
			return fmt.Errorf("%w: the ratified format needs a session", crdt.ErrInvalid)
		}
		return WriteRatifiedOf(ctx, w, n, req.Session, req.Now)
	}
	opt := Options{Gathering: n.Gathering(), Generated: req.Now, BaseURL: req.BaseURL}
	fr := n.Freshness()
	opt.Freshness = Freshness{Peers: fr.Peers, LastSync: fr.LastSync}
	if req.Session.IsZero() {
		opt.AllSessions = true
	} else {
		opt.Sessions = []crdt.OpID{req.Session}
	}
	var write func(io.Writer, Export) error
	switch req.Format {
	case FormatJSON:
		opt.Events = true
		write = JSON
	case FormatMarkdown:
		if req.Lang != "" && !crdt.IsLanguage(req.Lang) {
			return fmt.Errorf("%w: lang %q: want one of %v", crdt.ErrInvalid, req.Lang, crdt.Languages)
		}
		write = func(w io.Writer, x Export) error {
			x.Lang = req.Lang
			return Markdown(w, x)
		}
	case FormatCSV:
		kind := req.CSV
		if kind == "" {
			kind = CSVProposals
		}
		write = func(w io.Writer, x Export) error { return CSV(w, x, kind) }
	case FormatICS:
		opt.Events = true
		write = ICS
	case FormatActivityStreams:
		opt.Events = true
		write = ActivityStreams
	default:
		return fmt.Errorf("%w %q (want json, csv, ics, md, activitystreams, bundle or ratified)", ErrUnknownFormat, req.Format)
	}
	var x Export
	var err error
	n.View(func(s *crdt.State) { x, err = Collect(s, opt) })
	if err != nil {
		return err
	}
	return write(w, x)
}

// ParseSince reads the "since" point of a bundle: an RFC 3339 time (every
// operation stamped at or after it), or "" for everything.
func ParseSince(s string) (crdt.Clock, error) {
	if s == "" {
		return crdt.Clock{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.UnixMilli() < 0 {
		return crdt.Clock{}, fmt.Errorf("since %q: want an RFC 3339 time such as 2026-11-22T09:00:00Z", s)
	}
	return crdt.Clock{Wall: t.UnixMilli()}, nil
}
