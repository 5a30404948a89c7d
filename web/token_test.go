package web

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateToken(t *testing.T) {
	dir := t.TempDir()
	tok, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 43 {
		t.Errorf("token %q: %d characters, want 43 (32 bytes, base64url)", tok, len(tok))
	}
	path := filepath.Join(dir, TokenFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi.Mode(), err)
	}
	again, err := LoadOrCreateToken(dir)
	if err != nil || again != tok {
		t.Fatalf("second load: %q %v, want %q", again, err, tok)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("leftover files: %v", entries)
	}

	// Too open: narrowed, not refused.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if again, err = LoadOrCreateToken(dir); err != nil || again != tok {
		t.Fatalf("load of a 0644 file: %q %v", again, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("permissions left at %v", fi.Mode().Perm())
	}

	// Another token of another directory differs.
	other, err := LoadOrCreateToken(t.TempDir())
	if err != nil || other == tok {
		t.Errorf("two directories share a token")
	}

	// A file that holds no token is an error, not silently replaced.
	if err := os.WriteFile(path, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateToken(dir); err == nil {
		t.Errorf("empty token file accepted")
	}
	if _, err := LoadOrCreateToken(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("missing directory accepted")
	}
}
