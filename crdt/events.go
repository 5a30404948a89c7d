package crdt

import (
	"bytes"
	"slices"
	"time"
)

// Events: an event's fields and registrations, derived from the index
// when read.

// canEditEvent: the creator, a scribe of the organizing group, or a
// facilitator.
func (s *State) canEditEvent(e *event, id IdentityID) bool {
	if id == e.op.Author() || s.isFacil(id) {
		return true
	}
	g := e.op.Body.(*EventBody).Group
	return g != nil && s.isScribe(*g, id)
}

func (s *State) refreshEvent(e *event) {
	if !e.dirty && e.epoch == s.epoch {
		return
	}
	e.dirty, e.epoch = false, s.epoch
	e.valid, e.view = false, Event{}
	if e.op == nil || !s.counts(e.op) {
		return
	}
	b := e.op.Body.(*EventBody)
	if b.Group != nil && !s.isScribe(*b.Group, e.op.Author()) {
		return
	}
	e.valid = true
	v := Event{ID: e.id, EventFields: b.EventFields, Creator: e.op.Author()}
	v.Created = e.op.Clock.Time()
	v.Modified = v.Created
	for _, u := range e.updates {
		if !e.op.Clock.Less(u.Clock) || !s.counts(u) || !s.canEditEvent(e, u.Author()) {
			continue
		}
		u.Body.(*EventUpdateBody).Set.apply(&v.EventFields)
		v.Sequence++
		v.Modified = u.Clock.Time()
	}
	// Start and end may be moved by separate updates; show them in order.
	start, err1 := time.Parse(time.RFC3339, v.Start)
	end, err2 := time.Parse(time.RFC3339, v.End)
	if err1 == nil && err2 == nil && end.Before(start) {
		v.Start, v.End = v.End, v.Start
		start = end
	}
	e.start = start.UnixMilli()
	if v.Hidden = s.hidden(e.id); v.Hidden {
		v.Title, v.Description, v.Place, v.OnlineURL, v.Tags = "", "", nil, "", nil
	}

	// Each identity's last counting registration.
	last := make(map[IdentityID]*Op, len(e.parts))
	for _, o := range e.parts {
		if cur := last[o.Author()]; s.counts(o) && (cur == nil || opLess(cur, o)) {
			last[o.Author()] = o
		}
	}
	going := make([]*Op, 0, len(last))
	var others []*Op
	for _, o := range last {
		if o.Body.(*ParticipationBody).Status == Going {
			going = append(going, o)
		} else {
			others = append(others, o)
		}
	}
	slices.SortFunc(going, func(a, b *Op) int {
		if c := a.Clock.Compare(b.Clock); c != 0 {
			return c
		}
		return cmpAuthors(a, b)
	})
	slices.SortFunc(others, cmpAuthors)
	v.Participants = make([]Participant, 0, len(last))
	for i, o := range going {
		w := v.Capacity > 0 && i >= v.Capacity
		v.Participants = append(v.Participants, Participant{Identity: o.Author(), Status: Going, Waitlisted: w})
		if w {
			v.Waitlist++
		} else {
			v.Going++
		}
	}
	for _, o := range others {
		st := o.Body.(*ParticipationBody).Status
		if st == Maybe {
			v.Maybe++
		}
		v.Participants = append(v.Participants, Participant{Identity: o.Author(), Status: st})
	}
	e.view = v
}

// apply sets the fields the patch names. Slices and places are replaced
// whole and shared, never modified.
func (p *EventPatch) apply(f *EventFields) {
	if p.Title != nil {
		f.Title = *p.Title
	}
	if p.Description != nil {
		f.Description = *p.Description
	}
	if p.Start != nil {
		f.Start = *p.Start
	}
	if p.End != nil {
		f.End = *p.End
	}
	if p.Timezone != nil {
		f.Timezone = *p.Timezone
	}
	if p.Place != nil {
		f.Place = p.Place
	}
	if p.OnlineURL != nil {
		f.OnlineURL = *p.OnlineURL
	}
	if p.Language != nil {
		f.Language = *p.Language
	}
	if p.Tags != nil {
		f.Tags = *p.Tags
	}
	if p.Capacity != nil {
		f.Capacity = *p.Capacity
	}
	if p.Status != nil {
		f.Status = *p.Status
	}
}

// cmpAuthors orders operations by their authors' keys.
func cmpAuthors(a, b *Op) int {
	x, y := a.Author(), b.Author()
	return bytes.Compare(x[:], y[:])
}
