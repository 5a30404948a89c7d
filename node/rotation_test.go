package node

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/convene/convene/crdt"
)

func epochOf(n *Node) uint64 { return n.ring.Newest().Epoch }

func TestRotationReachesMembersOnly(t *testing.T) {
	ctx := context.Background()
	founder, _ := initNode(t, false)
	guestDir := t.TempDir()
	if err := Join(ctx, guestDir, founder.Credentials(), "guest"); err != nil {
		t.Fatal(err)
	}
	guest := openNode(t, guestDir, false)
	act(t, guest, &crdt.IdentityBody{Name: "guest"})
	ingest(t, founder, raws(t, guest))
	ingest(t, guest, raws(t, founder))

	if _, err := guest.Rotate(ctx, nil); !errors.Is(err, crdt.ErrForbidden) {
		t.Fatalf("a member rotates: %v", err)
	}
	if _, err := founder.Rotate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if epochOf(founder) != 1 {
		t.Fatalf("founder at epoch %d after rotating", epochOf(founder))
	}
	// Written after the rotation: sealed under epoch 1.
	after := act(t, founder, &crdt.SessionBody{Title: "After", Cap: 3})

	// Before the rotation arrives, epoch 1 is unknown: refused, not
	// the sender's fault, and not remembered as refused.
	var late [][]byte
	for _, raw := range raws(t, founder) {
		if e, err := crdt.DecodeEnvelope(raw); err == nil && e.Epoch == 1 {
			late = append(late, raw)
		}
	}
	if len(late) != 1 {
		t.Fatalf("%d operations of epoch 1", len(late))
	}
	if _, err := guest.Ingest(ctx, late); err != nil {
		t.Fatal(err)
	}
	if guest.state.Has(after.ID) {
		t.Fatal("opened an epoch it does not hold")
	}
	ingest(t, guest, raws(t, founder)) // the rotation, then the session again
	if epochOf(guest) != 1 {
		t.Fatalf("guest at epoch %d", epochOf(guest))
	}
	ingest(t, guest, raws(t, founder))
	if !guest.state.Has(after.ID) {
		t.Fatal("guest cannot read what was written after the rotation")
	}

	// The guest keeps the epoch across a restart, and seals under it.
	guest.Close()
	guest = openNode(t, guestDir, false)
	if epochOf(guest) != 1 {
		t.Fatalf("guest at epoch %d after reopening", epochOf(guest))
	}
	reply := act(t, guest, &crdt.SessionBody{Title: "Reply", Cap: 3})
	ingest(t, founder, raws(t, guest))
	if !founder.state.Has(reply.ID) {
		t.Fatal("founder cannot read the guest's epoch-1 operation")
	}

	// A laptop joining with the old invite gets everything of epoch 0,
	// the rotation included, and reads nothing after it.
	old := joinNode(t, founder.Credentials(), true)
	ingest(t, old, raws(t, founder))
	if epochOf(old) != 0 || old.state.Has(after.ID) || old.state.Has(reply.ID) {
		t.Fatal("the old invite reads the new epoch")
	}
}

func TestConcurrentRotationsConverge(t *testing.T) {
	ctx := context.Background()
	a, _ := initNode(t, true)
	b := joinNode(t, a.Credentials(), true)
	act(t, b, &crdt.IdentityBody{Name: "b"})
	ingest(t, a, raws(t, b))
	act(t, a, &crdt.FacilitatorBody{Identity: b.ids[0].ID})
	ingest(t, b, raws(t, a))

	// Apart, both rotate to epoch 1 and write under their own key.
	ra, err := a.Rotate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Rotate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	wa := act(t, a, &crdt.SessionBody{Title: "A", Cap: 3})
	wb := act(t, b, &crdt.SessionBody{Title: "B", Cap: 3})
	for range 2 { // the second round takes what the first found of an unknown key
		ingest(t, a, raws(t, b))
		ingest(t, b, raws(t, a))
	}
	for _, n := range []*Node{a, b} {
		if !n.state.Has(wa.ID) || !n.state.Has(wb.ID) {
			t.Fatal("an operation sealed under a losing key is unreadable")
		}
	}
	if a.ring.Newest() != b.ring.Newest() {
		t.Fatal("the nodes seal under different keys")
	}
	win := ra[0]
	if string(rb[0][:]) < string(win[:]) {
		win = rb[0]
	}
	k, _ := a.ring.Get(1)
	var fromWinner bool
	for _, e := range a.ring.epochs {
		if e.Rotation == win {
			fromWinner = crdt.DeriveEpoch(k.Gathering, k.Founder, 1, mustHex32(t, e.Secret)) == k
		}
	}
	if !fromWinner {
		t.Fatal("the preferred key is not the lowest rotation's")
	}
}

func mustHex32(t *testing.T, s string) (out [32]byte) {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad hex %q", s)
	}
	copy(out[:], b)
	return out
}

func TestNewInviteReadsTheNewEpoch(t *testing.T) {
	ctx := context.Background()
	founder, _ := initNode(t, true)
	if _, err := founder.Rotate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	after := act(t, founder, &crdt.SessionBody{Title: "After", Cap: 3})
	inv, err := ParseInvite(founder.Invite().String())
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Epochs) != 1 || inv.Epochs[0].Epoch != 1 {
		t.Fatalf("invite epochs %+v", inv.Epochs)
	}
	dir := t.TempDir()
	if err := Join(ctx, dir, inv.Credentials, "newcomer"); err != nil {
		t.Fatal(err)
	}
	if err := SaveInvite(dir, inv); err != nil {
		t.Fatal(err)
	}
	n := openNode(t, dir, false)
	ingest(t, n, raws(t, founder))
	ingest(t, n, raws(t, founder))
	if !n.state.Has(after.ID) || epochOf(n) != 1 {
		t.Fatal("the new invite does not read the new epoch")
	}
}

func TestInviteEpochs(t *testing.T) {
	base := Invite{Credentials: crdt.Credentials{Secret: [32]byte{1}, Founder: [32]byte{2}}, Name: "G"}
	v1 := base.String()
	rotated := base
	rotated.Epochs = []EpochSecret{{Epoch: 1, Secret: [32]byte{3}, Rotation: crdt.OpID{4}}}
	v2 := rotated.String()
	cases := []struct {
		name   string
		text   string
		epochs int
		bad    bool
	}{
		{"never rotated", v1, 0, false},
		{"rotated", v2, 1, false},
		{"version 2 with no epochs", withVersion2(t, v1, nil), 0, true},
		{"epoch 0", withVersion2(t, v1, []byte{0}), 0, true},
		{"truncated epoch", v2[:len(v2)-4], 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv, err := ParseInvite(c.text)
			if c.bad {
				if !errors.Is(err, ErrBadInvite) {
					t.Fatalf("got %v, want ErrBadInvite", err)
				}
				return
			}
			if err != nil || len(inv.Epochs) != c.epochs {
				t.Fatalf("err %v, %d epochs", err, len(inv.Epochs))
			}
			if c.epochs > 0 && inv.Epochs[0] != rotated.Epochs[0] {
				t.Fatal("epoch does not round-trip")
			}
		})
	}
}

// withVersion2 rewrites a version 1 invite as version 2 followed by tail
// (an epoch count of len(tail) entries is not written: tail is raw).
func withVersion2(t *testing.T, v1 string, tail []byte) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(v1, invitePrefix))
	if err != nil {
		t.Fatal(err)
	}
	b[0] = inviteVersion2
	if tail == nil {
		b = append(b, 0) // count 0
	} else {
		b = append(append(b, 1), tail...)
		b = append(b, make([]byte, 64)...)
	}
	return invitePrefix + base64.RawURLEncoding.EncodeToString(b)
}

func TestRemovedMemberGetsNoEpoch(t *testing.T) {
	ctx := context.Background()
	a, b, c := threeLaptops(t)
	if _, err := a.Remove(ctx, nil, b.ids[0].ID, "disrupts"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Rotate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	after := act(t, a, &crdt.SessionBody{Title: "After", Cap: 3})
	for range 2 {
		ingest(t, b, raws(t, a))
		ingest(t, c, raws(t, a))
	}
	if epochOf(b) != 0 || b.state.Has(after.ID) {
		t.Fatal("the removed member reads the new epoch")
	}
	if epochOf(c) != 1 || !c.state.Has(after.ID) {
		t.Fatal("a remaining member does not read the new epoch")
	}
}

func TestRotationWaitsForItsAuthorsAppointment(t *testing.T) {
	ctx := context.Background()
	a, b, c := threeLaptops(t)
	appoint := act(t, a, &crdt.FacilitatorBody{Identity: b.ids[0].ID})
	ingest(t, b, raws(t, a))
	if _, err := b.Rotate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// c gets everything of b's but the appointment first.
	var first, rest [][]byte
	for _, raw := range raws(t, b) {
		if e, err := crdt.DecodeEnvelope(raw); err == nil && e.ID() == appoint.ID {
			rest = append(rest, raw)
		} else {
			first = append(first, raw)
		}
	}
	ingest(t, c, first)
	if epochOf(c) != 0 {
		t.Fatal("took a rotation from a non-facilitator")
	}
	ingest(t, c, rest)
	if epochOf(c) != 1 {
		t.Fatal("the rotation was not taken once its author's appointment arrived")
	}
}

// threeLaptops is a founder and two members it knows, in memory.
func threeLaptops(t *testing.T) (a, b, c *Node) {
	t.Helper()
	a, _ = initNode(t, true)
	b = joinNode(t, a.Credentials(), true)
	c = joinNode(t, a.Credentials(), true)
	for _, n := range []*Node{b, c} {
		act(t, n, &crdt.IdentityBody{Name: "member"})
		ingest(t, a, raws(t, n))
	}
	return a, b, c
}

// TestRotationSurvivesRestart: a share received but not yet taken is not
// forgotten on restart. Two cases: the node stopped between storing the
// rotation and writing epochs.json (emulated by removing the file), and a
// rotation whose author's appointment had not arrived when the node
// stopped.
func TestRotationSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	founder, fdir := initNode(t, false)
	fac := joinNode(t, founder.Credentials(), true)
	act(t, fac, &crdt.IdentityBody{Name: "fac"})
	guestDir := t.TempDir()
	if err := Join(ctx, guestDir, founder.Credentials(), "guest"); err != nil {
		t.Fatal(err)
	}
	guest := openNode(t, guestDir, false)
	act(t, guest, &crdt.IdentityBody{Name: "guest"})
	ingest(t, founder, raws(t, guest))
	ingest(t, founder, raws(t, fac))
	appoint := act(t, founder, &crdt.FacilitatorBody{Identity: fac.ids[0].ID})
	ingest(t, fac, raws(t, founder))

	// The facilitator rotates; the guest gets the rotation but not the
	// appointment, and stops.
	rot, err := fac.Rotate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var only [][]byte
	for _, raw := range raws(t, fac) {
		if e, _ := crdt.DecodeEnvelope(raw); e != nil && e.ID() == rot[0] {
			only = append(only, raw)
		}
	}
	ingest(t, guest, only)
	if epochOf(guest) != 0 {
		t.Fatal("took a rotation of an identity it does not know as a facilitator")
	}
	guest.Close()
	guest = openNode(t, guestDir, false)
	var appointRaw [][]byte
	for _, raw := range raws(t, founder) {
		if e, _ := crdt.DecodeEnvelope(raw); e != nil && e.ID() == appoint.ID {
			appointRaw = append(appointRaw, raw)
		}
	}
	ingest(t, guest, appointRaw)
	if epochOf(guest) != 1 {
		t.Fatalf("after a restart, the appointment did not bring the waiting rotation's epoch: at %d", epochOf(guest))
	}

	// Stopped between storing the rotation and writing epochs.json.
	ingest(t, founder, raws(t, fac))
	if epochOf(founder) != 1 {
		t.Fatal("the founder did not take the rotation")
	}
	for _, n := range []*Node{founder, guest} {
		n.Close()
	}
	for _, dir := range []string{fdir, guestDir} {
		if err := os.Remove(filepath.Join(dir, epochsFile)); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{fdir, guestDir} {
		n := openNode(t, dir, false)
		if epochOf(n) != 1 {
			t.Fatalf("%s at epoch %d after a restart without epochs.json", dir, epochOf(n))
		}
		if _, err := os.Stat(filepath.Join(dir, epochsFile)); err != nil {
			t.Fatalf("epochs.json not written again: %v", err)
		}
	}
}

// TestOldInviteNodeRefusesToWrite: a laptop that joined with the old
// invite after a rotation learns of it (the rotation is sealed under the
// epoch it holds) and refuses to write what would count nowhere.
func TestOldInviteNodeRefusesToWrite(t *testing.T) {
	ctx := context.Background()
	founder, _ := initNode(t, true)
	if _, err := founder.Rotate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	oldDir := t.TempDir()
	if err := Join(ctx, oldDir, founder.Credentials(), "late"); err != nil {
		t.Fatal(err)
	}
	old := openNode(t, oldDir, false)
	ingest(t, old, raws(t, founder))
	if _, err := old.Act(ctx, crdt.IdentityID{}, &crdt.GroupBody{Name: "late"}); !errors.Is(err, ErrRotatedOut) {
		t.Fatalf("the old invite's node wrote: %v", err)
	}
	// Its name counts nowhere, and it may not announce it again: it
	// still starts.
	old.Close()
	old = openNode(t, oldDir, false)
	// Given the new epoch (as the new invite gives it), it writes again.
	old.ring.Add(founder.Keys(), true)
	if _, err := old.Act(ctx, crdt.IdentityID{}, &crdt.GroupBody{Name: "late"}); err != nil {
		t.Fatalf("with the new epoch: %v", err)
	}
}
