package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/convene/convene/testnet"
)

// simLatencyLimit bounds the simulated room in real time: fifty nodes'
// signatures, gossip and heartbeats are real work even though the clock
// they are timed by is not (about 2 minutes on the 2-core machine).
const simLatencyLimit = 20 * time.Minute

// benchSimLatency measures the budget's change latency in two halves that
// one machine cannot run together: the protocol's, on go-libp2p's
// simulated LAN in virtual time (testnet.SimLatency, run as a test as
// simheal is), and the work a laptop does for a change, in real time on
// real stores (testnet.LatencyWork). The budget row is their sum.
func benchSimLatency(ctx context.Context, l *lab, cfg config) section {
	sec := section{name: "simlatency", title: "Change latency on a simulated LAN in virtual time, plus each laptop's work"}
	// The budget's room: 50 laptops; 300 changes, 20 ms apart, as the
	// latency section's room of processes makes them.
	opts := testnet.LatencyOptions{Nodes: 50, Changes: 300, Gap: 20 * time.Millisecond}
	if cfg.quick {
		opts.Nodes, opts.Changes = 10, 60
	}
	var res testnet.LatencyResult
	took, err := goTestResult(ctx, "TestSimLatency", "simlatency-result", simLatencyLimit,
		fmt.Sprintf("CONVENE_SIMLATENCY=%d,%d", opts.Nodes, opts.Changes), &res)
	if err != nil {
		sec.err = err
		return sec
	}
	loadAt := loadAvg()
	work, err := testnet.LatencyWork(ctx, l.dir("latency-work"), opts)
	if err != nil {
		sec.err = fmt.Errorf("the laptops' work: %w", err)
		return sec
	}
	value := "lost"
	ratio := math.Inf(1)
	if lost := time.Duration(math.MaxInt64); res.P99 != lost {
		total := res.P99 + work.AuthorP99 + work.ReceiverP99
		value = fmt.Sprintf("%s (%s network in virtual time + %s author + %s receiver)", msf(total), msf(res.P99), msf(work.AuthorP99), msf(work.ReceiverP99))
		ratio = float64(total) / float64(50*time.Millisecond)
	}
	sec.rows = append(sec.rows, row{
		budget: "latency",
		what:   fmt.Sprintf("change → every other laptop's change feed, p99, %d laptops: simulated LAN in virtual time + a laptop's work in real time (the author's p99 + a receiver's p99)", res.Nodes),
		value:  value,
		limit:  "≤ 50 ms",
		ratio:  ratio,
	})
	sec.details = append(sec.details,
		fmt.Sprintf("The network: `testnet.SimLatency` under `testing/synctest` (`CONVENE_SIMLATENCY=%d,%d go test ./testnet -run '^TestSimLatency$' -v`): %d real nodes (in-memory stores) and real meshes with the mesh's own settings, whose libp2p hosts speak QUIC over go-libp2p's simulated network, %s one way, %d Mbit/s up and down per laptop; every pair connected at once, as laptops that find each other on a LAN; every GossipSub mesh had formed %s of virtual time after the dials (%d to %d peers per mesh after %s more at rest).",
			res.Nodes, res.Changes, res.Nodes, testnet.SimLAN.Latency, testnet.SimLAN.Link.Uplink.BitsPerSecond/1_000_000, msOrLost(res.Meshed), res.MeshMin, res.MeshMax, testnet.MeshSettle),
		fmt.Sprintf("%d changes (new sessions and groups, alternately, at most 3 groups per laptop: an identity's limit) made by the nodes in turn, %s apart, each timed from the author's `Act` call to the moment each other node's change notification fires (`node.Subscribe`, the feed `GET /api/v1/stream` sends to a page): %d arrivals, %d never arrived within %s, %d resyncs; %d operations came by reconciliation rather than gossip. Virtual time: p50 %s, p90 %s, p99 %s, max %s. The run took %s of real time.",
			res.Changes, res.Gap, res.Arrivals, res.Missing, testnet.Straggle, res.Resyncs, res.Reconciled, msOrLost(res.P50), msOrLost(res.P90), msOrLost(res.P99), msOrLost(res.Max), took.Round(time.Second)),
		"Virtual time moves only while every goroutine waits, so that figure is the protocol's — the LAN's latency, the author's uplink carrying a copy to every peer on the topic (GossipSub's flood publish, one after another), and the forwards along GossipSub's meshes, which reach the peers later in that queue first — with the CPU free: each laptop has its own cores, which fifty processes on this machine do not (the `latency` section's figure is theirs).",
		fmt.Sprintf("A laptop's work: `testnet.LatencyWork`, the same %d changes in real time on this machine, one at a time %s apart. The author, a node with a pebble store on disk holding one identity per laptop of the room, makes each (`Act`: check, seal, the synced write, apply, notify): p50 %s, p99 %s; of CPU time p50 %s, p99 %s. A second node on disk takes each in as gossip hands it over (`Take`: decode, verify, open, the synced write, apply, notify), then reads and encodes the list the page shows again: p50 %s, p99 %s (of it the ingest p99 %s, the view p99 %s); of CPU time p50 %s, p99 %s.",
			work.Changes, opts.Gap, msf(work.AuthorP50), msf(work.AuthorP99), msf(work.AuthorCPUP50), msf(work.AuthorCPUP99),
			msf(work.ReceiverP50), msf(work.ReceiverP99), msf(work.TakeP99), msf(work.ViewP99), msf(work.ReceiverCPUP50), msf(work.ReceiverCPUP99)),
		fmt.Sprintf("This machine is shared (see the load average above): a p99 in real time far above the CPU time's is waiting, for a core or for the disk, which a laptop's own cores and disk mostly spare it. With the CPU time's p99s in place of the real time's, the row would read %s; the load average when the laptops' work was measured was %s.",
			cpuTotal(res, work), loadAt),
		"The row adds the three p99s: a change is the author's work, then the network, then a receiver's work, each on its own laptop, and the sum of the p99s is at least the p99 of the sums. Left out: libp2p's own work per message (GossipSub's bookkeeping, QUIC's encryption of the copies a node sends: the author sends one to every peer on the topic), the event's HTTP write to the page, and the page's own wait: it coalesces the changes of 60 ms before it reads again (`follow` in web/ui/static/common.js).",
	)
	return sec
}

// msf is a duration in milliseconds with two decimals: the parts of the
// latency row are a few milliseconds or less.
func msf(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// cpuTotal is the latency row with the laptops' CPU time p99s in place of
// their real time's.
func cpuTotal(res testnet.LatencyResult, work testnet.WorkResult) string {
	if res.P99 == time.Duration(math.MaxInt64) {
		return "lost"
	}
	return msf(res.P99 + work.AuthorCPUP99 + work.ReceiverCPUP99)
}
