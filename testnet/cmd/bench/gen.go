package main

import (
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/store"
)

// workload is a gathering's worth of sealed operations in a realistic mix:
// many sessions, groups with a scribe each, proposals revised in turn,
// endorsements of current revisions, comments, events and registrations.
type workload struct {
	creds crdt.Credentials
	keys  crdt.Keys
	envs  []*crdt.Envelope // in clock order
	setup int              // envs[:setup] are what the rest refers to: identities, groups, sessions, events, first proposals
	hot   []crdt.OpID      // sessions by most recent activity, most recent first
}

func (w *workload) raws(envs []*crdt.Envelope) [][]byte {
	out := make([][]byte, len(envs))
	for i, e := range envs {
		out[i] = e.Bytes()
	}
	return out
}

const authors = 50

// step is one planned bulk operation.
type step struct {
	kind   crdt.Kind
	author int // index into the authors
	target int // proposal index, or event index for participations
	other  int // the endorsing author's index
	flag   bool
	words  int
}

// generate seals total operations of a new gathering, stamped in the recent
// past (ending a minute ago) so that nodes accept them. Sealing runs on all
// cores: each worker owns a share of the proposals, so that every revision
// names its proposal's current head.
func generate(total int, seed uint64) (*workload, error) {
	founder, err := newSigner()
	if err != nil {
		return nil, err
	}
	w := &workload{creds: crdt.Credentials{Founder: founder.ID}}
	if _, err := crand.Read(w.creds.Secret[:]); err != nil {
		return nil, err
	}
	w.keys = w.creds.Derive()
	signers := make([]crdt.Signer, authors)
	for i := range signers {
		if signers[i], err = newSigner(); err != nil {
			return nil, err
		}
	}
	r := rand.New(rand.NewPCG(seed, 1))
	words := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(vocabulary[r.IntN(len(vocabulary))])
		}
		return b.String()
	}

	sessions := max(4, total/2000)
	events := max(4, total/5000)
	first := sessions * 4 // proposals made before the bulk
	w.envs = make([]*crdt.Envelope, 0, total)
	base := time.Now().Add(-time.Minute).UnixMilli() - int64(total/16) - 1
	clock := func(i int) crdt.Clock { return crdt.Clock{Wall: base + int64(i/16), Logical: uint32(i % 16)} }

	// Sealed in order, each job knowing only earlier ids.
	type job struct {
		s    crdt.Signer
		body crdt.Body
	}
	sealJobs := func(jobs []job) ([]crdt.OpID, error) {
		start := len(w.envs)
		w.envs = w.envs[:start+len(jobs)]
		ids := make([]crdt.OpID, len(jobs))
		err := parallel(len(jobs), func(i int) error {
			e, op, err := w.keys.Seal(jobs[i].s, clock(start+i), jobs[i].body)
			w.envs[start+i], ids[i] = e, op.ID
			return err
		})
		return ids, err
	}

	// Identities and one group per author, who is its scribe.
	jobs := []job{{founder, &crdt.GatheringBody{Name: "Bench gathering"}}}
	for i, s := range signers {
		jobs = append(jobs, job{s, &crdt.IdentityBody{Name: fmt.Sprintf("person %d", i)}})
	}
	if _, err := sealJobs(jobs); err != nil {
		return nil, err
	}
	jobs = jobs[:0]
	for i, s := range signers {
		jobs = append(jobs, job{s, &crdt.GroupBody{Name: fmt.Sprintf("table %d", i)}})
	}
	groups, err := sealJobs(jobs)
	if err != nil {
		return nil, err
	}
	jobs = jobs[:0]
	for i := range sessions {
		jobs = append(jobs, job{founder, &crdt.SessionBody{Title: fmt.Sprintf("session %d: %s", i, words(3)), Prompt: words(12), Cap: 12}})
	}
	for i := range events {
		jobs = append(jobs, job{signers[i%authors], &crdt.EventBody{EventFields: crdt.EventFields{
			Title: "event " + words(3), Start: "2026-05-01T10:00:00Z", End: "2026-05-01T12:00:00Z",
			Timezone: "UTC", Status: crdt.Confirmed, Capacity: 40}}})
	}
	ids, err := sealJobs(jobs)
	if err != nil {
		return nil, err
	}
	sessionIDs, eventIDs := ids[:sessions], ids[sessions:]

	// Proposals: each by an author for their group, in some session.
	type proposal struct {
		id      crdt.OpID
		session int
		author  int
	}
	var props []proposal
	jobs = jobs[:0]
	for i := range first {
		a := r.IntN(authors)
		props = append(props, proposal{session: i % sessions, author: a})
		jobs = append(jobs, job{signers[a], &crdt.ProposalBody{Session: sessionIDs[i%sessions], Group: groups[a], Text: words(8 + r.IntN(60))}})
	}
	if ids, err = sealJobs(jobs); err != nil {
		return nil, err
	}
	for i := range ids {
		props[i].id = ids[i]
	}
	w.setup = len(w.envs)

	// The bulk, planned in order, then sealed by proposal owner.
	last := make([]int, sessions) // step of the latest activity per session
	plan := make([]step, total-len(w.envs))
	for i := range plan {
		x := r.IntN(100)
		p := r.IntN(len(props))
		s := step{author: props[p].author, target: p, words: 4 + r.IntN(60)}
		switch {
		case x < 5:
			sess := r.IntN(sessions)
			props = append(props, proposal{session: sess, author: s.author})
			s.kind, s.target = crdt.KindProposal, len(props)-1
		case x < 35:
			s.kind = crdt.KindRevision
		case x < 65:
			s.kind, s.other, s.flag = crdt.KindEndorse, r.IntN(authors), r.IntN(6) != 0
		case x < 80:
			s.kind, s.other = crdt.KindComment, r.IntN(authors)
		default:
			s.kind, s.author, s.target = crdt.KindParticipation, r.IntN(authors), r.IntN(events)
		}
		if s.kind != crdt.KindParticipation {
			last[props[s.target].session] = i + 1
		}
		s.words = 4 + r.IntN(60)
		plan[i] = s
	}
	texts := make([]string, len(plan))
	for i, s := range plan {
		if s.kind == crdt.KindProposal || s.kind == crdt.KindRevision || s.kind == crdt.KindComment {
			texts[i] = words(s.words)
		}
	}
	workers := runtime.GOMAXPROCS(0)
	owner := func(i int) int {
		if plan[i].kind == crdt.KindParticipation {
			return i % workers
		}
		return plan[i].target % workers
	}
	start := len(w.envs)
	w.envs = w.envs[:start+len(plan)]
	heads := make([]crdt.OpID, len(props)) // each written by its owner only
	for i := range first {
		heads[i] = props[i].id
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for k := range workers {
		wg.Go(func() {
			for i, s := range plan {
				if owner(i) != k {
					continue
				}
				p := props[s.target]
				var sg crdt.Signer
				var body crdt.Body
				switch s.kind {
				case crdt.KindProposal:
					sg, body = signers[s.author], &crdt.ProposalBody{Session: sessionIDs[p.session], Group: groups[s.author], Text: texts[i]}
				case crdt.KindRevision:
					sg, body = signers[p.author], &crdt.RevisionBody{Proposal: props[s.target].id, Group: groups[p.author], Text: texts[i], Parents: []crdt.OpID{heads[s.target]}}
				case crdt.KindEndorse:
					sg, body = signers[s.other], &crdt.EndorseBody{Proposal: props[s.target].id, Group: groups[s.other], Revision: heads[s.target], Endorse: s.flag}
				case crdt.KindComment:
					sg, body = signers[s.other], &crdt.CommentBody{Proposal: props[s.target].id, Text: texts[i]}
				case crdt.KindParticipation:
					sg, body = signers[s.author], &crdt.ParticipationBody{Event: eventIDs[s.target], Status: crdt.Going}
				}
				e, op, err := w.keys.Seal(sg, clock(start+i), body)
				if err != nil {
					errs[k] = fmt.Errorf("seal %T: %w", body, err)
					return
				}
				w.envs[start+i] = e
				switch s.kind {
				case crdt.KindProposal:
					props[s.target].id, heads[s.target] = op.ID, op.ID
				case crdt.KindRevision:
					heads[s.target] = op.ID
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for range min(3, sessions) {
		best := 0
		for s := range last {
			if last[s] > last[best] {
				best = s
			}
		}
		w.hot = append(w.hot, sessionIDs[best])
		last[best] = -1
	}
	return w, nil
}

// writeDataDir makes a data directory that a node joined to w's gathering
// would have after receiving all of w: its files (by node.Join), then w
// written straight into its store (the operations were made valid, so
// verifying them again would only cost time). With snapshot, the node is
// opened and closed once, which leaves the state snapshot a clean
// shutdown leaves; it returns how long that first open, a rebuild from the
// log, took.
func writeDataDir(ctx context.Context, dir string, w *workload, snapshot bool) (time.Duration, error) {
	if err := node.Join(ctx, dir, w.creds, "bench"); err != nil {
		return 0, err
	}
	st, err := store.Open(filepath.Join(dir, "store"))
	if err != nil {
		return 0, err
	}
	l, err := st.Log(ctx, w.keys.Gathering)
	for lo := 0; err == nil && lo < len(w.envs); lo += 20_000 {
		_, err = l.Put(ctx, w.envs[lo:min(lo+20_000, len(w.envs))])
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil || !snapshot {
		return 0, err
	}
	t := time.Now()
	n, err := node.Open(ctx, node.Config{Dir: dir})
	if err != nil {
		return 0, err
	}
	took := time.Since(t)
	return took, n.Close()
}

// parallel runs fn(0..n-1) on all cores and returns the first error.
func parallel(n int, fn func(i int) error) error {
	workers := min(n, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for k := range workers {
		wg.Go(func() {
			for i := k; i < n; i += workers {
				if err := fn(i); err != nil {
					errs[k] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func newSigner() (crdt.Signer, error) {
	_, priv, err := ed25519.GenerateKey(crand.Reader)
	if err != nil {
		return crdt.Signer{}, err
	}
	return crdt.NewSigner(priv)
}

// vocabulary makes proposal and comment texts that compress like prose.
var vocabulary = strings.Fields(`water rain barrel garden roof collect share neighbours street tree
shade school library bus route bike lane repair cafe market open weekly monthly council budget
vote tenants housing rent energy solar panel cooperative heat pump insulation flood river park
bench light safety night walk children elders care meeting room translation language access
ramp wheelchair toilet clean waste compost recycle food bank kitchen soup volunteer schedule
rotate training workshop skills tools lend borrow swap repair-cafe map survey data privacy
phone network mesh offline radio noise quiet hours festival music art mural wall paint local
business shop tax fair wage union strike support fund grant apply deadline report minutes
agenda chair scribe facilitator consensus objection amend merge draft final adopt reject
the a of to and in for with on by from that this we our all each every more less than`)

// settle compacts a data directory's store fully, as the background
// compactions of a node that has run for a while would have: the bulk
// write leaves many level-0 tables, and compacting them would otherwise
// fall on the first start measured.
func settle(ctx context.Context, dir string) error {
	db, err := pebble.Open(filepath.Join(dir, "store"), &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		return fmt.Errorf("settle the store: %w", err)
	}
	err = db.Compact(ctx, []byte{0}, []byte{0xff}, true)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// snapshotSize is the size of the state snapshot a clean shutdown leaves
// in dir (DATA/state.snap), or 0.
func snapshotSize(dir string) (int64, error) {
	fi, err := os.Stat(filepath.Join(dir, "state.snap"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
