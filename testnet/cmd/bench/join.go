package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/mesh"
	"github.com/convene/convene/testnet/proc"
	"github.com/convene/convene/web/apiv1"
)

// benchJoin times a new laptop joining a gathering of 100,000 operations:
// `convene join` with the invite of a running node, then `convene run`,
// from exec until the sessions with the latest activity show the source's
// documents (and do not say their history is still arriving), and until it holds every operation (equal digests).
func benchJoin(ctx context.Context, l *lab, cfg config) section {
	sec := section{name: "join", title: "A new laptop joins 100,000 operations"}
	total := 100_000
	if cfg.quick {
		total = 10_000
		sec.title = fmt.Sprintf("A new laptop joins %d operations (quick)", total)
	}
	w, err := generate(total, 3)
	if err != nil {
		sec.err = err
		return sec
	}
	src := l.dir("join-source")
	if _, err := writeDataDir(ctx, src, w, true); err != nil {
		sec.err = err
		return sec
	}
	sp, err := timedStart(ctx, l, src)
	if err != nil {
		sec.err = fmt.Errorf("source: %w", err)
		return sec
	}
	defer sp.p.Stop(stopTimeout)
	srcStatus, err := sp.p.API.Status(ctx)
	if err != nil || len(srcStatus.Addrs) == 0 {
		sec.err = fmt.Errorf("source status: %v (addresses %v)", err, srcStatus.Addrs)
		return sec
	}
	want := make([][]byte, len(w.hot))
	for i, sid := range w.hot {
		if want[i], err = document(ctx, sp.p.API, sid); err != nil {
			sec.err = fmt.Errorf("source document: %w", err)
			return sec
		}
	}
	out, err := l.convene(ctx, "invite", "--data", src)
	if err != nil {
		sec.err = err
		return sec
	}
	dst := l.dir("join-new")
	if _, err := l.convene(ctx, "join", "--data", dst, lastLine(out)); err != nil {
		sec.err = err
		return sec
	}

	jp, err := l.start(ctx, dst, "--peer", srcStatus.Addrs[0])
	if err != nil {
		sec.err = fmt.Errorf("new laptop: %w", err)
		return sec
	}
	defer jp.Stop(stopTimeout)
	var firstDoc, docs, synced time.Duration
	equal := make([]bool, len(want))
	limit := 2 * time.Minute
	err = poll(ctx, 20*time.Millisecond, limit, func() (bool, error) {
		now := time.Since(jp.Started)
		if docs == 0 {
			all := true
			for i, sid := range w.hot {
				if !equal[i] {
					got, arriving, err := shownDocument(ctx, jp.API, sid)
					equal[i] = err == nil && !arriving && bytes.Equal(got, want[i])
				}
				if equal[i] && firstDoc == 0 {
					firstDoc = now
				}
				all = all && equal[i]
			}
			if all {
				docs = now
			}
		}
		if synced == 0 {
			a, err1 := jp.API.Status(ctx)
			b, err2 := sp.p.API.Status(ctx)
			if err1 == nil && err2 == nil && a.Digest == b.Digest {
				synced = time.Since(jp.Started)
			}
		}
		return docs != 0 && synced != 0, nil
	})
	rss, _ := peakRSS(jp)
	if err != nil {
		sec.err = fmt.Errorf("the new laptop did not catch up in %s (documents after %s, synced after %s)", limit, ms(docs), ms(synced))
		return sec
	}
	sec.rows = append(sec.rows,
		row{budget: "join documents", what: fmt.Sprintf("new laptop shows the current documents (%d ops)", total), value: ms(docs), limit: "≤ 3000 ms", ratio: float64(docs) / float64(3*time.Second)},
		row{budget: "join sync", what: fmt.Sprintf("new laptop fully synced (%d ops)", total), value: ms(synced), limit: "≤ 8000 ms", ratio: float64(synced) / float64(8*time.Second)},
	)
	sec.details = append(sec.details,
		fmt.Sprintf("The source: `convene run` on a data directory holding %d operations of the realistic mix (after a clean shutdown); it started and served in %s.", total, ms(sp.took)),
		"The new laptop: `convene join` with the source's `convene invite`, then `convene run --peer SOURCE`, timed from that exec. It printed its UI address after "+ms(jp.Printed.Sub(jp.Started))+".",
		fmt.Sprintf("\"The current documents\" are the %d sessions with the latest activity: `GET /api/v1/sessions/{sid}/document` (less `freshness`) equal to the source's and not marked `\"history\": \"arriving\"`; the first was after %s. \"Fully synced\" is `GET /api/v1/status` digest equal to the source's (the source also gains the new laptop's identity).", len(w.hot), ms(firstDoc)),
		fmt.Sprintf("The new laptop's peak memory (VmHWM) at the end: %s.", mb(rss)),
	)
	if sec.missed() {
		profileJoin(ctx, l, &sec, w, srcStatus.Addrs[0])
	}
	return sec
}

// document is a session's document as JSON, without the freshness, which
// differs between nodes.
func document(ctx context.Context, a *apiv1.Client, sid crdt.OpID) ([]byte, error) {
	doc, err := proc.DocumentJSON(ctx, a, sid.String())
	return []byte(doc), err
}

// shownDocument is a session's document as document returns it, and
// whether the laptop says its history is still arriving (the page then
// says the document may not be complete).
func shownDocument(ctx context.Context, a *apiv1.Client, sid crdt.OpID) ([]byte, bool, error) {
	var doc apiv1.Document
	if _, err := a.Get(ctx, apiv1.Prefix+"/sessions/"+sid.String()+"/document", &doc); err != nil {
		return nil, false, err
	}
	b, err := json.Marshal(doc.Document)
	return b, doc.History == node.HistoryArriving, err
}

// profileJoin joins the source again, from a node in this process (what
// convene run does, less the web server), under the CPU profiler, until
// it holds everything.
func profileJoin(ctx context.Context, l *lab, sec *section, w *workload, srcAddr string) {
	addr, err := ma.NewMultiaddr(srcAddr)
	if err != nil {
		sec.addProfile("CPU profile of a second join", "", err)
		return
	}
	dir := l.dir("join-profile")
	if err := node.Join(ctx, dir, w.creds, "profile"); err != nil {
		sec.addProfile("CPU profile of a second join", "", err)
		return
	}
	var took time.Duration
	top, err := hotSpots(func() error {
		start := time.Now()
		quiet := slog.New(slog.DiscardHandler)
		n, err := node.Open(ctx, node.Config{Dir: dir, Logger: quiet})
		if err != nil {
			return err
		}
		defer n.Close()
		m, err := n.Connect(ctx, mesh.Config{Listen: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/0")}, Peers: []ma.Multiaddr{addr}, Logger: quiet})
		if err != nil {
			return err
		}
		defer m.Close()
		err = poll(ctx, 20*time.Millisecond, 2*time.Minute, func() (bool, error) {
			return n.Status().Ops >= len(w.envs), nil
		})
		took = time.Since(start)
		return err
	})
	sec.addProfile(fmt.Sprintf("CPU profile of the joining side only: a second join from a node in this process, until it held every operation (%s); the source's CPU is not in it", ms(took)), top, err)
}
