package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
)

// sseEvent is one event read from a stream.
type sseEvent struct {
	name, data string
}

// readEvents parses a Server-Sent Events stream into ch until it ends.
func readEvents(resp *http.Response, ch chan<- sseEvent) {
	defer close(ch)
	sc := bufio.NewScanner(resp.Body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.name != "" || ev.data != "" {
				ch <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func openStream(t *testing.T, url string) (*http.Response, <-chan sseEvent) {
	t.Helper()
	// The deadline only keeps a broken stream from hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 16)
	go readEvents(resp, ch)
	return resp, ch
}

func TestStream(t *testing.T) {
	h := newHarness(t)
	_, events := openStream(t, h.ts.URL+"/api/v1/stream")

	var g groupOut
	h.call("POST", "/groups", map[string]any{"name": "Streamed"}, 201, &g)
	var sess sessionOut
	h.call("POST", "/sessions", map[string]any{"title": "S"}, 201, &sess)

	var got []map[string]any
	for len(got) < 2 {
		ev, ok := <-events
		if !ok {
			t.Fatalf("stream ended after %d changes", len(got))
		}
		if ev.name != "change" {
			continue
		}
		var c map[string]any
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
			t.Fatalf("change %q: %v", ev.data, err)
		}
		got = append(got, c)
	}
	if got[0]["op"] != g.ID || got[0]["kind"] != float64(crdt.KindGroup) || got[0]["local"] != true {
		t.Errorf("first change: %v", got[0])
	}
	if got[1]["op"] != sess.ID || got[1]["session"] != sess.ID {
		t.Errorf("second change: %v", got[1])
	}

	// Closing the server ends open streams, so that shutdown need not wait.
	h.srv.Close()
	for range events {
	}
}

func TestPublicHandler(t *testing.T) {
	h := newHarness(t)
	c := h.cast()
	var ev eventOut
	h.call("POST", "/events", map[string]any{
		"title": "Open day", "start": "2026-05-01T09:00:00Z", "end": "2026-05-01T10:00:00Z", "timezone": "UTC",
	}, 201, &ev)

	ps := newPublicServer(t, h)
	get := func(path string, opts ...reqOpt) int {
		t.Helper()
		req, _ := http.NewRequest("GET", ps+path, nil)
		for _, o := range opts {
			o(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cases := []struct {
		path string
		want int
	}{
		{"/api/v1/sessions", 200},
		{"/api/v1/sessions/" + c.session.ID, 200},
		{"/api/v1/sessions/" + c.session.ID + "/document", 200},
		{"/api/v1/groups", 200},
		{"/api/v1/events", 200},
		{"/api/v1/events/" + ev.ID, 200},
		{"/api/v1/events/" + ev.ID + ".ics", 200},
		{"/api/v1/events.ics", 200},
		{"/s/" + c.session.ID + "/projection", 200},
		{"/events", 200},
		{"/events/" + ev.ID, 200},
		{"/static/app.js", 200},
		{"/api/v1/status", 404},
		{"/api/v1/identities", 404},
		{"/api/v1/proposals/" + c.session.ID + "/revisions", 404},
		{"/", 200}, // the front page: what the public address serves
		{"/nowhere", 404},
		{"/s/" + c.session.ID, 404},
		{"/network", 404},
	}
	for _, tc := range cases {
		if got := get(tc.path, withHost("convene.example")); got != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.path, got, tc.want)
		}
	}

	digest := h.digest()
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		for _, p := range []string{"/api/v1/groups", "/api/v1/sessions/" + c.session.ID, "/api/v1/events", "/nothing"} {
			req, _ := http.NewRequest(m, ps+p, strings.NewReader(`{"name":"x"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+h.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 405 {
				t.Errorf("%s %s on the public handler: %d, want 405", m, p, resp.StatusCode)
			}
		}
	}
	if h.digest() != digest {
		t.Errorf("the public handler changed the state")
	}

	_, events := openStream(t, ps+"/api/v1/stream")
	h.call("POST", "/groups", map[string]any{"name": "Seen publicly"}, 201, nil)
	for ev := range events {
		if ev.name == "change" {
			break
		}
	}
}
