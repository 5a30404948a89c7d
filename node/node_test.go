package node

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/node/recon"
	"github.com/convene/convene/node/store"
)

func TestInitOpenActReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	creds, err := Init(ctx, dir, "Techie Congress", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{gatheringFile, identitiesFile, peerKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	if _, err := Init(ctx, dir, "again", ""); !errors.Is(err, ErrExists) {
		t.Fatalf("second Init: %v, want ErrExists", err)
	}
	if _, err := Open(ctx, Config{Dir: t.TempDir()}); !errors.Is(err, ErrNoGathering) {
		t.Fatalf("Open of an empty directory: %v, want ErrNoGathering", err)
	}

	n, err := Open(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st := n.Status()
	me := n.DefaultIdentity()
	if st.Ops != 2 || st.Name != "Techie Congress" || me.Name != "organizer" || me.ID != creds.Founder || st.PeerID == "" {
		t.Fatalf("fresh status: %+v", st)
	}
	n.View(func(s *crdt.State) {
		if !s.IsFacilitator(me.ID) {
			t.Error("the founder is not a facilitator")
		}
	})
	session, _, proposal := workshop(t, n)
	doc := documentJSON(t, n, session)
	digest := n.Status().Digest
	if got := n.Status().Ops; got != 5 {
		t.Fatalf("%d ops after three acts, want 5", got)
	}
	pk := n.PeerKey()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	n = openNode(t, dir, false)
	if got := documentJSON(t, n, session); got != doc {
		t.Fatalf("document after reopen:\n%s\nwant\n%s", got, doc)
	}
	if st := n.Status(); st.Ops != 5 || st.Digest != digest {
		t.Fatalf("after reopen: %d ops, digest %s; want 5, %s", st.Ops, st.Digest, digest)
	}
	if !n.PeerKey().Equals(pk) {
		t.Fatal("peer key changed across restarts")
	}
	// The clock continues past what is stored.
	op := act(t, n, &crdt.CommentBody{Proposal: proposal, Text: "yes"})
	var last crdt.Clock
	n.Log().Items(ctx, func(it recon.Item) error {
		if it.ID != op.ID && last.Less(it.Clock) {
			last = it.Clock
		}
		return nil
	})
	if !last.Less(op.Clock) {
		t.Fatalf("new op's clock %s is not after the stored %s", op.Clock, last)
	}
}

func TestActRefusals(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, true)
	before := n.Status()
	cases := []struct {
		name string
		as   crdt.IdentityID
		body crdt.Body
		want error
	}{
		{"unknown identity", crdt.IdentityID{9}, &crdt.GroupBody{Name: "x"}, ErrUnknownIdentity},
		{"missing session", crdt.IdentityID{}, &crdt.ProposalBody{Session: crdt.OpID{1}, Group: crdt.OpID{2}, Text: "x"}, crdt.ErrNotFound},
		{"invalid body", crdt.IdentityID{}, &crdt.GroupBody{Name: "  "}, crdt.ErrInvalid},
		{"unknown time zone", crdt.IdentityID{}, &crdt.EventBody{EventFields: crdt.EventFields{
			Title: "March", Start: "2026-05-01T10:00:00Z", End: "2026-05-01T12:00:00Z",
			Timezone: "Mars/Olympus_Mons", Status: crdt.Confirmed,
		}}, crdt.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := n.Act(ctx, tc.as, tc.body); !errors.Is(err, tc.want) {
				t.Fatalf("Act: %v, want %v", err, tc.want)
			}
			if st := n.Status(); st.Ops != before.Ops || st.Digest != before.Digest {
				t.Fatal("a refused Act stored something")
			}
		})
	}
}

// forge builds an envelope of a gathering by someone who holds only its
// hub ticket (a relay): well formed, admitted and signed, but its payload
// is not sealed with the gathering's key. It follows crdt's envelope
// encoding, version 2.
func forge(t testing.TB, tk crdt.Ticket, c crdt.Clock) []byte {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	b := []byte{crdt.EnvelopeVersion}
	b = append(b, tk.Gathering[:]...)
	b = append(b, key.Public().(ed25519.PublicKey)...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Wall))
	b = binary.BigEndian.AppendUint32(b, c.Logical)
	b = binary.AppendUvarint(b, tk.Epoch)
	sealed := make([]byte, 256)
	rand.Read(sealed)
	b = binary.AppendUvarint(b, uint64(len(sealed)))
	b = append(b, sealed...)
	mac := hmac.New(sha256.New, tk.Key[:])
	mac.Write(b)
	b = append(b, mac.Sum(nil)[:16]...)
	return append(b, ed25519.Sign(key, b)...)
}

func TestIngestRefusesBadOps(t *testing.T) {
	ctx := context.Background()
	a, _ := initNode(t, true)
	b := joinNode(t, a.Credentials(), true)
	other, _ := initNode(t, true)
	_, _, proposal := workshop(t, a)
	good := raws(t, a)

	tampered := tamper(good[2])
	changed := append([]byte(nil), good[2]...)
	changed[len(changed)-81] ^= 1 // in the sealed payload, which the admission tag covers
	author := b.ids[0].signer
	now := time.Now()
	future, _, err := a.Keys().Seal(author, crdt.Clock{Wall: now.Add(10 * time.Minute).UnixMilli()}, &crdt.CommentBody{Proposal: proposal, Text: "from the future"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		raw  []byte
		want error
	}{
		{"garbage", []byte("not an operation at all, really not"), crdt.ErrMalformed},
		{"oversized", make([]byte, crdt.MaxEnvelopeSize+1), crdt.ErrTooLarge},
		{"tampered", tampered, crdt.ErrSignature},
		{"forged by a relay", forge(t, a.Keys().Ticket(), crdt.Clock{Wall: now.UnixMilli()}), crdt.ErrSealed},
		{"forged by an outsider", forge(t, crdt.Ticket{Gathering: a.Gathering()}, crdt.Clock{Wall: now.UnixMilli()}), crdt.ErrAdmission},
		{"payload changed", changed, crdt.ErrAdmission},
		{"foreign", raws(t, other)[0], crdt.ErrForeign},
		{"future clock", future.Bytes(), crdt.ErrFuture},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := b.Status()
			res, err := b.Ingest(ctx, [][]byte{tc.raw})
			if err != nil {
				t.Fatal(err)
			}
			if res.Rejected != 1 || res.Added != 0 || !errors.Is(res.FirstError, tc.want) {
				t.Fatalf("Ingest: %+v, want one rejection with %v", res, tc.want)
			}
			if st := b.Status(); st.Ops != before.Ops || st.Digest != before.Digest {
				t.Fatal("a rejected op was stored")
			}
		})
	}

	// Good and bad mixed: the good ones go in, duplicates are counted.
	batch := append([][]byte{tampered}, good...)
	batch = append(batch, good[0])
	res, err := b.Ingest(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != len(good) || res.Rejected != 1 || res.Duplicate != 1 || !errors.Is(res.FirstError, crdt.ErrSignature) {
		t.Fatalf("mixed batch: %+v", res)
	}
	res, err = b.Ingest(ctx, good)
	if err != nil || res.Duplicate != len(good) || res.Added != 0 {
		t.Fatalf("ingest again: %+v, %v; want all duplicates", res, err)
	}
}

// TestConverge: two nodes of one gathering act apart, then exchange their
// operations in either order; they end with the same set and document.
func TestConverge(t *testing.T) {
	ctx := context.Background()
	a, _ := initNode(t, false)
	b := joinNode(t, a.Credentials(), false)
	session, group, proposal := workshop(t, a)
	if _, err := b.Ingest(ctx, raws(t, a)); err != nil {
		t.Fatal(err)
	}
	// Apart: both edit the same proposal, and b starts its own group.
	act(t, a, &crdt.RevisionBody{Proposal: proposal, Group: group, Text: "Rain barrels on every roof", Parents: []crdt.OpID{proposal}})
	bg := act(t, b, &crdt.GroupBody{Name: "Table 2"}).ID
	act(t, b, &crdt.ProposalBody{Session: session, Group: bg, Text: "Fix the leaks first"})
	act(t, b, &crdt.EndorseBody{Proposal: proposal, Group: bg, Revision: proposal, Endorse: true})

	ra, rb := raws(t, a), raws(t, b)
	if _, err := a.Ingest(ctx, rb); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Ingest(ctx, ra); err != nil {
		t.Fatal(err)
	}
	sa, sb := a.Status(), b.Status()
	if sa.Ops != sb.Ops || sa.Digest != sb.Digest {
		t.Fatalf("a has %d ops (%s), b %d (%s)", sa.Ops, sa.Digest, sb.Ops, sb.Digest)
	}
	if da, db := documentJSON(t, a, session), documentJSON(t, b, session); da != db {
		t.Fatalf("documents differ:\n%s\n%s", da, db)
	}
	if sa.Name != "Techie Congress" || sb.Name != sa.Name {
		t.Fatalf("names: %q, %q", sa.Name, sb.Name)
	}
}

func TestHubReplica(t *testing.T) {
	ctx := context.Background()
	a, _ := initNode(t, true)
	workshop(t, a)
	hubStore := store.OpenMemory()
	defer hubStore.Close()
	l, err := hubStore.Log(ctx, a.Gathering())
	if err != nil {
		t.Fatal(err)
	}
	hub := NewHubReplica(l, a.Keys().Ticket(), time.Now)
	all := raws(t, a)
	res, err := hub.Take(ctx, append(all, all[0]), mesh.KeepGood)
	if err != nil || res.Added != len(all) || len(res.Fresh) != len(all) || res.Duplicate != 1 {
		t.Fatalf("Take: %+v, %v", res, err)
	}
	if res, err := hub.Take(ctx, all[:1], mesh.KeepGood); err != nil || res.Duplicate != 1 || res.Added != 0 {
		t.Fatalf("Take of a stored op: %+v, %v; want a duplicate", res, err)
	}
	other, _ := initNode(t, true)
	if res, _ := hub.Take(ctx, raws(t, other)[:1], mesh.KeepGood); res.Bad != 1 || !errors.Is(res.BadErr, crdt.ErrForeign) {
		t.Fatalf("Take of a foreign op: %+v, want ErrForeign", res)
	}
	// At the door, like members: an outsider who knows the id, and a
	// clock too far ahead.
	now := time.Now()
	before := hub.in.verified.Load()
	stranger := forge(t, crdt.Ticket{Gathering: a.Gathering()}, crdt.Clock{Wall: now.UnixMilli()})
	if res, _ := hub.Take(ctx, [][]byte{stranger}, mesh.KeepGood); res.Bad != 1 || !errors.Is(res.BadErr, crdt.ErrAdmission) {
		t.Fatalf("Take of an outsider's op: %+v, want ErrAdmission", res)
	}
	ahead := forge(t, a.Keys().Ticket(), crdt.Clock{Wall: now.Add(time.Hour).UnixMilli()})
	if res, _ := hub.Take(ctx, [][]byte{ahead}, mesh.KeepGood); res.Added != 0 || !errors.Is(res.FirstError, crdt.ErrFuture) {
		t.Fatalf("Take of an op an hour ahead: %+v, want ErrFuture", res)
	}
	if got := hub.in.verified.Load() - before; got != 0 {
		t.Fatalf("%d signature checks at the door, want 0", got)
	}
	// A relay cannot read, but cannot be fooled by signatures either; what
	// it stores is what the members made.
	var hubDigest string
	hub.ReadIndex(func(ix *recon.Index) { hubDigest = ix.Digest() })
	if hubDigest != a.Status().Digest {
		t.Fatal("hub and member digests differ")
	}
	// A newcomer fed only by the hub converges.
	b := joinNode(t, a.Credentials(), true)
	var items []recon.Item
	l.Items(ctx, func(it recon.Item) error { items = append(items, it); return nil })
	got, err := hub.Get(ctx, items)
	if err != nil || len(got) != len(items) {
		t.Fatalf("Get: %d, %v", len(got), err)
	}
	if res, err := b.Ingest(ctx, got); err != nil || res.Rejected != 0 {
		t.Fatalf("Ingest from the hub: %+v, %v", res, err)
	}
	if _, err := a.Ingest(ctx, raws(t, b)); err != nil {
		t.Fatal(err)
	}
	if a.Status().Digest != b.Status().Digest {
		t.Fatal("did not converge through the hub")
	}
	// An operation with a good tag, signed by a key of its own, is stored
	// (the hub cannot read it: only a holder of the ticket can make one);
	// one whose signature is broken is the sender's fault.
	outsider := forge(t, a.Keys().Ticket(), crdt.Clock{Wall: time.Now().UnixMilli()})
	tampered := tamper(all[1])
	res, err = hub.Take(ctx, [][]byte{tampered, outsider}, mesh.KeepGood)
	if err != nil || res.Added != 1 || res.Bad != 1 || res.Forged == nil {
		t.Fatalf("Take of a forgery and an outsider's op: %+v, %v", res, err)
	}
	if res, _ := hub.Take(ctx, [][]byte{outsider}, mesh.KeepGood); res.Duplicate != 1 {
		t.Fatalf("Take of the outsider's op again: %+v", res)
	}
}

// TestReplicaTake: the mesh's way in (Take) applies and notifies like
// Ingest.
func TestReplicaTake(t *testing.T) {
	ctx := context.Background()
	a, _ := initNode(t, true)
	session, _, _ := workshop(t, a)
	b := joinNode(t, a.Credentials(), true)
	ch, cancel := b.Subscribe()
	defer cancel()
	all := raws(t, a)
	if res, err := b.Take(ctx, append(all, all[0]), mesh.KeepGood); err != nil || res.Added != len(all) || len(res.Fresh) != len(all) {
		t.Fatalf("Take: %+v, %v; want %d added", res, err, len(all))
	}
	if res, err := b.Take(ctx, all, mesh.KeepGood); err != nil || res.Added != 0 || res.Duplicate != len(all) {
		t.Fatalf("Take again: %+v, %v; want all duplicates", res, err)
	}
	sawSession := false
	for range all {
		c := <-ch
		if c.Local {
			t.Fatal("a replicated change is marked local")
		}
		sawSession = sawSession || (c.Kind == crdt.KindProposal && c.Session == session)
	}
	if !sawSession {
		t.Fatal("no change named the proposal's session")
	}
	if documentJSON(t, a, session) != documentJSON(t, b, session) {
		t.Fatal("documents differ")
	}
}

func TestCreateIdentity(t *testing.T) {
	ctx := context.Background()
	n, dir := initNode(t, false)
	li, err := n.CreateIdentity(ctx, "family")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.CreateIdentity(ctx, ""); !errors.Is(err, crdt.ErrInvalid) {
		t.Fatalf("CreateIdentity with no name: %v", err)
	}
	if _, err := n.Act(ctx, li.ID, &crdt.GroupBody{Name: "Cousins"}); err != nil {
		t.Fatal(err)
	}
	n.Close()
	n = openNode(t, dir, false)
	ids := n.Identities()
	if len(ids) != 2 || !ids[0].Default || ids[0].Name != "organizer" || ids[1] != li {
		t.Fatalf("identities after reopen: %+v", ids)
	}
	n.View(func(s *crdt.State) {
		if id, ok := s.Identity(li.ID); !ok || id.Name != "family" {
			t.Fatalf("state identity: %+v, %v", id, ok)
		}
	})
}

// TestSubscriberOverflow: a subscriber that does not read loses changes
// but is told to resync, and the node never waits for it.
func TestSubscriberOverflow(t *testing.T) {
	n, _ := initNode(t, true)
	slow, cancelSlow := n.Subscribe()
	defer cancelSlow()
	fast, cancelFast := n.Subscribe()
	defer cancelFast()
	const total = subscriberBuffer + 50
	got := make(chan int)
	go func() {
		k := 0
		for c := range fast {
			if c.Op.IsZero() {
				t.Error("a reading subscriber was told to resync")
			}
			if k++; k == total {
				break
			}
		}
		got <- k
	}()
	var last crdt.OpID
	for i := 0; i < total; i++ {
		last = act(t, n, &crdt.IdentityBody{Name: "g"}).ID
	}
	<-got // the fast subscriber may still lag; its reader got everything

	var seen []Change
	for len(slow) > 0 {
		seen = append(seen, <-slow)
	}
	if len(seen) != subscriberBuffer || !seen[len(seen)-1].Op.IsZero() {
		t.Fatalf("slow subscriber holds %d changes, last %+v; want %d ending in a resync", len(seen), seen[len(seen)-1], subscriberBuffer)
	}
	for _, c := range seen[:len(seen)-1] {
		if c.Op.IsZero() || !c.Local || c.Kind != crdt.KindIdentity {
			t.Fatalf("unexpected change %+v", c)
		}
	}
	// Once it has read, it gets new changes again.
	next := act(t, n, &crdt.GroupBody{Name: "after"}).ID
	if c := <-slow; c.Op != next || c.Op == last {
		t.Fatalf("after resync got %+v, want %s", c, next)
	}
}

// TestStartFromSnapshot: a node starts from the snapshot saved at Close,
// replays operations stored after it (as after a crash), and rebuilds from
// the log when the snapshot is damaged.
func TestStartFromSnapshot(t *testing.T) {
	ctx := context.Background()
	n, dir := initNode(t, false)
	_, _, proposal := workshop(t, n)
	keys, signer := n.Keys(), n.ids[0].signer
	n.Close()

	// Operations that reach the log without a snapshot being written.
	extra, _, err := keys.Seal(signer, crdt.Clock{Wall: time.Now().UnixMilli() + 1000}, &crdt.CommentBody{Proposal: proposal, Text: "late"})
	if err != nil {
		t.Fatal(err)
	}
	withStore(t, dir, keys.Gathering, func(l *store.Log) {
		if _, err := l.Put(ctx, []*crdt.Envelope{extra}); err != nil {
			t.Fatal(err)
		}
	})
	check := func(n *Node) {
		t.Helper()
		if st := n.Status(); st.Ops != 6 {
			t.Fatalf("%d ops, want 6", st.Ops)
		}
		n.View(func(s *crdt.State) {
			if !s.Has(extra.ID()) || s.Len() != 6 {
				t.Fatalf("state has %d ops (late one: %v), want 6", s.Len(), s.Has(extra.ID()))
			}
		})
		op := act(t, n, &crdt.CommentBody{Proposal: proposal, Text: "after"})
		if !extra.Clock.Less(op.Clock) {
			t.Fatal("the clock did not move past the replayed operation")
		}
	}
	n = openNode(t, dir, false)
	check(n)
	n.Close()

	// A snapshot damaged anywhere is refused, and the state rebuilt.
	path := filepath.Join(dir, snapshotFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	founder := n.creds.Founder
	for _, cut := range []int{1, 5, len(good) / 2} {
		if err := os.WriteFile(path, good[:len(good)-cut], 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := loadSnapshot(dir, founder); err == nil {
			t.Errorf("snapshot cut %d bytes short loaded without an error", cut)
		}
	}
	for _, at := range []int{0, 9, 20, len(good) / 2, len(good) - 1} {
		damaged := slices.Clone(good)
		damaged[at] ^= 0x40
		if err := os.WriteFile(path, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := readSnapshot(dir); err == nil {
			t.Errorf("snapshot damaged at byte %d read without an error", at)
		}
		if _, _, err := loadSnapshot(dir, founder); err == nil {
			t.Errorf("snapshot damaged at byte %d loaded without an error", at)
		}
		n = openNode(t, dir, false)
		n.View(func(s *crdt.State) {
			if s.Len() != 7 {
				t.Fatalf("rebuilt state has %d ops, want 7", s.Len())
			}
		})
		n.Close()
	}
}

// TestSnapshotOfAnotherLog: a snapshot holding operations the log lacks
// (the store replaced from an older copy) is not used: the state shows
// only what the log holds.
func TestSnapshotOfAnotherLog(t *testing.T) {
	n, dir := initNode(t, false)
	workshop(t, n)
	g := n.Gathering()
	n.Close()
	old := t.TempDir()
	if err := os.CopyFS(old, os.DirFS(filepath.Join(dir, storeDir))); err != nil {
		t.Fatal(err)
	}
	n = openNode(t, dir, false)
	act(t, n, &crdt.GroupBody{Name: "only in the snapshot"})
	n.Close()
	if err := os.RemoveAll(filepath.Join(dir, storeDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, storeDir), os.DirFS(old)); err != nil {
		t.Fatal(err)
	}
	var want int
	withStore(t, dir, g, func(l *store.Log) { want = l.Len() })
	n = openNode(t, dir, false)
	n.View(func(s *crdt.State) {
		if s.Len() != want {
			t.Fatalf("state has %d ops, the log %d", s.Len(), want)
		}
	})
}

// TestCloseSnapshot: Close saves a snapshot when the state holds
// operations the saved one lacks, and only then, so that read-only
// commands do not rewrite it; a snapshot whose log matches is loaded with
// nothing replayed.
func TestCloseSnapshot(t *testing.T) {
	n, dir := initNode(t, false)
	n.Close()
	path := filepath.Join(dir, snapshotFile)
	key, _, err := readSnapshot(dir)
	if err != nil {
		t.Fatalf("no snapshot after the first Close: %v", err)
	}
	if key.ops != 2 {
		t.Fatalf("snapshot of a log of %d ops, want 2", key.ops)
	}
	for _, tc := range []struct {
		name      string
		act       bool
		rewritten bool
	}{
		{"read only", false, false},
		{"after an operation", true, true},
	} {
		before, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		n := openNode(t, dir, false)
		if n.unsaved != 0 {
			t.Errorf("%s: %d operations replayed from a matching snapshot", tc.name, n.unsaved)
		}
		if tc.act {
			act(t, n, &crdt.GroupBody{Name: "g"})
		}
		n.Close()
		after, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := !os.SameFile(before, after); got != tc.rewritten {
			t.Errorf("%s: snapshot rewritten: %v, want %v", tc.name, got, tc.rewritten)
		}
	}
}

// TestCreateIdentityStoreFails: when the identity's operation cannot be
// stored, the node forgets the new key, in memory and on disk.
func TestCreateIdentityStoreFails(t *testing.T) {
	ctx := context.Background()
	n, dir := initNode(t, false)
	before := n.Identities()
	// A log of another gathering refuses the node's operations: a real
	// store error, after the identities file was written.
	other, err := n.st.Log(ctx, crdt.GatheringID{1})
	if err != nil {
		t.Fatal(err)
	}
	own := n.oplog
	n.oplog = other
	_, err = n.CreateIdentity(ctx, "lost")
	n.oplog = own
	if !errors.Is(err, crdt.ErrForeign) {
		t.Fatalf("CreateIdentity with a failing store: %v", err)
	}
	if got := n.Identities(); len(got) != len(before) || got[0] != before[0] {
		t.Errorf("identities after the failure: %+v, want %+v", got, before)
	}
	onDisk, err := loadIdentities(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(onDisk) != len(before) || onDisk[0].ID != before[0].ID {
		t.Errorf("%s after the failure holds %d identities, want %d", identitiesFile, len(onDisk), len(before))
	}
	if _, err := n.CreateIdentity(ctx, "kept"); err != nil {
		t.Fatalf("CreateIdentity after the failure: %v", err)
	}
}

// TestChangeSessions: every change that touches a session's document
// names the session, including edits, endorsements, comments and hides.
func TestChangeSessions(t *testing.T) {
	n, _ := initNode(t, true)
	session, group, proposal := workshop(t, n)
	ch, cancel := n.Subscribe()
	defer cancel()
	comment := act(t, n, &crdt.CommentBody{Proposal: proposal, Text: "why?"})
	rev := act(t, n, &crdt.RevisionBody{Proposal: proposal, Group: group, Text: "Rain barrels, free", Parents: []crdt.OpID{proposal}})
	act(t, n, &crdt.EndorseBody{Proposal: proposal, Group: group, Revision: rev.ID, Endorse: true})
	act(t, n, &crdt.HideBody{Target: comment.ID, Hidden: true})
	act(t, n, &crdt.HideBody{Target: rev.ID, Hidden: true})
	act(t, n, &crdt.HideBody{Target: proposal, Hidden: true})
	for i := 0; i < 6; i++ {
		c := <-ch
		if c.Session != session {
			t.Errorf("change %d (kind %v) names session %s, want %s", i, c.Kind, c.Session, session)
		}
	}
	if f := n.Freshness(); f != (Freshness{}) {
		t.Errorf("Freshness of a node without a mesh: %+v", f)
	}
}

// TestRelayGatheringsSorted: a hub lists its gatherings by id, whatever
// order they were given in.
func TestRelayGatheringsSorted(t *testing.T) {
	gs := []crdt.GatheringID{{3}, {1}, {2}}
	r, err := OpenRelay(context.Background(), RelayConfig{
		Dir:        t.TempDir(),
		Gatherings: []crdt.Ticket{{Gathering: gs[0]}, {Gathering: gs[1]}, {Gathering: gs[2]}},
		Mesh:       mesh.Config{Listen: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/0")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 3 { // map order varies between calls
		got := r.Gatherings()
		if len(got) != 3 || got[0].ID != gs[1] || got[1].ID != gs[2] || got[2].ID != gs[0] {
			t.Fatalf("Gatherings() = %+v, want by id", got)
		}
	}
}

// TestCheckZones: an event's time zone must exist and mean the same on
// every node.
func TestCheckZones(t *testing.T) {
	for _, tc := range []struct {
		tz string
		ok bool
	}{
		{"Europe/Paris", true},
		{"UTC", true},
		{"", false},
		{"Local", false},
		{"local", false},
		{"Mars/Olympus_Mons", false},
	} {
		err := checkZones(&crdt.EventUpdateBody{Set: crdt.EventPatch{Timezone: &tc.tz}})
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, crdt.ErrInvalid) {
			t.Errorf("timezone %q: %v", tc.tz, err)
		}
	}
	if err := checkZones(&crdt.EventUpdateBody{}); err != nil {
		t.Errorf("no timezone set: %v", err)
	}
}

// TestDuplicateSkipsSignatureCheck: an operation already held is answered
// as a duplicate without a signature check; a changed copy of it has
// another id and is checked in full, and refused.
func TestDuplicateSkipsSignatureCheck(t *testing.T) {
	ctx := context.Background()
	a, _ := initNode(t, true)
	workshop(t, a)
	b := joinNode(t, a.Credentials(), true)
	held := raws(t, a)
	if _, err := b.Ingest(ctx, held); err != nil {
		t.Fatal(err)
	}
	tampered := tamper(held[1])

	before := b.in.verified.Load()
	res, err := b.Ingest(ctx, held)
	if err != nil || res.Duplicate != len(held) || res.Added != 0 || res.Rejected != 0 {
		t.Fatalf("Ingest of held ops: %+v, %v; want all duplicates", res, err)
	}
	if got := b.in.verified.Load() - before; got != 0 {
		t.Fatalf("%d signature checks for duplicates, want none", got)
	}

	// A changed copy is checked once; refused again, it is remembered.
	st := b.Status()
	for range 2 {
		res, err = b.Ingest(ctx, [][]byte{tampered})
		if err != nil || res.Rejected != 1 || !errors.Is(res.FirstError, crdt.ErrSignature) {
			t.Fatalf("Ingest of a changed copy: %+v, %v; want one rejection", res, err)
		}
	}
	if got := b.in.verified.Load() - before; got != 1 {
		t.Fatalf("%d signature checks for a changed copy sent twice, want 1", got)
	}
	if now := b.Status(); now.Ops != st.Ops || now.Digest != st.Digest {
		t.Fatal("a changed copy was stored")
	}
}

// TestOneCheckPerDistinctOp: however often a batch repeats an operation,
// and whichever path it takes, the operation costs one signature check;
// one refused is refused again without one.
func TestOneCheckPerDistinctOp(t *testing.T) {
	ctx := context.Background()
	a, _ := initNode(t, true)
	workshop(t, a)
	all := raws(t, a)
	forged := tamper(all[1])
	outsider := forge(t, a.Keys().Ticket(), crdt.Clock{Wall: time.Now().UnixMilli()})
	copies := func(raw []byte) [][]byte { return slices.Repeat([][]byte{raw}, 4096) }
	for _, tc := range []struct {
		name   string
		pol    mesh.Policy
		raw    []byte
		check  func(r IngestResult) bool
		checks int64 // the second time
	}{
		{"new, by gossip", mesh.AllOrNothing, all[2], func(r IngestResult) bool { return r.Added == 1 && r.Duplicate == 4095 }, 0},
		{"new, by reconciliation", mesh.KeepGood, all[3], func(r IngestResult) bool { return r.Added == 1 && r.Duplicate == 4095 }, 0},
		{"forged", mesh.AllOrNothing, forged, func(r IngestResult) bool { return r.Added == 0 && r.Bad == 1 && r.Forged != nil }, 0},
		{"a ticket holder's", mesh.KeepGood, outsider, func(r IngestResult) bool { return r.Added == 0 && r.Bad == 0 && r.Unreadable == 1 }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := joinNode(t, a.Credentials(), true)
			res, err := b.Take(ctx, copies(tc.raw), tc.pol)
			if err != nil || !tc.check(res) {
				t.Fatalf("Take: %+v, %v", res, err)
			}
			if got := b.in.verified.Load(); got != 1 {
				t.Fatalf("%d signature checks for 4096 copies of one operation, want 1", got)
			}
			again, err := b.Take(ctx, copies(tc.raw), tc.pol)
			if err != nil || again.Added != 0 || again.Unreadable != 0 || again.Bad != res.Bad {
				t.Fatalf("Take again: %+v, %v", again, err)
			}
			if got := b.in.verified.Load(); got != 1 {
				t.Fatalf("%d signature checks after sending it again, want still 1", got)
			}
		})
	}
}

// TestAllOrNothing: a gossip batch with one forged operation stores
// nothing; the same batch by reconciliation keeps the good ones.
func TestAllOrNothing(t *testing.T) {
	ctx := context.Background()
	a, _ := initNode(t, true)
	workshop(t, a)
	all := raws(t, a)
	forged := tamper(all[1])
	batch := append(slices.Clone(all), forged)
	for _, tc := range []struct {
		pol   mesh.Policy
		added int
	}{
		{mesh.AllOrNothing, 0},
		{mesh.KeepGood, len(all)},
	} {
		b := joinNode(t, a.Credentials(), true)
		before := b.Status().Ops
		res, err := b.Take(ctx, batch, tc.pol)
		if err != nil || res.Added != tc.added || res.Bad != 1 {
			t.Fatalf("policy %d: %+v, %v; want %d added, 1 bad", tc.pol, res, err, tc.added)
		}
		if got := b.Status().Ops - before; got != tc.added {
			t.Fatalf("policy %d: %d stored, want %d", tc.pol, got, tc.added)
		}
	}
}

// TestIngestPipelined: an input of many chunks, with bad operations and
// duplicates spread over it, is stored and applied whole, as one call
// would.
func TestIngestPipelined(t *testing.T) {
	ctx := context.Background()
	a, _ := initNode(t, false)
	_, _, proposal := workshop(t, a)
	signer := a.ids[0].signer
	start := time.Now().Add(-time.Hour).UnixMilli()
	raw := raws(t, a)
	comments := ingestChunk + 7 // over two chunks
	for i := range comments {
		e, _, err := a.Keys().Seal(signer, crdt.Clock{Wall: start + int64(i)}, &crdt.CommentBody{Proposal: proposal, Text: fmt.Sprintf("comment %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, e.Bytes())
	}
	tampered := tamper(raw[len(raw)-1])
	input := append(slices.Clone(raw), raw[3], tampered, raw[len(raw)/2])

	b := joinNode(t, a.Credentials(), false)
	res, err := b.Ingest(ctx, input)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != len(raw) || res.Duplicate != 2 || res.Rejected != 1 {
		t.Fatalf("Ingest: %+v; want %d added, 2 duplicates, 1 rejected", res, len(raw))
	}
	if got, want := b.Status().Ops, len(raw)+1; got != want { // and b's identity
		t.Fatalf("%d ops stored, want %d", got, want)
	}
	b.View(func(s *crdt.State) {
		if got := s.Len(); got != len(raw)+1 {
			t.Fatalf("%d ops applied, want %d", got, len(raw)+1)
		}
	})
}
