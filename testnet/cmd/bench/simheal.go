package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/convene/convene/testnet"
)

// simHealLimit bounds the simulated heal in real time: the CPU work (every
// signature of 50 nodes) is real even though the clock it is timed by is not.
const simHealLimit = 20 * time.Minute

// benchSimHeal measures the partition heal on go-libp2p's simulated LAN in
// virtual time (testnet.SimHeal). testing/synctest needs a test, so it runs
// `go test ./testnet -run TestSimHeal` sized by CONVENE_SIMHEAL and reads
// the result line the test prints.
func benchSimHeal(ctx context.Context, l *lab, cfg config) section {
	sec := section{name: "simheal", title: "The heal on a simulated LAN, in virtual time"}
	island, ops := 25, 5000
	if cfg.quick {
		island, ops = 5, 500
	}
	var res testnet.HealResult
	took, err := goTestResult(ctx, "TestSimHeal", "simheal-result", simHealLimit, fmt.Sprintf("CONVENE_SIMHEAL=%d,%d", island, ops), &res)
	if err != nil {
		sec.err = err
		return sec
	}
	sec.rows = append(sec.rows,
		row{budget: "heal time", what: fmt.Sprintf("convergence after the heal (%d nodes, %d ops per island), simulated LAN, virtual time", res.Nodes, res.OpsPerIsland),
			value: ms(res.Converge), limit: "≤ 2000 ms", ratio: float64(res.Converge) / float64(2*time.Second)},
		row{budget: "heal bytes", what: "reconciliation bytes to converge, simulated LAN",
			value: mb(res.ReconBytes), limit: fmt.Sprintf("≤ %s", mb(res.Budget)), ratio: float64(res.ReconBytes) / float64(res.Budget)},
	)
	sec.details = append(sec.details,
		fmt.Sprintf("`testnet.SimHeal` under `testing/synctest` (`CONVENE_SIMHEAL=%d,%d go test ./testnet -run '^TestSimHeal$' -v`): 2 islands of %d real nodes (in-memory stores) and real meshes whose libp2p hosts speak QUIC over go-libp2p's simulated network (`x/simlibp2p`, `mesh.Config.HostOptions`), %s one way, %d Mbit/s up and down per laptop; each island writes %d operations while apart, then every cross-island pair is connected at once.",
			island, ops, island, testnet.SimLAN.Latency, testnet.SimLAN.Link.Uplink.BitsPerSecond/1_000_000, ops),
		"Virtual time moves only while every goroutine waits, so the figure is the protocol's: round trips, latency and bandwidth, with the CPU work (signatures, applying) free. The real time of the same work is the `heal` section's.",
		fmt.Sprintf("Missing at the heal: %d differences, %s zstd-compressed; %d reconciliation sessions pushed %d operations; the run took %s of real time.",
			res.Differences, mb(res.Compressed), res.Sessions, res.OpsPushed, took.Round(time.Second)),
		reconSplit(res),
	)
	return sec
}

// goTestResult runs one test of ./testnet (testing/synctest needs a test)
// with env added, within limit, and decodes into v the JSON of the line it
// printed after marker; it returns the real time the run took.
func goTestResult(ctx context.Context, test, marker string, limit time.Duration, env string, v any) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "test", "./testnet", "-run", "^"+test+"$", "-count=1", "-v", "-timeout", limit.String())
	cmd.Env = append(os.Environ(), env, "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	found := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if _, js, ok := strings.Cut(sc.Text(), marker+" "); ok {
			found = json.Unmarshal([]byte(js), v) == nil
		}
	}
	if err != nil || !found {
		tail := string(out)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return took, fmt.Errorf("go test %s: %v (found %v): %s", test, err, found, tail)
	}
	return took, nil
}
