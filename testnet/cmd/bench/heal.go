package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/convene/convene/testnet"
)

// lanLatency is the one-way delay of the simulated LAN links: a busy venue
// Wi-Fi.
const lanLatency = time.Millisecond

// healLimit bounds the heal run: fifty nodes that do not converge must not
// hold up the other benchmarks.
const healLimit = 4 * time.Minute

// benchHeal measures convergence after a partition heals, with
// testnet.HealPartition: real nodes and meshes, every link through a
// delaying, byte-counting proxy. It runs in a child process (this program
// with -heal-child), so that a run that does not end can be killed, and
// its fifty nodes do not share the CPU with the benchmarks after it.
func benchHeal(ctx context.Context, l *lab, cfg config) section {
	sec := section{name: "heal", title: "Convergence after a partition heals"}
	opts := testnet.HealOptions{Island: 25, OpsPerIsland: 5000, Latency: lanLatency, Dir: l.dir("heal")}
	if cfg.quick {
		opts.Island, opts.OpsPerIsland = 5, 500
	}
	res, err := healInChild(ctx, opts)
	if err != nil {
		sec.err = err
		return sec
	}
	sec.rows = append(sec.rows,
		row{budget: "heal CPU", what: fmt.Sprintf("convergence in real time (%d nodes, %d ops per island, on loopback) ÷ the CPU work of verifying and applying what each node lacked (CPU time of a fresh node ingesting it, in batches of 512, timed in the same process after the run with its nodes closed, summed over the nodes)", res.Nodes, res.OpsPerIsland),
			value: fmt.Sprintf("%.2f (%s ÷ %s of CPU; the same ingests took %s on the wall with all %d cores, %.2f×; the heal itself used %s of CPU)",
				res.FloorRatio(), ms(res.Converge), ms(res.FloorCPU), ms(res.Floor), runtime.NumCPU(), res.WallRatio(), ms(res.ConvergeCPU)),
			limit: "≤ 1.50", ratio: res.FloorRatio() / 1.5},
		row{budget: "heal bytes", what: "bytes exchanged to converge",
			value: fmt.Sprintf("%s on the wire", mb(res.WireBytes)),
			limit: fmt.Sprintf("≤ %s", mb(res.Budget)), ratio: res.BudgetRatio()},
	)
	// Always: the heal's CPU beyond its floor is the senders', the
	// transport's and the links', which only the profile shows.
	top, err := pprofTop(opts.Dir + ".cpu.pprof")
	sec.addProfile("CPU profile of the heal (from lifting the partition to convergence; all the nodes and proxies in one process)", top, err)
	sec.details = append(sec.details,
		fmt.Sprintf("`testnet.HealPartition`: 2 islands of %d nodes (node.Node with an in-memory store, a real libp2p mesh on loopback), every link through a proxy that delays each direction by %s and counts the bytes; each island writes %d operations (comments and edits) while cut off, then every link is restored at once.", opts.Island, lanLatency, res.OpsPerIsland),
		fmt.Sprintf("Missing at the heal: %d (node, operation) differences, %s zstd-compressed; the byte budget is 1.25 × that + 64 B × differences = %s.", res.Differences, mb(res.Compressed), mb(res.Budget)),
		fmt.Sprintf("On the wire (every protocol and its framing): %s; of it reconciliation frames %s (%.2f of the budget); %d reconciliation sessions, %d operations pushed (%.2f × the differences).",
			mb(res.WireBytes), mb(res.ReconBytes), float64(res.ReconBytes)/float64(res.Budget), res.Sessions, res.OpsPushed, float64(res.OpsPushed)/float64(max(res.Differences, 1))),
		reconSplit(res),
		protocolSplit(res),
	)
	healGrowth(ctx, l, &sec)
	return sec
}

// healGrowth heals two single nodes at 100, 1,000 and 10,000 differences
// (each wrote half of them while apart), so that the report shows how time
// and bytes grow with the difference rather than one point.
func healGrowth(ctx context.Context, l *lab, sec *section) {
	table := "| differences | converged in | on the wire | budget | ratio | bytes per difference | sessions |\n|---|---|---|---|---|---|---|\n"
	for _, diffs := range []int{100, 1_000, 10_000} {
		opts := testnet.HealOptions{Island: 1, OpsPerIsland: diffs / 2, Latency: lanLatency, Dir: l.dir(fmt.Sprintf("heal-%d", diffs))}
		res, err := healInChild(ctx, opts)
		if err != nil {
			table += fmt.Sprintf("| %d | not measured: %s | | | | | |\n", diffs, cell(err.Error()))
			continue
		}
		table += fmt.Sprintf("| %d | %s | %.1f kB | %.1f kB | %.2f | %.0f B | %d |\n", res.Differences, ms(res.Converge), float64(res.WireBytes)/1e3, float64(res.Budget)/1e3,
			res.BudgetRatio(), float64(res.WireBytes)/float64(max(res.Differences, 1)), res.Sessions)
	}
	sec.growth = append(sec.growth, fmt.Sprintf("Two nodes (islands of one) healing after each wrote half the differences, links delayed by %s each way; the budget is 1.25 × the compressed missing operations + 64 B per difference:\n\n%s", lanLatency, table))
}

// healInChild runs healChild in a new process of this program.
func healInChild(ctx context.Context, opts testnet.HealOptions) (testnet.HealResult, error) {
	var res testnet.HealResult
	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	arg, err := json.Marshal(opts)
	if err != nil {
		return res, err
	}
	cctx, cancel := context.WithTimeout(ctx, healLimit)
	defer cancel()
	cmd := exec.CommandContext(cctx, self, "-heal-child", string(arg))
	cmd.SysProcAttr = dieWithParent()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if cctx.Err() == context.DeadlineExceeded {
		return res, fmt.Errorf("testnet.HealPartition did not return within %s (killed): the %d nodes did not converge, or took longer", healLimit, 2*opts.Island)
	}
	if err != nil {
		return res, fmt.Errorf("testnet.HealPartition: %s", strings.TrimSpace(lastLine(errb.String()+"\n"+err.Error())))
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return res, fmt.Errorf("heal child: %w", err)
	}
	return res, nil
}

// healChild is the child's side: run the heal, print its result as JSON.
func healChild(arg string) error {
	var opts testnet.HealOptions
	if err := json.Unmarshal([]byte(arg), &opts); err != nil {
		return err
	}
	// The heal alone is profiled, for the notes on a miss.
	opts.Profile = opts.Dir + ".cpu.pprof"
	res, err := testnet.HealPartition(context.Background(), opts)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

var healChildFlag = flag.String("heal-child", "", "internal: run the heal benchmark with these JSON options and print the result")

// reconSplit says where a heal's reconciliation bytes went, by frame.
func reconSplit(res testnet.HealResult) string {
	return fmt.Sprintf("Reconciliation frames by kind: messages naming the difference %s (%.0f B per difference), requests %s, operation batches %s (%.2f × the compressed missing operations).",
		mb(res.ReconMsgBytes), float64(res.ReconMsgBytes)/float64(max(res.Differences, 1)), mb(res.RequestBytes), mb(res.PushBytes), float64(res.PushBytes)/float64(max(res.Compressed, 1)))
}

// protocolSplit says what each protocol wrote on its streams during a
// heal, and what the transport added.
func protocolSplit(res testnet.HealResult) string {
	var parts []string
	var payload int64
	for _, p := range res.Protocols {
		name := "`" + p.Protocol + "`"
		if p.Protocol == "" {
			name = "protocol negotiation"
		}
		parts = append(parts, fmt.Sprintf("%s %s in %d writes", name, mb(p.Bytes), p.Writes))
		payload += p.Bytes
	}
	return fmt.Sprintf("On the wire by protocol (stream payload as written): %s; the transport's handshakes and framing (TCP payload less all of that: Noise, yamux, window updates) %s.",
		strings.Join(parts, ", "), mb(res.WireBytes-payload))
}
