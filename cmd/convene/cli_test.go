package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/convene/convene/crdt"
)

// TestUsageErrors: bad usage exits 2, a failure 1, each with one line on
// stderr naming the command.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	dir, _ := initGathering(t, "Usage")
	cases := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no command", nil, 2, "usage"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", []string{"status", "--data", dir, "--bogus"}, 2, "bogus"},
		{"bad ui", []string{"run", "--data", empty, "--ui", "nope"}, 2, "--ui"},
		{"bad ui port", []string{"run", "--data", empty, "--ui", "127.0.0.1:99999"}, 2, "--ui"},
		{"bad ui host", []string{"run", "--data", empty, "--ui", "example.com:80"}, 2, "--ui"},
		{"ui on every interface", []string{"run", "--data", empty, "--ui", "0.0.0.0:0"}, 2, "--ui-public"},
		{"ui on every interface, no host", []string{"run", "--data", empty, "--ui", ":0"}, 2, "--ui-public"},
		{"ui on a LAN address", []string{"run", "--data", empty, "--ui", "192.168.1.10:7777"}, 2, "--ui-public"},
		{"ui on IPv6 everywhere", []string{"run", "--data", empty, "--ui", "[::]:0"}, 2, "--ui-public"},
		{"sync interval too short", []string{"run", "--data", empty, "--sync-interval", "10ms"}, 2, "--sync-interval"},
		{"relay sync interval too short", []string{"relay", "--data", empty, "--listen", "/ip4/127.0.0.1/tcp/0", "--gathering", strings.Repeat("0", 64), "--sync-interval", "1ms"}, 2, "--sync-interval"},
		{"bad peer", []string{"run", "--data", empty, "--peer", "notamultiaddr"}, 2, "notamultiaddr"},
		{"bad listen", []string{"run", "--data", empty, "--listen", "/ip4/nope"}, 2, "multiaddr"},
		{"stray argument", []string{"run", "--data", empty, "extra"}, 2, "extra"},
		{"init without name", []string{"init", "--data", empty}, 2, "--name"},
		{"join without invite", []string{"join", "--data", empty}, 2, "INVITE"},
		{"join with a bad invite", []string{"join", "--data", empty, "convene:garbage"}, 2, "join"},
		{"export without format", []string{"export", "--data", dir}, 2, "--format"},
		{"export unknown format", []string{"export", "--data", dir, "--format", "xml"}, 2, "xml"},
		{"bundle to stdout", []string{"export", "--data", dir, "--format", "bundle"}, 2, "-o"},
		{"export bad session", []string{"export", "--data", dir, "--format", "md", "--session", "zz"}, 2, "--session"},
		{"import without file", []string{"import", "--data", dir}, 2, "FILE"},
		{"relay without listen", []string{"relay", "--data", empty, "--gathering", strings.Repeat("0", 64)}, 2, "--listen"},
		{"relay bad gathering", []string{"relay", "--data", empty, "--listen", "/ip4/127.0.0.1/tcp/0", "--gathering", "abc"}, 2, "--gathering"},
		{"relay with a bare gathering id", []string{"relay", "--data", empty, "--listen", "/ip4/127.0.0.1/tcp/0", "--gathering", strings.Repeat("0", 64)}, 2, "`convene status` on a member laptop"},
		{"status without gathering", []string{"status", "--data", empty}, 1, "no gathering"},
		{"export without gathering", []string{"export", "--data", empty, "--format", "md"}, 1, "no gathering"},
		{"invite without gathering", []string{"invite", "--data", empty}, 1, "invite"},
		{"import a missing file", []string{"import", "--data", dir, filepath.Join(empty, "missing.bundle")}, 1, "missing.bundle"},
		{"init twice", []string{"init", "--data", dir, "--name", "Again"}, 1, "init"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := cli(t, c.args...)
			if r.code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, c.code, r.stderr)
			}
			if c.code == 2 && len(c.args) == 0 {
				return // the usage text
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "convene") {
				t.Errorf("stderr is not one line starting with convene: %q", r.stderr)
			}
			if !strings.Contains(r.stderr, c.says) {
				t.Errorf("stderr %q does not mention %q", r.stderr, c.says)
			}
		})
	}
	if entries, _ := os.ReadDir(empty); len(entries) > 0 {
		t.Errorf("refused commands left files in an empty data directory: %v", entries)
	}
	if r := cli(t, "help"); r.code != 0 || !strings.Contains(r.stderr, "convene run") {
		t.Errorf("help: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestInitJoinInvite: init prints an invite, join uses it, invite prints it
// again with a QR code, and status reads the directory with no node running.
func TestInitJoinInvite(t *testing.T) {
	t.Parallel()
	dirA, invite := initGathering(t, "Techie Congress 2026")
	dirB := t.TempDir()
	out := cliOK(t, "join", "--data", dirB, "--identity", "Bob", invite)
	if !strings.Contains(out, "Techie Congress 2026") {
		t.Errorf("join does not name the gathering: %q", out)
	}
	if r := cli(t, "join", "--data", dirB, invite); r.code != 1 {
		t.Errorf("joining twice: exit %d, want 1 (stderr %q)", r.code, r.stderr)
	}

	out = cliOK(t, "invite", "--data", dirA, "--qr")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if lines[0] != invite {
		t.Errorf("invite prints %q, want init's %q", lines[0], invite)
	}
	qr := strings.Join(lines[1:], "\n")
	if len(lines) < 10 || !strings.ContainsAny(qr, "█▀▄") {
		t.Errorf("invite --qr printed no QR block:\n%s", out)
	}
	if out := cliOK(t, "invite", "--data", dirB); !strings.HasPrefix(out, "convene:") || strings.Count(out, "\n") != 1 {
		t.Errorf("invite without --qr: %q, want one invite line", out)
	}

	var a, b statusView
	for _, s := range []struct {
		dir string
		st  *statusView
	}{{dirA, &a}, {dirB, &b}} {
		if err := json.Unmarshal([]byte(cliOK(t, "status", "--data", s.dir, "--json")), s.st); err != nil {
			t.Fatalf("status --json: %v", err)
		}
		if out := cliOK(t, "status", "--data", s.dir); !strings.Contains(out, "not running") {
			t.Errorf("status with no node says:\n%s", out)
		}
	}
	// B learns the gathering's name from A's operations, once it syncs.
	if a.Gathering.ID == "" || a.Gathering.ID != b.Gathering.ID || a.Gathering.Name != "Techie Congress 2026" {
		t.Errorf("joined gathering %+v, founded %+v", b.Gathering, a.Gathering)
	}
	if b.Identity.Name != "Bob" || a.Identity.Name != "organizer" {
		t.Errorf("identities %q and %q, want organizer and Bob", a.Identity.Name, b.Identity.Name)
	}
	// Every member prints the same hub ticket, for this gathering.
	var tickets []crdt.Ticket
	for _, dir := range []string{dirA, dirB} {
		_, line, _ := strings.Cut(cliOK(t, "status", "--data", dir), "\nhub ticket: ")
		tk, err := crdt.ParseTicket(strings.SplitN(line, "\n", 2)[0])
		if err != nil {
			t.Fatalf("status prints no hub ticket: %v", err)
		}
		tickets = append(tickets, tk)
	}
	if tickets[0] != tickets[1] || tickets[0].Gathering.String() != a.Gathering.ID {
		t.Errorf("hub tickets %v and %v, for gathering %s", tickets[0].Gathering, tickets[1].Gathering, a.Gathering.ID)
	}
}

// TestExportImport: every export format with and without a running node,
// bundles imported with and without a running node, and corrupt or foreign
// bundles refused without changing anything.
func TestExportImport(t *testing.T) {
	t.Parallel()
	dirA, invite := initGathering(t, "Exports")
	dirB, dirC := t.TempDir(), t.TempDir()
	cliOK(t, "join", "--data", dirB, invite)
	cliOK(t, "join", "--data", dirC, invite)

	a := startNode(t, dirA, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0")
	var g, s, p struct{ ID string }
	a.call("POST", "/groups", map[string]any{"name": "Table 7"}, 201, &g)
	a.call("POST", "/sessions", map[string]any{"title": "Water"}, 201, &s)
	a.call("POST", "/sessions/"+s.ID+"/proposals", map[string]any{"group": g.ID, "text": "Public fountains"}, 201, &p)
	a.call("POST", "/events", map[string]any{"title": "Plenary", "start": "2026-03-28T09:00:00+01:00", "end": "2026-03-28T12:00:00+01:00", "timezone": "Europe/Paris"}, 201, nil)
	stA := a.status()

	formats := []struct{ format, want string }{
		{"md", "Public fountains"},
		{"json", "Public fountains"},
		{"csv", "Public fountains"},
		{"ics", "SUMMARY:Plenary"},
	}
	exportAll := func(label string) {
		t.Helper()
		for _, f := range formats {
			out := cliOK(t, "export", "--data", dirA, "--format", f.format)
			if !strings.Contains(out, f.want) {
				t.Errorf("%s: export --format %s lacks %q:\n%s", label, f.format, f.want, out)
			}
			if f.format == "json" && !json.Valid([]byte(out)) {
				t.Errorf("%s: export --format json is not JSON", label)
			}
		}
		file := filepath.Join(t.TempDir(), "out.md")
		cliOK(t, "export", "--data", dirA, "--format", "md", "--session", s.ID, "-o", file)
		if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), "Public fountains") {
			t.Errorf("%s: export -o: %v %q", label, err, b)
		}
	}
	exportAll("beside a running node")
	live := filepath.Join(t.TempDir(), "live.bundle")
	cliOK(t, "export", "--data", dirA, "--format", "bundle", "-o", live)
	if r := cli(t, "status", "--data", dirA); !strings.Contains(r.stdout, "running") || strings.Contains(r.stdout, "not running") {
		t.Errorf("status beside a running node:\n%s", r.stdout)
	}

	if code := a.signal(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM: exit %d", code)
	}
	exportAll("with no node")
	offline := filepath.Join(t.TempDir(), "offline.bundle")
	cliOK(t, "export", "--data", dirA, "--format", "bundle", "-o", offline)

	// Import into B with no node running, then again: nothing new. B
	// holds A's operations and its own identity's.
	stB := statusOf(t, dirB)
	if out := cliOK(t, "import", "--data", dirB, offline); !strings.Contains(out, fmt.Sprintf(" %d new operations", stA.Ops)) {
		t.Errorf("import printed %q, want %d new operations", out, stA.Ops)
	}
	if st := statusOf(t, dirB); st.Ops != stB.Ops+stA.Ops || st.Gathering.Name != "Exports" {
		t.Errorf("after import B holds %d ops named %q, want %d+%d named Exports", st.Ops, st.Gathering.Name, stB.Ops, stA.Ops)
	}
	if out := cliOK(t, "import", "--data", dirB, live); !strings.Contains(out, " 0 new operations") {
		t.Errorf("importing the same operations again: %q, want 0 new", out)
	}

	// Import into C beside its running node: the node shows it at once.
	c := startNode(t, dirC, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0")
	before := c.status()
	bundle, err := os.ReadFile(live)
	if err != nil {
		t.Fatal(err)
	}
	// Corrupt bundles: a flipped byte, a truncation, garbage, a foreign
	// gathering's bundle. Each exits 1 and changes nothing.
	foreignDir, _ := initGathering(t, "Foreign")
	foreign := filepath.Join(t.TempDir(), "foreign.bundle")
	cliOK(t, "export", "--data", foreignDir, "--format", "bundle", "-o", foreign)
	flipped := append([]byte(nil), bundle...)
	flipped[len(flipped)/2] ^= 0x40
	bad := map[string][]byte{
		"flipped":   flipped,
		"truncated": bundle[:len(bundle)*2/3],
		"garbage":   []byte("this is not a bundle\n"),
		"empty":     {},
	}
	tmp := t.TempDir()
	files := []string{foreign}
	for name, b := range bad {
		f := filepath.Join(tmp, name+".bundle")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for _, f := range files {
		for _, target := range []struct {
			label string
			dir   string
			st    func() string
		}{
			{"beside a running node", dirC, func() string { return c.status().Digest }},
			{"with no node", dirB, func() string { return statusOf(t, dirB).Digest }},
		} {
			d0 := target.st()
			r := cli(t, "import", "--data", target.dir, f)
			if r.code != 1 || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("import %s %s: exit %d stderr %q, want 1 and one line", filepath.Base(f), target.label, r.code, r.stderr)
			}
			if d := target.st(); d != d0 {
				t.Errorf("import %s %s was refused but changed the digest", filepath.Base(f), target.label)
			}
		}
	}
	if c.status().Digest != before.Digest {
		t.Fatal("refused imports changed C")
	}
	cliOK(t, "import", "--data", dirC, live)
	if st := c.status(); st.Ops != before.Ops+stA.Ops {
		t.Errorf("after import beside the node C holds %d ops, want %d+%d", st.Ops, before.Ops, stA.Ops)
	}
	if doc := c.document(s.ID); len(doc.Proposals) != 1 || doc.Proposals[0].Text != "Public fountains" {
		t.Errorf("C's document after import: %+v", doc)
	}
}

// statusOf reads `convene status --json` of a data directory.
func statusOf(t *testing.T, dir string) statusView {
	t.Helper()
	var st statusView
	if err := json.Unmarshal([]byte(cliOK(t, "status", "--data", dir, "--json")), &st); err != nil {
		t.Fatalf("status --json: %v", err)
	}
	return st
}
