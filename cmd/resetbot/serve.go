package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/digest"
	scheduler "github.com/resetbot/resetbot/bot/jobs"
	"github.com/resetbot/resetbot/bot/metrics"
	"github.com/resetbot/resetbot/bot/signin"
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

	// AuditPosters are the platforms with an audit channel configured: the digest goes there.
	AuditPosters []digest.Poster

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
	dcfg, err := loadDigestSettings(os.Getenv)
	if err != nil {
		return err
	}
	gcfg, err := graphsvc.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	m := metrics.New()
	gcfg.Observe = m.GraphCall
	gcfg.GroupsOfInterest, gcfg.UnitsOfInterest = cfg.Service.Policy.GroupsOfInterest(), cfg.Service.Policy.UnitsOfInterest()
	dir, err := graphsvc.New(gcfg)
	if err != nil {
		return err
	}
	trailKey, err := bot.NewTrailKey(cfg.Service.AuditKey)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.Store, store.WithAuditMAC(trailKey.Sign))
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
	if cfg.SignIn.Enabled {
		mgr, err := newSignIn(cfg.SignIn, gcfg, st, svc, log, cfg.Service.Policy.AsAgent)
		if err != nil {
			return err
		}
		defer mgr.Close()
		svc.EnableAgentSignIn(mgr, dir)
		if cfg.SignIn.PublicURL != "" {
			s.Mux.Handle("GET "+signin.CallbackPath, mgr)
		}
		log.Info("agent sign-in enabled", "writeback", cfg.Service.Policy.Writeback, "reset_as_agent", cfg.Service.Policy.AsAgent,
			"flow", map[bool]string{true: "authorization code", false: "device code"}[cfg.SignIn.PublicURL != ""])
	}

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
	// The digest runs on one replica per slot (the store's job_runs claim); the first tick also
	// catches up, once, a slot every replica missed.
	if len(s.AuditPosters) > 0 {
		runner := scheduler.New(st, jobOwner(), log)
		runner.Add(newDigestSender(dcfg, st, dir, gcfg.ClientID, s.AuditPosters, log).Job(dcfg.Schedule))
		go runner.Loop(jobs, 30*time.Second)
		log.Info("audit digest scheduled", "schedule", dcfg.Spec, "tz", dcfg.Config.Location.String(), "entra", dcfg.Entra)
	} else {
		log.Warn("no audit channel is configured (RESETBOT_AUDIT_CHANNEL, RESETBOT_TEAMS_AUDIT_CONVERSATION): no digests will be posted")
	}
	for _, p := range s.AuditPosters {
		svc.AttachAuditChannel(p) // alerts (a row resetbot did not write, the tenant-wide brake) as they happen
	}

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
	go func() { s.work.Wait(); svc.Close(); close(done) }()
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

// newSignIn builds agent sign-in on resetbot's own app registration (AZURE_TENANT_ID,
// AZURE_CLIENT_ID) and authority host, asking for Graph's delegated permissions on the configured
// Graph endpoint.
func newSignIn(c signInConfig, g graphsvc.Config, st bot.Store, svc *bot.Service, log *slog.Logger, asAgent bool) (*signin.Manager, error) {
	if g.TenantID == "" || g.ClientID == "" {
		return nil, errors.New("agent sign-in needs AZURE_TENANT_ID and AZURE_CLIENT_ID (resetbot's app registration), even with a managed identity")
	}
	authority := strings.TrimRight(firstNonEmpty(g.AuthorityHost, "https://login.microsoftonline.com"), "/") + "/" + g.TenantID
	resource := strings.TrimRight(firstNonEmpty(g.GraphEndpoint, graphsvc.DefaultGraphEndpoint), "/")
	names := append([]string{}, signin.Scopes...)
	if asAgent {
		names = append(names, signin.ScopesAsAgent...)
	}
	scopes := make([]string, len(names))
	for i, n := range names {
		scopes[i] = resource + "/" + n
	}
	return signin.New(signin.Config{ClientID: g.ClientID, Authority: authority, PublicURL: c.PublicURL, Scopes: scopes,
		Key: c.Key, Store: st, SessionTTL: c.Lifetime, Log: log, Tell: svc.TellActor, Audit: svc.AuditSignIn})
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
