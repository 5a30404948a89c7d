package crdt

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/convene/convene/internal/varint"
)

// The binary encoding of bodies, shared by the sealed payload and the
// snapshot. Each body writes its fields in a fixed order:
//
//	string    uvarint length, then that many bytes of UTF-8
//	id        32 bytes
//	int       zig-zag varint
//	bool      1 byte, 0 or 1
//	float     8 bytes, IEEE 754 bits, big-endian; never NaN
//	optional  1 byte, 0 (absent) or 1 (present, then the value)
//	list      uvarint count, then the elements
//
// Every value has exactly one encoding: the reader refuses varints longer
// than needed, presence and bool bytes other than 0 and 1, and trailing
// bytes, so a body that decodes also re-encodes to the same bytes.

// writer appends the encoding to b.
type writer struct {
	b []byte
}

func (w *writer) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) int(v int)        { w.b = binary.AppendVarint(w.b, int64(v)) }
func (w *writer) id(id [32]byte)   { w.b = append(w.b, id[:]...) }

func (w *writer) str(s string) {
	w.uvarint(uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *writer) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// present writes the presence byte of an optional field and reports
// whether the value follows.
func (w *writer) present(ok bool) bool {
	w.bool(ok)
	return ok
}

func (w *writer) float(f float64) { w.b = binary.BigEndian.AppendUint64(w.b, math.Float64bits(f)) }

func (w *writer) optStr(s *string) {
	if w.present(s != nil) {
		w.str(*s)
	}
}

func (w *writer) optInt(v *int) {
	if w.present(v != nil) {
		w.int(*v)
	}
}

func (w *writer) ids(list []OpID) {
	w.uvarint(uint64(len(list)))
	for _, id := range list {
		w.id(id)
	}
}

func (w *writer) strs(list []string) {
	w.uvarint(uint64(len(list)))
	for _, s := range list {
		w.str(s)
	}
}

// reader decodes what writer wrote. The first error sticks: later reads
// return zero values, so a body's decoder reads all its fields and checks
// the error once.
type reader struct {
	b   []byte
	off int
	err error
	// slab, when set, allocates bodies and id lists (a snapshot's load).
	slab *bodySlab
}

func (r *reader) fail(sentinel error, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: at byte %d: %s", sentinel, r.off, fmt.Sprintf(format, args...))
	}
	r.off = len(r.b)
}

func (r *reader) left() int { return len(r.b) - r.off }

// take returns the next n bytes, or nil (and an error) if there are fewer.
func (r *reader) take(n int) []byte {
	if r.err != nil || n > r.left() {
		r.fail(ErrMalformed, "truncated")
		return nil
	}
	b := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return b
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n, err := varint.Uvarint(r.b[r.off:], math.MaxUint64)
	if err != nil {
		r.fail(ErrMalformed, "bad varint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) int() int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 || n != varintLen(v) || int64(int(v)) != v {
		r.fail(ErrMalformed, "bad varint")
		return 0
	}
	r.off += n
	return int(v)
}

func (r *reader) id() (id [32]byte) {
	if b := r.take(32); b != nil {
		copy(id[:], b)
	}
	return id
}

// str reads a string of at most max bytes of valid UTF-8.
func (r *reader) str(max int) string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(max) {
		r.fail(ErrTooLarge, "string of %d bytes, limit %d", n, max)
		return ""
	}
	b := r.take(int(n))
	if !utf8.Valid(b) {
		r.fail(ErrMalformed, "string is not UTF-8")
		return ""
	}
	if r.slab != nil {
		// A snapshot's statuses: the constants, not a copy each.
		switch string(b) {
		case Going:
			return Going
		case Maybe:
			return Maybe
		case NotGoing:
			return NotGoing
		case Confirmed:
			return Confirmed
		case Tentative:
			return Tentative
		case Cancelled:
			return Cancelled
		}
	}
	return string(b)
}

func (r *reader) byte01(what string) bool {
	b := r.take(1)
	if b == nil {
		return false
	}
	if b[0] > 1 {
		r.fail(ErrMalformed, "%s byte %d", what, b[0])
	}
	return b[0] == 1
}

func (r *reader) bool() bool    { return r.byte01("bool") }
func (r *reader) present() bool { return r.byte01("presence") }

func (r *reader) float() float64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	f := math.Float64frombits(binary.BigEndian.Uint64(b))
	if math.IsNaN(f) {
		r.fail(ErrMalformed, "NaN")
		return 0
	}
	return f
}

func (r *reader) optStr(max int) *string {
	if r.present() {
		return ptrTo(r.str(max))
	}
	return nil
}

func (r *reader) optInt() *int {
	if r.present() {
		return ptrTo(r.int())
	}
	return nil
}

// count reads a list length of at most max elements, each at least size
// bytes long, so nothing is allocated for elements that are not there.
func (r *reader) count(max, size int) int {
	n := r.uvarint()
	if r.err != nil {
		return 0
	}
	if n > uint64(max) {
		r.fail(ErrTooLarge, "list of %d, limit %d", n, max)
		return 0
	}
	if n*uint64(size) > uint64(r.left()) {
		r.fail(ErrMalformed, "truncated list")
		return 0
	}
	return int(n)
}

// ids reads a list of at most max ids; an empty list is nil.
func (r *reader) ids(max int) []OpID {
	n := r.count(max, 32)
	if n == 0 {
		return nil
	}
	var list []OpID
	if r.slab != nil {
		list = r.slab.idList(n)
	} else {
		list = make([]OpID, n)
	}
	for i := range list {
		list[i] = r.id()
	}
	return list
}

// strs reads a list of at most max strings of at most each bytes; an empty
// list is nil.
func (r *reader) strs(max, each int) []string {
	n := r.count(max, 1)
	if n == 0 {
		return nil
	}
	list := make([]string, n)
	for i := range list {
		list[i] = r.str(each)
	}
	return list
}

// end reports the sticky error, or one for bytes left over.
func (r *reader) end() error {
	if r.err == nil && r.left() != 0 {
		r.fail(ErrMalformed, "%d trailing bytes", r.left())
	}
	return r.err
}

func varintLen(v int64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutVarint(buf[:], v)
}

// The bodies' encodings, fields in declaration order. String limits are
// those validate applies (MaxText where it applies none), so that decoding
// refuses early what validation would refuse anyway, and never more.

func (b *GatheringBody) encode(w *writer) { w.str(b.Name) }
func (b *GatheringBody) decode(r *reader) { b.Name = r.str(MaxName) }

func (b *IdentityBody) encode(w *writer) { w.str(b.Name) }
func (b *IdentityBody) decode(r *reader) { b.Name = r.str(MaxName) }

func (b *FacilitatorBody) encode(w *writer) { w.id(b.Identity) }
func (b *FacilitatorBody) decode(r *reader) { b.Identity = r.id() }

func (b *SessionBody) encode(w *writer) {
	w.str(b.Title)
	w.str(b.Prompt)
	w.int(b.Cap)
}

func (b *SessionBody) decode(r *reader) {
	b.Title = r.str(MaxName)
	b.Prompt = r.str(MaxText)
	b.Cap = r.int()
}

func (b *SessionUpdateBody) encode(w *writer) {
	w.id(b.Session)
	w.optStr(b.Title)
	w.optStr(b.Prompt)
	w.optInt(b.Cap)
	if w.present(b.Open != nil) {
		w.bool(*b.Open)
	}
}

func (b *SessionUpdateBody) decode(r *reader) {
	b.Session = r.id()
	b.Title = r.optStr(MaxName)
	b.Prompt = r.optStr(MaxText)
	b.Cap = r.optInt()
	if r.present() {
		b.Open = ptrTo(r.bool())
	}
}

func (b *GroupBody) encode(w *writer) { w.str(b.Name) }
func (b *GroupBody) decode(r *reader) { b.Name = r.str(MaxName) }

func (b *ScribeBody) encode(w *writer) {
	w.id(b.Group)
	w.id(b.Identity)
}

func (b *ScribeBody) decode(r *reader) {
	b.Group = r.id()
	b.Identity = r.id()
}

// An import (KindImport) is a proposal followed by its provenance; the
// kind byte says which, so a proposal keeps the encoding it always had.
func (b *ProposalBody) encode(w *writer) {
	w.id(b.Session)
	w.id(b.Group)
	w.str(b.Text)
	if b.From != nil {
		b.From.encode(w)
	}
}

// decode reads the provenance when newBody made an import (From set).
func (b *ProposalBody) decode(r *reader) {
	b.Session = r.id()
	b.Group = r.id()
	b.Text = r.str(MaxText)
	if b.From != nil {
		b.From.decode(r)
	}
}

func (b *RevisionBody) encode(w *writer) {
	w.id(b.Proposal)
	w.id(b.Group)
	w.str(b.Text)
	w.ids(b.Parents)
}

func (b *RevisionBody) decode(r *reader) {
	b.Proposal = r.id()
	b.Group = r.id()
	b.Text = r.str(MaxText)
	b.Parents = r.ids(MaxParents)
}

func (b *EndorseBody) encode(w *writer) {
	w.id(b.Proposal)
	w.id(b.Group)
	w.id(b.Revision)
	w.bool(b.Endorse)
}

func (b *EndorseBody) decode(r *reader) {
	b.Proposal = r.id()
	b.Group = r.id()
	b.Revision = r.id()
	b.Endorse = r.bool()
}

func (b *CommentBody) encode(w *writer) {
	w.id(b.Proposal)
	w.str(b.Text)
}

func (b *CommentBody) decode(r *reader) {
	b.Proposal = r.id()
	b.Text = r.str(MaxText)
}

func (b *HideBody) encode(w *writer) {
	w.id(b.Target)
	w.bool(b.Hidden)
}

func (b *HideBody) decode(r *reader) {
	b.Target = r.id()
	b.Hidden = r.bool()
}

func (b *EventBody) encode(w *writer) {
	f := &b.EventFields
	w.str(f.Title)
	w.str(f.Description)
	w.str(f.Start)
	w.str(f.End)
	w.str(f.Timezone)
	if w.present(f.Place != nil) {
		f.Place.encode(w)
	}
	w.str(f.OnlineURL)
	if w.present(f.Group != nil) {
		w.id(*f.Group)
	}
	w.str(f.Language)
	w.strs(f.Tags)
	w.int(f.Capacity)
	w.str(f.Status)
}

func (b *EventBody) decode(r *reader) {
	f := &b.EventFields
	f.Title = r.str(MaxName)
	f.Description = r.str(MaxDescription)
	f.Start = r.str(MaxText)
	f.End = r.str(MaxText)
	f.Timezone = r.str(maxZone)
	if r.present() {
		f.Place = new(Place)
		f.Place.decode(r)
	}
	f.OnlineURL = r.str(maxURL)
	if r.present() {
		f.Group = ptrTo(OpID(r.id()))
	}
	f.Language = r.str(maxLanguage)
	f.Tags = r.strs(MaxTags, MaxTag)
	f.Capacity = r.int()
	f.Status = r.str(MaxText)
}

func (b *EventUpdateBody) encode(w *writer) {
	p := &b.Set
	w.id(b.Event)
	w.optStr(p.Title)
	w.optStr(p.Description)
	w.optStr(p.Start)
	w.optStr(p.End)
	w.optStr(p.Timezone)
	if w.present(p.Place != nil) {
		p.Place.encode(w)
	}
	w.optStr(p.OnlineURL)
	w.optStr(p.Language)
	if w.present(p.Tags != nil) {
		w.strs(*p.Tags)
	}
	w.optInt(p.Capacity)
	w.optStr(p.Status)
}

func (b *EventUpdateBody) decode(r *reader) {
	p := &b.Set
	b.Event = r.id()
	p.Title = r.optStr(MaxName)
	p.Description = r.optStr(MaxDescription)
	p.Start = r.optStr(MaxText)
	p.End = r.optStr(MaxText)
	p.Timezone = r.optStr(maxZone)
	if r.present() {
		p.Place = new(Place)
		p.Place.decode(r)
	}
	p.OnlineURL = r.optStr(maxURL)
	p.Language = r.optStr(maxLanguage)
	if r.present() {
		tags := r.strs(MaxTags, MaxTag)
		if tags == nil {
			tags = []string{} // present but empty: clears the tags
		}
		p.Tags = &tags
	}
	p.Capacity = r.optInt()
	p.Status = r.optStr(MaxText)
}

func (b *ParticipationBody) encode(w *writer) {
	w.id(b.Event)
	w.str(b.Status)
}

func (b *ParticipationBody) decode(r *reader) {
	b.Event = r.id()
	b.Status = r.str(MaxText)
}

func (p *Place) encode(w *writer) {
	w.str(p.Venue)
	w.str(p.Address)
	if w.present(p.Lat != nil) {
		w.float(*p.Lat)
	}
	if w.present(p.Lon != nil) {
		w.float(*p.Lon)
	}
}

func (p *Place) decode(r *reader) {
	p.Venue = r.str(MaxName)
	p.Address = r.str(maxAddress)
	if r.present() {
		p.Lat = ptrTo(r.float())
	}
	if r.present() {
		p.Lon = ptrTo(r.float())
	}
}

func ptrTo[T any](v T) *T { return &v }
