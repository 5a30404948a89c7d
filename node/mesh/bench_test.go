package mesh_test

import (
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
)

// BenchmarkReconcile measures a partition healing between two nodes that
// each wrote 5,000 operations: the time to converge, and the bytes
// exchanged against the zstd-compressed size of the missing operations
// (the budget: at most 1.25 × that, plus 64 bytes per difference).
func BenchmarkReconcile(b *testing.B) {
	const perSide = 5000
	for b.Loop() {
		b.StopTimer()
		a, creds := newGathering(b)
		c := joinNode(b, creds, "carol")
		ma, mc := replica(b, a, mesh.Config{}), replica(b, c, mesh.Config{})
		act(b, a, "a", perSide)
		act(b, c, "c", perSide)
		missing := compressedSize(b, a, c)
		diffs := a.Log().Len() + c.Log().Len()
		b.StartTimer()
		connect(b, ma, mc)
		waitConverged(b, a, c)
		waitFor(b, "sessions", func() bool { return ma.Stats().Sessions > 0 && mc.Stats().Sessions > 0 })
		b.StopTimer()
		sa, sc := ma.Stats(), mc.Stats()
		bytes := sa.BytesSent + sc.BytesSent
		b.ReportMetric(float64(bytes)/float64(missing), "bytes/compressed")
		b.ReportMetric(float64(bytes-int64(missing))/float64(diffs), "overhead-bytes/diff")
		b.ReportMetric(float64(sa.ReconSent+sc.ReconSent), "recon-msgs")
		ma.Close()
		mc.Close()
		b.StartTimer()
	}
}

// compressedSize is the zstd size of each node's operations, compressed
// per node: what the other one lacks.
func compressedSize(b *testing.B, nodes ...*node.Node) int {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	total := 0
	for _, n := range nodes {
		var all []byte
		if err := n.Log().Iterate(b.Context(), func(e *crdt.Envelope) error {
			all = append(all, e.Bytes()...)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		total += len(enc.EncodeAll(all, nil))
	}
	return total
}
