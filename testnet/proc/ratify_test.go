package proc_test

// The congress's whole arc, end to end with real processes (issue 14):
// three cities, three separate gatherings, each ratify their session and
// export the ratified file; a fourth gathering's session merges all three
// with `convene merge`; every proposal says where it came from; a tampered
// file is refused by `convene verify` and by merge, changing nothing.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/testnet/proc"
	"github.com/convene/convene/web/apiv1"
)

// city starts a one-laptop gathering named name.
func city(t *testing.T, name string) *laptop {
	t.Helper()
	ctx := context.Background()
	b := convene(t)
	l := &laptop{dir: t.TempDir()}
	if _, errOut, err := proc.Run(ctx, b, "init", "--data", l.dir, "--name", name, "--identity", "Facilitator of "+name); err != nil {
		t.Fatalf("init %s: %v: %s", name, err, errOut)
	}
	p, err := proc.Start(ctx, proc.Config{Bin: b, Data: l.dir,
		Args: []string{"run", "--data", l.dir, "--ui", "127.0.0.1:0", "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	keep(t, l, p)
	return l
}

// run runs a convene command to its end and returns its output and exit
// status.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	out, errOut, err := proc.Run(context.Background(), convene(t), args...)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out, errOut, 0
	case errors.As(err, &ee):
		return out, errOut, ee.ExitCode()
	}
	t.Fatalf("convene %s: %v", args[0], err)
	return "", "", -1
}

func TestCongressArc(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	type site struct {
		l     *laptop
		sid   crdt.OpID
		g     crdt.GatheringID
		file  string
		rated apiv1.Ratified
	}
	cities := map[string]*site{}
	for _, name := range []string{"Paris", "Mexico City", "Detroit"} {
		l := city(t, name)
		c := l.api
		cap := 4
		s, err := c.CreateSession(ctx, apiv1.CreateSession{Title: "Declaration of " + name, Cap: &cap})
		if err != nil {
			t.Fatal(err)
		}
		g1, _ := c.CreateGroup(ctx, apiv1.CreateGroup{Name: name + " tables 1–4"})
		g2, _ := c.CreateGroup(ctx, apiv1.CreateGroup{Name: name + " tables 5–8"})
		p1, err := c.Propose(ctx, s.ID, apiv1.Propose{Group: g1.ID, Text: "Public code for public money (" + name + ")"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Propose(ctx, s.ID, apiv1.Propose{Group: g2.ID, Text: "A right to repair (" + name + ")"}); err != nil {
			t.Fatal(err)
		}
		if err := c.Endorse(ctx, p1.ID, g2.ID, true, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Ratify(ctx, s.ID, apiv1.Ratify{}); err != nil {
			t.Fatal(err)
		}
		st, _ := c.Status(ctx)
		gid, err := crdt.ParseGatheringID(st.Gathering.ID)
		if err != nil {
			t.Fatal(err)
		}
		rd, err := c.Ratified(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		cities[name] = &site{l: l, sid: s.ID, g: gid, file: filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".html"), rated: rd}
	}
	// Paris and Mexico City export through their running node; Detroit's
	// laptop is shut first, and the command opens its data directory.
	if err := cities["Detroit"].l.p.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	for name, s := range cities {
		if _, errOut, code := run(t, "export", "--data", s.l.dir, "--format", "ratified", "--session", s.sid.String(), "-o", s.file); code != 0 {
			t.Fatalf("export %s: %d %s", name, code, errOut)
		}
		out, errOut, code := run(t, "verify", s.file)
		if code != 0 || !strings.Contains(out, "intact") || !strings.Contains(out, s.rated.Ratification.Digest.String()) ||
			!strings.Contains(out, "proposals: 2") || !strings.Contains(out, name) {
			t.Fatalf("verify %s: exit %d\n%s%s", name, code, out, errOut)
		}
	}

	world := city(t, "World congress")
	cap := 10
	ws, err := world.api.CreateSession(ctx, apiv1.CreateSession{Title: "One declaration", Cap: &cap})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range cities {
		out, errOut, code := run(t, "merge", "--data", world.dir, "--session", ws.ID.String(), s.file)
		if code != 0 || !strings.Contains(out, "2 proposals imported") {
			t.Fatalf("merge %s: exit %d\n%s%s", name, code, out, errOut)
		}
	}
	// Again: nothing changes.
	before, _ := world.api.Status(ctx)
	out, errOut, code := run(t, "merge", "--data", world.dir, "--session", ws.ID.String(), cities["Paris"].file)
	if after, _ := world.api.Status(ctx); code != 0 || !strings.Contains(out, "0 proposals imported, 2 skipped") || after.Digest != before.Digest {
		t.Fatalf("second merge: exit %d\n%s%s", code, out, errOut)
	}

	doc, err := world.api.Document(ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Proposals) != 6 {
		t.Fatalf("the world's document has %d proposals, want 6", len(doc.Proposals))
	}
	for _, p := range doc.Proposals {
		if p.From == nil {
			t.Fatalf("proposal %q has no provenance", p.Text)
		}
		var src *site
		for _, s := range cities {
			if s.g == p.From.Gathering {
				src = s
			}
		}
		if src == nil || p.From.Session != src.sid || p.From.Digest != src.rated.Ratification.Digest {
			t.Fatalf("proposal %q: provenance %+v names no city's ratified document", p.Text, p.From)
		}
		found := false
		for _, rp := range src.rated.Proposals {
			if rp.ID == p.From.Proposal && rp.Revision == p.From.Revision && rp.Text == p.Text {
				found = true
			}
		}
		if !found {
			t.Errorf("proposal %q: no proposal %s revision %s in its source", p.Text, p.From.Proposal, p.From.Revision)
		}
	}

	// A tampered file: the text edited in the printed page and in the
	// signed part alike.
	b, _ := os.ReadFile(cities["Paris"].file)
	bad := filepath.Join(dir, "tampered.html")
	os.WriteFile(bad, bytes.ReplaceAll(b, []byte("A right to repair"), []byte("A right to despair")), 0o600)
	if out, errOut, code := run(t, "verify", bad); code != 1 || !strings.Contains(errOut, "tampered") {
		t.Fatalf("verify a tampered file: exit %d\n%s%s", code, out, errOut)
	}
	trunc := filepath.Join(dir, "truncated.html")
	os.WriteFile(trunc, b[:len(b)/2], 0o600)
	if _, errOut, code := run(t, "verify", trunc); code != 1 || !strings.Contains(errOut, "truncated") {
		t.Fatalf("verify a truncated file: exit %d %s", code, errOut)
	}
	ws2, _ := world.api.CreateSession(ctx, apiv1.CreateSession{Title: "Another", Cap: &cap})
	before, _ = world.api.Status(ctx)
	if _, errOut, code := run(t, "merge", "--data", world.dir, "--session", ws2.ID.String(), bad); code != 1 || !strings.Contains(errOut, "tampered") {
		t.Fatalf("merge a tampered file: exit %d %s", code, errOut)
	}
	if after, _ := world.api.Status(ctx); after.Digest != before.Digest {
		t.Error("merging a tampered file changed the world's log")
	}
}
