package web

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the name of the API token's file in the data directory.
const TokenFile = "api-token"

// LoadOrCreateToken returns the API token kept in dir/api-token, creating
// it (32 random bytes, base64url, mode 0600) on first use. A token file
// readable or writable by others is narrowed to 0600 rather than refused:
// refusing would only lock the owner out, and the next token would be as
// exposed as the directory allows. Concurrent first runs agree on one
// token: the file appears atomically and only once.
func LoadOrCreateToken(dir string) (string, error) {
	path := filepath.Join(dir, TokenFile)
	tok, err := readToken(path)
	if err == nil {
		return tok, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}

	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	tok = base64.RawURLEncoding.EncodeToString(raw[:])
	tmp, err := os.CreateTemp(dir, "."+TokenFile+"-*")
	if err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("api token: %w", err)
	}
	if _, err := tmp.WriteString(tok + "\n"); err != nil {
		tmp.Close()
		return "", fmt.Errorf("api token: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("api token: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	// Link, unlike rename, fails if another process made the file first;
	// then its token is the one.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readToken(path)
		}
		return "", fmt.Errorf("api token: %w", err)
	}
	return tok, nil
}

func readToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("api token: %s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return "", fmt.Errorf("api token: narrowing the permissions of %s: %w", path, err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("api token: %s does not hold a token; delete it to make a new one", path)
	}
	return tok, nil
}
