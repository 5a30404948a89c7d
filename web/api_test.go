package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/convene/convene/web/apiv1"
)

func TestStatusAndIdentities(t *testing.T) {
	h := newHarness(t)
	var st struct {
		PeerID    string   `json:"peer_id"`
		Addrs     []string `json:"addrs"`
		Gathering struct{ ID, Name string }
		Identity  struct{ ID, Name string }
		Peers     []any `json:"peers"`
		Ops       int   `json:"ops"`
		Digest    string
	}
	h.call("GET", "/status", nil, 200, &st)
	if st.Gathering.Name != "Test gathering" || len(st.Gathering.ID) != 64 || st.Identity.Name != "Alice" {
		t.Errorf("status: %+v", st)
	}
	if st.Peers == nil || st.Addrs == nil || st.Ops == 0 || st.Digest == "" {
		t.Errorf("status lacks peers, addrs, ops or digest: %+v", st)
	}

	var bob identJSON
	h.call("POST", "/identities", map[string]any{"name": "Bob"}, 201, &bob)
	if bob.Name != "Bob" || len(bob.ID) != 64 || bob.Default {
		t.Errorf("new identity: %+v", bob)
	}
	var ids []identJSON
	h.call("GET", "/identities", nil, 200, &ids)
	if len(ids) != 2 || ids[0].Name != "Alice" || !ids[0].Default || !ids[0].Facilitator || ids[1].ID != bob.ID || ids[1].Facilitator {
		t.Errorf("identities: %+v", ids)
	}
	var one struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Facilitator bool   `json:"facilitator"`
		Local       bool   `json:"local"`
	}
	h.call("GET", "/identities/"+bob.ID, nil, 200, &one)
	if one.Name != "Bob" || !one.Local || one.Facilitator {
		t.Errorf("identity: %+v", one)
	}
	h.callErr("GET", "/identities/"+strings.Repeat("ab", 32), nil, 404, "not_found")

	// Alice, the founder, appoints Bob.
	h.call("POST", "/facilitators", map[string]any{"identity": bob.ID}, 204, nil)
	h.call("GET", "/identities/"+bob.ID, nil, 200, &one)
	if !one.Facilitator {
		t.Errorf("Bob was appointed but is not a facilitator")
	}

	var peers []any
	h.call("GET", "/peers", nil, 200, &peers)
	if peers == nil {
		t.Errorf("peers is null, want a list")
	}
}

// TestAssembly walks the assembly rules through the API: two groups, a
// proposal, an endorsement, an edit by the other group, history, comments,
// hiding.
func TestAssembly(t *testing.T) {
	h := newHarness(t)
	c := h.cast()
	sid := c.session.ID

	var sessions []sessionOut
	h.call("GET", "/sessions", nil, 200, &sessions)
	if len(sessions) != 1 || sessions[0].ID != sid || sessions[0].Cap != 10 || !sessions[0].Open || sessions[0].Prompt != "What next?" {
		t.Fatalf("sessions: %+v", sessions)
	}
	var groups []groupOut
	h.call("GET", "/groups", nil, 200, &groups)
	if len(groups) != 2 {
		t.Fatalf("groups: %+v", groups)
	}
	if !slices.Equal(c.a.Scribes, []string{c.alice.ID}) || !slices.Equal(c.b.Scribes, []string{c.bob.ID}) {
		t.Fatalf("scribes: A %v, B %v", c.a.Scribes, c.b.Scribes)
	}

	// Group A proposes: Alice is picked as its scribe.
	var prop idJSON
	h.call("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": c.a.ID, "text": "Share the tools"}, 201, &prop)
	if prop.ID == "" || prop.ID != prop.Revision {
		t.Fatalf("proposal answer: %+v", prop)
	}
	p := findProposal(t, h.document(sid), prop.ID)
	if p.Text != "Share the tools" || p.Endorsements != 1 || !slices.Equal(p.EndorsedBy, []string{c.a.ID}) || p.Rank != 1 || p.Group != c.a.ID {
		t.Fatalf("new proposal: %+v", p)
	}

	// Group B endorses: Bob is picked.
	h.call("PUT", "/proposals/"+prop.ID+"/endorsements/"+c.b.ID, nil, 204, nil)
	p = findProposal(t, h.document(sid), prop.ID)
	if p.Endorsements != 2 || len(p.EndorsedBy) != 2 {
		t.Fatalf("after B endorses: %+v", p)
	}

	// Group B edits: the endorsements are cleared, B endorses its revision.
	var rev idJSON
	h.call("POST", "/proposals/"+prop.ID+"/revisions",
		map[string]any{"group": c.b.ID, "text": "Share the tools and the code", "base": []string{prop.ID}}, 201, &rev)
	if rev.Revision == "" || rev.Revision == prop.ID {
		t.Fatalf("revision answer: %+v", rev)
	}
	d := h.document(sid)
	p = findProposal(t, d, prop.ID)
	if p.Text != "Share the tools and the code" || p.Revision != rev.Revision || p.Endorsements != 1 ||
		!slices.Equal(p.EndorsedBy, []string{c.b.ID}) || p.Revisions != 2 || p.Conflict || !slices.Equal(p.Heads, []string{rev.Revision}) {
		t.Fatalf("after B edits: %+v", p)
	}
	if d.Freshness == nil || d.Waiting == nil {
		t.Fatalf("document lacks freshness or waiting: %+v", d)
	}

	// An edit from a stale base is refused with the current heads.
	digest := h.digest()
	e := h.callErr("POST", "/proposals/"+prop.ID+"/revisions",
		map[string]any{"group": c.a.ID, "text": "Stale", "base": []string{prop.ID}}, 409, "conflict")
	if len(e.Heads) != 1 || e.Heads[0].String() != rev.Revision {
		t.Errorf("conflict heads: %v", e.Heads)
	}
	if h.digest() != digest {
		t.Errorf("a refused edit changed the state")
	}

	// A endorses the new revision, then withdraws.
	h.call("PUT", "/proposals/"+prop.ID+"/endorsements/"+c.a.ID, nil, 204, nil)
	if p = findProposal(t, h.document(sid), prop.ID); p.Endorsements != 2 {
		t.Fatalf("after A endorses the edit: %+v", p)
	}
	h.call("DELETE", "/proposals/"+prop.ID+"/endorsements/"+c.a.ID, nil, 204, nil)
	if p = findProposal(t, h.document(sid), prop.ID); p.Endorsements != 1 || !slices.Equal(p.EndorsedBy, []string{c.b.ID}) {
		t.Fatalf("after A withdraws: %+v", p)
	}

	// Bob cannot act for group A.
	h.callErr("PUT", "/proposals/"+prop.ID+"/endorsements/"+c.a.ID+"?as="+c.bob.ID, nil, 403, "not_scribe")
	h.callErr("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": c.a.ID, "text": "x", "as": c.bob.ID}, 403, "not_scribe")
	// Group A hands over to Bob too; then Bob can.
	h.call("POST", "/groups/"+c.a.ID+"/scribes", map[string]any{"identity": c.bob.ID}, 204, nil)
	var ga groupOut
	h.call("GET", "/groups/"+c.a.ID, nil, 200, &ga)
	if len(ga.Scribes) != 2 {
		t.Fatalf("group A after hand-over: %+v", ga)
	}
	h.call("PUT", "/proposals/"+prop.ID+"/endorsements/"+c.a.ID+"?as="+c.bob.ID, nil, 204, nil)

	// History.
	var revs []struct {
		ID      string   `json:"id"`
		Text    string   `json:"text"`
		Group   string   `json:"group"`
		At      string   `json:"at"`
		Parents []string `json:"parents"`
		Author  string   `json:"author"`
	}
	h.call("GET", "/proposals/"+prop.ID+"/revisions", nil, 200, &revs)
	if len(revs) != 2 || revs[0].ID != prop.ID || revs[1].ID != rev.Revision || !slices.Equal(revs[1].Parents, []string{prop.ID}) ||
		revs[1].Group != c.b.ID || revs[1].Author != c.bob.ID || revs[0].Parents == nil || revs[0].At == "" {
		t.Fatalf("revisions: %+v", revs)
	}
	var one proposalOut
	h.call("GET", "/proposals/"+prop.ID, nil, 200, &one)
	if one.Session != sid || one.Revision != rev.Revision {
		t.Fatalf("proposal: %+v", one)
	}

	// Comments.
	var cm idJSON
	h.call("POST", "/proposals/"+prop.ID+"/comments", map[string]any{"text": "Agreed", "as": c.bob.ID}, 201, &cm)
	var comments []struct {
		ID, Author, Text string
		Hidden           bool
	}
	h.call("GET", "/proposals/"+prop.ID+"/comments", nil, 200, &comments)
	if len(comments) != 1 || comments[0].ID != cm.ID || comments[0].Text != "Agreed" || comments[0].Author != c.bob.ID {
		t.Fatalf("comments: %+v", comments)
	}

	// Hiding: Bob is no facilitator; Alice is.
	h.callErr("PUT", "/hidden/"+cm.ID+"?as="+c.bob.ID, nil, 403, "forbidden")
	h.call("PUT", "/hidden/"+cm.ID, nil, 204, nil)
	h.call("GET", "/proposals/"+prop.ID+"/comments", nil, 200, &comments)
	if !comments[0].Hidden {
		t.Fatalf("comment not hidden: %+v", comments)
	}
	h.call("PUT", "/hidden/"+prop.ID, nil, 204, nil)
	if p = findProposal(t, h.document(sid), prop.ID); !p.Hidden {
		t.Fatalf("proposal not hidden: %+v", p)
	}
	h.call("DELETE", "/hidden/"+prop.ID, nil, 204, nil)
	if p = findProposal(t, h.document(sid), prop.ID); p.Hidden {
		t.Fatalf("proposal still hidden: %+v", p)
	}

	// Facilitators close the session; closed sessions refuse proposals.
	var sess sessionOut
	h.call("PATCH", "/sessions/"+sid, map[string]any{"open": false, "title": "Workshop (closed)"}, 200, &sess)
	if sess.Open || sess.Title != "Workshop (closed)" {
		t.Fatalf("patched session: %+v", sess)
	}
	h.callErr("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": c.a.ID, "text": "Late"}, 409, "session_closed")
	h.callErr("PATCH", "/sessions/"+sid, map[string]any{"open": true, "as": c.bob.ID}, 403, "forbidden")
	h.callErr("PATCH", "/sessions/"+sid, map[string]any{}, 400, "bad_request")
	h.call("GET", "/sessions/"+sid, nil, 200, &sess)
	if sess.Open {
		t.Fatalf("session reopened by a refused request")
	}
}

func TestCapReached(t *testing.T) {
	h := newHarness(t)
	c := h.cast()
	sid := c.session.ID
	var first idJSON
	for i := range 10 {
		var got idJSON
		h.call("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": c.a.ID, "text": fmt.Sprintf("Idea %d", i)}, 201, &got)
		if i == 0 {
			first = got
		}
	}
	digest := h.digest()
	h.callErr("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": c.b.ID, "text": "Idea 11"}, 409, "cap_reached")
	if h.digest() != digest {
		t.Errorf("a refused proposal changed the state")
	}
	d := h.document(sid)
	if len(d.Proposals) != 10 {
		t.Fatalf("document has %d proposals, want 10", len(d.Proposals))
	}
	// Full: the way in is an edit.
	h.call("POST", "/proposals/"+first.ID+"/revisions", map[string]any{"group": c.b.ID, "text": "Idea 0 and 11", "base": []string{first.ID}}, 201, nil)
	// Raising the cap makes room.
	h.call("PATCH", "/sessions/"+sid, map[string]any{"cap": 11}, 200, nil)
	h.call("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": c.b.ID, "text": "Idea 11"}, 201, nil)
	for i, p := range h.document(sid).Proposals {
		if p.Rank != i+1 {
			t.Errorf("proposal %d has rank %d", i, p.Rank)
		}
	}
}

// TestBadRequests sends malformed requests: each gets a 4xx with a JSON
// error and changes nothing.
func TestBadRequests(t *testing.T) {
	h := newHarness(t)
	c := h.cast()
	sid := c.session.ID
	var prop idJSON
	h.call("POST", "/sessions/"+sid+"/proposals", map[string]any{"group": c.a.ID, "text": "Idea"}, 201, &prop)
	badID := strings.Repeat("zz", 32)
	missing := strings.Repeat("ab", 32)
	ctText := withHeader("Content-Type", "text/plain")

	cases := []struct {
		name, method, path string
		body               any
		opts               []reqOpt
		status             int
		code               string
	}{
		{"malformed JSON", "POST", "/groups", `{"name":`, nil, 400, "bad_request"},
		{"not an object", "POST", "/groups", `["name"]`, nil, 400, "bad_request"},
		{"unknown field", "POST", "/groups", `{"name":"X","admin":true}`, nil, 400, "bad_request"},
		{"trailing data", "POST", "/groups", `{"name":"X"} {"name":"Y"}`, nil, 400, "bad_request"},
		{"empty body", "POST", "/groups", ``, nil, 400, "bad_request"},
		{"wrong content type", "POST", "/groups", `{"name":"X"}`, []reqOpt{ctText}, 415, "unsupported_media_type"},
		{"no content type", "POST", "/groups", `{"name":"X"}`, []reqOpt{withHeader("Content-Type", "")}, 415, "unsupported_media_type"},
		{"foreign charset", "POST", "/groups", `{"name":"X"}`, []reqOpt{withHeader("Content-Type", "application/json; charset=latin1")}, 415, "unsupported_media_type"},
		{"oversized body", "POST", "/groups", `{"name":"` + strings.Repeat("x", MaxBody) + `"}`, nil, 413, "too_large"},
		{"text over the limit", "POST", "/sessions/" + sid + "/proposals", map[string]any{"group": c.a.ID, "text": strings.Repeat("x", 9000)}, nil, 413, "too_large"},
		{"invalid UTF-8", "POST", "/groups", []byte("{\"name\":\"\xff\xfe\"}"), nil, 400, "bad_request"},
		{"empty name", "POST", "/groups", `{"name":"  "}`, nil, 400, "bad_request"},
		{"wrong type", "POST", "/sessions", `{"title":"T","cap":"ten"}`, nil, 400, "bad_request"},
		{"cap out of range", "POST", "/sessions", `{"title":"T","cap":0}`, nil, 400, "bad_request"},
		{"bad id in path", "GET", "/sessions/" + badID + "/document", nil, nil, 400, "bad_request"},
		{"short id in path", "PUT", "/proposals/abc/endorsements/" + c.a.ID, nil, nil, 400, "bad_request"},
		{"bad id in body", "POST", "/sessions/" + sid + "/proposals", map[string]any{"group": "nothex", "text": "x"}, nil, 400, "bad_request"},
		{"bad as", "POST", "/groups", map[string]any{"name": "X", "as": badID}, nil, 400, "bad_request"},
		{"unknown as", "POST", "/groups", map[string]any{"name": "X", "as": missing}, nil, 400, "bad_request"},
		{"bad as in query", "PUT", "/hidden/" + prop.ID + "?as=xyz", nil, nil, 400, "bad_request"},
		{"missing session", "POST", "/sessions/" + missing + "/proposals", map[string]any{"group": c.a.ID, "text": "x"}, nil, 404, "not_found"},
		{"missing group", "POST", "/sessions/" + sid + "/proposals", map[string]any{"group": missing, "text": "x"}, nil, 404, "not_found"},
		{"missing proposal", "PUT", "/proposals/" + missing + "/endorsements/" + c.a.ID, nil, nil, 404, "not_found"},
		{"missing document", "GET", "/sessions/" + missing + "/document", nil, nil, 404, "not_found"},
		{"revision without base", "POST", "/proposals/" + prop.ID + "/revisions", map[string]any{"group": c.a.ID, "text": "x"}, nil, 400, "bad_request"},
		{"unknown endpoint", "GET", "/nothing", nil, nil, 404, "not_found"},
		{"unknown version", "GET", "/api/v2/status", nil, nil, 404, "not_found"},
		{"outside the API", "GET", "/api/status", nil, nil, 404, "not_found"},
		{"wrong method", "DELETE", "/sessions", nil, nil, 405, "method_not_allowed"},
		{"wrong method on a GET path", "POST", "/status", `{}`, nil, 405, "method_not_allowed"},
		{"bad timezone", "POST", "/events", map[string]any{"title": "E", "start": "2026-03-01T10:00:00Z", "end": "2026-03-01T11:00:00Z", "timezone": "Mars/Olympus"}, nil, 400, "bad_request"},
		{"end before start", "POST", "/events", map[string]any{"title": "E", "start": "2026-03-01T10:00:00Z", "end": "2026-03-01T09:00:00Z", "timezone": "UTC"}, nil, 400, "bad_request"},
		{"bad status", "POST", "/events", map[string]any{"title": "E", "start": "2026-03-01T10:00:00Z", "end": "2026-03-01T11:00:00Z", "timezone": "UTC", "status": "maybe"}, nil, 400, "bad_request"},
		{"local timezone", "POST", "/events", map[string]any{"title": "E", "start": "2026-03-01T10:00:00Z", "end": "2026-03-01T11:00:00Z", "timezone": "Local"}, nil, 400, "bad_request"},
		{"empty timezone", "POST", "/events", map[string]any{"title": "E", "start": "2026-03-01T10:00:00Z", "end": "2026-03-01T11:00:00Z", "timezone": ""}, nil, 400, "bad_request"},
		{"bad language", "POST", "/events", map[string]any{"title": "E", "start": "2026-03-01T10:00:00Z", "end": "2026-03-01T11:00:00Z", "timezone": "UTC", "language": "en;x"}, nil, 400, "bad_request"},
		{"session change of nothing", "PATCH", "/sessions/" + sid, map[string]any{}, nil, 400, "bad_request"},
		{"export without a format", "GET", "/export", nil, nil, 400, "bad_request"},
		{"export in an unknown format", "GET", "/export?format=pdf", nil, nil, 400, "bad_request"},
		{"export of a bad session", "GET", "/export?format=json&session=xyz", nil, nil, 400, "bad_request"},
		{"export with a bad since", "GET", "/export?format=bundle&since=yesterday", nil, nil, 400, "bad_request"},
	}
	digest := h.digest()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if !strings.HasPrefix(path, "/api/") {
				path = "/api/v1" + path
			}
			status, b, hdr := h.do(tc.method, path, tc.body, tc.opts...)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, b)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			var e apiv1.ErrorBody
			if err := json.Unmarshal(b, &e); err != nil || e.Code != tc.code || e.Message == "" {
				t.Fatalf("error body %s, want code %s", b, tc.code)
			}
			if hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff header")
			}
		})
	}
	if h.digest() != digest {
		t.Errorf("bad requests changed the state")
	}
}

// TestAuth checks who may change state: the token, or the page's CSRF
// proof from the same origin; and that only our own names reach us.
func TestAuth(t *testing.T) {
	h := newHarness(t)

	// A page sets the CSRF cookie.
	status, _, hdr := h.do("GET", "/", nil, noAuth)
	if status != 200 {
		t.Fatalf("page: %d", status)
	}
	var csrf *http.Cookie
	for _, ck := range (&http.Response{Header: hdr}).Cookies() {
		if ck.Name == CSRFCookie {
			csrf = ck
		}
	}
	if csrf == nil || csrf.Value == "" || csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode || csrf.Path != "/" {
		t.Fatalf("CSRF cookie: %+v", csrf)
	}
	if hdr.Get("Content-Security-Policy") == "" || hdr.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("page lacks security headers: %v", hdr)
	}
	cookie := func(v string) reqOpt {
		return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: CSRFCookie, Value: v}) }
	}
	origin := h.ts.URL

	body := map[string]any{"title": "S"}
	cases := []struct {
		name   string
		opts   []reqOpt
		status int
	}{
		{"token", nil, 201},
		{"no token", []reqOpt{noAuth}, 403},
		{"wrong token", []reqOpt{withHeader("Authorization", "Bearer "+strings.Repeat("x", 43))}, 403},
		{"not bearer", []reqOpt{withHeader("Authorization", "Basic "+h.token)}, 403},
		{"wrong token with good CSRF", []reqOpt{withHeader("Authorization", "Bearer nope"), cookie(csrf.Value), withHeader(CSRFHeader, csrf.Value)}, 403},
		{"CSRF", []reqOpt{noAuth, cookie(csrf.Value), withHeader(CSRFHeader, csrf.Value)}, 201},
		{"CSRF same origin", []reqOpt{noAuth, cookie(csrf.Value), withHeader(CSRFHeader, csrf.Value), withHeader("Origin", origin), withHeader("Sec-Fetch-Site", "same-origin")}, 201},
		{"CSRF header without cookie", []reqOpt{noAuth, withHeader(CSRFHeader, csrf.Value)}, 403},
		{"CSRF cookie without header", []reqOpt{noAuth, cookie(csrf.Value)}, 403},
		{"CSRF mismatch", []reqOpt{noAuth, cookie(csrf.Value), withHeader(CSRFHeader, csrf.Value+"x")}, 403},
		{"CSRF forged pair", []reqOpt{noAuth, cookie("forged"), withHeader(CSRFHeader, "forged")}, 403},
		{"CSRF cross origin", []reqOpt{noAuth, cookie(csrf.Value), withHeader(CSRFHeader, csrf.Value), withHeader("Origin", "http://evil.example")}, 403},
		{"CSRF other port", []reqOpt{noAuth, cookie(csrf.Value), withHeader(CSRFHeader, csrf.Value), withHeader("Origin", "http://127.0.0.1:1")}, 403},
		{"CSRF cross site", []reqOpt{noAuth, cookie(csrf.Value), withHeader(CSRFHeader, csrf.Value), withHeader("Sec-Fetch-Site", "cross-site")}, 403},
		{"CSRF same site", []reqOpt{noAuth, cookie(csrf.Value), withHeader(CSRFHeader, csrf.Value), withHeader("Sec-Fetch-Site", "same-site")}, 403},
		{"foreign Host", []reqOpt{withHost("evil.example")}, 403},
		{"foreign Host with our port", []reqOpt{withHost("evil.example:7777")}, 403},
		{"localhost", []reqOpt{withHost("localhost:7777")}, 201},
		{"UI address", []reqOpt{withHost("127.0.0.1:7777")}, 201},
		{"IPv6 loopback", []reqOpt{withHost("[::1]:7777")}, 201},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			digest := h.digest()
			status, b, _ := h.do("POST", "/api/v1/sessions", body, tc.opts...)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, b)
			}
			if status == 403 {
				var e apiv1.ErrorBody
				if err := json.Unmarshal(b, &e); err != nil || e.Code != "forbidden" {
					t.Fatalf("error body %s", b)
				}
				if h.digest() != digest {
					t.Errorf("refused request changed the state")
				}
			}
		})
	}

	// Reads need no token but do need our Host.
	h.call("GET", "/status", nil, 200, nil, noAuth)
	h.callErr("GET", "/status", nil, 403, "forbidden", withHost("rebound.example:7777"))
	if status, _, _ := h.do("GET", "/", nil, withHost("rebound.example")); status != 403 {
		t.Errorf("page under a foreign Host: %d", status)
	}
}

func TestHostAllowed(t *testing.T) {
	cases := []struct {
		addr, host string
		want       bool
	}{
		{"127.0.0.1:7777", "127.0.0.1:7777", true},
		{"127.0.0.1:7777", "127.0.0.1:8888", true}, // loopback, any port
		{"127.0.0.1:7777", "127.1.2.3", true},
		{"127.0.0.1:7777", "localhost", true},
		{"127.0.0.1:7777", "LOCALHOST:7777", true},
		{"127.0.0.1:7777", "[::1]:7777", true},
		{"127.0.0.1:7777", "192.168.1.5:7777", false},
		{"127.0.0.1:7777", "evil.example", false},
		{"127.0.0.1:7777", "localhost.evil.example", false},
		{"127.0.0.1:7777", "", false},
		{"192.168.1.5:7777", "192.168.1.5:7777", true},
		{"192.168.1.5:7777", "192.168.1.5:7778", false},
		{"192.168.1.5:7777", "192.168.1.6:7777", false},
		{"laptop.local:7777", "laptop.local:7777", true},
		{"laptop.local:7777", "LAPTOP.LOCAL:7777", true},
		{"laptop.local:0", "laptop.local:41234", true},
		{"laptop.local:7777", "other.local:7777", false},
		{"0.0.0.0:7777", "192.168.1.5:7777", true},
		{"0.0.0.0:7777", "[fe80::1]:7777", true},
		{"0.0.0.0:7777", "evil.example:7777", false},
		{":7777", "10.0.0.2:7777", true},
	}
	for _, tc := range cases {
		s := &Server{}
		if err := s.setAddr(tc.addr); err != nil {
			t.Fatal(err)
		}
		if got := s.hostAllowed(tc.host); got != tc.want {
			t.Errorf("UI %s, Host %q: allowed %v, want %v", tc.addr, tc.host, got, tc.want)
		}
	}
}

func TestMethodNotAllowedAllow(t *testing.T) {
	h := newHarness(t)
	status, _, hdr := h.do("DELETE", "/api/v1/events", nil)
	if status != 405 || !strings.Contains(hdr.Get("Allow"), "POST") || !strings.Contains(hdr.Get("Allow"), "GET") {
		t.Errorf("405 answer: %d, Allow %q", status, hdr.Get("Allow"))
	}
}

// TestRemoteClients: a client on another machine gets neither the pages'
// CSRF cookie nor the CSRF path, so without the API token it can neither
// read the full handler (which shows the invite) nor write.
func TestRemoteClients(t *testing.T) {
	h := newHarness(t)
	// Listening on every interface, as an embedder might: any IP literal
	// is then a Host of ours, and only the peer's address tells them apart.
	srv, err := New(Config{Node: h.node, Addr: "0.0.0.0:7777", Token: h.token, UI: http.HandlerFunc(testPage)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	csrf := csrfValue(h.token)
	serve := func(remote, method, path string, body string, hdr map[string]string) *httptest.ResponseRecorder {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r := httptest.NewRequest(method, "http://192.168.1.10:7777"+path, rd)
		r.RemoteAddr = remote
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		return w
	}
	hasCookie := func(w *httptest.ResponseRecorder) bool {
		for _, c := range w.Result().Cookies() {
			if c.Name == CSRFCookie {
				return true
			}
		}
		return false
	}
	const lan, local, local6 = "192.168.1.20:50000", "127.0.0.1:50000", "[::1]:50000"
	bearer := map[string]string{"Authorization": "Bearer " + h.token}
	csrfPair := map[string]string{CSRFHeader: csrf, "Cookie": CSRFCookie + "=" + csrf}
	group := `{"name":"G"}`
	for _, tc := range []struct {
		name         string
		remote       string
		method, path string
		body         string
		hdr          map[string]string
		status       int
		cookie       bool
	}{
		{"page from this machine", local, "GET", "/", "", nil, 200, true},
		{"page from this machine, IPv6", local6, "GET", "/", "", nil, 200, true},
		{"page from the LAN", lan, "GET", "/", "", nil, 403, false},
		{"page from the LAN with the token", lan, "GET", "/", "", bearer, 200, false},
		{"read from the LAN", lan, "GET", "/api/v1/status", "", nil, 403, false},
		{"read from the LAN with the token", lan, "GET", "/api/v1/status", "", bearer, 200, false},
		{"CSRF write from this machine", local, "POST", "/api/v1/groups", group, csrfPair, 201, false},
		{"CSRF write from the LAN", lan, "POST", "/api/v1/groups", group, csrfPair, 403, false},
		{"token write from the LAN", lan, "POST", "/api/v1/groups", group, bearer, 201, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			digest := h.digest()
			w := serve(tc.remote, tc.method, tc.path, tc.body, tc.hdr)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if got := hasCookie(w); got != tc.cookie {
				t.Errorf("CSRF cookie set: %v, want %v", got, tc.cookie)
			}
			if w.Code == 403 && h.digest() != digest {
				t.Error("a refused request changed the state")
			}
		})
	}
}

// TestCrossSiteAPI: an API request a browser marks as made by another
// site's page is refused, even a read, on both handlers; pages are not.
func TestCrossSiteAPI(t *testing.T) {
	h := newHarness(t)
	public := newPublicServer(t, h)
	cross := withHeader("Sec-Fetch-Site", "cross-site")
	for _, tc := range []struct {
		base, path string
		opts       []reqOpt
		status     int
	}{
		{h.ts.URL, "/api/v1/export?format=bundle", []reqOpt{cross}, 403},
		{h.ts.URL, "/api/v1/export?format=bundle", []reqOpt{withHeader("Sec-Fetch-Site", "same-origin")}, 200},
		{h.ts.URL, "/api/v1/export?format=bundle", nil, 200},
		{h.ts.URL, "/api/v1/status", []reqOpt{cross}, 403},
		{h.ts.URL, "/api/nope", []reqOpt{cross}, 403},
		{h.ts.URL, "/", []reqOpt{cross}, 200},
		{public, "/api/v1/sessions", []reqOpt{cross}, 403},
		{public, "/api/v1/sessions", nil, 200},
	} {
		req, err := http.NewRequest("GET", tc.base+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+h.token)
		for _, o := range tc.opts {
			o(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s %s (%s): %d, want %d", tc.base, tc.path, req.Header.Get("Sec-Fetch-Site"), resp.StatusCode, tc.status)
		}
	}
}
