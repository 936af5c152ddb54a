package scheduler

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/store"
)

var ctx = context.Background()

// clock is a settable test clock shared by the replicas of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func at(s string) time.Time          { t, _ := time.Parse(time.RFC3339, s); return t }
func openStore(t *testing.T, path string) bot.Store {
	t.Helper()
	s, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// digestLog records the windows a job was run for, across replicas.
type digestLog struct {
	mu   sync.Mutex
	runs []string
}

func (l *digestLog) job(t *testing.T, replica string) Job {
	sched, err := ParseSchedule("RESETBOT_DIGEST_SCHEDULE", "0 8 * * 1-5", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	return Job{Name: "digest", Schedule: sched, Run: func(_ context.Context, slot, since time.Time) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		from := "start"
		if !since.IsZero() {
			from = since.Format("Mon 15:04")
		}
		l.runs = append(l.runs, replica+": "+from+" → "+slot.Format("Mon 15:04"))
		return nil
	}}
}

func (l *digestLog) got() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.runs, "; ")
}

func replica(t *testing.T, path, name string, c *clock, l *digestLog) *Runner {
	r := New(openStore(t, path), name, nil)
	r.SetClock(c.Now)
	r.Add(l.job(t, name))
	return r
}

// Two replicas on one database tick at the same moment: the digest for the slot runs once; the
// next slot covers the time since the first.
func TestTwoReplicasRunASlotOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rb.db")
	c := &clock{t: at("2026-11-30T07:00:00Z")} // a Monday
	l := &digestLog{}
	a, b := replica(t, path, "a", c, l), replica(t, path, "b", c, l)

	c.Set(at("2026-11-30T08:00:00Z"))
	var wg sync.WaitGroup
	for _, r := range []*Runner{a, b, a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); r.Tick(ctx) }()
	}
	wg.Wait()
	c.Add(30 * time.Second)
	a.Tick(ctx)
	b.Tick(ctx)
	runs := l.got()
	if strings.Count(runs, "→ Mon 08:00") != 1 {
		t.Fatalf("runs of Monday's digest: %q, want exactly one", runs)
	}
	c.Set(at("2026-12-01T08:00:05Z"))
	b.Tick(ctx)
	a.Tick(ctx)
	if got := l.got(); !strings.HasSuffix(got, ": Mon 08:00 → Tue 08:00") || strings.Count(got, "Tue 08:00") != 1 {
		t.Errorf("Tuesday's digest: %q, want one run covering Monday 08:00 to Tuesday 08:00", got)
	}
}

// All replicas were down over two scheduled runs: the first start catches up once, covering the
// whole gap, not once per missed slot; a second replica starting later does not run it again.
func TestMissedRunsCaughtUpOnceOnStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rb.db")
	c := &clock{t: at("2026-11-30T07:59:00Z")}
	l := &digestLog{}
	first := replica(t, path, "old", c, l)
	c.Set(at("2026-11-30T08:00:00Z"))
	first.Tick(ctx)

	c.Set(at("2026-12-02T10:30:00Z")) // Wednesday, after Tuesday's and Wednesday's slots
	a := replica(t, path, "a", c, l)
	a.Tick(ctx)
	a.Tick(ctx)
	c.Add(time.Minute)
	b := replica(t, path, "b", c, l)
	b.Tick(ctx)
	want := "old: start → Mon 08:00; a: Mon 08:00 → Wed 08:00"
	if got := l.got(); got != want {
		t.Errorf("runs %q, want %q", got, want)
	}
}

// A new installation does not post a digest the moment it starts: it waits for the next slot.
func TestNewInstallationWaitsForTheNextSlot(t *testing.T) {
	c := &clock{t: at("2026-12-02T10:30:00Z")}
	l := &digestLog{}
	r := replica(t, filepath.Join(t.TempDir(), "rb.db"), "a", c, l)
	r.Tick(ctx)
	if got := l.got(); got != "" {
		t.Fatalf("ran at start: %q", got)
	}
	c.Set(at("2026-12-03T08:00:01Z"))
	r.Tick(ctx)
	if got := l.got(); got != "a: start → Thu 08:00" {
		t.Errorf("runs %q, want Thursday's", got)
	}
}

// The replica running the digest dies after claiming it: another takes the run over once the lease
// lapses, and not before.
func TestALapsedRunIsTakenOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rb.db")
	c := &clock{t: at("2026-11-30T07:00:00Z")}
	l := &digestLog{}
	survivor := replica(t, path, "survivor", c, l)
	dead := openStore(t, path)
	slot := at("2026-11-30T08:00:00Z")
	c.Set(slot)
	if ok, err := dead.ClaimJob(ctx, "digest", slot, "dead", slot, slot.Add(defaultLease)); !ok || err != nil {
		t.Fatalf("claim by the replica about to die: %v %v", ok, err)
	}
	c.Add(defaultLease - time.Second)
	survivor.Tick(ctx)
	if got := l.got(); got != "" {
		t.Fatalf("taken over while the lease still ran: %q", got)
	}
	c.Add(2 * time.Second)
	survivor.Tick(ctx)
	if got := l.got(); got != "survivor: start → Mon 08:00" {
		t.Fatalf("after the lease lapsed: %q, want the survivor to run Monday's slot", got)
	}
	run, ok, _ := dead.LastFinishedJob(ctx, "digest")
	if !ok || run.Owner != "survivor" || run.Claims != 2 {
		t.Errorf("finished run %+v", run)
	}
}

// A run that fails is retried when its lease ends, by any replica.
func TestAFailedRunIsRetried(t *testing.T) {
	c := &clock{t: at("2026-11-30T07:00:00Z")}
	r := New(openStore(t, filepath.Join(t.TempDir(), "rb.db")), "a", nil)
	r.SetClock(c.Now)
	sched, _ := ParseSchedule("S", "0 8 * * *", "UTC")
	calls := 0
	r.Add(Job{Name: "digest", Schedule: sched, Lease: time.Minute, Run: func(context.Context, time.Time, time.Time) error {
		calls++
		if calls == 1 {
			return errors.New("Slack is down")
		}
		return nil
	}})
	c.Set(at("2026-11-30T08:00:00Z"))
	r.Tick(ctx)
	r.Tick(ctx)
	if calls != 1 {
		t.Fatalf("retried during the lease: %d calls", calls)
	}
	c.Add(61 * time.Second)
	r.Tick(ctx)
	c.Add(time.Hour)
	r.Tick(ctx)
	if calls != 2 {
		t.Errorf("%d calls, want the failed run retried once after its lease", calls)
	}
}

// RunNow (resetbot digest send) covers the time since the last run, and the next scheduled run
// covers the time since it.
func TestRunNowMovesTheWindow(t *testing.T) {
	c := &clock{t: at("2026-11-30T07:00:00Z")}
	l := &digestLog{}
	r := replica(t, filepath.Join(t.TempDir(), "rb.db"), "a", c, l)
	c.Set(at("2026-11-30T08:00:00Z"))
	r.Tick(ctx)
	c.Set(at("2026-11-30T12:00:00Z"))
	if err := r.RunNow(ctx, "digest"); err != nil {
		t.Fatal(err)
	}
	c.Set(at("2026-12-01T08:00:00Z"))
	r.Tick(ctx)
	want := "a: start → Mon 08:00; a: Mon 08:00 → Mon 12:00; a: Mon 12:00 → Tue 08:00"
	if got := l.got(); got != want {
		t.Errorf("runs %q, want %q", got, want)
	}
	if err := r.RunNow(ctx, "nope"); err == nil {
		t.Error("RunNow of an unknown job succeeded")
	}
}

func TestParseScheduleErrorsNameTheSetting(t *testing.T) {
	for _, c := range []struct{ spec, tz, says string }{
		{"0 8 * *", "UTC", `RESETBOT_DIGEST_SCHEDULE="0 8 * *" is not a cron schedule`},
		{"every morning", "", "RESETBOT_DIGEST_SCHEDULE"},
		{"0 8 * * 1-5", "Europe/Nowhere", `RESETBOT_DIGEST_TZ="Europe/Nowhere" is not a time zone`},
		// robfig/cron panics on these; the setting must be named, not crash the process.
		{"TZ=UTC", "", "names a time zone but no schedule"},
		{"CRON_TZ=UTC", "", "RESETBOT_DIGEST_TZ"},
		{"TZ=", "", "names a time zone but no schedule"},
		{"CRON_TZ= 0 8 * * *", "", "names a time zone but no schedule"},
	} {
		_, err := ParseSchedule("RESETBOT_DIGEST_SCHEDULE", c.spec, c.tz)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("ParseSchedule(%q, %q) = %v, want it to say %q", c.spec, c.tz, err, c.says)
		}
	}
	if _, err := ParseSchedule("RESETBOT_DIGEST_SCHEDULE", "CRON_TZ=Europe/Paris 0 8 * * 1-5", ""); err != nil {
		t.Errorf("a zone prefix with a schedule is refused: %v", err)
	}
	s, err := ParseSchedule("RESETBOT_DIGEST_SCHEDULE", "0 8 * * 1-5", "Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	// 08:00 in Paris in winter is 07:00 UTC; Saturday and Sunday are skipped.
	if got := s.Next(at("2026-12-04T08:00:00Z")).UTC(); !got.Equal(at("2026-12-07T07:00:00Z")) {
		t.Errorf("next run after Friday 08:00 UTC: %v, want Monday 07:00 UTC", got)
	}
}
