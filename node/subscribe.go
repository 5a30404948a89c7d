package node

// subscriberBuffer is how many changes a subscriber may fall behind before
// it is told to resync instead.
const subscriberBuffer = 256

type subscriber struct {
	ch chan Change
	// dropped: changes were dropped and the resync marker (a zero
	// Change) is the last thing queued. Nothing more is queued until
	// the channel has room again.
	dropped bool
}

// Subscribe returns a channel of changes and a cancel function. A slow
// subscriber loses changes rather than slowing the node; it sees a Change
// with zero Op when that happened, and should re-read what it shows.
//
// The resync marker always fits: a subscriber is cut off one change early,
// so the last slot of its buffer is kept for the marker. Every change
// dropped is dropped while the marker is still queued, so re-reading after
// receiving it sees them all.
func (n *Node) Subscribe() (<-chan Change, func()) {
	s := &subscriber{ch: make(chan Change, subscriberBuffer)}
	n.subMu.Lock()
	if n.subs != nil {
		n.subs[s] = struct{}{}
	} else {
		close(s.ch) // closed node
	}
	n.subMu.Unlock()
	cancel := func() {
		n.subMu.Lock()
		defer n.subMu.Unlock()
		if _, ok := n.subs[s]; ok {
			delete(n.subs, s)
			close(s.ch)
		}
	}
	return s.ch, cancel
}

// notify queues changes for every subscriber without blocking. Only
// notify sends, under subMu, so a length checked here only shrinks before
// the send.
func (n *Node) notify(changes []Change) {
	n.subMu.Lock()
	defer n.subMu.Unlock()
	for s := range n.subs {
		for _, c := range changes {
			if s.dropped {
				if len(s.ch) == cap(s.ch) {
					break
				}
				s.dropped = false
			}
			if len(s.ch) >= cap(s.ch)-1 {
				s.ch <- Change{}
				s.dropped = true
				break
			}
			s.ch <- c
		}
	}
}
