package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/digest"
	"github.com/resetbot/resetbot/bot/metrics"
	"github.com/resetbot/resetbot/bot/scheduler"
	"github.com/resetbot/resetbot/bot/signin"
	"github.com/resetbot/resetbot/bot/store"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc"
)

type serveCmd struct{}

// Help is the detail `resetbot serve --help` prints: every setting, with its default.
func (serveCmd) Help() string {
	var b strings.Builder
	b.WriteString("Serves Slack (HTTP endpoints under /slack/ or Socket Mode) and Teams (POST /api/messages), configured from the environment. ")
	b.WriteString("Every problem in the settings is reported at once at start (resetbot config check does the same without starting).\n\n")
	writeSettingsHelp(&b)
	return b.String()
}

// server is what a chat platform's setup gets: the one service, the HTTP mux it mounts on, and a way
// to run work after an acknowledgement that graceful shutdown waits for.
type server struct {
	Service *bot.Service
	Store   bot.Store
	Mux     *http.ServeMux
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Health  *health

	// AuditPosters are the platforms with an audit channel configured: the digest goes there.
	AuditPosters []digest.Poster

	work sync.WaitGroup
}

// Go runs f after the caller has acknowledged the request; shutdown waits for it.
func (s *server) Go(f func()) {
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		f()
	}()
}

// newLogger is the process's logger: JSON (or text) on stderr at RESETBOT_LOG_LEVEL.
func newLogger(w io.Writer, o opsConfig) *slog.Logger {
	opts := &slog.HandlerOptions{Level: o.LogLevel}
	if o.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// readyInterval is how often the store and the platforms are checked for /readyz (a variable for
// tests).
var readyInterval = 15 * time.Second

func (serveCmd) Run(ctx context.Context, cc *cliContext) error {
	b := currentBuild()
	cfg, err := loadAll(cc.Getenv, environ(cc))
	// The version first, even when the settings are wrong: it is what an operator asks first.
	log := newLogger(cc.Stderr, cfg.Ops)
	log.Info("resetbot starting", "version", b.Version, "revision", b.Revision, "go", b.GoVersion)
	if err != nil {
		return err
	}
	for _, u := range cfg.Unknown {
		log.Warn("unknown setting ignored: " + u)
	}

	if ts, on, err := tracingFromEnv(cc.Getenv); err != nil {
		return err
	} else if on {
		stop, err := setupTracing(ctx, ts, b)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = stop(sctx)
		}()
		log.Info("tracing: OTLP/HTTP JSON", "endpoint", ts.URL)
	}

	m := metrics.New()
	om := newOpsMetrics(b)
	h := newHealth(log)
	m.Register(append(om.collectors(), h.up)...)
	cfg.Graph.Observe = m.GraphCall
	// The directory reads the membership of the groups the policy looks at from the group side,
	// once for many lookups.
	cfg.Graph.GroupsOfInterest, cfg.Graph.UnitsOfInterest = cfg.Serve.Service.Policy.GroupsOfInterest(), cfg.Serve.Service.Policy.UnitsOfInterest()
	dir, err := graphsvc.New(cfg.Graph)
	if err != nil {
		return err
	}
	if err := checkSQLiteWritable(cfg.Serve.Store); err != nil {
		return err
	}
	trailKey, err := bot.NewTrailKey(cfg.Serve.Service.AuditKey)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg.Serve.Store, cc.Getenv, cfg.Graph.Credential, store.WithAuditMAC(trailKey.Sign))
	if err != nil {
		return err
	}
	defer st.Close()
	h.require("store", st.Ping)

	svc := bot.NewService(dir, st, cfg.Serve.Service, log)
	svc.SetObserver(m)
	s := &server{Service: svc, Store: st, Mux: http.NewServeMux(), Metrics: m, Log: log, Health: h}
	ops := s.Mux
	if cfg.Ops.OpsListen != "" {
		ops = http.NewServeMux()
	}
	ops.HandleFunc("GET /healthz", healthz)
	ops.HandleFunc("GET /readyz", h.readyz)
	ops.Handle("GET /metrics", m.Handler())

	if cfg.Serve.SignIn.Enabled {
		mgr, err := newSignIn(cfg.Serve.SignIn, cfg.Graph, st, svc, log, cfg.Serve.Service.Policy)
		if err != nil {
			return err
		}
		defer mgr.Close()
		svc.EnableAgentSignIn(mgr, dir)
		if cfg.Serve.SignIn.PublicURL != "" {
			s.Mux.Handle("GET "+signin.CallbackPath, mgr)
		}
		log.Info("agent sign-in enabled", "writeback", cfg.Serve.Service.Policy.Writeback, "reset_as_agent", cfg.Serve.Service.Policy.AsAgent,
			"links", cfg.Serve.Service.LinkedIdentity, "flow", map[bool]string{true: "authorization code", false: "device code"}[cfg.Serve.SignIn.PublicURL != ""])
	}
	if cfg.Slack != nil && !slices.Contains(cfg.Serve.Service.LinkedIdentity, chat.PlatformSlack) {
		log.Warn("RESETBOT_SLACK_IDENTITY=email: a Slack user is taken to be the Entra user their profile email names, with no sign-in; " +
			"right only where Slack's emails come from your SSO and nobody can edit their own")
	}

	var enabled []string
	if cfg.Slack != nil {
		if err := setupSlack(ctx, s, *cfg.Slack); err != nil {
			return fmt.Errorf("slack: %w", err)
		}
		enabled = append(enabled, "slack")
	}
	if cfg.Teams != nil {
		if err := setupTeams(ctx, s, *cfg.Teams); err != nil {
			return fmt.Errorf("teams: %w", err)
		}
		enabled = append(enabled, "teams")
	}

	// Bind before saying "serving", so the line means what it says; a port in use is an error now.
	var tlsConfig *tls.Config
	if cfg.Ops.TLSCert != "" {
		certs, err := newCertReloader(cfg.Ops.TLSCert, cfg.Ops.TLSKey, log)
		if err != nil {
			return err
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate}
	}
	public, err := listen(cfg.Serve.Listen, "RESETBOT_LISTEN", tlsConfig)
	if err != nil {
		return err
	}
	servers := []*http.Server{newHTTPServer(instrument(s.Mux, log, om))}
	listeners := []net.Listener{public}
	if cfg.Ops.OpsListen != "" {
		opsLn, err := listen(cfg.Ops.OpsListen, "RESETBOT_OPS_LISTEN", nil)
		if err != nil {
			public.Close()
			return err
		}
		servers = append(servers, newHTTPServer(instrument(ops, log, nil)))
		listeners = append(listeners, opsLn)
	}

	jobs, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	go svc.Run(jobs, 10*time.Second)
	go h.loop(jobs, readyInterval)
	go om.gaugeLoop(jobs, st, 30*time.Second)
	// The digest runs on one replica per slot (the store's job_runs claim); the first tick also
	// catches up, once, a slot every replica missed.
	if len(s.AuditPosters) > 0 {
		runner := scheduler.New(st, jobOwner(), log)
		runner.Add(newDigestSender(cfg.Digest, st, dir, cfg.Graph.ClientID, s.AuditPosters, log).Job(cfg.Digest.Schedule))
		go runner.Loop(jobs, 30*time.Second)
		log.Info("audit digest scheduled", "schedule", cfg.Digest.Spec, "tz", cfg.Digest.Config.Location.String(), "entra", cfg.Digest.Entra)
	} else {
		log.Warn("no audit channel is configured (RESETBOT_AUDIT_CHANNEL, RESETBOT_TEAMS_AUDIT_CONVERSATION): no digests will be posted")
	}
	for _, p := range s.AuditPosters {
		svc.AttachAuditChannel(p) // alerts (a row resetbot did not write, the tenant-wide brake) as they happen
	}

	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	attrs := []any{"listen", public.Addr().String(), "platforms", enabled, "tls", tlsConfig != nil}
	if cfg.Ops.OpsListen != "" {
		attrs = append(attrs, "ops_listen", listeners[1].Addr().String())
	}
	log.Info("serving", attrs...)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful shutdown: say not ready and keep taking requests for the drain delay, so the load
	// balancer stops sending them; then stop taking requests, and let acknowledged work finish (a
	// reset half done would leave a password set that nobody was told).
	h.draining.Store(true)
	if cfg.Ops.DrainDelay > 0 {
		log.Info("shutting down: draining", "delay", cfg.Ops.DrainDelay.String())
		time.Sleep(cfg.Ops.DrainDelay)
	}
	log.Info("shutting down: finishing in-flight work", "timeout", cfg.Ops.ShutdownTimeout.String())
	shutdown, cancel := context.WithTimeout(context.Background(), cfg.Ops.ShutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdown)
	}
	done := make(chan struct{})
	go func() { s.work.Wait(); svc.Close(); close(done) }()
	select {
	case <-done:
		log.Info("stopped")
	case <-shutdown.Done():
		log.Error("in-flight work did not finish in time", "timeout", cfg.Ops.ShutdownTimeout.String())
	}
	return nil
}

// listen binds addr, with TLS when config is set; setting names the variable in the error.
func listen(addr, setting string, config *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w", setting, addr, err)
	}
	if config != nil {
		ln = tls.NewListener(ln, config)
	}
	return ln, nil
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: nil}
}

// newSignIn builds agent sign-in on resetbot's own app registration (AZURE_TENANT_ID,
// AZURE_CLIENT_ID) and authority host, asking for Graph's delegated permissions on the configured
// Graph endpoint.
func newSignIn(c signInConfig, g graphsvc.Config, st bot.Store, svc *bot.Service, log *slog.Logger, p bot.Policy) (*signin.Manager, error) {
	if g.TenantID == "" || g.ClientID == "" {
		return nil, errors.New("agent sign-in needs AZURE_TENANT_ID and AZURE_CLIENT_ID (resetbot's app registration), even with a managed identity")
	}
	authority := strings.TrimRight(firstNonEmpty(g.AuthorityHost, "https://login.microsoftonline.com"), "/") + "/" + g.TenantID
	resource := strings.TrimRight(firstNonEmpty(g.GraphEndpoint, graphsvc.DefaultGraphEndpoint), "/")
	// Linking a chat account needs only to know who signed in; resetting as the agent needs more.
	names := []string{"User.Read"}
	if p.Writeback || p.AsAgent {
		names = append([]string{}, signin.Scopes...)
	}
	if p.AsAgent {
		names = append(names, signin.ScopesAsAgent...)
	}
	scopes := make([]string, len(names))
	for i, n := range names {
		scopes[i] = resource + "/" + n
	}
	return signin.New(signin.Config{ClientID: g.ClientID, Authority: authority, PublicURL: c.PublicURL, Scopes: scopes,
		Key: c.Key, Store: st, SessionTTL: c.Lifetime, Log: log, Tell: svc.TellActor, Audit: svc.AuditSignIn, Linked: svc.Link, Words: svc.Words})
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
