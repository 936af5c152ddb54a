package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/digest"
	"github.com/resetbot/resetbot/bot/scheduler"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// demoDigest makes the terminal's /digest: the same job serve schedules, run now (Runner.RunNow),
// posting to the terminal's #it-audit. The sandbox's audit log gets a few resets made outside
// resetbot overnight, so the digest has something to say about them.
func demoDigest(st bot.Store, dir *graphsvc.Client, srv *graphtest.Server, now func() time.Time, log *slog.Logger, out chat.AuditPoster) func(context.Context) error {
	t := now()
	night := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Add(-50 * time.Minute) // 23:10 yesterday
	srv.LogAdminReset(night.Add(4*time.Minute), "megan@contoso.com", "adele@contoso.com", "203.0.113.7")
	srv.LogSelfServiceReset(night.Add(9*time.Hour), "lynne@contoso.com", "198.51.100.20")
	srv.LogAppReset(night.Add(10*time.Hour), "9b1e2c3d-0000-4000-8000-00000000c0de", "HR onboarding script", "lynne@contoso.com")

	ds := digestSettings{Spec: DefaultDigestSchedule, Config: digest.Defaults(), Entra: true}
	ds.Schedule, _ = scheduler.ParseSchedule("RESETBOT_DIGEST_SCHEDULE", ds.Spec, "UTC")
	sender := newDigestSender(ds, st, dir, graphtest.ResetbotAppID, []digest.Poster{{Name: "shell", AuditPoster: out}}, log)
	runner := scheduler.New(st, jobOwner(), log)
	runner.SetClock(now)
	runner.Add(sender.Job(ds.Schedule))
	return func(ctx context.Context) error { return runner.RunNow(ctx, digest.JobName) }
}
