package proc_test

// A gathering governs itself, end to end with real `convene run` processes
// on loopback (issue 10, cases a, d and e): a removed laptop writes on with
// a hand-built client and nothing of it counts; fifty fresh groups change
// no ranking in a seated gathering; a backdated proposal is flagged.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/export"
	"github.com/convene/convene/testnet/proc"
	"github.com/convene/convene/web/apiv1"
)

var (
	buildOnce sync.Once
	bin       string
	buildErr  error
)

func convene(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "convene-proc-test")
		if err != nil {
			buildErr = err
			return
		}
		bin, buildErr = proc.Build(context.Background(), dir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// laptop is one data directory and its running node.
type laptop struct {
	dir string
	p   *proc.Proc
	api *apiv1.Client
}

// room starts a founder's laptop and joined ones, all peering with the
// founder on loopback, with a short anti-entropy period.
func room(t *testing.T, joined ...string) []*laptop {
	t.Helper()
	ctx := context.Background()
	b := convene(t)
	founder := &laptop{dir: t.TempDir()}
	out, errOut, err := proc.Run(ctx, b, "init", "--data", founder.dir, "--name", "Assembly", "--identity", "Founder")
	if err != nil {
		t.Fatalf("init: %v: %s", err, errOut)
	}
	var invite string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "convene:") {
			invite = l
		}
	}
	if invite == "" {
		t.Fatalf("init printed no invite: %s", out)
	}
	flags := []string{"--ui", "127.0.0.1:0", "--no-mdns", "--listen", "/ip4/127.0.0.1/tcp/0", "--sync-interval", "200ms"}
	start := func(l *laptop, extra ...string) {
		args := append(append([]string{"run", "--data", l.dir}, flags...), extra...)
		p, err := proc.Start(ctx, proc.Config{Bin: b, Args: args, Data: l.dir})
		if err != nil {
			t.Fatal(err)
		}
		keep(t, l, p)
	}
	start(founder)
	st, err := founder.api.Status(ctx)
	if err != nil || len(st.Addrs) == 0 {
		t.Fatalf("founder's status: %+v, %v", st, err)
	}
	out2 := []*laptop{founder}
	for _, name := range joined {
		l := &laptop{dir: t.TempDir()}
		if _, errOut, err := proc.Run(ctx, b, "join", "--data", l.dir, "--identity", name, invite); err != nil {
			t.Fatalf("join: %v: %s", err, errOut)
		}
		start(l, "--peer", st.Addrs[0])
		out2 = append(out2, l)
	}
	return out2
}

// keep makes p l's process, stopped when the test ends; a failed test
// logs its stderr.
func keep(t *testing.T, l *laptop, p *proc.Proc) {
	t.Cleanup(func() {
		p.Stop(10 * time.Second)
		if t.Failed() {
			t.Logf("stderr of %s:\n%s", l.dir, p.Stderr())
		}
	})
	l.p, l.api = p, p.API
}

// eventually waits for cond (a safety net, not a timing assertion).
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	testkit.Eventually(t, time.Minute, what, cond)
}

// converge waits until every laptop holds the same operations.
func converge(t *testing.T, ls []*laptop) {
	t.Helper()
	eventually(t, "the laptops converge", func() (bool, string) {
		var ds []string
		for _, l := range ls {
			st, err := l.api.Status(context.Background())
			if err != nil {
				return false, err.Error()
			}
			ds = append(ds, st.Digest)
		}
		return len(slices.Compact(slices.Clone(ds))) == 1, strings.Join(ds, " ")
	})
}

// signers reads a laptop's identity keys from its data directory, as a
// hand-built client would, by name.
func signers(t *testing.T, dir string) map[string]crdt.Signer {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "identities.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list []struct{ Name, Seed string }
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]crdt.Signer{}
	for _, e := range list {
		seed, err := hex.DecodeString(e.Seed)
		if err != nil {
			t.Fatal(err)
		}
		s, err := crdt.NewSigner(ed25519.NewKeyFromSeed(seed))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name] = s
	}
	return out
}

// handBuilt seals operations as the hand-built client of laptop l (with
// the keys in its data directory, at the clocks it likes) and hands them
// to l's node as a bundle, from where they reach the others.
type sealed struct {
	as   crdt.Signer
	at   crdt.Clock
	body crdt.Body
}

func handBuilt(t *testing.T, l *laptop, ops ...sealed) []crdt.OpID {
	t.Helper()
	creds, _, err := node.LoadGathering(l.dir)
	if err != nil {
		t.Fatal(err)
	}
	keys := creds.Derive()
	var raws [][]byte
	var ids []crdt.OpID
	for _, o := range ops {
		env, _, err := keys.Seal(o.as, o.at, o.body)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, env.Bytes())
		ids = append(ids, env.ID())
	}
	var buf bytes.Buffer
	if err := export.WriteBundle(&buf, keys.Gathering, crdt.Clock{}, func(fn func([]byte) error) error {
		for _, r := range raws {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if res, err := l.api.Import(context.Background(), &buf); err != nil || res.Added != len(raws) {
		t.Fatalf("import of the hand-built operations: %+v, %v", res, err)
	}
	return ids
}

func clockOf(t *testing.T, c *apiv1.Client, pid crdt.OpID) crdt.Clock {
	t.Helper()
	revs, err := c.Revisions(context.Background(), pid)
	if err != nil || len(revs) == 0 {
		t.Fatalf("revisions of %s: %v", pid, err)
	}
	return crdt.Clock{Wall: revs[0].At.UnixMilli()}
}

func forbidden(err error) bool {
	var ae *apiv1.Error
	return errors.As(err, &ae) && ae.Status == http.StatusForbidden && ae.Code == apiv1.CodeForbidden
}

func texts(t *testing.T, c *apiv1.Client, sid crdt.OpID) []string {
	t.Helper()
	d, err := c.Document(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range d.Proposals {
		out = append(out, fmt.Sprintf("%s:%d", p.Text, p.Endorsements))
	}
	for _, w := range d.Waiting {
		out = append(out, "waiting "+w.Text)
	}
	return out
}

// TestRemovedLaptopCountsNowhere is case (a): a facilitator removes a
// member; the removed laptop keeps writing, a hand-built client included,
// with a backdated proposal; nothing of it appears on the others.
func TestRemovedLaptopCountsNowhere(t *testing.T) {
	ctx := context.Background()
	ls := room(t, "Bea", "Cy")
	a, b, c := ls[0], ls[1], ls[2]
	sess, err := a.api.CreateSession(ctx, apiv1.CreateSession{Title: "Water"})
	if err != nil {
		t.Fatal(err)
	}
	ga, _ := a.api.CreateGroup(ctx, apiv1.CreateGroup{Name: "Table A"})
	pa, err := a.api.Propose(ctx, sess.ID, apiv1.Propose{Group: ga.ID, Text: "Rain barrels"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "Bea sees the session", func() (bool, string) {
		_, err := b.api.Document(ctx, sess.ID)
		return err == nil, fmt.Sprint(err)
	})
	gb, err := b.api.CreateGroup(ctx, apiv1.CreateGroup{Name: "Table B"})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := b.api.Propose(ctx, sess.ID, apiv1.Propose{Group: gb.ID, Text: "Before removal"})
	if err != nil {
		t.Fatal(err)
	}
	converge(t, ls)
	bea := signers(t, b.dir)["Bea"]

	if err := a.api.Remove(ctx, apiv1.Remove{Identity: bea.ID, Reason: "disrupts the session"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Bea's laptop learns of the removal", func() (bool, string) {
		ms, err := b.api.Members(ctx)
		for _, m := range ms {
			if m.ID == bea.ID {
				return m.Removed, fmt.Sprintf("%+v", m)
			}
		}
		return false, fmt.Sprint(err)
	})
	// Its own node refuses to act for it.
	if _, err := b.api.Propose(ctx, sess.ID, apiv1.Propose{Group: gb.ID, Text: "After removal"}); !forbidden(err) {
		t.Fatalf("the removed laptop's node proposed: %v", err)
	}
	// A hand-built client writes anyway: a proposal backdated to just
	// after the one it made before, and an endorsement now.
	backdated := clockOf(t, a.api, kept.ID)
	backdated.Logical = 7
	handBuilt(t, b,
		sealed{bea, backdated, &crdt.ProposalBody{Session: sess.ID, Group: gb.ID, Text: "Backdated"}},
		sealed{bea, crdt.Clock{Wall: time.Now().UnixMilli()}, &crdt.EndorseBody{Proposal: pa.ID, Group: gb.ID, Revision: pa.ID, Endorse: true}},
		sealed{bea, crdt.Clock{Wall: time.Now().UnixMilli()}, &crdt.GroupBody{Name: "Table B2"}},
	)
	converge(t, ls)
	want := []string{"Rain barrels:1", "Before removal:1"}
	for i, l := range []*laptop{a, c} {
		if got := texts(t, l.api, sess.ID); !slices.Equal(got, want) {
			t.Errorf("laptop %d's document: %q, want %q", i, got, want)
		}
		gs, _ := l.api.Groups(ctx)
		for _, g := range gs {
			if g.Name == "Table B2" {
				t.Errorf("laptop %d shows the removed identity's new group", i)
			}
		}
	}
}

// TestSeatedGatheringFiftyGroups is case (d): in a seated gathering,
// fifty fresh groups endorsing change no ranking.
func TestSeatedGatheringFiftyGroups(t *testing.T) {
	ctx := context.Background()
	ls := room(t, "Bea", "Cy")
	a, b, c := ls[0], ls[1], ls[2]
	sess, _ := a.api.CreateSession(ctx, apiv1.CreateSession{Title: "Transit"})
	ga, _ := a.api.CreateGroup(ctx, apiv1.CreateGroup{Name: "Table A"})
	eventually(t, "Cy sees the session", func() (bool, string) {
		_, err := c.api.Document(ctx, sess.ID)
		return err == nil, fmt.Sprint(err)
	})
	gc, _ := c.api.CreateGroup(ctx, apiv1.CreateGroup{Name: "Table C"})
	converge(t, ls)
	seated := crdt.SeatingSeated
	if _, err := a.api.UpdateGathering(ctx, apiv1.UpdateGathering{Seating: &seated}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []crdt.OpID{ga.ID, gc.ID} {
		if err := a.api.Seat(ctx, g, true, nil); err != nil {
			t.Fatal(err)
		}
	}
	converge(t, ls)
	pa, err := a.api.Propose(ctx, sess.ID, apiv1.Propose{Group: ga.ID, Text: "Free buses"})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := c.api.Propose(ctx, sess.ID, apiv1.Propose{Group: gc.ID, Text: "Bike lanes"})
	if err != nil {
		t.Fatal(err)
	}
	converge(t, ls)
	if err := c.api.Endorse(ctx, pa.ID, gc.ID, true, nil); err != nil {
		t.Fatal(err)
	}
	converge(t, ls)
	want := texts(t, a.api, sess.ID)
	if !slices.Equal(want, []string{"Free buses:2", "Bike lanes:1"}) {
		t.Fatalf("ranking before: %q", want)
	}

	// Bea mints fifty groups under seventeen identities (three each at
	// most). Her node refuses to endorse for unseated groups; her
	// hand-built client endorses Bike lanes fifty times anyway.
	var ids []crdt.IdentityID
	for i := range 17 {
		li, err := b.api.CreateIdentity(ctx, apiv1.CreateIdentity{Name: fmt.Sprintf("sock %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, li.ID)
	}
	type minted struct {
		as  string
		gid crdt.OpID
	}
	var groups []minted
	for i := range 50 {
		as := ids[i/3]
		g, err := b.api.CreateGroup(ctx, apiv1.CreateGroup{Name: fmt.Sprintf("Fresh %d", i), As: &as})
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, minted{fmt.Sprintf("sock %d", i/3), g.ID})
	}
	eventually(t, "Bea sees Bike lanes", func() (bool, string) {
		_, err := b.api.Proposal(ctx, pc.ID)
		return err == nil, fmt.Sprint(err)
	})
	if err := b.api.Endorse(ctx, pc.ID, groups[0].gid, true, &ids[0]); !forbidden(err) {
		t.Fatalf("an unseated group endorsed through the node: %v", err)
	}
	keys := signers(t, b.dir)
	var ops []sealed
	for _, g := range groups {
		ops = append(ops, sealed{keys[g.as], crdt.Clock{Wall: time.Now().UnixMilli()}, &crdt.EndorseBody{Proposal: pc.ID, Group: g.gid, Revision: pc.ID, Endorse: true}})
	}
	handBuilt(t, b, ops...)
	converge(t, ls)
	for i, l := range ls {
		if got := texts(t, l.api, sess.ID); !slices.Equal(got, want) {
			t.Errorf("laptop %d's ranking after fifty fresh groups: %q, want %q", i, got, want)
		}
	}
}

// TestBackdatedProposalFlagged is case (e): a proposal stamped before one
// the facilitator's laptop already showed takes its cap slot; the
// facilitator's laptop flags it, with both times, on its API and page.
func TestBackdatedProposalFlagged(t *testing.T) {
	ctx := context.Background()
	ls := room(t, "Bea")
	a, b := ls[0], ls[1]
	one := 1
	full, _ := a.api.CreateSession(ctx, apiv1.CreateSession{Title: "One slot", Cap: &one})
	other, _ := a.api.CreateSession(ctx, apiv1.CreateSession{Title: "Other"})
	eventually(t, "Bea sees the sessions", func() (bool, string) {
		_, err := b.api.Document(ctx, full.ID)
		return err == nil, fmt.Sprint(err)
	})
	gb, _ := b.api.CreateGroup(ctx, apiv1.CreateGroup{Name: "Table B"})
	mark, err := b.api.Propose(ctx, other.ID, apiv1.Propose{Group: gb.ID, Text: "A mark in time"})
	if err != nil {
		t.Fatal(err)
	}
	converge(t, ls)
	time.Sleep(20 * time.Millisecond) // so that the next clock is past the mark's millisecond
	ga, _ := a.api.CreateGroup(ctx, apiv1.CreateGroup{Name: "Table A"})
	shown, err := a.api.Propose(ctx, full.ID, apiv1.Propose{Group: ga.ID, Text: "First here"})
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(t, a.api, full.ID); !slices.Equal(got, []string{"First here:1"}) {
		t.Fatalf("facilitator's document: %q", got)
	}
	at := clockOf(t, a.api, mark.ID)
	at.Logical = 1 << 20 // after the mark, before "First here"
	bea := signers(t, b.dir)["Bea"]
	id := handBuilt(t, b, sealed{bea, at, &crdt.ProposalBody{Session: full.ID, Group: gb.ID, Text: "Backdated"}})[0]
	converge(t, ls)
	if got := texts(t, a.api, full.ID); !slices.Equal(got, []string{"Backdated:1", "waiting First here"}) {
		t.Fatalf("the backdated proposal did not take the slot: %q", got)
	}
	flags, err := a.api.Flags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(flags) != 1 || flags[0].Op != id || flags[0].Reason != node.FlagDisplaced || flags[0].Displaced != shown.ID.String() ||
		!flags[0].Clock.Equal(time.UnixMilli(at.Wall).UTC()) || flags[0].Arrived.Before(flags[0].Clock) {
		t.Fatalf("flags: %+v", flags)
	}
	code, page, err := a.api.Do(ctx, "GET", "/facilitate", nil)
	if err != nil || code != http.StatusOK || !bytes.Contains(page, []byte(`id="flags"`)) {
		t.Fatalf("the facilitator's page: %d %v", code, err)
	}
}
