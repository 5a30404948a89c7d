package node

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadSnapshot: whatever a damaged disk leaves in state.snap, reading it
// gives an error or a body whose header and checksum held — never a panic.
func FuzzReadSnapshot(f *testing.F) {
	dir := f.TempDir()
	if err := writeSnapshot(dir, snapshotKey{ops: 3, digest: "530eba1cc6f0c1159281b41c69fce5d0"}, []byte("body")); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(snapshotMagic[:])
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, snapshotFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		key, body, err := readSnapshot(dir)
		if err != nil {
			return
		}
		if err := writeSnapshot(dir, key, body); err != nil {
			t.Fatal(err)
		}
		key2, body2, err := readSnapshot(dir)
		if err != nil || key2 != key || string(body2) != string(body) {
			t.Fatalf("a snapshot read back does not survive a rewrite: %v", err)
		}
	})
}
