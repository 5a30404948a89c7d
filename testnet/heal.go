package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/cputime"
	"github.com/convene/convene/node"
)

// HealOptions size a partition-healing run.
type HealOptions struct {
	Island       int           // nodes per island (2 islands); default 25
	OpsPerIsland int           // operations written in each island during the partition; default 5000
	Latency      time.Duration // one-way link delay; zero: loopback as it is
	// Disk uses the real pebble store instead of memory.
	Disk bool
	Dir  string // see Options.Dir
	// Profile, if set, is a file for a CPU profile of the heal alone: from
	// lifting the partition to convergence.
	Profile string `json:",omitempty"`
}

// HealResult is what a partition-healing run measured.
type HealResult struct {
	Nodes        int
	OpsPerIsland int
	// Differences counts the missing (node, operation) pairs at the heal:
	// every node lacks the other island's operations.
	Differences int64
	// Compressed is the sum over nodes of the zstd size of the operations
	// each lacked: the least a transfer could carry.
	Compressed int64
	// Budget is 1.25 × Compressed + 64 B × Differences.
	Budget int64
	// Converge is the time from lifting the partition to equal digests
	// everywhere, reconnecting included.
	Converge time.Duration
	// ReconBytes is what reconciliation sessions sent (frames, as counted
	// by the mesh); WireBytes all bytes on the links, every protocol and
	// its framing included.
	ReconBytes, WireBytes int64
	// Of ReconBytes, by frame: reconciliation messages ('R'), requests
	// ('Q') and batches of operations ('P').
	ReconMsgBytes, RequestBytes, PushBytes int64
	Sessions                               int64
	OpsPushed                              int64 // operations pushed by reconciliation
	// Protocols is what the hosts wrote on their streams during the
	// heal, by protocol, most bytes first: of WireBytes, all but the
	// transport's handshakes and framing.
	Protocols []ProtocolTraffic
	// FloorCPU is the CPU floor of the heal, the budget's "CPU work of
	// verifying and applying what each node lacks": for every node, the
	// CPU time (every core's, the collector's included) a fresh node
	// holding what all held before the partition spends ingesting
	// (verify, store, apply) what that node lacked at the heal, in
	// reconciliation-sized batches, measured after the run in the same
	// process. Floor is the same ingests on the wall clock, with every
	// core the fresh node's: about FloorCPU over the cores. Zero: not
	// measured (FloorCPU is zero where the process's CPU time is not
	// read).
	FloorCPU, Floor time.Duration
	// ConvergeCPU is the CPU time the whole process (nodes, links and
	// all) spent from lifting the partition to convergence.
	ConvergeCPU time.Duration
}

// FloorRatio is Converge over FloorCPU (over Floor where CPU time is not
// read): at most 1.5 meets the budget.
func (r HealResult) FloorRatio() float64 {
	floor := r.FloorCPU
	if floor <= 0 {
		floor = r.Floor
	}
	if floor <= 0 {
		return 0
	}
	return float64(r.Converge) / float64(floor)
}

// WallRatio is Converge over Floor: the ratio to the fresh node's wall
// clock on every core, a stricter figure than the budget's.
func (r HealResult) WallRatio() float64 {
	if r.Floor <= 0 {
		return 0
	}
	return float64(r.Converge) / float64(r.Floor)
}

// BudgetRatio is WireBytes over Budget: at most 1 meets the budget.
func (r HealResult) BudgetRatio() float64 { return float64(r.WireBytes) / float64(r.Budget) }

func (r HealResult) String() string {
	return fmt.Sprintf("%d nodes, %d ops per island: converged in %v (CPU floor %v of CPU, %v on the wall: %.2f×); wire %d B, recon %d B, budget %d B (zstd of the missing %d B, %d differences): %.2f× budget; %d sessions pushed %d ops",
		r.Nodes, r.OpsPerIsland, r.Converge.Round(time.Millisecond), r.FloorCPU.Round(time.Millisecond), r.Floor.Round(time.Millisecond), r.FloorRatio(),
		r.WireBytes, r.ReconBytes, r.Budget, r.Compressed, r.Differences, r.BudgetRatio(), r.Sessions, r.OpsPushed)
}

// HealPartition measures a partition heal: two islands of nodes write
// during a partition, then every link is restored at once, as when a
// venue's Wi-Fi comes back; it measures the time to convergence and the
// bytes exchanged, next to the compressed size of what was missing.
func HealPartition(ctx context.Context, opts HealOptions) (HealResult, error) {
	if opts.Island <= 0 {
		opts.Island = 25
	}
	if opts.OpsPerIsland <= 0 {
		opts.OpsPerIsland = 5000
	}
	size := opts.Island
	islands := [][]int{make([]int, size), make([]int, size)}
	for i := range size {
		islands[0][i], islands[1][i] = i, size+i
	}
	n, err := New(ctx, Options{
		Nodes: 2 * size, Dir: opts.Dir, Memory: !opts.Disk,
		Links: true, Latency: opts.Latency,
	})
	if err != nil {
		return HealResult{}, err
	}
	defer n.Close()

	// What every node holds before the partition: a session, and a group
	// and a proposal per node, to edit and comment on.
	session, err := n.Write(ctx, 0, &crdt.SessionBody{Title: "Partition", Cap: 2 * size})
	if err != nil {
		return HealResult{}, err
	}
	if err := n.WaitConverged(ctx); err != nil {
		return HealResult{}, err
	}
	owns := make([]own, 2*size)
	for i := range 2 * size {
		g, err := n.Write(ctx, i, &crdt.GroupBody{Name: fmt.Sprintf("Table %d", i)})
		if err != nil {
			return HealResult{}, err
		}
		p, err := n.Write(ctx, i, &crdt.ProposalBody{Session: session.ID, Group: g.ID, Text: fmt.Sprintf("The proposal of table %d, to be argued over", i)})
		if err != nil {
			return HealResult{}, err
		}
		owns[i] = own{g.ID, p.ID}
	}
	if err := n.WaitConverged(ctx); err != nil {
		return HealResult{}, err
	}
	var base [][]byte // what every node holds before the partition
	if err := n.Node(0).Log().Iterate(ctx, func(e *crdt.Envelope) error {
		base = append(base, e.Bytes())
		return nil
	}); err != nil {
		return HealResult{}, err
	}
	if err := n.Partition(islands...); err != nil {
		return HealResult{}, err
	}

	// Each island writes its share, node by node: comments on the other
	// tables' proposals and edits of its own. Gossip is off while they are
	// written; each island's operations are then handed to all its nodes
	// at once, which is quicker than gossip and as complete.
	for i := range 2 * size {
		n.SetGossipLoss(i, 1)
	}
	missing := make([][][]byte, 2) // each island's new operations
	for k, isl := range islands {
		raws, err := writeIsland(ctx, isl, opts.OpsPerIsland, n.Node, owns)
		if err != nil {
			return HealResult{}, err
		}
		missing[k] = raws
		var mu sync.Mutex
		var wg sync.WaitGroup
		var errs []error
		for _, i := range isl {
			wg.Go(func() {
				res, err := n.Node(i).Ingest(ctx, missing[k])
				if err == nil && res.Rejected > 0 {
					err = fmt.Errorf("node %d rejected %d of its island's operations: %w", i, res.Rejected, res.FirstError)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return HealResult{}, err
		}
		if !n.Converged(isl...) {
			return HealResult{}, fmt.Errorf("island %d does not hold its own operations", k)
		}
	}
	for i := range 2 * size {
		n.SetGossipLoss(i, 0)
	}

	res := HealResult{Nodes: 2 * size, OpsPerIsland: opts.OpsPerIsland}
	if err := res.setBudget(missing, size); err != nil {
		return HealResult{}, err
	}

	stopProfile, err := startProfile(opts.Profile)
	if err != nil {
		return HealResult{}, err
	}
	s0, w0, p0 := n.ReconStats(), n.WireBytes(), n.protocolTraffic()
	start, cpu := time.Now(), cputime.Process()
	if err := n.Heal(ctx); err != nil {
		stopProfile()
		return HealResult{}, err
	}
	err = n.WaitConverged(ctx)
	res.Converge, res.ConvergeCPU = time.Since(start), cputime.Process()-cpu
	stopProfile()
	if err != nil {
		return HealResult{}, err
	}
	s1 := n.ReconStats()
	res.WireBytes = n.WireBytes() - w0
	res.Protocols = since(p0, n.protocolTraffic())
	res.ReconBytes = s1.BytesSent - s0.BytesSent
	res.ReconMsgBytes = s1.ReconMsgBytes - s0.ReconMsgBytes
	res.RequestBytes = s1.RequestBytes - s0.RequestBytes
	res.PushBytes = s1.PushBytes - s0.PushBytes
	res.Sessions = s1.Sessions - s0.Sessions
	res.OpsPushed = s1.OpsSent - s0.OpsSent
	// The floor is timed once the 50 nodes are closed: while they run,
	// their heartbeats, pings and collections share the cores with it,
	// and it measured anywhere from 4 to 15 s for the same work.
	creds := n.Node(0).Credentials()
	if err := n.Close(); err != nil {
		return HealResult{}, err
	}
	runtime.GC()
	for k := range islands {
		// Every node of island k lacked the other island's operations.
		// The median of a few: one ingest of 5,000 operations is a tenth
		// of a second, and single runs' CPU time spread by 40 %.
		var walls, cpus []time.Duration
		for range floorRuns {
			took, cpu, err := ingestFloor(ctx, creds, base, missing[1-k])
			if err != nil {
				return HealResult{}, fmt.Errorf("heal floor: %w", err)
			}
			walls, cpus = append(walls, took), append(cpus, cpu)
		}
		slices.Sort(walls)
		slices.Sort(cpus)
		res.Floor += walls[floorRuns/2] * time.Duration(size)
		res.FloorCPU += cpus[floorRuns/2] * time.Duration(size)
	}
	return res, nil
}

// startProfile starts a CPU profile into file, if one is named, and
// returns what stops it.
func startProfile(file string) (func(), error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// floorBatch is about what one reconciliation answer carries.
const floorBatch = 512

// floorRuns is how many times each floor ingest runs.
const floorRuns = 5

// ingestFloor times a fresh node, which holds base, ingesting ops: on the
// wall clock, and in CPU time (the process's: nothing else runs in it
// then).
func ingestFloor(ctx context.Context, creds crdt.Credentials, base, ops [][]byte) (wall, cpu time.Duration, err error) {
	dir, err := os.MkdirTemp("", "convene-floor-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	if err := node.Join(ctx, dir, creds, "floor"); err != nil {
		return 0, 0, err
	}
	nd, err := node.Open(ctx, node.Config{Dir: dir, Memory: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return 0, 0, err
	}
	defer nd.Close()
	if _, err := nd.Ingest(ctx, base); err != nil {
		return 0, 0, err
	}
	runtime.GC() // base's garbage is not the floor's
	start, cpu0 := time.Now(), cputime.Process()
	for lo := 0; lo < len(ops); lo += floorBatch {
		res, err := nd.Ingest(ctx, ops[lo:min(lo+floorBatch, len(ops))])
		if err != nil {
			return 0, 0, err
		}
		if res.Rejected > 0 {
			return 0, 0, fmt.Errorf("%d rejected: %w", res.Rejected, res.FirstError)
		}
	}
	return time.Since(start), cputime.Process() - cpu0, nil
}

// writeShare makes count operations on nd: edits of its own proposal (one
// in eight) and comments on a neighbour's, and returns their encodings.
// setBudget sets the byte budget of a heal from what each island wrote
// (missing[k]) and the island size: every node of the other island lacks
// them, so each costs its zstd-compressed size and 64 bytes per difference,
// once per such node.
func (r *HealResult) setBudget(missing [][][]byte, size int) error {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		return err
	}
	defer enc.Close()
	for _, raws := range missing {
		var all []byte
		for _, raw := range raws {
			all = append(all, raw...)
		}
		r.Compressed += int64(len(enc.EncodeAll(all, nil))) * int64(size)
		r.Differences += int64(len(raws) * size)
	}
	r.Budget = r.Compressed*5/4 + 64*r.Differences
	return nil
}

// own is a node's table in a heal: its group and its proposal.
type own struct{ group, proposal crdt.OpID }

// writeIsland has each node of one island write its share of ops, all
// nodes at once (comments on the next table's proposal, edits of its own),
// and returns what they wrote.
func writeIsland(ctx context.Context, isl []int, ops int, nodeAt func(int) *node.Node, owns []own) ([][]byte, error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var out [][]byte
	errs := make([]error, len(isl))
	for x, i := range isl {
		share := ops / len(isl)
		if x < ops%len(isl) {
			share++
		}
		wg.Go(func() {
			raws, err := writeShare(ctx, nodeAt(i), share, owns[i].group, owns[i].proposal, owns[(i+1)%len(owns)].proposal)
			errs[x] = err
			mu.Lock()
			out = append(out, raws...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func writeShare(ctx context.Context, nd *node.Node, count int, group, mine, theirs crdt.OpID) ([][]byte, error) {
	raws := make([][]byte, 0, count)
	head := mine
	comments := 0
	for k := range count {
		var body crdt.Body
		// An identity comments at most crdt.MaxCommentsPerIdentity times
		// on one proposal; it edits instead once it has.
		rev := k%8 == 0 || comments == crdt.MaxCommentsPerIdentity
		if rev {
			body = &crdt.RevisionBody{Proposal: mine, Group: group, Parents: []crdt.OpID{head},
				Text: fmt.Sprintf("Revision %d of this proposal: fewer cars, more trees, and benches every hundred metres", k)}
		} else {
			body = &crdt.CommentBody{Proposal: theirs, Text: fmt.Sprintf("Comment %d: agreed in principle, but who pays for it, and when?", k)}
			comments++
		}
		op, err := nd.Act(ctx, crdt.IdentityID{}, body)
		if err != nil {
			return nil, err
		}
		if rev {
			head = op.ID
		}
		raw, ok, err := nd.Stored(ctx, op.ID)
		if err != nil || !ok {
			return nil, fmt.Errorf("read back %s: %v", op.ID, err)
		}
		raws = append(raws, slices.Clone(raw))
	}
	return raws, nil
}
