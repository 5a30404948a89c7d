package recon

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

const benchItems = 1_000_000

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkIndexInsert builds an index of 1M items inserted in random
// order; an op is the whole build.
func BenchmarkIndexInsert(b *testing.B) {
	items := randItems(rand.New(rand.NewPCG(1, 1)), benchItems)
	b.ResetTimer()
	var bytes float64
	for range b.N {
		b.StopTimer()
		before := heapInUse()
		ix := NewIndex()
		b.StartTimer()
		for _, it := range items {
			ix.Insert(it)
		}
		b.StopTimer()
		bytes = float64(heapInUse()-before) / benchItems
		runtime.KeepAlive(ix)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchItems, "ns/item")
	b.ReportMetric(bytes, "bytes/item")
}

// BenchmarkIndexLoad loads 1M sorted items.
func BenchmarkIndexLoad(b *testing.B) {
	items := sortedCopy(randItems(rand.New(rand.NewPCG(1, 1)), benchItems))
	b.ResetTimer()
	var bytes float64
	for range b.N {
		b.StopTimer()
		before := heapInUse()
		ix := NewIndex()
		b.StartTimer()
		if err := ix.Load(items); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		bytes = float64(heapInUse()-before) / benchItems
		runtime.KeepAlive(ix)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchItems, "ns/item")
	b.ReportMetric(bytes, "bytes/item")
}

// BenchmarkIndexFingerprint fingerprints random ranges of a 1M index.
func BenchmarkIndexFingerprint(b *testing.B) {
	items := sortedCopy(randItems(rand.New(rand.NewPCG(1, 1)), benchItems))
	ix := NewIndex()
	if err := ix.Load(items); err != nil {
		b.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(2, 2))
	b.ResetTimer()
	for range b.N {
		i := rnd.IntN(benchItems - 10000)
		ix.Fingerprint(BoundAt(items[i]), BoundAt(items[i+rnd.IntN(10000)]))
	}
}

// BenchmarkReconcile runs whole sessions between two sets of 100k items
// that differ by 1% (500 items only on each side).
func BenchmarkReconcile(b *testing.B) {
	for _, c := range []struct {
		name   string
		common int
		only   int
	}{
		{"100k-1%", 100_000, 500},
		{"100k-10", 100_000, 5},
		{"100k-same", 100_000, 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			a, bb := pair(rand.New(rand.NewPCG(5, 5)), c.common, c.only, c.only)
			ia, ib := indexOf(b, a), indexOf(b, bb)
			b.ResetTimer()
			var s session
			for range b.N {
				s = runSession(b, ia, ib, Options{}, Options{})
			}
			b.ReportMetric(float64(s.bytes), "bytes")
			b.ReportMetric(float64(s.roundTrips), "roundtrips")
			if d := 2 * c.only; d > 0 {
				b.ReportMetric(float64(s.bytes)/float64(d), "bytes/diff")
			}
		})
	}
}
