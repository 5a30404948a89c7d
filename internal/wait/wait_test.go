package wait

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	boom := errors.New("boom")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		limit   time.Duration
		doneAt  int   // the call that reports done; 0: never
		errAt   int   // the call that fails; 0: never
		wantErr error // nil: success
		wantMsg string
		calls   int // at least
	}{
		{name: "at once", ctx: context.Background(), limit: time.Hour, doneAt: 1, calls: 1},
		{name: "third call", ctx: context.Background(), limit: time.Hour, doneAt: 3, calls: 3},
		{name: "cond fails", ctx: context.Background(), limit: time.Hour, errAt: 2, wantErr: boom, calls: 2},
		{name: "limit", ctx: context.Background(), limit: 5 * time.Millisecond, wantMsg: "not done after 5ms; last state: call", calls: 1},
		{name: "ctx ended", ctx: canceled, limit: time.Hour, wantErr: context.Canceled, wantMsg: "last state: call 1", calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			err := Until(tt.ctx, tt.limit, time.Millisecond, 2*time.Millisecond, func() (bool, string, error) {
				n++
				if n == tt.errAt {
					return false, "", boom
				}
				return n == tt.doneAt, "call " + string(rune('0'+n%10)), nil
			})
			if tt.wantErr == nil && tt.wantMsg == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), tt.wantMsg)) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantMsg)
			}
			if n < tt.calls {
				t.Errorf("%d calls, want at least %d", n, tt.calls)
			}
		})
	}
}
