package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	ma "github.com/multiformats/go-multiaddr"
)

// TestMessages: what the command line says in the situations a new user
// meets, with API.md's exit codes (0 success, 1 failure, 2 bad usage).
func TestMessages(t *testing.T) {
	t.Parallel()

	t.Run("version", func(t *testing.T) {
		for _, arg := range []string{"--version", "-version"} {
			r := cli(t, arg)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "convene ") || strings.Count(r.stdout, "\n") != 1 || r.stderr != "" {
				t.Errorf("%s: exit %d, stdout %q, stderr %q", arg, r.code, r.stdout, r.stderr)
			}
		}
		if r := cli(t, "--version", "extra"); r.code != 2 {
			t.Errorf("--version extra: exit %d, want 2", r.code)
		}
	})

	t.Run("help names positional arguments", func(t *testing.T) {
		for _, c := range []struct {
			cmd  string
			says []string
			not  []string
		}{
			{"import", []string{"convene import --data DIR FILE", "-data"}, nil},
			{"join", []string{"INVITE"}, nil},
			{"relay", []string{"-gathering TICKET", "hub ticket:"}, []string{"-gathering convene"}},
			{"export", []string{"--csv proposals|endorsements[,raw][,bom]", "-o string"}, nil},
			{"run", []string{"--name NAME", "--identity NAME"}, nil},
		} {
			r := cli(t, c.cmd, "--help")
			if r.code != 0 {
				t.Errorf("%s --help: exit %d", c.cmd, r.code)
			}
			for _, s := range c.says {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("%s --help does not say %q:\n%s", c.cmd, s, r.stderr)
				}
			}
			for _, s := range c.not {
				if strings.Contains(r.stderr, s) {
					t.Errorf("%s --help says %q:\n%s", c.cmd, s, r.stderr)
				}
			}
		}
	})

	t.Run("init and join say where an invite without addresses leaves a laptop", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a")
		r := cli(t, "init", "--data", dir, "--name", "Hotspot", "--identity", "Ana")
		if r.code != 0 || !strings.Contains(r.stderr, "no addresses") || !strings.Contains(r.stderr, "convene invite --data "+dir) {
			t.Errorf("init: exit %d, stderr %q", r.code, r.stderr)
		}
		invite := strings.Split(r.stdout, "\n")[1]
		r = cli(t, "join", "--data", filepath.Join(t.TempDir(), "b"), "--identity", "Bea", invite)
		if r.code != 0 || !strings.Contains(r.stdout, `as "Bea"`) || !strings.Contains(r.stderr, "mDNS only") {
			t.Errorf("join: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		r = cli(t, "invite", "--data", dir)
		if r.code != 0 || strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stderr, "no addresses") {
			t.Errorf("invite beside no node: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("status of a stopped node names each identity once", func(t *testing.T) {
		dir, _ := initGathering(t, "Once")
		out := cliOK(t, "status", "--data", dir)
		var st statusView
		if err := json.Unmarshal([]byte(cliOK(t, "status", "--data", dir, "--json")), &st); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(out, st.Identity.ID); n != 1 {
			t.Errorf("the identity appears %d times:\n%s", n, out)
		}
	})

	t.Run("a UI port in use creates nothing", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		dir := filepath.Join(t.TempDir(), "new")
		r := cli(t, "run", "--data", dir, "--ui", ln.Addr().String())
		if r.code != 1 || !strings.Contains(r.stderr, "UI address") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("the refused run created %s (%v)", dir, err)
		}
	})
}

// TestRunNamesAndAlreadyRunning: a first run names the gathering and its
// founder from flags; a second run on the same directory says where the
// first runs; a later run renames the gathering, and only a facilitator
// may.
func TestRunNamesAndAlreadyRunning(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a")
	loopback := []string{"--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0"}
	a := startNode(t, dir, append([]string{"--name", "Techie Congress", "--identity", "Ana"}, loopback...)...)
	if st := a.status(); st.Gathering.Name != "Techie Congress" {
		t.Errorf("gathering %q", st.Gathering.Name)
	}
	r := cli(t, "run", "--data", dir, "--ui", "127.0.0.1:0")
	want := fmt.Sprintf("already running on %s (pid %d, ui %s/)", dir, a.Pid(), a.UI)
	if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("second run: exit %d, stderr %q, want %q", r.code, r.stderr, want)
	}
	// Without its run file (a node still starting), the store's lock
	// still tells (where the lock fails with EAGAIN: not Windows).
	rf := filepath.Join(dir, "run.json")
	saved, err := os.ReadFile(rf)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(rf)
	r = cli(t, "run", "--data", dir, "--ui", "127.0.0.1:0")
	if runtime.GOOS != "windows" && (r.code != 1 || !strings.Contains(r.stderr, "already running on "+dir+": another convene process holds its store")) {
		t.Errorf("second run without a run file: exit %d, stderr %q", r.code, r.stderr)
	}
	if err := os.WriteFile(rf, saved, 0o600); err != nil {
		t.Fatal(err)
	}

	// CSV beside the running node (through its API) is spreadsheet-safe
	// unless asked raw; the same after it stops (from the store).
	var g, sess, prop struct{ ID string }
	a.call("POST", "/groups", map[string]any{"name": "@Table 1"}, 201, &g)
	a.call("POST", "/sessions", map[string]any{"title": "Water"}, 201, &sess)
	a.call("POST", "/sessions/"+sess.ID+"/proposals", map[string]any{"group": g.ID, "text": "=HYPERLINK(\"http://x\")"}, 201, &prop)
	checkCSV := func(when string) {
		t.Helper()
		for _, c := range []struct{ csv, has, hasNot string }{
			{"proposals", `"'=HYPERLINK(""http://x"")"`, "\uFEFF"},
			{"proposals,bom", "\uFEFFsession,", ",=HYPERLINK"},
			{"proposals,raw", `,"=HYPERLINK(""http://x"")"`, "'"},
			{"endorsements", ",'@Table 1", ",@Table 1"},
		} {
			out := cliOK(t, "export", "--data", dir, "--format", "csv", "--csv", c.csv)
			if !strings.Contains(out, c.has) || strings.Contains(out, c.hasNot) {
				t.Errorf("%s, --csv %s:\n%s", when, c.csv, out)
			}
		}
		if r := cli(t, "export", "--data", dir, "--format", "csv", "--csv", "proposals,rawest"); r.code != 2 || !strings.Contains(r.stderr, "rawest") {
			t.Errorf("%s, a bad --csv: exit %d, stderr %q", when, r.code, r.stderr)
		}
	}
	checkCSV("running")

	out := cliOK(t, "invite", "--data", dir, "--qr")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i, l := range lines[1:] {
		if n := utf8.RuneCountInString(l); n > qrColumns {
			t.Errorf("QR line %d is %d columns", i+1, n)
		}
	}
	if code := a.signal(syscall.SIGTERM); code != 0 {
		t.Fatalf("run exited %d on SIGTERM", code)
	}
	checkCSV("stopped")

	// Renaming: the founder may rename the gathering; --identity renames
	// this laptop's identity; a laptop that joined is no facilitator.
	a = startNode(t, dir, append([]string{"--name", "Techie Congress 2026"}, loopback...)...)
	if st := a.status(); st.Gathering.Name != "Techie Congress 2026" {
		t.Errorf("renamed gathering %q", st.Gathering.Name)
	}
	a.signal(syscall.SIGTERM)
	a = startNode(t, dir, append([]string{"--identity", "Ana María"}, loopback...)...)
	if st := a.status(); st.Identity.Name != "Ana María" {
		t.Errorf("renamed identity %q", st.Identity.Name)
	}
	a.signal(syscall.SIGTERM)
	if out := cliOK(t, "status", "--data", dir); !strings.Contains(out, "Ana María") {
		t.Errorf("a stopped node's status after the rename:\n%s", out)
	}
	dirB := filepath.Join(t.TempDir(), "b")
	cliOK(t, "join", "--data", dirB, "--identity", "Bea", lines[0])
	if r := cli(t, "run", "--data", dirB, "--ui", "127.0.0.1:0", "--name", "Mine now"); r.code != 1 || !strings.Contains(r.stderr, "rename the gathering") {
		t.Errorf("renaming from a joined laptop: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestAsk: a question takes the flag when given, else the answer, else the
// default; without a terminal nobody is asked.
func TestAsk(t *testing.T) {
	for _, c := range []struct{ flag, input, want, asked string }{
		{"Flag", "Answer\n", "Flag", ""},
		{"", "  Ana María \n", "Ana María", "Your name [me]: "},
		{"", "\n", "me", "Your name [me]: "},
		{"", "", "me", "Your name [me]: "},
	} {
		var out bytes.Buffer
		a := &asker{in: bufio.NewReader(strings.NewReader(c.input)), out: &out}
		got, err := a.name(context.Background(), c.flag, "Your name", "me")
		if err != nil || got != c.want || out.String() != c.asked {
			t.Errorf("flag %q, input %q: %q, %v, asked %q", c.flag, c.input, got, err, out.String())
		}
	}
	var nobody *asker
	if got, err := nobody.name(context.Background(), "", "Your name", "me"); got != "me" || err != nil {
		t.Errorf("without a terminal: %q, %v", got, err)
	}
}

// TestFitQR: an invite with more addresses than 80 columns of QR code
// hold keeps the first ones; one that fits keeps them all.
func TestFitQR(t *testing.T) {
	var secret [32]byte
	inv := node.Invite{Credentials: crdt.Credentials{Secret: secret}, Name: strings.Repeat("n", 60)}
	for i := range 12 {
		inv.Addrs = append(inv.Addrs, ma.StringCast(fmt.Sprintf("/ip4/192.168.1.%d/udp/4001/quic-v1/p2p/12D3KooWBMrRboEtkTo6fEi71BDuY1Eihqvx9S1symb3LiRuXFFo", i)))
	}
	text, left := fitQR(inv, qrColumns)
	got, err := node.ParseInvite(text)
	if err != nil || left == 0 || len(got.Addrs) != len(inv.Addrs)-left || !got.Addrs[0].Equal(inv.Addrs[0]) {
		t.Fatalf("fitQR left out %d, kept %d, %v", left, len(got.Addrs), err)
	}
	text, left = fitQR(node.Invite{Credentials: inv.Credentials, Name: "G", Addrs: inv.Addrs[:2]}, qrColumns)
	if got, _ := node.ParseInvite(text); left != 0 || len(got.Addrs) != 2 {
		t.Errorf("a small invite lost addresses: %d left out", left)
	}
}

// TestCommandUsage: each command's part of the usage text, continuation
// lines included.
func TestCommandUsage(t *testing.T) {
	for name, want := range map[string]string{
		"import": "  convene import --data DIR FILE\n",
		"export": "  convene export --data DIR --format json|csv|ics|md|activitystreams|bundle [--session ID]\n" +
			"                 [--csv proposals|endorsements[,raw][,bom]] [--since RFC3339-TIME] [-o FILE]\n" +
			"                 [--lang en|es|fr|pt] (with md: the document in that language)\n" +
			"  convene export --data DIR --format ratified --session ID [-o FILE]\n",
		"verify": "  convene verify FILE\n",
		"merge":  "  convene merge  --data DIR --session ID [--key KEY] FILE\n",
		"nope":   "",
	} {
		if got := commandUsage(name); got != want {
			t.Errorf("commandUsage(%q) = %q, want %q", name, got, want)
		}
	}
}
