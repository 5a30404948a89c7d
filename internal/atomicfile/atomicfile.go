// Package atomicfile replaces files so that a crash or power loss leaves
// either the old content or the new, never a torn file or a stray
// temporary one. It is the one way convene writes a file that must
// survive (state, keys, exports, the run file, the benchmark report).
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// Write replaces path with what fn writes: into a temporary file in the
// same directory (a rename across file systems would not be atomic), given
// perm before anything is written to it, synced, renamed over path, then
// the directory synced so that the rename itself survives a power loss. If
// fn or any step fails, path is left as it was and the temporary file is
// removed. Errors are fn's own or the *fs.PathError of the step that
// failed (which names the file); callers add what they were writing.
func Write(path string, perm os.FileMode, fn func(io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// WriteFile replaces path with the concatenation of parts, as Write does.
func WriteFile(path string, perm os.FileMode, parts ...[]byte) error {
	return Write(path, perm, func(w io.Writer) error {
		for _, b := range parts {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// syncDir makes a rename in dir durable. Windows cannot open a directory
// for syncing (and NTFS journals the rename itself), so there it does
// nothing.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
