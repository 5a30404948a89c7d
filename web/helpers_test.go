package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/convene/convene/node"
	"github.com/convene/convene/web/apiv1"
)

// harness is a real node in a temporary directory served over HTTP.
type harness struct {
	t     *testing.T
	node  *node.Node
	srv   *Server
	ts    *httptest.Server
	token string
}

// testPage stands in for the pages of web/ui, which are not this
// package's to test.
func testPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<!doctype html><title>page</title>"+r.URL.Path)
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := node.Init(ctx, dir, "Test gathering", "Alice"); err != nil {
		t.Fatalf("init: %v", err)
	}
	n, err := node.Open(ctx, node.Config{Dir: dir})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	token, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Node: n, Addr: "127.0.0.1:7777", Token: token, UI: http.HandlerFunc(testPage)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return &harness{t: t, node: n, srv: srv, ts: ts, token: token}
}

// reqOpt changes a request before it is sent.
type reqOpt func(*http.Request)

func noAuth(r *http.Request) { r.Header.Del("Authorization") }

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func withHost(h string) reqOpt { return func(r *http.Request) { r.Host = h } }

// do sends a request. A string or []byte body is sent as is, anything
// else as JSON; a body gets Content-Type application/json unless an option
// changes it. The API token is sent unless noAuth removes it.
func (h *harness) do(method, path string, body any, opts ...reqOpt) (int, []byte, http.Header) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, h.ts.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	for _, o := range opts {
		o(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, out, resp.Header
}

// call sends a request to the API, checks the status and decodes the
// answer into out (if not nil).
func (h *harness) call(method, path string, body any, want int, out any, opts ...reqOpt) {
	h.t.Helper()
	status, b, _ := h.do(method, "/api/v1"+path, body, opts...)
	if status != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

// callErr sends a request that must fail with status and code.
func (h *harness) callErr(method, path string, body any, status int, code string, opts ...reqOpt) apiv1.ErrorBody {
	h.t.Helper()
	var e apiv1.ErrorBody
	h.call(method, path, body, status, &e, opts...)
	if e.Code != code {
		h.t.Fatalf("%s %s: error %q, want %q (%s)", method, path, e.Code, code, e.Message)
	}
	if e.Message == "" {
		h.t.Fatalf("%s %s: error %q without a message", method, path, e.Code)
	}
	return e
}

func (h *harness) digest() string {
	h.t.Helper()
	var st struct {
		Ops    int    `json:"ops"`
		Digest string `json:"digest"`
	}
	h.call("GET", "/status", nil, 200, &st)
	return st.Digest
}

// Shapes of answers, as a client reads them.

type idJSON struct {
	ID       string `json:"id"`
	Revision string `json:"revision"`
}

type identJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Default     bool   `json:"default"`
	Facilitator bool   `json:"facilitator"`
}

type groupOut struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Scribes []string `json:"scribes"`
}

type sessionOut struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Prompt string `json:"prompt"`
	Cap    int    `json:"cap"`
	Open   bool   `json:"open"`
}

type proposalOut struct {
	ID           string   `json:"id"`
	Rank         int      `json:"rank"`
	Text         string   `json:"text"`
	Revision     string   `json:"revision"`
	Group        string   `json:"group"`
	Endorsements int      `json:"endorsements"`
	EndorsedBy   []string `json:"endorsed_by"`
	Conflict     bool     `json:"conflict"`
	Heads        []string `json:"heads"`
	Revisions    int      `json:"revisions"`
	Hidden       bool     `json:"hidden"`
	Session      string   `json:"session"`
}

type documentOut struct {
	Session   sessionOut    `json:"session"`
	Proposals []proposalOut `json:"proposals"`
	Waiting   []struct {
		ID string `json:"id"`
	} `json:"waiting"`
	Freshness *struct {
		Peers    int     `json:"peers"`
		LastSync *string `json:"last_sync"`
	} `json:"freshness"`
}

type eventOut struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Start       string `json:"start"`
	End         string `json:"end"`
	Timezone    string `json:"timezone"`
	Place       *struct {
		Venue   string   `json:"venue"`
		Address string   `json:"address"`
		Lat     *float64 `json:"lat"`
		Lon     *float64 `json:"lon"`
	} `json:"place"`
	OnlineURL string   `json:"online_url"`
	Group     *string  `json:"group"`
	Language  string   `json:"language"`
	Tags      []string `json:"tags"`
	Capacity  int      `json:"capacity"`
	Status    string   `json:"status"`
	Going     int      `json:"going"`
	Maybe     int      `json:"maybe"`
	Waitlist  int      `json:"waitlist"`
	Sequence  int      `json:"sequence"`
}

// setup makes the usual cast: Alice (default, founder) is scribe of
// group A, Bob of group B, and one open session.
type cast struct {
	alice, bob identJSON
	a, b       groupOut
	session    sessionOut
}

func (h *harness) cast() cast {
	h.t.Helper()
	var c cast
	var ids []identJSON
	h.call("GET", "/identities", nil, 200, &ids)
	if len(ids) != 1 || !ids[0].Default {
		h.t.Fatalf("identities at start: %+v", ids)
	}
	c.alice = ids[0]
	h.call("POST", "/identities", map[string]any{"name": "Bob"}, 201, &c.bob)
	h.call("POST", "/groups", map[string]any{"name": "Group A"}, 201, &c.a)
	h.call("POST", "/groups", map[string]any{"name": "Group B", "as": c.bob.ID}, 201, &c.b)
	h.call("POST", "/sessions", map[string]any{"title": "Workshop", "prompt": "What next?"}, 201, &c.session)
	return c
}

func (h *harness) document(sid string) documentOut {
	h.t.Helper()
	var d documentOut
	h.call("GET", "/sessions/"+sid+"/document", nil, 200, &d)
	return d
}

func findProposal(t *testing.T, d documentOut, id string) proposalOut {
	t.Helper()
	for _, p := range d.Proposals {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("proposal %s not in the document: %+v", id, d.Proposals)
	return proposalOut{}
}

// newPublicServer serves h's public handler and returns its base URL.
func newPublicServer(t *testing.T, h *harness) string {
	t.Helper()
	ps := httptest.NewServer(h.srv.PublicHandler(http.HandlerFunc(testPage)))
	t.Cleanup(ps.Close)
	return ps.URL
}
