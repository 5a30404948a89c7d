package testnet

import (
	"context"
	"runtime"
	"testing"
)

// A small partition heal, as the benchmark runs it: both islands' writes
// reach every node, by reconciliation.
func TestHealPartition(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	res, err := HealPartition(ctx, HealOptions{Island: 3, OpsPerIsland: 300, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Differences != 2*3*300 {
		t.Errorf("%d differences, want %d", res.Differences, 2*3*300)
	}
	if res.OpsPushed < 300 || res.ReconBytes == 0 || res.WireBytes < res.ReconBytes {
		t.Errorf("the heal was not carried by reconciliation: %v", res)
	}
	// Each missing operation moves (close to) once, however many sessions
	// found it missing: the claims and the learning gate.
	if float64(res.OpsPushed) > 1.3*float64(res.Differences) {
		t.Errorf("%d operations pushed for %d differences (limit 1.3×): %v", res.OpsPushed, res.Differences, res)
	}
	if res.Floor <= 0 || (runtime.GOOS == "linux" && (res.FloorCPU <= 0 || res.ConvergeCPU <= 0)) {
		t.Errorf("the heal's CPU floor was not measured: %v", res)
	}
}

// BenchmarkPartitionHeal is the budget's case: 2 islands of 25 nodes,
// 5,000 operations written in each during the partition, then healed.
func BenchmarkPartitionHeal(b *testing.B) {
	for b.Loop() {
		res, err := HealPartition(context.Background(), HealOptions{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.Log(res)
		b.ReportMetric(res.Converge.Seconds(), "s-converge")
		b.ReportMetric(float64(res.WireBytes), "wire-B")
		b.ReportMetric(float64(res.ReconBytes), "recon-B")
		b.ReportMetric(float64(res.Budget), "budget-B")
		b.ReportMetric(res.BudgetRatio(), "x-budget")
	}
}
