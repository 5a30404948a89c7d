package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/export"
	"github.com/convene/convene/web/apiv1"
)

// cmdVerify checks a ratified document file offline: no data directory,
// no network. Exit 0 and a summary when intact; 1 and the reason
// (truncated, malformed, bad_signature, tampered) when not.
func cmdVerify(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one ratified document FILE")
	}
	b, err := readBounded(fs.Arg(0), export.MaxRatifiedFile)
	if err != nil {
		return err
	}
	f, _, err := export.ReadRatified(b)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	r := f.Ratification
	fmt.Fprintf(stdout, "intact: %s\n", fs.Arg(0))
	fmt.Fprintf(stdout, "  session:   %s (%s)\n", f.Document.Title, f.Document.Session)
	fmt.Fprintf(stdout, "  gathering: %s (%s)\n", orUnnamed(f.Gathering.Name), f.Gathering.ID)
	fmt.Fprintf(stdout, "  by:        %s (key %s)\n", orUnnamed(f.ByName), r.By)
	fmt.Fprintf(stdout, "  at:        %s\n", r.At.UTC().Format("2006-01-02T15:04:05Z"))
	fmt.Fprintf(stdout, "  proposals: %d\n", len(f.Document.Proposals))
	fmt.Fprintf(stdout, "  digest:    %s\n", r.Digest)
	return nil
}

func orUnnamed(s string) string {
	if s == "" {
		return "(unnamed)"
	}
	return s
}

// readBounded reads a file of at most max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}

// cmdMerge imports the proposals of a ratified document file into a
// session, verified first: through the running node, or opening the data
// directory when none runs.
func cmdMerge(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("merge")
	session := fs.String("session", "", "the session that takes in the proposals (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one ratified document FILE")
	}
	sid, err := crdt.ParseOpID(*session)
	if err != nil {
		return usagef("--session: %v", err)
	}
	b, err := readBounded(fs.Arg(0), export.MaxRatifiedFile)
	if err != nil {
		return err
	}
	var res apiv1.Imported
	if c, err := runningNode(ctx, *data); err == nil {
		if res, err = c.ImportInto(ctx, sid, apiv1.Import{File: b}); err != nil {
			return refused(err)
		}
	} else {
		n, err := openExisting(ctx, *data)
		if err != nil {
			return err
		}
		defer n.Close()
		if res.Imported, res.Skipped, err = export.ImportRatified(ctx, n, nil, sid, nil, b); err != nil {
			return fmt.Errorf("%s: %w", fs.Arg(0), err)
		}
	}
	fmt.Fprintf(stdout, "merged %s: %d proposals imported, %d skipped\n", fs.Arg(0), len(res.Imported), len(res.Skipped))
	for _, id := range res.Imported {
		fmt.Fprintf(stdout, "  imported %s\n", id)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(stdout, "  skipped  %s: %s\n", s.Proposal, s.Reason)
	}
	return nil
}
