package web

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node"
	"github.com/convene/convene/node/export"
	"github.com/convene/convene/web/apiv1"
)

// Attacks on POST /sessions/{sid}/imports (docs/SECURITY.md, "Review of
// ratification, imports, translations and the agenda").

// ratifiedSource makes a session with two proposals, ratifies it and
// returns its id, the ratified file and the ratifier's key.
func ratifiedSource(t *testing.T, h *harness) (crdt.OpID, []crdt.OpID, []byte, crdt.IdentityID) {
	t.Helper()
	c := h.client()
	ctx := context.Background()
	ga := must(c.CreateGroup(ctx, apiv1.CreateGroup{Name: "Group A"})).get(t)
	cap := 3
	src := must(c.CreateSession(ctx, apiv1.CreateSession{Title: "Paris", Cap: &cap})).get(t)
	p1 := must(c.Propose(ctx, src.ID, apiv1.Propose{Group: ga.ID, Text: "Share the tools"})).get(t)
	p2 := must(c.Propose(ctx, src.ID, apiv1.Propose{Group: ga.ID, Text: "Teach the trade"})).get(t)
	must(c.Ratify(ctx, src.ID, apiv1.Ratify{})).get(t)
	rd := must(c.Ratified(ctx, src.ID)).get(t)
	file := must(c.RatifiedFile(ctx, src.ID)).get(t)
	return src.ID, []crdt.OpID{p1.ID, p2.ID}, file, rd.Ratification.By
}

// TestImportSessionSourcesBounded: a hostile caller naming one proposal
// again and again, or more proposals than any ratification holds, is
// refused before any is checked under the write lock.
func TestImportSessionSourcesBounded(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	src, pids, _, _ := ratifiedSource(t, h)
	cap := 3
	dst := must(c.CreateSession(context.Background(), apiv1.CreateSession{Title: "World", Cap: &cap})).get(t)
	path := "/sessions/" + dst.ID.String() + "/imports"
	before := h.node.Log().Len()

	many := make([]crdt.OpID, 0, node.MaxImportSources+1)
	for range node.MaxImportSources + 1 {
		many = append(many, pids[0])
	}
	h.callErr("POST", path, apiv1.Import{Session: &src, Proposals: many[:2]}, http.StatusBadRequest, apiv1.CodeBadRequest)
	h.callErr("POST", path, apiv1.Import{Session: &src, Proposals: many}, http.StatusRequestEntityTooLarge, apiv1.CodeTooLarge)
	if h.node.Log().Len() != before {
		t.Fatalf("refused imports wrote %d operations", h.node.Log().Len()-before)
	}
	im := must(c.ImportInto(context.Background(), dst.ID, apiv1.Import{Session: &src, Proposals: pids})).get(t)
	if len(im.Imported) != 2 || im.SignedBy != nil {
		t.Fatalf("import: %+v", im)
	}
}

// TestImportFileCallerFirst: a caller who may not import is refused
// before the node parses, checks and renders again the file it sent.
func TestImportFileCallerFirst(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	ctx := context.Background()
	bob := must(c.CreateIdentity(ctx, apiv1.CreateIdentity{Name: "Bob"})).get(t)
	cap := 3
	dst := must(c.CreateSession(ctx, apiv1.CreateSession{Title: "World", Cap: &cap})).get(t)
	junk := make([]byte, 1<<20)
	h.callErr("POST", "/sessions/"+dst.ID.String()+"/imports", apiv1.Import{File: junk, As: &bob.ID}, http.StatusForbidden, apiv1.CodeForbidden)
}

// TestImportForgedGathering: an outsider signs, with a key of its own, a
// ratification that claims the source gathering's id (gathering ids come
// from a secret, so nothing offline can refute it) and shows an altered
// text. The file is intact (it is what its key signed); an importer who
// gives the ratifier's key refuses it, and every import says which key
// signed.
func TestImportForgedGathering(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	ctx := context.Background()
	_, _, file, ratifier := ratifiedSource(t, h)
	forged, attacker := forgeRatified(t, file, "Burn the tools")
	if _, _, err := export.ReadRatified(forged); err != nil {
		t.Fatalf("the forged file should be intact (it is what its key signed): %v", err)
	}

	cap := 3
	dst := must(c.CreateSession(ctx, apiv1.CreateSession{Title: "World", Cap: &cap})).get(t)
	path := "/sessions/" + dst.ID.String() + "/imports"
	before := h.node.Log().Len()
	ae := h.callErr("POST", path, apiv1.Import{File: forged, Key: &ratifier}, http.StatusBadRequest, apiv1.CodeBadRatifiedFile)
	if h.node.Log().Len() != before {
		t.Fatal("a refused file wrote operations")
	}
	if !strings.HasPrefix(ae.Message, export.ReasonKey) {
		t.Fatalf("refusal: %+v", ae)
	}
	im := must(c.ImportInto(ctx, dst.ID, apiv1.Import{File: file, Key: &ratifier})).get(t)
	if len(im.Imported) != 2 || im.SignedBy == nil || *im.SignedBy != ratifier {
		t.Fatalf("the genuine file: %+v", im)
	}
	// Without a key the forged file is taken on its signer's word, and
	// the answer names that signer.
	dst2 := must(c.CreateSession(ctx, apiv1.CreateSession{Title: "World 2", Cap: &cap})).get(t)
	im = must(c.ImportInto(ctx, dst2.ID, apiv1.Import{File: forged})).get(t)
	if im.SignedBy == nil || *im.SignedBy != attacker {
		t.Fatalf("the forged file's signer is not named: %+v", im)
	}
}

// forgeRatified re-signs file's ratification with a fresh key, under the
// same gathering id, with the last proposal's text replaced.
func forgeRatified(t *testing.T, file []byte, text string) ([]byte, crdt.IdentityID) {
	t.Helper()
	f, body, err := export.ReadRatified(file)
	if err != nil {
		t.Fatal(err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := crdt.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	var secret [32]byte
	rand.Read(secret[:])
	keys := crdt.DeriveEpoch(f.Gathering.ID, signer.ID, 0, secret)
	orig, err := crdt.DecodeEnvelope(f.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	f.Document.Proposals[len(f.Document.Proposals)-1].Text = text
	nb := *body
	nb.Digest = crdt.RatifiedDigest(f.Document)
	env, _, err := keys.Seal(signer, orig.Clock, &nb)
	if err != nil {
		t.Fatal(err)
	}
	d, err := keys.Disclose(env)
	if err != nil {
		t.Fatal(err)
	}
	f.Envelope, f.Disclosure, f.Key = env.Bytes(), d[:], signer.ID
	f.Ratification = crdt.Ratification{ID: env.ID(), At: env.Clock.Time(), By: signer.ID, Digest: nb.Digest}
	b, err := export.RenderRatified(f)
	if err != nil {
		t.Fatal(err)
	}
	return b, signer.ID
}

// TestImportFileAllOrNothing: a signer can put in its file a text no
// proposal may have (over 8,000 bytes: the digest binds texts, nothing
// bounds them); importing it changes nothing, rather than import the
// proposals before it and make their group.
func TestImportFileAllOrNothing(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	_, _, file, _ := ratifiedSource(t, h)
	forged, _ := forgeRatified(t, file, strings.Repeat("x", crdt.MaxText+1))
	cap := 3
	dst := must(c.CreateSession(context.Background(), apiv1.CreateSession{Title: "World", Cap: &cap})).get(t)
	before := h.node.Log().Len()
	h.callErr("POST", "/sessions/"+dst.ID.String()+"/imports", apiv1.Import{File: forged}, http.StatusRequestEntityTooLarge, apiv1.CodeTooLarge)
	if after := h.node.Log().Len(); after != before {
		t.Fatalf("a refused import wrote %d operations", after-before)
	}
}

// TestImportSeatedNoGroupLeft: in a seated gathering the group an import
// would make could not act, so the import is refused before it is made
// (it used to be made, count toward the facilitator's three, and every
// proposal then be refused).
func TestImportSeatedNoGroupLeft(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	ctx := context.Background()
	_, _, file, _ := ratifiedSource(t, h)
	seated := crdt.SeatingSeated
	must(c.UpdateGathering(ctx, apiv1.UpdateGathering{Seating: &seated})).get(t)
	cap := 3
	dst := must(c.CreateSession(ctx, apiv1.CreateSession{Title: "World", Cap: &cap})).get(t)
	before := h.node.Log().Len()
	h.callErr("POST", "/sessions/"+dst.ID.String()+"/imports", apiv1.Import{File: file}, http.StatusForbidden, apiv1.CodeForbidden)
	if after := h.node.Log().Len(); after != before {
		t.Fatalf("a refused import wrote %d operations", after-before)
	}
}
