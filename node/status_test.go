package node

import (
	"testing"
	"time"
)

func TestClockStatus(t *testing.T) {
	for _, tc := range []struct {
		offset  time.Duration
		warning bool
		message string
	}{
		{0, false, ""},
		{-time.Minute, false, ""},
		{-58 * time.Minute, true, "this laptop's clock is 58 min ahead of the room"},
		{time.Hour, true, "this laptop's clock is 1 h behind the room"},
		{-(3*time.Hour + 5*time.Minute), true, "this laptop's clock is 3 h 5 min ahead of the room"},
	} {
		c := clockStatus(tc.offset, 3)
		if c.Warning != tc.warning || c.Message != tc.message || c.OffsetMS != tc.offset.Milliseconds() || c.Peers != 3 {
			t.Errorf("offset %v: %+v, want warning %v, message %q", tc.offset, c, tc.warning, tc.message)
		}
	}
}
