// Package scheduler runs scheduled work (the audit digest) on exactly one replica of many, with no
// leader. Each run is named by its job and the schedule's slot — the time the schedule named, the
// same on every replica — and the store's job_runs row for that slot is the claim: whoever inserts
// it runs the slot. A claim is a lease; a replica that dies mid-run lets it lapse and another takes
// the run over. The run's context ends a margin before its lease, so a slow run is cancelled
// rather than overtaken while still working.
//
// Why not a job queue library (River runs on PostgreSQL and SQLite and takes a cron schedule): the
// bot's other timed work already has natural keys with conditional writes — approval expiry is a
// compare-and-swap on the request's state, DM withdrawal a lease on the delivery row — so only the
// digest needed a scheduler, and one table with one conditional INSERT gives it the same
// guarantees in both engines, without a second set of tables, a leader election, or a second
// connection pool competing with SQLite's single writer.
//
// It imports bot only (the job runs it claims) of resetbot's, and robfig/cron for schedules; it must
// not import an adapter, graphsvc or a store engine: the store reaches it as Runs.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/resetbot/resetbot/bot"
)

// Runs is what the runner needs from the store.
type Runs interface {
	ClaimJob(ctx context.Context, job string, slot time.Time, owner string, now, leaseUntil time.Time) (bool, error)
	FinishJob(ctx context.Context, job string, slot time.Time, owner string, at time.Time) (bool, error)
	LastFinishedJob(ctx context.Context, job string) (bot.JobRun, bool, error)
	LapsedJobs(ctx context.Context, now time.Time) ([]bot.JobRun, error)
}

// Job is scheduled work.
type Job struct {
	Name     string
	Schedule cron.Schedule // from ParseSchedule; nil for a job that only runs on demand (RunNow)
	// Lease is how long one run may take before another replica may take it over; default 10
	// minutes. The run's context ends a tenth earlier.
	Lease time.Duration
	// Run does the work for slot. since is the slot of the last finished run (zero when none),
	// so the work covers [since, slot): a digest "since the last digest".
	Run func(ctx context.Context, slot, since time.Time) error
}

const defaultLease = 10 * time.Minute

// lookback bounds how far back a missed slot is looked for: a week covers any weekday schedule.
const lookback = 8 * 24 * time.Hour

// ParseSchedule parses a standard five-field cron spec (robfig/cron/v3; descriptors like @daily
// too) in a time zone. setting names the configuration entry (RESETBOT_DIGEST_SCHEDULE), so an
// error says which to fix; the zone's entry is named after it (RESETBOT_DIGEST_TZ).
func ParseSchedule(setting, spec, tz string) (cron.Schedule, error) {
	loc := time.Local
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("%s_TZ=%q is not a time zone (use an IANA name such as Europe/Paris or UTC)", strings.TrimSuffix(setting, "_SCHEDULE"), tz)
		}
		loc = l
	}
	// robfig/cron panics on a zone prefix with nothing after it ("TZ=UTC"): say what is wrong instead.
	if zone, rest, found := strings.Cut(strings.TrimSpace(spec), " "); (strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=")) && (!found || strings.TrimSpace(rest) == "" || strings.HasSuffix(zone, "=")) {
		return nil, fmt.Errorf("%s=%q names a time zone but no schedule: put the zone in %s_TZ and the five fields here (e.g. \"0 8 * * 1-5\"), or write CRON_TZ=Europe/Paris 0 8 * * 1-5",
			setting, spec, strings.TrimSuffix(setting, "_SCHEDULE"))
	}
	sched, err := parseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%s=%q is not a cron schedule (five fields: minute hour day-of-month month day-of-week, e.g. \"0 8 * * 1-5\"): %v", setting, spec, err)
	}
	if s, ok := sched.(*cron.SpecSchedule); ok {
		s.Location = loc
	}
	return sched, nil
}

// parseStandard is cron.ParseStandard with its panics on odd input turned into errors: a setting
// must never bring the process down.
func parseStandard(spec string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("it cannot be read (%v)", r)
		}
	}()
	return cron.ParseStandard(spec)
}

// Runner runs jobs. Every replica runs one with its own owner name.
type Runner struct {
	runs  Runs
	owner string
	log   *slog.Logger
	now   func() time.Time
	start time.Time

	mu   sync.Mutex
	jobs map[string]Job
	busy map[string]bool // jobs running in this process, so a slow run is not started twice here
}

// New makes a runner for one replica; owner names it in the store (host and process, say).
func New(runs Runs, owner string, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{runs: runs, owner: owner, log: log, now: time.Now, start: time.Now(),
		jobs: map[string]Job{}, busy: map[string]bool{}}
}

// SetClock replaces the clock (tests); the runner's start time moves with it.
func (r *Runner) SetClock(now func() time.Time) {
	r.now = now
	r.start = now()
}

// Add registers a job.
func (r *Runner) Add(j Job) {
	if j.Lease <= 0 {
		j.Lease = defaultLease
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs[j.Name] = j
}

// Tick runs what is due and waits for it: for each scheduled job, the latest slot at or before now,
// when no run of it (or a later one) has finished — which also catches up, once, a slot missed
// while every replica was down; then any lapsed run another replica left unfinished.
//
// A job that never finished a run starts with the first slot after this runner started: a new
// installation does not post a digest the moment it starts.
func (r *Runner) Tick(ctx context.Context) {
	now := r.now()
	// The runs this tick starts, waited for before it returns. Each tick has its own: two ticks at
	// once (a slow run and the next interval) must not share one WaitGroup's count.
	var wg sync.WaitGroup
	r.mu.Lock()
	jobs := make([]Job, 0, len(r.jobs))
	for _, j := range r.jobs {
		jobs = append(jobs, j)
	}
	r.mu.Unlock()
	for _, j := range jobs {
		if j.Schedule == nil {
			continue
		}
		last, ok, err := r.runs.LastFinishedJob(ctx, j.Name)
		if err != nil {
			r.log.Error("reading the last run of a job failed", "job", j.Name, "err", err)
			continue
		}
		slot := latestSlot(j.Schedule, now)
		if slot.IsZero() || (ok && !slot.After(last.Slot)) || (!ok && slot.Before(r.start)) {
			continue
		}
		r.run(ctx, &wg, j, slot, now)
	}
	lapsed, err := r.runs.LapsedJobs(ctx, now)
	if err != nil {
		r.log.Error("listing lapsed job runs failed", "err", err)
	} else {
		for _, run := range lapsed {
			r.mu.Lock()
			j, known := r.jobs[run.Job]
			r.mu.Unlock()
			if known {
				r.log.Warn("taking over a run another replica left unfinished", "job", run.Job, "slot", run.Slot, "owner", run.Owner)
				r.run(ctx, &wg, j, run.Slot, now)
			}
		}
	}
	wg.Wait()
}

// RunNow runs a job at once, for a slot of now (the `digest send` command). It covers the time
// since the last finished run, and the next scheduled run covers the time since this one.
func (r *Runner) RunNow(ctx context.Context, name string) error {
	r.mu.Lock()
	j, ok := r.jobs[name]
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("no job named %q", name)
	}
	now := r.now()
	err := r.runSlot(ctx, j, now.UTC(), now)
	if errors.Is(err, errNotClaimed) {
		return fmt.Errorf("%s is already running on another replica", name)
	}
	return err
}

// Loop calls Tick every interval until ctx ends.
func (r *Runner) Loop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		r.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var errNotClaimed = errors.New("another replica holds the run")

func (r *Runner) run(ctx context.Context, wg *sync.WaitGroup, j Job, slot, now time.Time) {
	r.mu.Lock()
	if r.busy[j.Name] {
		r.mu.Unlock()
		return
	}
	r.busy[j.Name] = true
	r.mu.Unlock()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			r.mu.Lock()
			delete(r.busy, j.Name)
			r.mu.Unlock()
		}()
		if err := r.runSlot(ctx, j, slot, now); err != nil && !errors.Is(err, errNotClaimed) {
			r.log.Error("a scheduled job failed; another tick will retry it when its lease ends", "job", j.Name, "slot", slot, "err", err)
		}
	}()
}

// runSlot claims, runs and finishes one slot. A failed run is left unfinished: its lease lapses
// and the next tick (here or on another replica) retries it.
func (r *Runner) runSlot(ctx context.Context, j Job, slot, now time.Time) error {
	claimed, err := r.runs.ClaimJob(ctx, j.Name, slot, r.owner, now, now.Add(j.Lease))
	if err != nil {
		return err
	}
	if !claimed {
		return errNotClaimed
	}
	var since time.Time
	if last, ok, err := r.runs.LastFinishedJob(ctx, j.Name); err != nil {
		return err
	} else if ok && last.Slot.Before(slot) {
		since = last.Slot
	}
	runCtx, cancel := context.WithTimeout(ctx, j.Lease-j.Lease/10)
	defer cancel()
	started := time.Now()
	if err := j.Run(runCtx, slot, since); err != nil {
		return err
	}
	// A run past its lease may have been taken over; FinishJob then says so.
	finished, err := r.runs.FinishJob(ctx, j.Name, slot, r.owner, r.now())
	if err != nil {
		return err
	}
	if !finished {
		r.log.Warn("a job run finished after its lease lapsed", "job", j.Name, "slot", slot)
	}
	r.log.Info("job run finished", "job", j.Name, "slot", slot, "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// latestSlot is the last time the schedule names at or before now, zero when none in lookback.
func latestSlot(s cron.Schedule, now time.Time) time.Time {
	var slot time.Time
	for t := s.Next(now.Add(-lookback)); !t.IsZero() && !t.After(now); t = s.Next(t) {
		slot = t
	}
	return slot
}
