package crdt

// idMap maps operation ids to what the state keeps per id (an operation
// applied after the snapshot, a proposal, a group, a session, an event). It is keyed, as the operation index is (opindex.go), by the
// id's first 8 bytes, a SHA-256's: a map of uint64 keys probes and
// compares far faster than one of 32-byte keys, and filing a million
// operations looks their proposal and group up a million times. An id
// whose prefix another held id already has goes to a second map, so ids
// made to collide only cost a second lookup.
type idMap[T any, P interface {
	*T
	opID() OpID
}] struct {
	short map[uint64]P
	long  map[OpID]P
}

func newIDMap[T any, P interface {
	*T
	opID() OpID
}]() idMap[T, P] {
	return idMap[T, P]{short: make(map[uint64]P)}
}

// reserve makes room for n ids at once, when the caller knows how many
// will come (a snapshot's hints): growing a map of 100,000 proposals an
// id at a time left a megabyte of outgrown tables in a start's peak.
func (m *idMap[T, P]) reserve(n int) {
	if len(m.short) == 0 && n > 0 {
		m.short = make(map[uint64]P, n)
	}
}

func (m *idMap[T, P]) get(id OpID) P {
	v := m.short[idPrefix(id)]
	if v == nil || v.opID() == id {
		return v
	}
	return m.long[id]
}

// put adds v, whose id get does not find.
func (m *idMap[T, P]) put(v P) {
	id := v.opID()
	k := idPrefix(id)
	if _, taken := m.short[k]; !taken {
		m.short[k] = v
		return
	}
	if m.long == nil {
		m.long = make(map[OpID]P)
	}
	m.long[id] = v
}

func (m *idMap[T, P]) len() int { return len(m.short) + len(m.long) }

// each calls fn with every value, in no particular order.
func (m *idMap[T, P]) each(fn func(P)) {
	for _, v := range m.short {
		fn(v)
	}
	for _, v := range m.long {
		fn(v)
	}
}

func (p *proposal) opID() OpID { return p.id }
func (g *group) opID() OpID    { return g.id }
func (ss *session) opID() OpID { return ss.id }
func (e *event) opID() OpID    { return e.id }
