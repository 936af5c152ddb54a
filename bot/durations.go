package bot

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Rounded rounds a duration the way a person says it: "8 ms", "2.4 s", "3 min", "12 h",
// "1.5 days".
func Rounded(d time.Duration) string {
	one := func(x float64, unit string) string {
		return strings.TrimSuffix(strconv.FormatFloat(math.Round(x*10)/10, 'f', 1, 64), ".0") + " " + unit
	}
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", max(int64(d.Round(time.Millisecond)/time.Millisecond), 1))
	case d < 10*time.Second:
		return one(d.Seconds(), "s")
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	case d < 48*time.Hour:
		return one(d.Hours(), "h")
	}
	return one(d.Hours()/24, "days")
}

// humanDuration says a setting's length in words for a sentence: "in the last hour", "3 hours",
// "90 minutes".
func humanDuration(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d%time.Hour == 0:
		return count(int(d/time.Hour), "hour")
	default:
		return count(int(d/time.Minute), "minute")
	}
}
