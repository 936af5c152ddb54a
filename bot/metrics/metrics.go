// Package metrics exposes what resetbot does as Prometheus metrics. It never sees a password, a
// token or a user name: labels are outcomes, kinds and platforms only, so a scrape leaks nothing.
//
// It imports bot and chat of resetbot's; it must not import an adapter, graphsvc or a store.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

// Metrics holds the collectors. One per process; Handler serves them.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	decisions *prometheus.CounterVec
	resets    *prometheus.CounterVec
	graph     *prometheus.HistogramVec
	throttled prometheus.Counter
	ack       *prometheus.HistogramVec
}

// New registers the collectors, with the Go runtime's and the process's own.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resetbot_commands_total", Help: "Commands and clicks received, by platform.",
		}, []string{"platform"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resetbot_decisions_total", Help: "Policy decisions, by verdict.",
		}, []string{"verdict"}),
		resets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "resetbot_resets_total", Help: "Password resets attempted, by outcome (done, or the failure kind).",
		}, []string{"outcome"}),
		graph: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "resetbot_graph_request_duration_seconds", Help: "Microsoft Graph request latency, by method and status.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "status"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "resetbot_graph_throttled_total", Help: "Graph answers of 429 Too Many Requests.",
		}),
		ack: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "resetbot_ack_duration_seconds", Help: "Time from receiving a chat request to acknowledging it, by platform.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 3},
		}, []string{"platform"}),
	}
	m.reg.MustRegister(m.requests, m.decisions, m.resets, m.graph, m.throttled, m.ack,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Register adds collectors of the process that serves (health, build information) to the same
// registry, so one scrape has them all.
func (m *Metrics) Register(cs ...prometheus.Collector) { m.reg.MustRegister(cs...) }

// Handler serves the metrics for GET /metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Command implements bot.Observer.
func (m *Metrics) Command(p chat.Platform) { m.requests.WithLabelValues(string(p)).Inc() }

// Decided implements bot.Observer.
func (m *Metrics) Decided(v bot.Verdict) { m.decisions.WithLabelValues(v.String()).Inc() }

// ResetFinished implements bot.Observer.
func (m *Metrics) ResetFinished(outcome string) { m.resets.WithLabelValues(outcome).Inc() }

// GraphCall records one Graph HTTP exchange (graphsvc's observer hook).
func (m *Metrics) GraphCall(method string, status int, took time.Duration) {
	m.graph.WithLabelValues(method, strconv.Itoa(status)).Observe(took.Seconds())
	if status == http.StatusTooManyRequests {
		m.throttled.Inc()
	}
}

// Acked records how long an adapter took to acknowledge a request.
func (m *Metrics) Acked(p chat.Platform, took time.Duration) {
	m.ack.WithLabelValues(string(p)).Observe(took.Seconds())
}
