// Package digest builds the audit digest security teams get every weekday morning: what went
// through resetbot in a period (resets by agent and outcome, approvals, privileged targets,
// failures), what Entra logged that did not (admin center, PowerShell, self-service), and what looks
// wrong (an agent far above their usual count, resets outside business hours, one account reset
// again and again).
//
// It streams: the bot's trail is read once, record by record, and aggregated as it goes; Entra's
// entries are spooled to a temporary file and merged with the trail in time order. Memory holds
// counters per agent, per failure reason and per target account, a sliding window of the last few
// minutes of resets for matching, and the few items each list shows — never the records themselves.
//
// It imports bot, bot/scheduler and chat; it must not import an adapter or graphsvc: Entra's log
// reaches it through EntraLog, which graphsvc implements, and the channels through chat.AuditPoster.
package digest

import (
	"fmt"
	"strings"
	"time"
)

// Config is how digests are built. Zero fields take Defaults' values.
type Config struct {
	// Location is RESETBOT_DIGEST_TZ: the zone the digest's times are shown in and business hours
	// are read in.
	Location *time.Location
	// Hours are business hours (RESETBOT_DIGEST_HOURS, default 08:00-18:00 Mon-Fri).
	Hours Hours
	// HistoryWindows is how many earlier periods of the same length define an agent's usual count
	// (their median).
	HistoryWindows int
	// AgentFactor and AgentMinimum: an agent is flagged when their resets in the period are at least
	// AgentFactor × their usual count and at least AgentMinimum.
	AgentFactor  float64
	AgentMinimum int
	// AccountRepeats flags an account reset this many times or more in the period.
	AccountRepeats int
	// MatchWindow is how far apart an Entra entry and one of resetbot's resets of the same account
	// may be and still be the same reset (clock skew, Graph latency).
	MatchWindow time.Duration
	// BotAppID is resetbot's app registration (AZURE_CLIENT_ID): Entra names it as the initiator of
	// the resets resetbot makes with its own permission.
	BotAppID string
	// TopN caps every list the message shows; the rest is "and N more" (the CSV has everything).
	TopN int
	// EntraTimeout bounds reading Entra's audit log; past it the digest goes out without that part.
	EntraTimeout time.Duration
	// TempDir holds the spool of Entra entries while a digest is built ("" is the system's).
	TempDir string
}

// Defaults are a new install's settings.
func Defaults() Config {
	return Config{
		Location:       time.UTC,
		Hours:          DefaultHours(),
		HistoryWindows: 7,
		AgentFactor:    3,
		AgentMinimum:   10,
		AccountRepeats: 3,
		MatchWindow:    5 * time.Minute,
		TopN:           8,
		EntraTimeout:   3 * time.Minute,
	}
}

func (c Config) withDefaults() Config {
	d := Defaults()
	if c.Location == nil {
		c.Location = d.Location
	}
	if c.Hours.zero() {
		c.Hours = d.Hours
	}
	if c.HistoryWindows <= 0 {
		c.HistoryWindows = d.HistoryWindows
	}
	if c.AgentFactor <= 0 {
		c.AgentFactor = d.AgentFactor
	}
	if c.AgentMinimum <= 0 {
		c.AgentMinimum = d.AgentMinimum
	}
	if c.AccountRepeats <= 0 {
		c.AccountRepeats = d.AccountRepeats
	}
	if c.MatchWindow <= 0 {
		c.MatchWindow = d.MatchWindow
	}
	if c.TopN <= 0 {
		c.TopN = d.TopN
	}
	if c.EntraTimeout <= 0 {
		c.EntraTimeout = d.EntraTimeout
	}
	return c
}

// Hours are business hours: a daily span (minutes after midnight, end excluded) on some weekdays.
type Hours struct {
	Start, End int
	Days       [7]bool // indexed by time.Weekday
}

// DefaultHours is 08:00–18:00, Monday to Friday.
func DefaultHours() Hours {
	h := Hours{Start: 8 * 60, End: 18 * 60}
	for d := time.Monday; d <= time.Friday; d++ {
		h.Days[d] = true
	}
	return h
}

func (h Hours) zero() bool { return h == Hours{} }

// Within reports whether t (already in the digest's zone) falls inside business hours.
func (h Hours) Within(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	return h.Days[t.Weekday()] && m >= h.Start && m < h.End
}

var dayNames = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// String is the form ParseHours reads: "08:00-18:00 Mon-Fri".
func (h Hours) String() string {
	var days []string
	for i := 0; i < 7; {
		d := (i + 1) % 7 // Monday first
		if !h.Days[d] {
			i++
			continue
		}
		j := i
		for j+1 < 7 && h.Days[(j+2)%7] {
			j++
		}
		if j > i {
			days = append(days, dayNames[d]+"-"+dayNames[(j+1)%7])
		} else {
			days = append(days, dayNames[d])
		}
		i = j + 1
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d %s", h.Start/60, h.Start%60, h.End/60, h.End%60, strings.Join(days, ","))
}

// ParseHours reads "08:00-18:00 Mon-Fri" (days as ranges or lists: "Mon,Wed,Fri", "Sun-Thu"; all
// week when left out).
func ParseHours(s string) (Hours, error) {
	bad := func() (Hours, error) {
		return Hours{}, fmt.Errorf("%q is not business hours: want HH:MM-HH:MM and weekdays, such as \"08:00-18:00 Mon-Fri\"", s)
	}
	fields := strings.Fields(s)
	if len(fields) == 0 || len(fields) > 2 {
		return bad()
	}
	from, to, ok := strings.Cut(fields[0], "-")
	if !ok {
		return bad()
	}
	var h Hours
	var err1, err2 error
	h.Start, err1 = clockMinutes(from)
	h.End, err2 = clockMinutes(to)
	if err1 != nil || err2 != nil || h.End <= h.Start {
		return bad()
	}
	if len(fields) == 1 {
		for d := range h.Days {
			h.Days[d] = true
		}
		return h, nil
	}
	for _, part := range strings.Split(fields[1], ",") {
		a, b, isRange := strings.Cut(part, "-")
		da, ok1 := weekday(a)
		db, ok2 := da, true
		if isRange {
			db, ok2 = weekday(b)
		}
		if !ok1 || !ok2 {
			return bad()
		}
		for d := da; ; d = (d + 1) % 7 {
			h.Days[d] = true
			if d == db {
				break
			}
		}
	}
	return h, nil
}

func clockMinutes(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		if s == "24:00" {
			return 24 * 60, nil
		}
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

func weekday(s string) (time.Weekday, bool) {
	for i, n := range dayNames {
		if strings.EqualFold(n, strings.TrimSpace(s)) {
			return time.Weekday(i), true
		}
	}
	return 0, false
}
