package graphsvc

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// Benchmarks of bulk resets against the simulator. Each reports its own figures with
// b.ReportMetric (seconds per run, ratios); ns/op is the whole iteration. The clients use the
// production transport, without the tests' tap (whose parsing of every answer would be measured).
// The loop of BenchmarkResetLoopVsBatch takes a minute or two, so run them one iteration each:
//
//	go test ./graphsvc -run '^$' -bench 'Reset' -benchtime 1x

// BenchmarkResetLoopVsBatch compares, for 1,000 users on one simulator with 20 ms per request,
// the seed script's shape (per user: look up, then reset, one call at a time) with FindUsers then
// ResetPasswords.
func BenchmarkResetLoopVsBatch(b *testing.B) {
	const n = 1000
	// A generous per-attempt timeout: on a busy machine one of the loop's 6,000 calls may stall,
	// and the loop's FindUser does not retry a timeout.
	// No groups of interest, as serve configures entra mode: no read of each user's own groups.
	srv, c, users, _ := bulkSim(b, n, func(cfg *Config) {
		cfg.Timeout, cfg.HTTPClient, cfg.GroupsOfInterest = 30*time.Second, nil, []string{}
	})
	srv.SetLatency(20 * time.Millisecond)
	ctx := context.Background()
	upns := make([]string, n)
	for i, u := range users {
		upns[i] = u.UPN
	}
	var loopTook, batchTook, findTook time.Duration
	runs := 0
	for b.Loop() {
		runs++
		// (a) One at a time.
		start := time.Now()
		for i, upn := range upns {
			u, err := c.FindUser(ctx, upn)
			if err != nil {
				b.Fatalf("FindUser %s: %v", upn, err)
			}
			if _, err := c.ResetPassword(ctx, u.ID, bulkPassword(2*runs, i), bot.ResetOptions{}); err != nil {
				b.Fatalf("ResetPassword %s: %v", upn, err)
			}
		}
		loopTook += time.Since(start)

		// (b) Batched.
		start = time.Now()
		found, errs := c.FindUsers(ctx, upns)
		findTook += time.Since(start)
		resets := make([]bot.PasswordReset, n)
		for i, u := range found {
			if errs[i] != nil {
				b.Fatalf("FindUsers %s: %v", upns[i], errs[i])
			}
			resets[i] = bot.PasswordReset{UserID: u.ID, Password: bulkPassword(2*runs+1, i)}
		}
		outcomes := c.ResetPasswords(ctx, resets, nil)
		batchTook += time.Since(start)
		for i, o := range outcomes {
			if o.Err != nil {
				b.Fatalf("ResetPasswords %s: %v", upns[i], o.Err)
			}
		}
		// Each approach set each user's password once.
		for i, u := range users {
			sets := srv.Resets(u.ID)
			if len(sets) != 2*runs || sets[len(sets)-1].Password != resets[i].Password.Reveal() {
				b.Fatalf("%s: %d passwords set after %d runs", u.UPN, len(sets), runs)
			}
		}
	}
	loop, batch := loopTook.Seconds()/float64(runs), batchTook.Seconds()/float64(runs)
	b.ReportMetric(loop, "loop-s")
	b.ReportMetric(batch, "batch-s")
	b.ReportMetric(findTook.Seconds()/float64(runs), "batch-find-s")
	b.ReportMetric(loop/batch, "speedup")
	reportPeakRSS(b)
}

// BenchmarkFindUsers looks 1,000 users up by UPN against the simulator at 20 ms per request: "cold"
// reads the tenant's privileged set on every run (DirectoryCacheTTL negative), "warm" finds it
// cached, as the approval's and the write's re-checks do. It reports Graph requests per user ($batch
// items counted one each; the envelopes apart, as batches per run) and seconds per run:
//
//	go test ./graphsvc -run '^$' -bench FindUsers -benchtime 5x
func BenchmarkFindUsers(b *testing.B) {
	const n = 1000
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{{"cold", -1}, {"warm", time.Hour}} {
		b.Run(tc.name, func(b *testing.B) {
			srv, c, users, _ := bulkSim(b, n, func(cfg *Config) {
				cfg.HTTPClient, cfg.DirectoryCacheTTL = nil, tc.ttl
				cfg.GroupsOfInterest = []string{graphtest.HelpdeskTeamID}
			})
			srv.SetLatency(20 * time.Millisecond)
			upns := make([]string, n)
			for i, u := range users {
				upns[i] = u.UPN
			}
			find := func() {
				_, errs := c.FindUsers(context.Background(), upns)
				for i, err := range errs {
					if err != nil {
						b.Fatalf("%s: %v", upns[i], err)
					}
				}
			}
			if tc.ttl > 0 {
				find()
			}
			start := len(srv.Requests())
			var took time.Duration
			runs := 0
			for b.Loop() {
				runs++
				t0 := time.Now()
				find()
				took += time.Since(t0)
			}
			requests, envelopes, _ := graphCost(srv, start)
			b.ReportMetric(float64(requests)/float64(runs*n), "requests/user")
			b.ReportMetric(float64(envelopes)/float64(runs), "batches/run")
			b.ReportMetric(took.Seconds()/float64(runs), "find-s")
		})
	}
}

// BenchmarkResetThrottled is 1,000 users (FindUsers then ResetPasswords, 20 ms per request) with 10%
// of the writes answered 429 Retry-After: 1, spread over the run; every user is still reset once.
func BenchmarkResetThrottled(b *testing.B) {
	const n = 1000
	var took time.Duration
	var throttled int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srv, c, users, _ := bulkSim(b, n, func(cfg *Config) { cfg.HTTPClient, cfg.GroupsOfInterest = nil, []string{} })
		srv.SetLatency(20 * time.Millisecond)
		upns := make([]string, n)
		for i, u := range users {
			upns[i] = u.UPN
		}
		// Ten throttled writes up front, then one more each time 8 more resets have settled, up to
		// 100: a write is throttled now and then all through the run.
		srv.ThrottleNextWrite(10, time.Second)
		var settled atomic.Int64
		progress := func(bot.ResetOutcome) {
			if s := settled.Add(1); s%8 == 0 && s <= 720 {
				srv.ThrottleNextWrite(1, time.Second)
			}
		}
		b.StartTimer()

		start := time.Now()
		found, errs := c.FindUsers(context.Background(), upns)
		resets := make([]bot.PasswordReset, n)
		for i, u := range found {
			if errs[i] != nil {
				b.Fatalf("FindUsers %s: %v", upns[i], errs[i])
			}
			resets[i] = bot.PasswordReset{UserID: u.ID, Password: bulkPassword(1, i)}
		}
		outcomes := c.ResetPasswords(context.Background(), resets, progress)
		took += time.Since(start)

		b.StopTimer()
		for i, o := range outcomes {
			sets := srv.Resets(resets[i].UserID)
			if o.Err != nil || len(sets) != 1 || sets[0].Password != resets[i].Password.Reveal() {
				b.Fatalf("%s: %v, %d passwords set", upns[i], o.Err, len(sets))
			}
		}
		throttled += patchRetries(srv, n)
		b.StartTimer()
	}
	b.ReportMetric(took.Seconds()/float64(b.N), "run-s")
	b.ReportMetric(float64(throttled)/float64(b.N), "throttled-items")
}

// BenchmarkResetWriteBudget resets 5,000 users under Graph's write budget scaled down 100× in time
// (3,000 writes per 1.5 s) on both the simulator and the client, and reports the run's time over
// the budget's lower bound (the last 2,000 writes cannot start before 1.5 s). The scaled run also
// scales the latency (20 ms → 0.2 ms); the unscaled-latency runs show how the bound depends on
// throughput: no schedule can beat window + (n − budget)/throughput.
func BenchmarkResetWriteBudget(b *testing.B) {
	const (
		n      = 5000
		budget = 3000
		window = 1500 * time.Millisecond
	)
	for _, tc := range []struct {
		latency     time.Duration
		concurrency int
	}{
		{200 * time.Microsecond, DefaultBatchConcurrency},
		{20 * time.Millisecond, DefaultBatchConcurrency},
		{20 * time.Millisecond, 16},
	} {
		b.Run(fmt.Sprintf("latency=%v/concurrency=%d", tc.latency, tc.concurrency), func(b *testing.B) {
			var took time.Duration
			var throttled int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				srv, c, users, _ := bulkSim(b, n, func(cfg *Config) {
					cfg.WriteBudget, cfg.WriteWindow, cfg.BatchConcurrency = budget, window, tc.concurrency
					cfg.HTTPClient = nil
				})
				srv.SetLatency(tc.latency)
				srv.SetWriteBudget(budget, window)
				resets := resetsFor(users, 1)
				b.StartTimer()

				start := time.Now()
				outcomes := c.ResetPasswords(context.Background(), resets, nil)
				took += time.Since(start)

				b.StopTimer()
				for i, o := range outcomes {
					if o.Err != nil || len(srv.Resets(resets[i].UserID)) != 1 {
						b.Fatalf("%s: %v", resets[i].UserID, o.Err)
					}
				}
				throttled += patchRetries(srv, n)
				b.StartTimer()
			}
			run := took.Seconds() / float64(b.N)
			b.ReportMetric(run, "run-s")
			b.ReportMetric(run/budgetLowerBound(n, budget, window).Seconds(), "x-lower-bound")
			b.ReportMetric(float64(throttled)/float64(b.N), "throttled-items")
		})
	}
}

// patchRetries counts the PATCH items sent beyond one per user: the simulator injects no 5xx
// here, so each is a retry after a 429.
func patchRetries(srv *graphtest.Server, users int) int64 {
	n := int64(-users)
	for _, r := range srv.Requests() {
		if r.BatchItem != "" && r.Method == "PATCH" {
			n++
		}
	}
	return n
}

// reportPeakRSS reports the process's peak resident set (simulator included), from Linux's VmHWM.
func reportPeakRSS(b *testing.B) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err == nil {
				b.ReportMetric(float64(kb)/1024, "peak-RSS-MB")
			}
		}
	}
}
