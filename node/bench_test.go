package node

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
)

// sealComments seals n comments on proposal by a's default identity,
// with clocks in the recent past (inside the drift limit).
func sealComments(b testing.TB, a *Node, proposal crdt.OpID, n int) ([][]byte, []*crdt.Envelope) {
	b.Helper()
	signer := a.ids[0].signer
	start := time.Now().Add(-time.Hour).UnixMilli()
	raws := make([][]byte, n)
	envs := make([]*crdt.Envelope, n)
	var wg sync.WaitGroup
	per := (n + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				e, _, err := a.Keys().Seal(signer, crdt.Clock{Wall: start + int64(i/8), Logical: uint32(i % 8)},
					&crdt.CommentBody{Proposal: proposal, Text: fmt.Sprintf("comment number %d, about the proposal", i)})
				if err != nil {
					panic(err)
				}
				raws[i], envs[i] = e.Bytes(), e
			}
		})
	}
	wg.Wait()
	return raws, envs
}

// BenchmarkNodeIngest measures verified ingest into a pebble store (synced
// batches of 256) and, in the same run with the same parallelism, the raw
// ed25519 verify rate; ratio is the first over the second (the budget is
// ≥ 1.5). Run with -cpu 1 for the single-core figure.
func BenchmarkNodeIngest(b *testing.B) {
	const batch = 256
	ctx := context.Background()
	a, _ := initNode(b, false)
	_, _, proposal := workshop(b, a)
	n := joinNode(b, a.Credentials(), false)
	if _, err := n.Ingest(ctx, raws(b, a)); err != nil {
		b.Fatal(err)
	}
	ops, envs := sealComments(b, a, proposal, b.N)

	b.ResetTimer()
	start := time.Now()
	for lo := 0; lo < len(ops); lo += batch {
		res, err := n.Ingest(ctx, ops[lo:min(lo+batch, len(ops))])
		if err != nil || res.Rejected != 0 {
			b.Fatalf("%+v, %v", res, err)
		}
	}
	ingest := time.Since(start)
	b.StopTimer()

	// The single ed25519 verify rate (the standard library's) on the same
	// cores.
	start = time.Now()
	bad := atomic.Int64{}
	each(len(envs), func(i int) {
		raw := envs[i].Bytes()
		if !ed25519.Verify(envs[i].Author[:], raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]) {
			bad.Add(1)
		}
	})
	if bad.Load() != 0 {
		b.Fatalf("%d bad signatures", bad.Load())
	}
	verified := time.Since(start)

	opsPerSec := float64(b.N) / ingest.Seconds()
	verifyPerSec := float64(b.N) / verified.Seconds()
	b.ReportMetric(opsPerSec, "ops/s")
	b.ReportMetric(verifyPerSec, "verify/s")
	b.ReportMetric(opsPerSec/verifyPerSec, "ratio")
}

// BenchmarkOpen measures start-up of a node holding 100,000 operations.
func BenchmarkOpen(b *testing.B) {
	const total = 100_000
	ctx := context.Background()
	a, _ := initNode(b, false)
	_, _, proposal := workshop(b, a)
	dir := b.TempDir()
	if err := Join(ctx, dir, a.Credentials(), "guest"); err != nil {
		b.Fatal(err)
	}
	n, err := Open(ctx, Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	ops, _ := sealComments(b, a, proposal, total)
	ops = append(raws(b, a), ops...)
	for lo := 0; lo < len(ops); lo += 4096 {
		if _, err := n.Ingest(ctx, ops[lo:min(lo+4096, len(ops))]); err != nil {
			b.Fatal(err)
		}
	}
	n.Close()

	b.ResetTimer()
	for b.Loop() {
		n, err := Open(ctx, Config{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if got := n.Status().Ops; got != len(ops)+1 {
			b.Fatalf("%d ops, want %d", got, len(ops)+1)
		}
		b.StopTimer()
		n.Close()
		b.StartTimer()
	}
}
