package bot

import (
	"testing"
	"time"
)

// Counts agree with their number: "1 row", never "1 rows".
func TestCountsAgree(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Count(1, "row"), "1 row"},
		{Count(2, "row"), "2 rows"},
		{Count(0, "record"), "0 records"},
		{Count(1200, "user"), "1,200 users"},
		{humanDuration(time.Minute), "1 minute"},
		{humanDuration(15 * time.Minute), "15 minutes"},
		{humanDuration(2 * time.Hour), "2 hours"},
		{humanDuration(time.Hour), "hour"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
