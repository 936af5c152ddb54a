package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/digest"
)

// health answers /readyz from the last result of each check, run in the background, so a probe
// never waits on Slack or Teams and a burst of probes makes no calls at all.
//
// Ready means: not shutting down, every required check (the store) up, and, when chat platforms
// are configured, at least one of them up. A platform that is down degrades: it shows as down in
// /readyz's detail and in resetbot_dependency_up, but does not take the replica out of rotation
// while another platform still works (taking it out would not bring Slack back, and would stop
// Teams too).
type health struct {
	log      *slog.Logger
	up       *prometheus.GaugeVec
	draining atomic.Bool

	mu     sync.Mutex
	checks []*depCheck
}

type depCheck struct {
	name     string
	platform bool
	fn       func(context.Context) error

	checked bool
	ok      bool
	since   time.Time // of the current state
}

// checkTimeout bounds one check; a platform that takes longer is down for this round.
const checkTimeout = 5 * time.Second

func newHealth(log *slog.Logger) *health {
	return &health{log: log, up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "resetbot_dependency_up",
		Help: "Whether a dependency answered its last readiness check (1) or not (0): the store, and each chat platform.",
	}, []string{"dependency"})}
}

// require adds a check that must pass for the replica to be ready.
func (h *health) require(name string, fn func(context.Context) error) { h.add(name, false, fn) }

// platform adds a chat platform's check: down, it degrades readiness rather than failing it.
func (h *health) platform(name string, fn func(context.Context) error) { h.add(name, true, fn) }

func (h *health) add(name string, platform bool, fn func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, &depCheck{name: name, platform: platform, fn: fn})
}

// refresh runs every check once, at the same time, and records the results. A change of state is
// logged once, with the error (which /readyz does not show: it could name internal hosts).
func (h *health) refresh(ctx context.Context) {
	h.mu.Lock()
	checks := append([]*depCheck(nil), h.checks...)
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, checkTimeout)
			err := c.fn(cctx)
			cancel()
			if ctx.Err() != nil {
				return // shutting down: not the dependency's fault
			}
			h.mu.Lock()
			changed := !c.checked || c.ok != (err == nil)
			c.checked, c.ok = true, err == nil
			if changed {
				c.since = time.Now()
			}
			h.mu.Unlock()
			h.up.WithLabelValues(c.name).Set(map[bool]float64{true: 1, false: 0}[err == nil])
			switch {
			case changed && err != nil:
				h.log.Warn("dependency down", "dependency", c.name, "err", err)
			case changed:
				h.log.Info("dependency up", "dependency", c.name)
			}
		}()
	}
	wg.Wait()
}

// loop refreshes at start and then every interval until ctx ends.
func (h *health) loop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		h.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// state is the verdict and one line per check.
func (h *health) state() (ready bool, summary string, lines []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var down, degraded, pending []string
	platforms, platformsUp, platformsPending := 0, 0, 0
	for _, c := range h.checks {
		status := "up"
		switch {
		case !c.checked:
			status = "not checked yet"
		case !c.ok:
			status = "down since " + c.since.UTC().Format(time.RFC3339)
		}
		lines = append(lines, c.name+": "+status)
		switch {
		case c.platform && !c.checked:
			platforms++
			platformsPending++
		case c.platform:
			platforms++
			if c.ok {
				platformsUp++
			} else {
				degraded = append(degraded, c.name)
			}
		case !c.checked:
			pending = append(pending, c.name)
		case !c.ok:
			down = append(down, c.name)
		}
	}
	sort.Strings(lines)
	switch {
	case h.draining.Load():
		return false, "not ready: shutting down", lines
	case len(down) > 0:
		return false, "not ready: " + strings.Join(down, ", ") + " down", lines
	case len(pending) > 0 || (platforms > 0 && platformsUp == 0 && platformsPending > 0):
		return false, "not ready: starting", lines
	case platforms > 0 && platformsUp == 0:
		return false, "not ready: no chat platform answers (" + strings.Join(degraded, ", ") + " down)", lines
	case len(degraded) > 0:
		return true, "ready, degraded: " + strings.Join(degraded, ", ") + " down", lines
	}
	return true, "ready", lines
}

// readyz answers 200 or 503 with the verdict and each dependency's state, names only.
func (h *health) readyz(w http.ResponseWriter, _ *http.Request) {
	ready, summary, lines := h.state()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprintln(w, summary)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// healthz is liveness: the process answers. It depends on nothing outside, so an outage of Graph,
// Slack or the database never gets replicas restarted.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// opsMetrics are the serving process's own gauges, beside bot/metrics' counters.
type opsMetrics struct {
	build            *prometheus.GaugeVec
	pendingApprovals prometheus.Gauge
	pendingDMs       prometheus.Gauge
	lastDigest       prometheus.Gauge
	httpDuration     *prometheus.HistogramVec
}

func newOpsMetrics(b buildInfo) *opsMetrics {
	m := &opsMetrics{
		build: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "resetbot_build_info",
			Help: "Always 1; the labels say which resetbot this is."}, []string{"version", "revision", "goversion"}),
		pendingApprovals: prometheus.NewGauge(prometheus.GaugeOpts{Name: "resetbot_pending_approvals",
			Help: "Requests waiting for a second person's approval (the whole deployment: every replica reports the same)."}),
		pendingDMs: prometheus.NewGauge(prometheus.GaugeOpts{Name: "resetbot_pending_dm_withdrawals",
			Help: "Password DMs still to be withdrawn (the whole deployment)."}),
		lastDigest: prometheus.NewGauge(prometheus.GaugeOpts{Name: "resetbot_last_digest_success_timestamp_seconds",
			Help: "When the last audit digest finished, as a Unix time; 0 before the first."}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "resetbot_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route and status code.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"route", "code"}),
	}
	m.build.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	return m
}

func (m *opsMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.build, m.pendingApprovals, m.pendingDMs, m.lastDigest, m.httpDuration}
}

// gaugeStore is what the gauges read.
type gaugeStore interface {
	ExpiredWaiting(ctx context.Context, now time.Time) ([]*bot.Request, error)
	DueDeliveries(ctx context.Context, now time.Time) ([]bot.Delivery, error)
	LastFinishedJob(ctx context.Context, job string) (bot.JobRun, bool, error)
}

// farFuture lists everything still pending through the store's "due before" queries: the latest
// time the store's Unix-nanosecond columns hold (a date past 2262 would overflow them).
var farFuture = time.Unix(0, math.MaxInt64)

// refreshGauges reads the store's backlog into the gauges; a failed read leaves the last value.
func (m *opsMetrics) refreshGauges(ctx context.Context, st gaugeStore) {
	if reqs, err := st.ExpiredWaiting(ctx, farFuture); err == nil {
		n := 0
		for _, r := range reqs {
			if r.State == bot.StatePending { // previews wait for their requester, not an approver
				n++
			}
		}
		m.pendingApprovals.Set(float64(n))
	}
	if ds, err := st.DueDeliveries(ctx, farFuture); err == nil {
		m.pendingDMs.Set(float64(len(ds)))
	}
	if run, ok, err := st.LastFinishedJob(ctx, digest.JobName); err == nil && ok {
		m.lastDigest.Set(float64(run.FinishedAt.Unix()))
	}
}

// gaugeLoop refreshes the gauges at start and every interval.
func (m *opsMetrics) gaugeLoop(ctx context.Context, st gaugeStore, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		m.refreshGauges(rctx, st)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
