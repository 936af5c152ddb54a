package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/resetbot/resetbot/chat"
)

// EventAuditRead records that someone read the trail in chat (/resetpw audit): who looks at whose
// records is itself part of the trail.
const EventAuditRead AuditEvent = "audit_read"

// How far back /resetpw audit looks by default and at most. Longer periods are for
// `resetbot audit export`, which streams to a file instead of a chat message.
const (
	DefaultAuditWindow = 7 * 24 * time.Hour
	MaxAuditWindow     = 90 * 24 * time.Hour
	// auditRecent is how many of the latest entries the chat summary lists.
	auditRecent = 10
)

// ParseWindow reads a length of time back from now: "7d" (days), "2w" (weeks), "36h" (hours), or
// any Go duration ("90m", "1h30m").
func ParseWindow(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if n := len(s); n >= 2 && n <= 7 {
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[n-1]]
		if unit != 0 {
			v, err := strconv.Atoi(s[:n-1])
			if err != nil || v < 0 {
				return 0, fmt.Errorf("%q is not a number of days or weeks", s)
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a length of time such as 7d or 36h", s)
	}
	return d, nil
}

// ParseSince reads a point in time for the audit commands: a length of time back from now ("7d",
// "36h"), a date ("2026-11-01", the start of that day in UTC), or an RFC 3339 time
// ("2026-11-01T08:00:00+01:00").
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := ParseWindow(s); err == nil {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time I understand: give a length of time back from now (7d, 36h), a date (2026-11-01, UTC) or an RFC 3339 time (2026-11-01T08:00:00Z)", s)
}

// auditSummary handles /resetpw audit: counts by outcome and the latest entries of the trail over a
// window, for approvers and security only, answered to the caller alone. It streams the trail, so
// it holds the counts and the last few entries whatever the trail's length.
func (s *Service) auditSummary(ctx context.Context, in chat.Incoming, me User, cmd Command) error {
	filter := ""
	if len(cmd.Targets) > 0 {
		filter = strings.ToLower(cmd.Targets[0]) // UPNs are case-insensitive
	}
	if d := s.cfg.Policy.MayReadAudit(me); d.Verdict != Allow {
		s.audit(ctx, &AuditRecord{Event: EventRefused, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(), ActorUPN: me.UPN,
			TargetUPN: filter, Outcome: "not_permitted", Detail: "audit: " + d.Reason})
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ " + d.Reason, Text: d.Remedy})
	}
	window := cmd.Since
	if window <= 0 {
		window = DefaultAuditWindow
	}
	now := s.now()
	from := now.Add(-window)
	sum := newTrailSummary(filter)
	after, err := s.store.AuditAfter(ctx, from)
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	err = s.store.AuditSince(ctx, after, func(r AuditRecord) error {
		if !r.At.Before(from) {
			sum.add(r)
		}
		return ctx.Err()
	})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return s.unavailable(ctx, in, err)
	}
	s.audit(ctx, &AuditRecord{Event: EventAuditRead, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(), ActorUPN: me.UPN,
		TargetUPN: filter, Outcome: "shown", Detail: fmt.Sprintf("last %s: %s", windowWords(window), count(sum.total, "record"))})
	return in.Reply.Reply(ctx, s.renderTrailSummary(sum, window, from, now))
}

// trailSummary is what auditSummary keeps while streaming: counts and a ring of the latest entries.
type trailSummary struct {
	filter string
	total  int
	counts map[string]int // event + "/" + outcome
	recent [auditRecent]AuditRecord
	next   int // where the next entry goes in recent
	shown  int // entries in recent, up to auditRecent
	// people are the Entra UPNs the window's records give chat accounts: a record made before its
	// actor was looked up (a command not understood) names only the chat account.
	people map[string]string
}

func newTrailSummary(filter string) *trailSummary {
	return &trailSummary{filter: filter, counts: map[string]int{}, people: map[string]string{}}
}

func (t *trailSummary) matches(r AuditRecord) bool {
	if t.filter == "" {
		return true
	}
	return strings.EqualFold(r.TargetUPN, t.filter) || strings.EqualFold(r.ActorUPN, t.filter) ||
		strings.EqualFold(r.TargetID, t.filter)
}

func (t *trailSummary) add(r AuditRecord) {
	if r.ActorKey != "" && r.ActorUPN != "" {
		t.people[r.ActorKey] = r.ActorUPN
	}
	if r.Event == EventAuditRead || !t.matches(r) {
		return
	}
	t.total++
	t.counts[string(r.Event)+"/"+r.Outcome]++
	// Commands not understood are counted, not listed: a few typos would push real resets out of
	// the latest entries.
	if entryWords(r) == "" || r.Event == EventRefused && r.Outcome == "bad_input" {
		return
	}
	t.recent[t.next] = r
	t.next = (t.next + 1) % auditRecent
	t.shown = min(t.shown+1, auditRecent)
}

// latest returns the kept entries, newest first.
func (t *trailSummary) latest() []AuditRecord {
	out := make([]AuditRecord, 0, t.shown)
	for i := 1; i <= t.shown; i++ {
		out = append(out, t.recent[(t.next-i+auditRecent)%auditRecent])
	}
	return out
}

// entryWords says what a record means in the list of latest entries, or "" for the steps in between
// (requested, the policy allowing, sessions revoked, DMs), which the counts cover.
func entryWords(r AuditRecord) string {
	switch r.Event {
	case EventReset:
		if r.Outcome == "done" {
			return "reset"
		}
		return "reset " + r.Outcome
	case EventDecision:
		if r.Outcome == Deny.String() {
			return "refused by policy"
		}
	case EventApproval:
		switch r.Outcome {
		case "approved", "denied":
			return r.Outcome
		case "refused":
			return "approval click refused"
		case "failed":
			return "approval could not be asked"
		}
	case EventExpired:
		return "approval expired"
	case EventRefused:
		return "refused: " + refusalWords(r.Outcome)
	}
	return ""
}

func refusalWords(outcome string) string {
	switch outcome {
	case "not_found":
		return "no such user"
	case "bad_input":
		return "command not understood"
	case "not_permitted":
		return "not permitted"
	case "not_signed_in":
		return "agent not signed in"
	case "lookup_failed":
		return "directory lookup failed"
	case "unknown_actor":
		return "requester not found in Entra"
	case "actor_disabled":
		return "requester's account disabled"
	case "no_such_request":
		return "no such request"
	}
	return strings.ReplaceAll(outcome, "_", " ")
}

func (s *Service) renderTrailSummary(sum *trailSummary, window time.Duration, from, now time.Time) chat.Message {
	title := "📜 Audit trail, last " + windowWords(window)
	if sum.filter != "" {
		title += " · " + sum.filter
	}
	m := chat.Message{Title: title,
		Footer: fmt.Sprintf("%s from %s to %s · only you can see this · everything: resetbot audit export --since %s",
			count(sum.total, "record"), s.when(from), s.when(now), exportSince(window))}
	if sum.total == 0 {
		who := ""
		if sum.filter != "" {
			who = " for " + sum.filter
		}
		m.Text = fmt.Sprintf("Nothing in the trail%s in the last %s.", who, windowWords(window))
		return m
	}
	// The counts come first, as lines; the latest entries follow as a small table (time → what).
	c := sum.counts
	var counts []string
	add := func(label string, parts ...string) {
		var kept []string
		for i := 0; i+1 < len(parts); i += 2 {
			if n := c[parts[i]]; n > 0 {
				// "click refused|clicks refused": a noun's two forms; other labels read with any number.
				label := parts[i+1]
				if one, many, ok := strings.Cut(label, "|"); ok {
					label = many
					if n == 1 {
						label = one
					}
				}
				kept = append(kept, thousands(n)+" "+label)
			}
		}
		if len(kept) > 0 {
			counts = append(counts, label+": "+strings.Join(kept, " · "))
		}
	}
	add("Resets", "reset/done", "done", "reset/failed", "failed")
	add("Policy", "decision/allow", "allowed", "decision/needs_approval", "needed approval", "decision/deny", "refused")
	add("Approvals", "approval/approved", "approved", "approval/denied", "denied", "expired/expired", "expired",
		"approval/refused", "click refused|clicks refused", "approval/failed", "could not be asked")
	var refusals []string
	for k := range c {
		if o, ok := strings.CutPrefix(k, string(EventRefused)+"/"); ok {
			refusals = append(refusals, o)
		}
	}
	sort.Strings(refusals)
	var parts []string
	for _, o := range refusals {
		label := refusalWords(o)
		switch o {
		case "bad_input":
			label = "command not understood|commands not understood"
		case "not_found":
			label = "unknown user|unknown users"
		}
		parts = append(parts, string(EventRefused)+"/"+o, label)
	}
	add("Other refusals", parts...)
	add("Password DMs", "delivery/sent", "sent", "delivery/withdrawn", "withdrawn", "delivery/failed", "failed")

	m.Text = strings.Join(counts, "\n")
	for _, r := range sum.latest() {
		line := sum.who(r)
		if r.TargetUPN != "" {
			line += " → " + r.TargetUPN
		}
		line += " · " + entryWords(r)
		if r.Detail != "" && !(r.Event == EventRefused && (r.Outcome == "not_found" || r.Outcome == "bad_input")) {
			line += " · " + clipTo(r.Detail, 100)
		}
		if r.RequestID != "" {
			line += " · " + r.RequestID
		}
		m.Fields = append(m.Fields, chat.Field{Label: s.when(r.At), Value: line})
	}
	if len(m.Fields) > 0 {
		m.Text += "\nLatest, newest first:"
	}
	return m
}

// who names a record's actor as a person: their UPN, from this record or another of the same chat
// account, never the chat account's internal key.
func (t *trailSummary) who(r AuditRecord) string {
	if r.ActorUPN != "" {
		return r.ActorUPN
	}
	if upn := t.people[r.ActorKey]; upn != "" {
		return upn
	}
	if r.ActorKey == "" {
		return "resetbot"
	}
	return "an account in " + platformName(r.Platform) + " not matched to Entra"
}

func (s *Service) when(t time.Time) string { return t.In(s.cfg.Location).Format("Mon 2 Jan 15:04 MST") }

func windowWords(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d == 24*time.Hour:
		return "day"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d == time.Hour:
		return "hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return d.String()
}

func exportSince(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func clipTo(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
