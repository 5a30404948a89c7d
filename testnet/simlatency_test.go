package testnet_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/convene/convene/testnet"
)

// TestSimLatency: on the simulated LAN, in virtual time, every change made
// on one node reaches every other node's change feed. Small by default;
// CONVENE_SIMLATENCY="NODES,CHANGES" sizes it (the benchmark runs it at
// 50,300 and reads the line it prints). It asserts arrival, not how long
// it took: the benchmark reports the virtual time.
func TestSimLatency(t *testing.T) {
	opts := testnet.LatencyOptions{Nodes: 5, Changes: 30}
	if v := os.Getenv("CONVENE_SIMLATENCY"); v != "" {
		if _, err := fmt.Sscanf(v, "%d,%d", &opts.Nodes, &opts.Changes); err != nil || opts.Nodes < 2 || opts.Changes < 1 {
			t.Fatalf("CONVENE_SIMLATENCY=%q: want NODES,CHANGES (at least 2 nodes, 1 change)", v)
		}
	}
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		res, err := testnet.SimLatency(t.Context(), dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		t.Logf("simlatency-result %s", b)
		t.Log(res)
		if want := opts.Changes * (opts.Nodes - 1); res.Missing > 0 || res.Arrivals != want {
			t.Errorf("%d of %d (change, other node) arrivals, %d never arrived within %s", res.Arrivals, want, res.Missing, testnet.Straggle)
		}
	})
}

// TestLatencyWork: the real-time half of the latency figure runs, and the
// receiver takes in and announces every change (timings are the bench's).
func TestLatencyWork(t *testing.T) {
	opts := testnet.LatencyOptions{Nodes: 3, Changes: 12, Gap: time.Millisecond}
	res, err := testnet.LatencyWork(t.Context(), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Changes != opts.Changes || res.Notified != opts.Changes {
		t.Errorf("%d changes made, the receiver's feed heard of %d; want %d", res.Changes, res.Notified, opts.Changes)
	}
}
