package node

// What the ingest pipeline remembers between calls: operations being
// checked now, and operations refused recently.

import (
	"sync"

	"github.com/convene/convene/crdt"
)

// inflight holds the operations being checked or written by some ingest,
// each with a channel closed when that ingest ends.
type inflight struct {
	mu  sync.Mutex
	ids map[crdt.OpID]chan struct{}
}

// claim takes every id if none is busy, and returns nil; otherwise it takes
// none and returns the channels of the busy ones.
func (f *inflight) claim(ids []crdt.OpID) []chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	var busy []chan struct{}
	for _, id := range ids {
		if done, ok := f.ids[id]; ok {
			busy = append(busy, done)
		}
	}
	if busy != nil {
		return busy
	}
	if f.ids == nil {
		f.ids = make(map[crdt.OpID]chan struct{})
	}
	for _, id := range ids {
		f.ids[id] = make(chan struct{})
	}
	return nil
}

func (f *inflight) release(ids []crdt.OpID) {
	if len(ids) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if done, ok := f.ids[id]; ok {
			close(done)
			delete(f.ids, id)
		}
	}
}

// refusedCache remembers recently refused operations (bad signature, or a
// payload that does not open: both fixed by the bytes, which the id
// hashes), so that the same junk is never checked twice. It is bounded;
// the oldest entry goes first.
type refusedCache struct {
	mu   sync.Mutex
	errs map[crdt.OpID]error
	ring []crdt.OpID
	next int
}

const maxRefused = 4096

func (c *refusedCache) get(id crdt.OpID) (error, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	err, ok := c.errs[id]
	return err, ok
}

func (c *refusedCache) put(id crdt.OpID, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.errs == nil {
		c.errs = make(map[crdt.OpID]error)
		c.ring = make([]crdt.OpID, maxRefused)
	}
	if _, ok := c.errs[id]; ok {
		return
	}
	if len(c.errs) == maxRefused {
		delete(c.errs, c.ring[c.next])
	}
	c.errs[id] = err
	c.ring[c.next] = id
	c.next = (c.next + 1) % maxRefused
}
