package proc

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/convene/convene/web/apiv1"
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
// differs between nodes and restarts, as JSON for comparing nodes.
func DocumentJSON(ctx context.Context, c *apiv1.Client, sid string) (string, error) {
	var doc apiv1.Document
	if _, err := c.Get(ctx, apiv1.Prefix+"/sessions/"+sid+"/document", &doc); err != nil {
		return "", err
	}
	b, err := json.Marshal(doc.Document)
	return string(b), err
}
