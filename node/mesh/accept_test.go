package mesh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"slices"
	"testing"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
	"github.com/convene/convene/node/store"
)

// lateReplica is a hub's replica that does not see what another path
// stored meanwhile until it writes: only its write knows what is new.
type lateReplica struct{ *store.Log }

func (r lateReplica) Take(ctx context.Context, raws [][]byte, _ Policy) (Ingested, error) {
	envs := make([]*crdt.Envelope, 0, len(raws))
	for _, raw := range raws {
		e, err := crdt.AcceptSealed(r.Gathering(), raw)
		if err != nil {
			return Ingested{}, err
		}
		envs = append(envs, e)
	}
	fresh, err := r.PutNew(ctx, envs)
	return Ingested{Added: len(fresh), Fresh: fresh}, err
}
func (r lateReplica) Get(ctx context.Context, items []recon.Item) ([][]byte, error) {
	return r.Log.Get(ctx, items)
}

// TestHubForwardsOnlyNew: of what a reconciliation brings, a hub gossips
// on only what it did not hold already.
func TestHubForwardsOnlyNew(t *testing.T) {
	ctx := context.Background()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := crdt.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	keys := crdt.Credentials{Secret: [32]byte{7}, Founder: signer.ID}.Derive()
	var envs []*crdt.Envelope
	for i := range 3 {
		e, _, err := keys.Seal(signer, crdt.Clock{Wall: 1_700_000_000_000 + int64(i)}, &crdt.GroupBody{Name: "g"})
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, e)
	}

	st := store.OpenMemory()
	defer st.Close()
	l, err := st.Log(ctx, keys.Gathering)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	m := &Mesh{log: slog.New(slog.DiscardHandler), cfg: Config{Hub: true}, codec: c}
	g := &gathering{id: keys.Gathering, r: lateReplica{l}, out: make(chan []byte, 16)}

	// envs[0] arrived by gossip meanwhile.
	if _, err := l.Put(ctx, envs[:1]); err != nil {
		t.Fatal(err)
	}
	batch := c.encode([][]byte{envs[0].Bytes(), envs[1].Bytes(), envs[2].Bytes(), envs[1].Bytes()})
	if err := m.receive(ctx, g, "", batch); err != nil {
		t.Fatal(err)
	}
	close(g.out)
	var got [][]byte
	for raw := range g.out {
		got = append(got, raw)
	}
	want := [][]byte{envs[1].Bytes(), envs[2].Bytes()}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("forwarded %d operations, want the %d new ones", len(got), len(want))
	}
	if n := m.Stats().OpsReceived; n != 2 {
		t.Errorf("counted %d operations received, want 2", n)
	}
}
