package export

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
)

// bombCopies is how many copies of one operation a bundle bomb holds.
const bombCopies = 200_000

// bomb is a bundle of gathering g holding raw bombCopies times: a few KB
// on disk.
func bomb(tb testing.TB, g crdt.GatheringID, raw []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	err := WriteBundle(&buf, g, crdt.Clock{}, func(fn func(raw []byte) error) error {
		for range bombCopies {
			if err := fn(raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// bombNodes makes a node with one comment to copy and a member that lacks
// it.
func bombNodes(tb testing.TB) (raw []byte, to *node.Node) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	creds, err := node.Init(ctx, dir, "Techie Congress", "")
	if err != nil {
		tb.Fatal(err)
	}
	a, err := node.Open(ctx, node.Config{Dir: dir, Memory: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	op, err := a.Act(ctx, crdt.IdentityID{}, &crdt.GroupBody{Name: "Table 1"})
	if err != nil {
		tb.Fatal(err)
	}
	raw, _, err = a.Stored(ctx, op.ID)
	if err != nil {
		tb.Fatal(err)
	}
	bdir := tb.TempDir()
	if err := node.Join(ctx, bdir, creds, "bob"); err != nil {
		tb.Fatal(err)
	}
	b, err := node.Open(ctx, node.Config{Dir: bdir, Memory: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return raw, b
}

// TestBundleBomb: a bundle of 200,000 copies of one operation is read as
// one operation; imported once it adds it, and again it adds nothing. A
// bomb of a forged operation is refused whole.
func TestBundleBomb(t *testing.T) {
	raw, b := bombNodes(t)
	g := b.Keys().Gathering
	bundle := bomb(t, g, raw)
	raws, err := ReadBundle(bytes.NewReader(bundle), g, 0)
	if err != nil || len(raws) != 1 || !bytes.Equal(raws[0], raw) {
		t.Fatalf("ReadBundle of %d copies: %d operations, %v; want the one", bombCopies, len(raws), err)
	}
	for i, want := range []int{1, 0} {
		res := importInto(t, b, bundle)
		if res.Added != want || res.Rejected != 0 {
			t.Fatalf("import %d: %+v, want %d added", i, res, want)
		}
	}
	forged := bytes.Clone(raw)
	forged[len(forged)-1] ^= 1
	_, err = Import(context.Background(), b, bytes.NewReader(bomb(t, g, forged)), 0, time.Now())
	if !errors.Is(err, ErrBadBundle) || !errors.Is(err, crdt.ErrSignature) {
		t.Fatalf("import of a forged bomb: %v, want ErrBadBundle and ErrSignature", err)
	}
}

// BenchmarkImportBundleBomb measures the work of importing a bundle of
// 200,000 copies of one operation the node already holds (issue 9: it
// took 20.6 s of CPU and 144 MB).
func BenchmarkImportBundleBomb(b *testing.B) {
	raw, n := bombNodes(b)
	bundle := bomb(b, n.Keys().Gathering, raw)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Import(context.Background(), n, bytes.NewReader(bundle), 0, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(bundle)), "bundle-bytes")
}
