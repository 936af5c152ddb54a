package digest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/resetbot/resetbot/bot/scheduler"
	"github.com/resetbot/resetbot/chat"
)

// JobName is the digest's name in the scheduler's store.
const JobName = "digest"

// Poster is one platform's audit channel.
type Poster struct {
	Name string // slack, teams, shell: for logs
	chat.AuditPoster
}

// Sender builds a digest and posts it, with its CSV, to every audit channel. The scheduled job and
// `resetbot digest send` both go through Send.
type Sender struct {
	Builder *Builder
	Posters []Poster
	Log     *slog.Logger
}

// Send builds the digest of [since, until) and posts it everywhere. It fails only when nothing was
// posted; a platform that failed while another succeeded is logged (posting again would repeat the
// digest where it did arrive).
func (s *Sender) Send(ctx context.Context, since, until time.Time) (*Digest, error) {
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(s.Posters) == 0 {
		return nil, errors.New("no audit channel is configured: set RESETBOT_AUDIT_CHANNEL (Slack) or RESETBOT_TEAMS_AUDIT_CONVERSATION (Teams)")
	}
	cfg := s.Builder.Config.withDefaults()
	f, err := os.CreateTemp(cfg.TempDir, "resetbot-digest-*.csv")
	if err != nil {
		return nil, fmt.Errorf("a temporary file for the digest's CSV: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	d, err := s.Builder.Build(ctx, since, until, f)
	if err != nil {
		return nil, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	name := FileName(until, cfg.Location)
	att := &chat.Attachment{Name: name, Title: "resetbot digest detail " + stamp(until, cfg.Location), Size: size,
		Open:  func() (io.ReadCloser, error) { return os.Open(f.Name()) },
		Again: AgainCommand(since, until)}
	msg := d.Message(name)
	posted := 0
	var errs []error
	for _, p := range s.Posters {
		if err := p.PostDigest(ctx, msg, att); err != nil {
			log.Error("posting the digest failed", "platform", p.Name, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
			continue
		}
		posted++
	}
	if posted == 0 {
		return d, fmt.Errorf("the digest could not be posted: %w", errors.Join(errs...))
	}
	log.Info("digest posted", "since", since, "until", until, "resets", d.Resets, "outside", d.Entra.Outside,
		"anomalies", len(d.Anomalies), "entra_error", d.Entra.Err, "platforms", posted)
	return d, nil
}

// Job is the scheduled digest: each slot covers the time since the last digest, or, for the first
// one, since the schedule's previous slot.
func (s *Sender) Job(sched cron.Schedule) scheduler.Job {
	return scheduler.Job{Name: JobName, Schedule: sched, Run: func(ctx context.Context, slot, since time.Time) error {
		if since.IsZero() {
			since = PreviousSlot(sched, slot)
		}
		_, err := s.Send(ctx, since, slot)
		return err
	}}
}

// PreviousSlot is the schedule's last time before slot (a week back at most), else a day before.
func PreviousSlot(sched cron.Schedule, slot time.Time) time.Time {
	var prev time.Time
	if sched != nil {
		for t := sched.Next(slot.Add(-8 * 24 * time.Hour)); !t.IsZero() && t.Before(slot); t = sched.Next(t) {
			prev = t
		}
	}
	if prev.IsZero() {
		prev = slot.Add(-24 * time.Hour)
	}
	return prev
}

// FileName names a digest's CSV after the end of its period.
func FileName(until time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return "resetbot-digest-" + until.In(loc).Format("20060102-1504") + ".csv"
}

// AgainCommand is the command that writes a period's CSV again.
func AgainCommand(since, until time.Time) string {
	return fmt.Sprintf("resetbot digest csv --since %s --until %s", since.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
}
