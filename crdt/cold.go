package crdt

import (
	"errors"
	"fmt"
)

// Cold text. The texts of proposals, revisions and comments are most of a
// large state's memory (≈ 110 MB of a million operations), yet a page shows
// only the current head of each proposal; old revisions and comments are
// read when a history or a comment list is asked for, and ratification
// digests and exports when asked for. So a state may hold such an
// operation without its text (an empty Text, which no valid body has: see
// validate) and read it back through ColdText, which its owner implements
// over the store every operation was written to before it was applied.
// crdt stays pure: the reading is the owner's.

// ColdText reads the text of an operation the state holds without it.
type ColdText interface {
	// ColdText returns the text (its Text field as sealed) of the
	// operation id stamped clock: the state hands both, which name the
	// operation in the log, as the log's keys do.
	ColdText(id OpID, clock Clock) (string, error)
}

// ErrUnavailable: a text the state holds cold could not be read back. It
// is never a verdict on an operation: whatever depends on it is computed
// again at the next read.
var ErrUnavailable = errors.New("crdt: text unavailable")

// SetColdText sets where texts held cold are read from. Without one,
// Snapshot keeps every text the state holds.
func (s *State) SetColdText(c ColdText) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cold = c
}

// textField is the text an operation may be held without, or nil for
// kinds whose text always stays in memory.
func textField(b Body) *string {
	switch b := b.(type) {
	case *ProposalBody:
		return &b.Text
	case *RevisionBody:
		return &b.Text
	case *revisionRec:
		return &b.text
	case *CommentBody:
		return &b.Text
	}
	return nil
}

// BodyText is the text of a proposal, revision or comment body, "" for
// other kinds (the node's ColdText reads it from the opened envelope).
func BodyText(b Body) string {
	if t := textField(b); t != nil {
		return *t
	}
	return ""
}

// isCold reports whether o is held without its text.
func isCold(o *Op) bool {
	t := textField(o.Body)
	return t != nil && *t == ""
}

// opText is the text of a proposal, revision or comment, read back from
// the ColdText when held cold. Heads' texts read back are kept (warm):
// every document shows them.
func (s *State) opText(o *Op) (string, error) {
	t := textField(o.Body)
	if t == nil {
		return "", nil
	}
	if *t != "" {
		return *t, nil
	}
	if w, ok := s.warm[o]; ok {
		return w, nil
	}
	if s.cold == nil {
		return "", fmt.Errorf("%w: %s is held without its text and nothing reads it back", ErrUnavailable, o.ID)
	}
	text, err := s.cold.ColdText(o.ID, o.Clock)
	if err == nil && text == "" {
		err = errors.New("empty text")
	}
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrUnavailable, o.ID, err)
	}
	return text, nil
}

// headText is opText for the shown head of a proposal: a text read back
// stays warm until another operation becomes the head.
func (s *State) headText(prev, head *Op) (string, error) {
	if prev != nil && prev != head {
		delete(s.warm, prev)
	}
	text, err := s.opText(head)
	if err == nil && isCold(head) {
		if s.warm == nil {
			s.warm = make(map[*Op]string)
		}
		s.warm[head] = text
	}
	return text, err
}

// hotOps are the operations whose text a snapshot keeps when the state
// reads cold text back: what each proposal's document shows (the head as
// last computed, else its latest revision), if the text is in memory.
// Everything else a snapshot holds cold.
func (s *State) hotOps() map[*Op]bool {
	hot := make(map[*Op]bool, 2*s.proposals.len())
	keep := func(o *Op) {
		if o == nil {
			return
		}
		if _, warm := s.warm[o]; warm || !isCold(o) {
			hot[o] = true
		}
	}
	s.proposals.each(func(p *proposal) {
		if n := len(p.revs); n > 0 {
			keep(p.revs[n-1])
		} else {
			keep(p.op)
		}
		if p.d != nil && len(p.d.heads) > 0 {
			keep(p.d.heads[0])
		}
	})
	return hot
}

// readStoredBody is readBody for a snapshot: in a version 4 snapshot
// (coldOK) a proposal, revision or comment may come without its text (held
// cold); anything else is validated as any body is. A version 3 snapshot
// was written holding every text, so an empty one there is damage, not a
// text to read back.
func readStoredBody(r *reader, k Kind, coldOK bool) (Body, error) {
	body, err := decodeBody(r, k)
	if err != nil {
		return nil, err
	}
	t := textField(body)
	cold := coldOK && t != nil && *t == ""
	if cold {
		*t = "-" // validated as if it held a text, which is read back
	}
	err = body.validate()
	if cold {
		*t = ""
	}
	if err != nil {
		return nil, err
	}
	return body, nil
}

// chillEvery is how many texts Apply lets gather in memory, at least,
// before it drops those no document shows (chill).
const chillEvery = 1 << 16

func (s *State) chillFloor() int {
	if s.chillMin > 0 {
		return s.chillMin
	}
	return chillEvery
}

// chill drops from memory the texts no document shows (what hotOps would
// leave out of a snapshot) among the operations applied since the state
// was given its ColdText, so that a state rebuilt from the log, or running
// for long, holds what one loaded from a snapshot does, not every text
// ever written. It reports how many texts it dropped. Apply calls it once
// chillAt texts have gathered, and sets the next threshold to twice what
// stayed, so the passes cost a constant per operation applied.
//
// Applied operations may share their bodies with whoever applied them, so
// a chilled operation gets a copy of its body without the text; nothing
// outside the state sees the change.
func (s *State) chill() int {
	dropped := 0
	keep := s.texty[:0]
	for _, o := range s.texty {
		if s.showsText(o) {
			keep = append(keep, o)
			continue
		}
		switch b := o.Body.(type) {
		case *CommentBody:
			o.Body = s.coldComment(b)
		case *revisionRec:
			b.text = "" // a record is the state's own, shared with no one
		default:
			o.Body = withText(o.Body, "")
		}
		dropped++
	}
	clear(s.texty[len(keep):])
	s.texty = keep
	s.chillAt = max(s.chillFloor(), 2*len(keep))
	return dropped
}

// showsText reports whether o's text is one hotOps keeps: its proposal's
// latest revision (or the proposal, unrevised), or its head as last
// computed.
func (s *State) showsText(o *Op) bool {
	var p *proposal
	switch b := o.Body.(type) {
	case *ProposalBody:
		p = s.proposals.get(o.ID)
	case *revisionRec:
		p = s.proposals.get(*b.proposal)
	default:
		return false
	}
	if p == nil {
		return false
	}
	if n := len(p.revs); n > 0 && p.revs[n-1] == o || n == 0 && p.op == o {
		return true
	}
	return p.d != nil && len(p.d.heads) > 0 && p.d.heads[0] == o
}

// withText is a copy of a proposal, revision or comment body with text
// in place of its own; other bodies are returned as they are.
func withText(b Body, text string) Body {
	switch b := b.(type) {
	case *ProposalBody:
		c := *b
		c.Text = text
		return &c
	case *RevisionBody:
		c := *b
		c.Text = text
		return &c
	case *revisionRec:
		c := *b
		c.text = text
		return &c
	case *CommentBody:
		c := *b
		c.Text = text
		return &c
	}
	return b
}
