package bot

import (
	"time"

	"github.com/resetbot/resetbot/chat"
)

// Times as people read them. A time is shown in the reader's own zone where their platform tells
// it (Slack's profile tz, Teams' localTimezone), else in the configured one (RESETBOT_TZ), and with
// its day when that is not today where the reader is: "09:30 CET", "Tue 8 Dec 09:30 CET". Times stay
// absolute: a message stays on screen long after it was sent, and "in 15 min" would then be wrong.

// clockFor shows a time to one person.
func (s *Service) clockFor(a chat.Actor, t time.Time) string {
	return s.clockIn(a.Location(s.cfg.Location), t)
}

// clock shows a time to readers the service does not know one by one (an approval card in a
// channel): in the configured zone.
func (s *Service) clock(t time.Time) string { return s.clockIn(s.cfg.Location, t) }

func (s *Service) clockIn(loc *time.Location, t time.Time) string {
	t, now := t.In(loc), s.now().In(loc)
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04 MST")
	}
	return t.Format("Mon 2 Jan 15:04 MST")
}
