package crdt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// sampleOps seals one operation of every kind.
func sampleOps(tb testing.TB) *world {
	w := newWorld(tb)
	setup(w)
	w.op("", "founder", 1, &GatheringBody{Name: "Congress"})
	w.op("", "alice", 2, &IdentityBody{Name: "Alice"})
	w.op("", "founder", 3, &FacilitatorBody{Identity: who("bob")})
	w.op("", "founder", 20, &SessionUpdateBody{Session: w.ref("s"), Title: ptr("T"), Cap: ptr(4), Open: ptr(true)})
	w.op("", "alice", 21, &ScribeBody{Group: w.ref("ga"), Identity: who("bob")})
	w.op("p", "alice", 22, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "ünïcode ✓"})
	w.op("r", "bob", 23, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("gb"), Text: "edit", Parents: ids(w, "p")})
	w.op("", "bob", 24, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("r"), Endorse: true})
	w.op("c", "alice", 25, &CommentBody{Proposal: w.ref("p"), Text: "<script>"})
	w.op("", "founder", 26, &HideBody{Target: w.ref("c"), Hidden: true})
	w.op("e", "alice", 27, &EventBody{EventFields{Title: "March", Description: "d", Start: "2026-05-01T10:00:00+02:00",
		End: "2026-05-01T12:00:00+02:00", Timezone: "Europe/Paris", Place: &Place{Venue: "V", Lat: ptr(48.8), Lon: ptr(2.3)},
		OnlineURL: "https://example.org/x", Group: w.refp("ga"), Language: "fr", Tags: []string{"a"}, Capacity: 3, Status: Confirmed}})
	w.op("", "bob", 28, &EventUpdateBody{Event: w.ref("e"), Set: EventPatch{Title: ptr("M"), Tags: &[]string{}, Capacity: ptr(0)}})
	w.op("", "bob", 29, &ParticipationBody{Event: w.ref("e"), Status: Going})
	w.op("", "founder", 30, &SeatBody{Group: w.ref("ga"), Seated: true})
	w.op("", "founder", 31, &SeatingBody{Seating: SeatingSeated})
	w.op("", "founder", 32, &HideBody{Target: w.ref("gb"), Hidden: true})
	w.op("", "founder", 33, &RemovalBody{Identity: who("mallory"), Reason: "spam", Keep: []uint64{1, 1 << 63}})
	w.op("", "alice", 34, &TranslationBody{Proposal: w.ref("p"), Group: w.ref("ga"), Revision: w.ref("r"), Lang: "es", From: "en", Text: "edición ✓"})
	w.op("", "founder", 35, &AgendaBody{Session: w.ref("s"), Steps: []Step{{Title: "Introduction", Minutes: 15}, {Title: "Collaborative session", Minutes: 45}}})
	w.op("", "founder", 36, &PhaseBody{Session: w.ref("s"), Index: 1})
	return w
}

func FuzzDecodeEnvelope(f *testing.F) {
	w := sampleOps(f)
	for _, e := range w.envs[:4] {
		f.Add(e.Bytes())
	}
	f.Add([]byte{EnvelopeVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEnvelope(b)
		if err != nil {
			return
		}
		if !bytes.Equal(e.Bytes(), b) || e.ID() != sha256.Sum256(b) {
			t.Fatal("decoded envelope does not keep its bytes")
		}
		// The seal's additional data, read from the bytes, is the header
		// the fields make; decoding in place gives the same envelope.
		if !bytes.Equal(e.aad(), header(e.Gathering, e.Author, e.Clock, e.Epoch)) {
			t.Fatal("the additional data read from the envelope is not its header")
		}
		into := Envelope{Epoch: 7, Sealed: []byte{1}}
		if err := DecodeEnvelopeInto(&into, b); err != nil || into.ID() != e.ID() || into.Epoch != e.Epoch ||
			into.Clock != e.Clock || !bytes.Equal(into.Sealed, e.Sealed) {
			t.Fatalf("decoded in place: %v, %+v", err, into)
		}
		// Re-encode from the fields: one encoding per envelope.
		again := header(e.Gathering, e.Author, e.Clock, e.Epoch)
		again = binary.AppendUvarint(again, uint64(len(e.Sealed)))
		again = append(again, e.Sealed...)
		again = append(again, b[len(b)-tagSize-sigSize:]...)
		if !bytes.Equal(again, b) {
			t.Fatalf("envelope re-encodes differently:\n%x\n%x", b, again)
		}
		_ = CheckAdmission(w.keys, e)
		_ = e.Verify()
	})
}

// acceptAndCheck is what both Accept targets assert of anything accepted.
func acceptAndCheck(t *testing.T, keys Keys, b []byte) {
	e, op, err := keys.Accept(b)
	if err != nil {
		return
	}
	if !bytes.Equal(e.Bytes(), b) || op.ID != e.ID() || op.Author() != e.Author || op.Clock != e.Clock {
		t.Fatal("accepted operation does not match its envelope")
	}
	// Operations by the test signers are sealed again: anything accepted
	// has exactly one encoding.
	for _, name := range []string{"founder", "alice", "bob"} {
		sg := testSigner(name)
		if sg.ID != op.Author() {
			continue
		}
		again, _, err := keys.Seal(sg, op.Clock, op.Body)
		if err != nil {
			t.Fatalf("accepted body does not seal again: %v", err)
		}
		if !bytes.Equal(again.Bytes(), b) {
			t.Fatalf("accepted operation re-encodes differently")
		}
	}
	// Whatever is accepted must fold into a state without harm.
	s := NewState(testSigner("founder").ID)
	s.Apply(op)
	_ = s.Check(op.Author(), op.Body)
	dump(t, s)
}

func FuzzAccept(f *testing.F) {
	w := sampleOps(f)
	for _, e := range w.envs {
		f.Add(e.Bytes())
	}
	keys := w.keys
	f.Fuzz(func(t *testing.T, b []byte) {
		acceptAndCheck(t, keys, b)
	})
}

// FuzzPayload reaches the payload decoder past the signature: the fuzzed
// bytes are a plaintext payload that a test signer seals and signs.
func FuzzPayload(f *testing.F) {
	w := sampleOps(f)
	for _, op := range w.ops {
		f.Add(appendPayload(nil, op.Body))
	}
	// A ratification (kind 23) and an import (kind 24, a proposal with its
	// provenance after it).
	f.Add(appendPayload(nil, &RatificationBody{Session: OpID{1}, Title: "Declaration",
		Entries: []RatifiedEntry{{Revision: OpID{2}, EndorsedBy: []OpID{{3}, {4}}}, {Revision: OpID{5}}}, Digest: Digest{6}}))
	f.Add(appendPayload(nil, &ProposalBody{Session: OpID{1}, Group: OpID{2}, Text: "From Dakar",
		From: &Provenance{Gathering: GatheringID{3}, Session: OpID{4}, Proposal: OpID{5}, Revision: OpID{6}, Digest: Digest{7}}}))
	keys := w.keys
	alice := testSigner("alice")
	f.Fuzz(func(t *testing.T, plain []byte) {
		body, err := decodePayload(plain)
		if err != nil {
			return
		}
		env, op, err := keys.Seal(alice, Clock{Wall: 1000}, body)
		if err != nil {
			t.Fatalf("decoded body does not seal: %v", err)
		}
		if !bytes.Equal(appendPayload(nil, op.Body), plain) {
			t.Fatal("payload re-encodes differently")
		}
		acceptAndCheck(t, keys, env.Bytes())
	})
}
