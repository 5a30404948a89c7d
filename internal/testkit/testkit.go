// Package testkit holds the fixtures that the tests of several packages
// share. Only _test.go files import it: it imports testing.
package testkit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"os"
	"testing"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/wait"
)

// Eventually polls cond, backing off from 20 ms to 500 ms, until it holds;
// after timeout it fails t with what and the state cond last reported.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, state string)) {
	t.Helper()
	start := time.Now()
	err := wait.Until(t.Context(), timeout, 20*time.Millisecond, 500*time.Millisecond, func() (bool, string, error) {
		ok, state := cond()
		return ok, state, nil
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
}

// Context is a context that ends after timeout or with the test.
func Context(t testing.TB, timeout time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// Signer is the identity named name: the same key pair in every test and
// every process, so that a child process can rebuild a parent's fixtures.
func Signer(name string) crdt.Signer {
	seed := sha256.Sum256([]byte("convene test signer " + name))
	s, err := crdt.NewSigner(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		panic(err) // a 32-byte seed always makes a key
	}
	return s
}

// CopyDir copies a directory as it is on disk now into a new temporary
// one. Under an open store it is a crash image: every acknowledged write
// is synced, so the copy is what kill -9 would leave.
func CopyDir(t testing.TB, dir string) string {
	t.Helper()
	out := t.TempDir()
	if err := os.CopyFS(out, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return out
}
