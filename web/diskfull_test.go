package web

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"syscall"
	"testing"

	"github.com/convene/convene/web/apiv1"
)

func TestErrorStatusDiskFull(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"wrapped ENOSPC", fmt.Errorf("store: put: %w", &fs.PathError{Op: "write", Path: "000001.log", Err: syscall.ENOSPC}), http.StatusInsufficientStorage, apiv1.CodeDiskFull},
		{"other OS error", fmt.Errorf("store: put: %w", &fs.PathError{Op: "write", Path: "000001.log", Err: syscall.EIO}), http.StatusInternalServerError, apiv1.CodeInternal},
		{"plain error", errors.New("boom"), http.StatusInternalServerError, apiv1.CodeInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code := errorStatus(tc.err)
			if status != tc.status || code != tc.code {
				t.Fatalf("errorStatus = %d %s, want %d %s", status, code, tc.status, tc.code)
			}
		})
	}
}
