package crdt

import "fmt"

// A session's agenda: time-boxed steps that facilitators set, and the step
// they started last. Both are last-writer-wins by (clock, id) among the
// facilitators' counting operations, like a session's other fields, so two
// facilitators starting steps at once while apart agree after they meet:
// the later clock's step is running, from that clock's wall time.

const (
	// MaxSteps is the longest agenda.
	MaxSteps = 32
	// MaxStepMinutes is the longest step: a whole day.
	MaxStepMinutes = 24 * 60
)

// Step is one step of an agenda.
type Step struct {
	Title   string `json:"title"`
	Minutes int    `json:"minutes"`
}

// AgendaBody sets a session's agenda, replacing the whole list (an empty
// one clears it). A separate kind rather than a field of
// SessionUpdateBody: that body's encoding has no room for a new field that
// older nodes and snapshots would still read.
type AgendaBody struct {
	Session OpID   `json:"session"`
	Steps   []Step `json:"steps"`
}

// PhaseBody starts step Index of a session's agenda; -1 stops the agenda
// (no step running).
type PhaseBody struct {
	Session OpID `json:"session"`
	Index   int  `json:"index"`
}

// Phase is the step running: its index in the agenda and when it started
// (the starting operation's wall time, so every laptop counts down from
// the same instant).
type Phase struct {
	Index     int    `json:"index"`
	StartedAt string `json:"started_at"` // RFC 3339, UTC, milliseconds
}

func (*AgendaBody) Kind() Kind { return KindAgenda }
func (*PhaseBody) Kind() Kind  { return KindPhase }

func (b *AgendaBody) validate() error {
	if len(b.Steps) > MaxSteps {
		return invalid("an agenda has at most %d steps", MaxSteps)
	}
	for _, st := range b.Steps {
		if err := checkName("step title", st.Title); err != nil {
			return err
		}
		if st.Minutes < 1 || st.Minutes > MaxStepMinutes {
			return invalid("a step lasts 1 to %d minutes", MaxStepMinutes)
		}
	}
	return nil
}

func (b *PhaseBody) validate() error {
	if b.Index < -1 || b.Index >= MaxSteps {
		return invalid("index must be a step of the agenda (0 to %d), or -1 to stop", MaxSteps-1)
	}
	return nil
}

func (b *AgendaBody) encode(w *writer) {
	w.id(b.Session)
	w.uvarint(uint64(len(b.Steps)))
	for _, st := range b.Steps {
		w.str(st.Title)
		w.int(st.Minutes)
	}
}

func (b *AgendaBody) decode(r *reader) {
	b.Session = r.id()
	n := r.count(MaxSteps, 2)
	if n == 0 {
		return
	}
	b.Steps = make([]Step, n)
	for i := range b.Steps {
		b.Steps[i].Title = r.str(MaxName)
		b.Steps[i].Minutes = r.int()
	}
}

func (b *PhaseBody) encode(w *writer) {
	w.id(b.Session)
	w.int(b.Index)
}

func (b *PhaseBody) decode(r *reader) {
	b.Session = r.id()
	b.Index = r.int()
}

// agenda resolves a session's agenda and phase into v: the last counting
// agenda and phase of a facilitator, later than the session itself. A
// phase whose step the agenda no longer has shows as none.
func (s *State) agenda(ss *session, v *Session) {
	v.Agenda = noSteps
	var phase *Op
	for _, o := range ss.agenda {
		if !ss.op.Clock.Less(o.Clock) || !s.isFacil(o.Author()) || !s.counts(o) {
			continue
		}
		switch b := o.Body.(type) {
		case *AgendaBody:
			v.Agenda = b.Steps
			if v.Agenda == nil {
				v.Agenda = noSteps
			}
		case *PhaseBody:
			phase = o
		}
	}
	v.Phase = nil
	if phase != nil {
		if i := phase.Body.(*PhaseBody).Index; i >= 0 && i < len(v.Agenda) {
			v.Phase = &Phase{Index: i, StartedAt: phase.Clock.Time().Format("2006-01-02T15:04:05.000Z")}
		}
	}
}

// noSteps is the agenda of a session without one, shared so that it
// serialises as [] without an allocation per session.
var noSteps = []Step{}

// checkPhase: the step exists in the agenda as it is now.
func (s *State) checkPhase(b *PhaseBody) error {
	sv, err := s.checkSession(b.Session)
	if err != nil {
		return err
	}
	if b.Index >= len(sv.Agenda) {
		return fmt.Errorf("%w: the agenda has %d steps; there is no step %d", ErrInvalid, len(sv.Agenda), b.Index)
	}
	return nil
}
