// Package scenariotest is the scenario suite written once and run through every chat adapter: the
// terminal, Slack and Teams. An adapter's test supplies a Driver that speaks its platform's protocol;
// the scenarios assert on what each person would see and on what Graph received.
//
// It builds a whole resetbot (bot, a store, graphsvc on the Graph simulator), so it stands above the
// core and graphsvc, beside cmd/resetbot: that is why it lives in internal/ and not under bot/, whose
// files must never import graphsvc. Only tests import it; it must not import an adapter.
package scenariotest

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/keys"
	"github.com/resetbot/resetbot/bot/store"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/chat/chattest"
	"github.com/resetbot/resetbot/graphsvc"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
	"github.com/resetbot/resetbot/internal/syncbuf"
)

// Env is a whole resetbot on loopback: the Graph simulator with the seeded contoso.com tenant, the real
// Graph client, a SQLite store in a temporary folder, and the service, with a clock the test moves.
type Env struct {
	Graph     *graphtest.Server
	Directory bot.Directory
	Store     bot.Store
	StorePath string // the SQLite file, when the store is one
	DSN       string
	Service   *bot.Service
	Clock     *Clock
	logs      *syncbuf.Buffer
	cfg       func(*bot.Config)
	// keys are the install's RESETBOT_ENCRYPTION_KEY and RESETBOT_AUDIT_KEY, the same for every
	// process of the Env, as every replica of an install shares them.
	encryptionKey, auditKey []byte
}

// NewEnv starts an Env; everything stops when the test ends. cfg may change the defaults.
func NewEnv(t testing.TB, cfg func(*bot.Config)) *Env {
	t.Helper()
	return NewEnvOn(t, "", cfg)
}

// NewEnvOn starts an Env on the store a DSN names (a new, empty database); "" is a SQLite file in a
// temporary folder, whose path is then in StorePath.
func NewEnvOn(t testing.TB, dsn string, cfg func(*bot.Config)) *Env {
	t.Helper()
	srv := graphtest.NewServer(graphtest.Contoso())
	t.Cleanup(srv.Close)
	var path string
	if dsn == "" {
		path = filepath.Join(t.TempDir(), "resetbot.db")
		dsn = "sqlite:" + path
	}
	e := &Env{Graph: srv, StorePath: path, DSN: dsn, Clock: NewClock(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)),
		logs: &syncbuf.Buffer{}, cfg: cfg, encryptionKey: keys.Random(), auditKey: keys.Random()}
	// As serve does: the directory reads the membership of the groups the policy looks at, from the
	// group side, once for many lookups.
	p := e.Config().Policy
	dir, err := graphsvc.New(graphsvc.Config{Credential: srv.Credential(), GraphEndpoint: srv.URL,
		Timeout: 5 * time.Second, MaxRetryWait: 5 * time.Second, GroupsOfInterest: p.GroupsOfInterest(), UnitsOfInterest: p.UnitsOfInterest()})
	if err != nil {
		t.Fatal(err)
	}
	e.Directory = dir
	e.Store, e.Service = e.process(t)
	srv.SetClock(e.Clock.Now) // Graph's timestamps (lastPasswordChangeDateTime, audits) on the same clock
	return e
}

// Config is the configuration every process of the Env starts with: the defaults, the Env's keys,
// then what the test asked for.
func (e *Env) Config() bot.Config {
	c := bot.Defaults()
	c.Policy.Protected = []string{"breakglass@contoso.com"}
	c.Location = time.UTC
	c.EncryptionKey, c.AuditKey = e.encryptionKey, e.auditKey
	if e.cfg != nil {
		e.cfg(&c)
	}
	return c
}

// Replica starts another resetbot process on the same database and tenant: its own store handle
// and service, sharing the Graph simulator, the clock and the log. Several replicas behind a load
// balancer must behave as one.
func (e *Env) Replica(t testing.TB) (bot.Store, *bot.Service) {
	t.Helper()
	return e.process(t)
}

func (e *Env) process(t testing.TB) (bot.Store, *bot.Service) {
	trailKey, err := bot.NewTrailKey(e.auditKey)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), e.DSN, store.WithAuditMAC(trailKey.Sign))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := e.Config()
	svc := bot.NewService(e.Directory, st, c, slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	svc.SetClock(e.Clock.Now)
	return st, svc
}

// TrailKey is the key the Env's processes sign the audit trail with.
func (e *Env) TrailKey() *bot.TrailKey {
	k, _ := bot.NewTrailKey(e.auditKey)
	return k
}

// Examples are the messages the Env's service says, one of each kind every platform renders, the
// help worded for platform p (see chattest).
func (e *Env) Examples(t testing.TB, p chat.Platform) []chattest.Example {
	t.Helper()
	return chattest.Examples(t, chattest.Service{Handler: e.Service, Attach: e.Service.Attach, Tick: e.Service.Tick, Advance: e.Clock.Advance}, p)
}

// Logs is everything the service logged.
func (e *Env) Logs() string { return e.logs.String() }

// Clock is a test clock that only moves when told.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a Clock stopped at start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
