package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/testnet"
	"github.com/convene/convene/testnet/proc"
	"github.com/convene/convene/web/apiv1"
)

// benchLatency starts real nodes on loopback, listens to every node's live
// stream, makes changes through the API of each in turn, and times each
// change's arrival at every other node's stream.
func benchLatency(ctx context.Context, l *lab, cfg config) section {
	sec := section{name: "latency", title: "Change latency to every other UI"}
	// The budget's room: 50 laptops, each a `convene run` process.
	nodes, changes := 50, 300
	if cfg.quick {
		nodes, changes = 3, 60
	}
	// CONVENE_LATENCY=N,C sizes a run by hand: a smaller room to take the
	// path apart on a loaded machine.
	if v := os.Getenv("CONVENE_LATENCY"); v != "" {
		if _, err := fmt.Sscanf(v, "%d,%d", &nodes, &changes); err != nil || nodes < 2 || changes < 1 {
			sec.err = fmt.Errorf("CONVENE_LATENCY=%q: want N,C (N ≥ 2 nodes, C ≥ 1 changes)", v)
			return sec
		}
	}
	procs, err := startGathering(ctx, l, "latency", nodes)
	defer func() {
		for _, p := range procs {
			p.Stop(stopTimeout)
		}
	}()
	if err != nil {
		sec.err = err
		return sec
	}
	peers := make([]int, len(procs))
	for i, p := range procs {
		if st, err := p.API.Status(ctx); err == nil {
			peers[i] = len(st.Peers)
		}
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	streams := make([]*stream, len(procs))
	for i, p := range procs {
		if streams[i], err = openStream(sctx, p.API); err != nil {
			sec.err = fmt.Errorf("stream of node %d: %w", i, err)
			return sec
		}
	}

	type sent struct {
		from     int
		at       time.Time // just before the request
		answered time.Time // the author's 201: stored, applied, queued to publish
	}
	made := map[string]sent{}
	var order []string
	// The nodes' CPU time over the changes and their arrival tells
	// waiting from computing: on one machine the room's work for a change
	// shares its cores, where each laptop of a room has its own.
	roomCPU := func() time.Duration {
		var sum time.Duration
		for _, p := range procs {
			if c, err := procCPU(p.Pid()); err == nil {
				sum += c
			}
		}
		return sum
	}
	// The room at rest first: pings, GossipSub's heartbeats, the streams.
	idle0, idleStart := roomCPU(), time.Now()
	time.Sleep(2 * time.Second)
	idle := float64(roomCPU()-idle0) / float64(time.Since(idleStart))
	cpu0, wall0 := roomCPU(), time.Now()
	for c := range changes {
		from := c % len(procs)
		api := procs[from].API
		var id crdt.OpID
		var err error
		at := time.Now()
		// Each node alternates sessions and groups, at most 3 groups (an
		// identity's limit), then only sessions.
		if k := c / len(procs); k%2 == 0 || k >= 6 {
			cap := 10
			var sess apiv1.Session
			sess, err = api.CreateSession(ctx, apiv1.CreateSession{Title: fmt.Sprintf("latency session %d", c), Cap: &cap})
			id = sess.ID
		} else {
			var g apiv1.Group
			g, err = api.CreateGroup(ctx, apiv1.CreateGroup{Name: fmt.Sprintf("latency group %d", c)})
			id = g.ID
		}
		if err != nil {
			sec.err = fmt.Errorf("change %d on node %d: %w", c, from, err)
			return sec
		}
		made[id.String()] = sent{from, at, time.Now()}
		order = append(order, id.String())
		// People make changes far apart; 20 ms keeps the run short
		// without piling changes up.
		time.Sleep(20 * time.Millisecond)
	}

	// Wait for the stragglers, then read every arrival.
	want := changes * (len(procs) - 1)
	poll(ctx, 50*time.Millisecond, 10*time.Second, func() (bool, error) {
		got := 0
		for i, s := range streams {
			for _, id := range order {
				if made[id].from != i && !s.arrival(id).IsZero() {
					got++
				}
			}
		}
		return got >= want, nil
	})
	cpu, wall := roomCPU()-cpu0, time.Since(wall0)
	work := cpu - time.Duration(idle*float64(wall))
	cancel()
	var lat, write, spread []time.Duration
	missing, resyncs := 0, 0
	for _, id := range order {
		write = append(write, made[id].answered.Sub(made[id].at))
	}
	for i, s := range streams {
		resyncs += s.resyncs()
		for _, id := range order {
			m := made[id]
			if m.from == i {
				continue
			}
			if t := s.arrival(id); !t.IsZero() {
				lat = append(lat, t.Sub(m.at))
				spread = append(spread, t.Sub(m.answered))
			} else {
				missing++
			}
		}
	}
	slices.Sort(lat)
	slices.Sort(write)
	slices.Sort(spread)
	p50, p99, maxLat := quantile(lat, missing, 0.50), quantile(lat, missing, 0.99), quantile(lat, missing, 1)
	// Published for context: the budget's row is simlatency's. Fifty
	// processes on this machine's cores measure their queue for a core.
	sec.rows = append(sec.rows, row{
		budget: "latency",
		what:   fmt.Sprintf("change → every other UI, p99, %d `convene run` processes sharing this machine's %d cores, in real time (context; the budget's figure is `simlatency`'s)", len(procs), runtime.NumCPU()),
		value:  fmt.Sprintf("%s (p50 %s, max %s)", msOrLost(p99), msOrLost(p50), msOrLost(maxLat)),
		limit:  published,
		ratio:  0,
	})
	sec.details = append(sec.details,
		fmt.Sprintf("%d `convene run` processes on loopback (`--no-mdns`, TCP), the first made by `convene init`, the others by `convene join` with its invite and `--peer` the first; connected peers per node when measuring: %v.", len(procs), peers),
		fmt.Sprintf("%d changes (new sessions and groups, alternately, at most 3 groups per node: an identity's limit) made through `POST /api/v1/...` on each node in turn, 20 ms apart; each timed from just before the request to its `change` event on every other node's `GET /api/v1/stream`: %d arrivals measured, %d never arrived within 10 s, %d `resync` events.", changes, len(lat), missing, resyncs),
		"The time includes the author's synced write before it publishes, GossipSub over loopback, the receiver's verify-store-apply and the SSE write.",
		fmt.Sprintf("Split: the author's request to its answer (sealed, stored, applied, queued to publish) p50 %s, p99 %s; from that answer to the change on another node's stream (the gossip and the receiver) p50 %s, p99 %s.",
			msOrLost(quantile(write, 0, 0.50)), msOrLost(quantile(write, 0, 0.99)), msOrLost(quantile(spread, missing, 0.50)), msOrLost(quantile(spread, missing, 0.99))),
		fmt.Sprintf("CPU: the %d nodes used %.1f s of CPU in the %.1f s from the first change to the last arrival (%.1f of the machine's %d cores busy with them; at rest, measured for 2 s before, they keep %.2f cores busy); %s In a room each laptop spends its share on its own cores; here, once the room's work per change × the rate of changes passes the cores, changes queue for a core and the latency measures that queue.",
			len(procs), cpu.Seconds(), wall.Seconds(), cpu.Seconds()/wall.Seconds(), runtime.NumCPU(), idle, perChange(work, changes, len(procs), idle)))
	sec.details = append(sec.details, fmt.Sprintf("Latency spread: p90 %s, p95 %s, p99 %s; a p99 far above 50 ms with a low p50 points at queueing on the gossip path or for a core (see the CPU line above: the room's work per change against the machine's cores), a high p50 at the synced writes, which every node makes on this one disk.",
		msOrLost(quantile(lat, missing, 0.90)), msOrLost(quantile(lat, missing, 0.95)), msOrLost(p99)))
	return sec
}

// perChange says what the changes cost net of the room at rest, unless the
// room at rest already kept the machine about full, when the difference is
// noise (it came out negative) and says nothing.
func perChange(work time.Duration, changes, nodes int, idle float64) string {
	if work <= 0 || idle > 0.9*float64(runtime.NumCPU()) {
		return "the room at rest already kept the machine about full, so the CPU per change cannot be told apart from it."
	}
	return fmt.Sprintf("net of that, %.1f ms per change for the whole room, %.2f ms per change and node.", float64(work)/1e6/float64(changes), float64(work)/1e6/float64(changes*nodes))
}

// startGathering makes a gathering of n nodes: the first by convene init,
// the others by convene join with the first's invite, each started with
// --peer the first. It returns once every node holds the same operations.
func startGathering(ctx context.Context, l *lab, name string, n int) ([]*proc.Proc, error) {
	d0 := l.dir(name)
	out, err := l.convene(ctx, "init", "--data", d0, "--name", "Bench "+name)
	if err != nil {
		return nil, err
	}
	invite := lastLine(out)
	p0, err := l.start(ctx, d0)
	if err != nil {
		return nil, err
	}
	procs := []*proc.Proc{p0}
	st, err := p0.API.Status(ctx)
	if err != nil {
		return procs, err
	}
	if len(st.Addrs) == 0 {
		return procs, errors.New("the first node reports no listen address")
	}
	for range n - 1 {
		d := l.dir(name)
		if _, err := l.convene(ctx, "join", "--data", d, invite); err != nil {
			return procs, err
		}
		p, err := l.start(ctx, d, "--peer", st.Addrs[0])
		if err != nil {
			return procs, err
		}
		procs = append(procs, p)
	}
	err = poll(ctx, 50*time.Millisecond, time.Minute, func() (bool, error) {
		var first string
		for i, p := range procs {
			st, err := p.API.Status(ctx)
			if err != nil {
				return false, err
			}
			if i == 0 {
				first = st.Digest
			} else if st.Digest != first || len(st.Peers) == 0 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return procs, fmt.Errorf("the %d nodes did not converge: %w", n, err)
	}
	return procs, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// stream records when each change arrives on one node's live stream.
type stream struct {
	mu      sync.Mutex
	at      map[string]time.Time
	resync  int
	readErr error
}

// openStream subscribes to a node's GET /api/v1/stream and returns once
// the server said it is connected.
func openStream(ctx context.Context, a *apiv1.Client) (*stream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.Base+apiv1.Prefix+"/stream", nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{}).Do(req) // no timeout: it streams
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET /api/v1/stream: %s", resp.Status)
	}
	s := &stream{at: map[string]time.Time{}}
	connected := make(chan struct{})
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		event := ""
		once := sync.OnceFunc(func() { close(connected) })
		defer once()
		for sc.Scan() {
			line := sc.Text()
			now := time.Now()
			switch {
			case strings.HasPrefix(line, ": connected"):
				once()
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var c struct{ Op string }
				s.mu.Lock()
				if event == "resync" {
					s.resync++
				} else if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &c) == nil && c.Op != "" {
					if _, seen := s.at[c.Op]; !seen {
						s.at[c.Op] = now
					}
				}
				s.mu.Unlock()
			case line == "":
				event = ""
			}
		}
	}()
	select {
	case <-connected:
		return s, nil
	case <-time.After(10 * time.Second):
		return nil, errors.New("the stream said nothing in 10 s")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *stream) arrival(op string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.at[op]
}

func (s *stream) resyncs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resync
}

// quantile of sorted latencies, counting the lost ones as infinitely late.
var quantile = testnet.Quantile

func msOrLost(d time.Duration) string {
	if d == time.Duration(math.MaxInt64) {
		return "lost"
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
