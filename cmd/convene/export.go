package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/atomicfile"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/export"
	"github.com/convene/convene/web/apiv1"
)

func cmdExport(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("export")
	format := fs.String("format", "", "json, csv, ics, md, activitystreams, bundle or ratified")
	session := fs.String("session", "", "only this session (default: every session)")
	csvKind := fs.String("csv", "proposals", "with --format csv: proposals or endorsements, then ,raw (cells as written, not defused against spreadsheet formulas) and ,bom (for Excel)")
	since := fs.String("since", "", "with --format bundle: only operations from this RFC 3339 time on")
	lang := fs.String("lang", "", "with --format md: the document in this language (en, es, fr or pt), fresh translations in place of the texts")
	out := fs.String("o", "", "write to this file (default: standard output)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	req := export.Request{Format: *format, Now: time.Now()}
	switch *format {
	case export.FormatJSON, export.FormatCSV, export.FormatICS, export.FormatMarkdown, export.FormatActivityStreams, export.FormatBundle:
	case export.FormatRatified:
		if *session == "" {
			return usagef("--format ratified needs --session")
		}
	case "":
		return usagef("--format is required (json, csv, ics, md, activitystreams, bundle or ratified)")
	default:
		return usagef("--format %q: want json, csv, ics, md, activitystreams, bundle or ratified", *format)
	}
	if *session != "" {
		id, err := crdt.ParseOpID(*session)
		if err != nil {
			return usagef("--session: %v", err)
		}
		req.Session = id
	}
	if *lang != "" {
		if *format != export.FormatMarkdown {
			return usagef("--lang is for --format md (one Markdown file per language)")
		}
		if !crdt.IsLanguage(*lang) {
			return usagef("--lang %q: want one of the gathering's languages %v", *lang, crdt.Languages)
		}
		req.Lang = *lang
	}
	kind, err := export.ParseCSVKind(*csvKind)
	if err != nil {
		return usagef("--csv: %v", err)
	}
	req.CSV = kind
	if req.Since, err = export.ParseSince(*since); err != nil {
		return usagef("--since: %v", err)
	}
	if *format == export.FormatBundle && *out == "" {
		return usagef("a bundle is binary: give -o FILE")
	}
	return writeOutput(*out, stdout, func(w io.Writer) error {
		if c, err := runningNode(ctx, *data); err == nil {
			q := url.Values{"format": {req.Format}, "csv": {string(req.CSV)}}
			if *session != "" {
				q.Set("session", *session)
			}
			if *since != "" {
				q.Set("since", *since)
			}
			if *lang != "" {
				q.Set("lang", *lang)
			}
			if err := c.Export(ctx, q, w); err != nil {
				return refused(err)
			}
			return nil
		}
		n, err := openExisting(ctx, *data)
		if err != nil {
			return err
		}
		defer n.Close()
		return export.Write(ctx, w, n, req)
	})
}

// writeOutput writes to file (atomically: nothing is left behind on error)
// or to stdout.
func writeOutput(file string, stdout io.Writer, fn func(io.Writer) error) error {
	if file == "" {
		return fn(stdout)
	}
	return atomicfile.Write(file, 0o600, fn)
}

func cmdImport(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("import")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one bundle FILE")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	var res apiv1.ImportResult
	if c, err := runningNode(ctx, *data); err == nil {
		if res, err = c.Import(ctx, f); err != nil {
			return refused(err)
		}
	} else {
		n, err := openExisting(ctx, *data)
		if err != nil {
			return err
		}
		defer n.Close()
		r, err := export.Import(ctx, n, f, 1<<30, time.Now())
		if err != nil {
			return err
		}
		res.Added, res.Duplicate = r.Added, r.Duplicate
	}
	fmt.Fprintf(stdout, "imported %s: %d new operations, %d already held\n", fs.Arg(0), res.Added, res.Duplicate)
	return nil
}

// openExisting opens the node on dir without starting its network, for
// commands that run beside no live node.
func openExisting(ctx context.Context, dir string) (*node.Node, error) {
	n, err := node.Open(ctx, node.Config{Dir: dir})
	if errors.Is(err, node.ErrNoGathering) {
		return nil, fmt.Errorf("%s holds no gathering yet (run `convene init`, `convene join` or `convene run`)", dir)
	}
	return n, err
}
