package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/convene/convene/internal/testkit"
)

func TestPublicHostCheck(t *testing.T) {
	h := newHarness(t)
	srv, err := New(Config{Node: h.node, Addr: "127.0.0.1:7777", PublicAddr: "laptop.local:7778", Token: h.token})
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(srv.PublicHandler(nil))
	t.Cleanup(func() { srv.Close(); ps.Close() })
	for _, tc := range []struct {
		host string
		want int
	}{
		{"laptop.local:7778", 200},
		{"LAPTOP.local.:7778", 200},
		{"laptop.local:9999", 403},
		{"192.168.1.20:7778", 200},
		{"[fe80::1]:7778", 200},
		{"10.0.0.7", 200},
		{"localhost:7778", 200},
		{"evil.example", 403},
		{"evil.example:7778", 403},
		{"192.168.1.20.evil.example", 403},
	} {
		t.Run(tc.host, func(t *testing.T) {
			req, _ := http.NewRequest("GET", ps.URL+"/api/v1/groups", nil)
			req.Host = tc.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("Host %q: %d, want %d", tc.host, resp.StatusCode, tc.want)
			}
		})
	}
}

func TestStreamLimit(t *testing.T) {
	var l streamLimit
	var releases []func()
	for i := range MaxStreams {
		rel, msg := l.acquire(fmt.Sprintf("10.0.%d.%d", i/MaxStreamsPerClient, i%MaxStreamsPerClient))
		if msg != "" {
			t.Fatalf("stream %d refused: %s", i, msg)
		}
		releases = append(releases, rel)
	}
	if _, msg := l.acquire("10.9.9.9"); msg == "" {
		t.Fatalf("stream %d accepted over the total cap", MaxStreams+1)
	}
	releases[0]()
	releases[0]() // a second release changes nothing
	if l.total != MaxStreams-1 {
		t.Fatalf("after one release total = %d, want %d", l.total, MaxStreams-1)
	}
	if _, msg := l.acquire("10.9.9.9"); msg != "" {
		t.Fatalf("a freed slot refused: %s", msg)
	}
}

// The caps hold on the served handlers: from one address, the stream over
// MaxStreamsPerClient gets 429, and a closed stream frees its slot.
func TestStreamCapPerClient(t *testing.T) {
	h := newHarness(t)
	var open []*http.Response
	for range MaxStreamsPerClient {
		resp, _ := openStream(t, h.ts.URL+APIPrefix+"/stream")
		open = append(open, resp)
	}
	status := func() int {
		resp, err := http.Get(h.ts.URL + APIPrefix + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != http.StatusTooManyRequests {
		t.Fatalf("stream %d from one address: %d, want 429", MaxStreamsPerClient+1, got)
	}
	open[0].Body.Close()
	// The server sees the close when its next write fails or the request's
	// context ends; a new stream must then succeed.
	testkit.Eventually(t, time.Minute, "the closed stream's slot freed", func() (bool, string) {
		h.srv.streams.mu.Lock()
		defer h.srv.streams.mu.Unlock()
		return h.srv.streams.total < MaxStreamsPerClient, fmt.Sprintf("%d streams open", h.srv.streams.total)
	})
	resp, _ := openStream(t, h.ts.URL+APIPrefix+"/stream")
	resp.Body.Close()
}
