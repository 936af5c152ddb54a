package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/metrics"
	"github.com/resetbot/resetbot/bot/store"
	"github.com/resetbot/resetbot/graphsvc"
)

type serveCmd struct{}

// server is what a chat platform's setup gets: the one service, the HTTP mux it mounts on, and a way
// to run work after an acknowledgement that graceful shutdown waits for.
type server struct {
	Service *bot.Service
	Store   bot.Store
	Mux     *http.ServeMux
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Getenv  func(string) string

	work    sync.WaitGroup
	readyMu sync.Mutex
	ready   map[string]func(context.Context) error
}

// Go runs f after the caller has acknowledged the request; shutdown waits for it.
func (s *server) Go(f func()) {
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		f()
	}()
}

// Ready registers a readiness check for /readyz (a platform's API reachable, say).
func (s *server) Ready(name string, check func(context.Context) error) {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	s.ready[name] = check
}

// platform sets up one chat platform if its settings are present: enabled is false when none are.
type platform struct {
	name  string
	setup func(ctx context.Context, s *server) (enabled bool, err error)
}

// platforms are registered by each platform's serve_*.go file.
var platforms []platform

func (serveCmd) Run(ctx context.Context) error {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := loadServeConfig(os.Getenv)
	if err != nil {
		return err
	}
	gcfg, err := graphsvc.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	m := metrics.New()
	gcfg.Observe = m.GraphCall
	dir, err := graphsvc.New(gcfg)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()

	svc := bot.NewService(dir, st, cfg.Service, log)
	svc.SetObserver(m)
	s := &server{Service: svc, Store: st, Mux: http.NewServeMux(), Metrics: m, Log: log, Getenv: os.Getenv,
		ready: map[string]func(context.Context) error{"store": st.Ping}}
	s.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	s.Mux.HandleFunc("GET /readyz", s.readyz)
	s.Mux.Handle("GET /metrics", m.Handler())

	var enabled []string
	for _, p := range platforms {
		on, err := p.setup(ctx, s)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		if on {
			enabled = append(enabled, p.name)
		}
	}
	if len(enabled) == 0 {
		return errors.New("no chat platform is configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN) for Slack, or MICROSOFT_APP_ID for Teams; try `resetbot demo` to see it work without either")
	}

	srv := &http.Server{Addr: cfg.Listen, Handler: s.Mux, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	jobs, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	go svc.Run(jobs, 10*time.Second)
	s.Go(func() { svc.ResumeBatches(jobs) }) // lists a previous stop interrupted

	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("resetbot serving", "listen", cfg.Listen, "platforms", enabled)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful shutdown: stop taking requests, then let acknowledged work finish (a reset half done
	// would leave a password set that nobody was told).
	log.Info("shutting down: finishing in-flight work")
	shutdown, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	done := make(chan struct{})
	go func() { s.work.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutdown.Done():
		log.Error("in-flight work did not finish within 60s")
	}
	return nil
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	s.readyMu.Lock()
	checks := make(map[string]func(context.Context) error, len(s.ready))
	for k, v := range s.ready {
		checks[k] = v
	}
	s.readyMu.Unlock()
	var failed []string
	for name, check := range checks {
		if err := check(ctx); err != nil {
			failed = append(failed, name)
			s.Log.Warn("not ready", "check", name, "err", err)
		}
	}
	if len(failed) > 0 {
		// Names only: an error's text could name internal hosts.
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "unavailable: %v\n", failed)
		return
	}
	fmt.Fprintln(w, "ready")
}
