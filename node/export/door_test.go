package export

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
)

// TestImportDoor: importing a bundle checks each distinct operation's
// signature once (in the pipeline, not also in the reader), and an
// outsider's bundle, which has no admission tag, costs no signature check
// and changes nothing.
func TestImportDoor(t *testing.T) {
	raw, b := bombNodes(t)
	g := b.Keys().Gathering
	for _, tc := range []struct {
		name   string
		bundle []byte
		checks int64 // signature checks the import costs
		added  int
		err    error
	}{
		{"bomb of a member's operation", bomb(t, g, raw), 1, 1, nil},
		{"the same bomb again", bomb(t, g, raw), 0, 0, nil},
		{"bomb of an outsider's operation", bomb(t, g, forgeSealed(t, g)), 0, 0, crdt.ErrAdmission},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, digestBefore := b.SignatureChecks(), digest(b)
			res, err := Import(context.Background(), b, bytes.NewReader(tc.bundle), 0, time.Now())
			checks := b.SignatureChecks() - before
			t.Logf("%d copies in %d bytes: %d signature checks, %d added, err %v", bombCopies, len(tc.bundle), checks, res.Added, err)
			if tc.err == nil && err != nil || tc.err != nil && (!errors.Is(err, tc.err) || !errors.Is(err, ErrBadBundle)) {
				t.Fatalf("import: %v, want %v", err, tc.err)
			}
			if checks != tc.checks || res.Added != tc.added {
				t.Fatalf("import: %d signature checks, %d added; want %d, %d", checks, res.Added, tc.checks, tc.added)
			}
			if tc.err != nil && digest(b) != digestBefore {
				t.Fatal("a refused bundle changed the state")
			}
		})
	}
}
