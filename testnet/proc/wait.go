package proc

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// Eventually polls cond, backing off from 20 ms to 500 ms, until it holds;
// after timeout it fails t with what and the state cond last reported.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, state string)) {
	t.Helper()
	start := time.Now()
	wait := 20 * time.Millisecond
	for {
		ok, state := cond()
		if ok {
			t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: not after %v; last state: %s", what, timeout, state)
		}
		time.Sleep(wait)
		wait = min(wait*2, 500*time.Millisecond)
	}
}

// DocumentJSON fetches a session's document without its freshness, which
// differs between nodes and restarts, as canonical JSON for comparing nodes.
func (c *Client) DocumentJSON(ctx context.Context, sid string) (string, error) {
	var doc map[string]any
	if _, err := c.Call(ctx, "GET", "/api/v1/sessions/"+sid+"/document", nil, 200, &doc); err != nil {
		return "", err
	}
	delete(doc, "freshness")
	b, err := json.Marshal(doc)
	return string(b), err
}
