package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestRunAPI drives one real `convene run` through the HTTP API: groups, a
// session, proposals, an edit by another group, endorsements, the cap,
// refused requests that change nothing; then kill -9 and a restart that
// still holds everything acknowledged, and a clean SIGTERM.
func TestRunAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startNode(t, dir, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0")

	var bob struct{ ID string }
	p.call("POST", "/identities", map[string]any{"name": "Bob"}, 201, &bob)
	var g1, g2 struct {
		ID      string
		Scribes []string
	}
	p.call("POST", "/groups", map[string]any{"name": "Table 1"}, 201, &g1)
	p.call("POST", "/groups", map[string]any{"name": "Table 2", "as": bob.ID}, 201, &g2)
	if !slices.Equal(g2.Scribes, []string{bob.ID}) {
		t.Errorf("Table 2 scribes = %v, want [%s]", g2.Scribes, bob.ID)
	}
	var sess struct {
		ID   string
		Cap  int
		Open bool
	}
	p.call("POST", "/sessions", map[string]any{"title": "Housing", "prompt": "What should the city do?"}, 201, &sess)
	if sess.Cap != 10 || !sess.Open {
		t.Errorf("new session: cap %d open %v, want 10 true", sess.Cap, sess.Open)
	}

	var prop struct{ ID, Revision string }
	p.call("POST", "/sessions/"+sess.ID+"/proposals", map[string]any{"group": g1.ID, "text": "Rent control"}, 201, &prop)
	p.call("PUT", "/proposals/"+prop.ID+"/endorsements/"+g2.ID, nil, 204, nil)
	if got := p.document(sess.ID).Proposals[0]; got.Endorsements != 2 {
		t.Fatalf("after Table 2 endorses: %d endorsements, want 2 (%v)", got.Endorsements, got.EndorsedBy)
	}

	// Table 2 edits Table 1's proposal: the edit clears the endorsements
	// and Table 2 endorses its revision.
	var edit struct{ Revision string }
	p.call("POST", "/proposals/"+prop.ID+"/revisions", map[string]any{"group": g2.ID, "text": "Rent control, and public housing", "base": []string{prop.Revision}}, 201, &edit)
	got := p.document(sess.ID).Proposals[0]
	if got.Revision != edit.Revision || got.Text != "Rent control, and public housing" || got.Revisions != 2 {
		t.Errorf("after the edit: revision %s text %q revisions %d, want %s, the new text, 2", got.Revision, got.Text, got.Revisions, edit.Revision)
	}
	if !slices.Equal(got.EndorsedBy, []string{g2.ID}) {
		t.Errorf("after the edit: endorsed by %v, want only the editor %s", got.EndorsedBy, g2.ID)
	}
	// An edit from a stale base is refused.
	code, b := p.do("POST", "/proposals/"+prop.ID+"/revisions", map[string]any{"group": g1.ID, "text": "stale", "base": []string{prop.Revision}})
	if code != 409 || errorCode(t, b) != "conflict" {
		t.Errorf("edit from a stale base: %d %s, want 409 conflict", code, b)
	}
	p.call("PUT", "/proposals/"+prop.ID+"/endorsements/"+g1.ID, nil, 204, nil)
	got = p.document(sess.ID).Proposals[0]
	slices.Sort(got.EndorsedBy)
	want := []string{g1.ID, g2.ID}
	slices.Sort(want)
	if !slices.Equal(got.EndorsedBy, want) {
		t.Errorf("after Table 1 endorses the edit: endorsed by %v, want %v", got.EndorsedBy, want)
	}

	// Fill the session to its cap of 10; the 11th is refused.
	for i := 2; i <= 10; i++ {
		p.call("POST", "/sessions/"+sess.ID+"/proposals", map[string]any{"group": g1.ID, "text": fmt.Sprintf("Idea %d", i)}, 201, nil)
	}
	before := p.status()
	code, b = p.do("POST", "/sessions/"+sess.ID+"/proposals", map[string]any{"group": g2.ID, "text": "Idea 11"})
	if code != http.StatusConflict || errorCode(t, b) != "cap_reached" {
		t.Errorf("11th proposal: %d %s, want 409 cap_reached", code, b)
	}

	// Forged and malformed requests are refused and change nothing.
	unknownGroup := strings.Repeat("ab", 32)
	refused := []struct {
		name   string
		method string
		path   string
		body   any
		opts   []reqOpt
		want   int
	}{
		{"no token", "POST", "/groups", map[string]any{"name": "Forged"}, []reqOpt{noAuth}, 403},
		{"wrong token", "POST", "/groups", map[string]any{"name": "Forged"}, []reqOpt{withToken("not-the-token")}, 403},
		{"bad host", "POST", "/groups", map[string]any{"name": "Rebound"}, []reqOpt{withHost("evil.example:7777")}, 403},
		{"bad host on a read", "GET", "/status", nil, []reqOpt{withHost("evil.example")}, 403},
		{"malformed json", "POST", "/groups", rawBody(`{"name": "Broken"`), nil, 400},
		{"trailing data", "POST", "/groups", rawBody(`{"name": "A"} {"name": "B"}`), nil, 400},
		{"unknown field", "POST", "/groups", rawBody(`{"name": "A", "evil": 1}`), nil, 400},
		{"invalid utf-8", "POST", "/groups", rawBody("{\"name\": \"\xff\xfe\"}"), nil, 400},
		{"not json", "POST", "/groups", rawBody(`name=A`), []reqOpt{withType("application/x-www-form-urlencoded")}, 415},
		{"unknown group", "POST", "/sessions/" + sess.ID + "/proposals", map[string]any{"group": unknownGroup, "text": "x"}, nil, 404},
		{"malformed group id", "PUT", "/proposals/" + prop.ID + "/endorsements/nothex", nil, nil, 400},
		{"unknown proposal", "PUT", "/proposals/" + unknownGroup + "/endorsements/" + g1.ID, nil, nil, 404},
		{"empty name", "POST", "/groups", map[string]any{"name": ""}, nil, 400},
		{"cap out of range", "POST", "/sessions", map[string]any{"title": "T", "cap": 0}, nil, 400},
	}
	for _, r := range refused {
		code, b := p.do(r.method, r.path, r.body, r.opts...)
		if code != r.want {
			t.Errorf("%s: status %d, want %d: %s", r.name, code, r.want, b)
			continue
		}
		errorCode(t, b)
		if after := p.status(); after.Digest != before.Digest || after.Ops != before.Ops {
			t.Errorf("%s: refused, but the digest changed (%s/%d ops → %s/%d ops)", r.name, before.Digest, before.Ops, after.Digest, after.Ops)
			before = after
		}
	}

	// kill -9: everything acknowledged survives.
	doc := p.documentJSON(sess.ID)
	if n := len(p.document(sess.ID).Proposals); n != 10 {
		t.Fatalf("document holds %d proposals, want 10", n)
	}
	p.signal(syscall.SIGKILL)
	if _, err := os.Stat(filepath.Join(dir, "run.json")); err != nil {
		t.Fatalf("after kill -9 the run file should be stale, not gone: %v", err)
	}
	// A command beside a dead node (stale run file) opens the store.
	if out := cliOK(t, "status", "--data", dir); !strings.Contains(out, "not running") || !strings.Contains(out, before.Digest) {
		t.Errorf("status after kill -9 should say not running with digest %s:\n%s", before.Digest, out)
	}
	p = startNode(t, dir, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0")
	if st := p.status(); st.Digest != before.Digest || st.Ops != before.Ops {
		t.Errorf("after kill -9 and restart: digest %s (%d ops), want %s (%d ops)", st.Digest, st.Ops, before.Digest, before.Ops)
	}
	if d := p.documentJSON(sess.ID); d != doc {
		t.Errorf("after kill -9 and restart the document changed:\n%s\nwant\n%s", d, doc)
	}

	// One more write, then SIGTERM: a clean exit, and the write survives.
	p.call("POST", "/proposals/"+prop.ID+"/comments", map[string]any{"text": "Agreed", "as": bob.ID}, 201, nil)
	st := p.status()
	if code := p.signal(syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: exit %d, want 0; stderr:\n%s", code, p.Stderr())
	}
	if _, err := os.Stat(filepath.Join(dir, "run.json")); !os.IsNotExist(err) {
		t.Errorf("after SIGTERM the run file remains (%v)", err)
	}
	p = startNode(t, dir, "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0")
	if got := p.status(); got.Digest != st.Digest || got.Ops != st.Ops {
		t.Errorf("after SIGTERM and restart: digest %s (%d ops), want %s (%d ops)", got.Digest, got.Ops, st.Digest, st.Ops)
	}
	if code := p.signal(syscall.SIGINT); code != 0 {
		t.Errorf("SIGINT: exit %d, want 0", code)
	}
}
