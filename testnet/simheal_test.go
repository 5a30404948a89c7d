package testnet_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"testing/synctest"

	"github.com/convene/convene/testnet"
)

// TestSimHeal: two islands that wrote apart converge on the simulated LAN,
// in virtual time, each missing operation moved about once. Small by default; CONVENE_SIMHEAL="ISLAND,OPS" sizes it
// (the benchmark runs it at 25,5000 and reads the line it prints).
func TestSimHeal(t *testing.T) {
	opts := testnet.HealOptions{Island: 3, OpsPerIsland: 120}
	if v := os.Getenv("CONVENE_SIMHEAL"); v != "" {
		if _, err := fmt.Sscanf(v, "%d,%d", &opts.Island, &opts.OpsPerIsland); err != nil {
			t.Fatalf("CONVENE_SIMHEAL=%q: %v", v, err)
		}
	}
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		res, err := testnet.SimHeal(t.Context(), dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		t.Logf("simheal-result %s", b)
		t.Log(res)
		// Every node lacked the other island's operations; each moved
		// (close to) once, however many sessions found it missing.
		if want := int64(2 * opts.Island * opts.OpsPerIsland); res.Differences != want {
			t.Errorf("%d differences, want %d", res.Differences, want)
		}
		if float64(res.OpsPushed) > 1.3*float64(res.Differences) {
			t.Errorf("%d operations pushed for %d differences (limit 1.3×)", res.OpsPushed, res.Differences)
		}
	})
}
