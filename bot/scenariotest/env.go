// Package scenariotest is the scenario suite written once and run through every chat adapter: the
// terminal, Slack and Teams. An adapter's test supplies a Driver that speaks its platform's protocol;
// the scenarios assert on what each person would see and on what Graph received.
package scenariotest

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/store"
	"github.com/resetbot/resetbot/graphsvc"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// Env is a whole resetbot on loopback: the Graph simulator with the seeded contoso.com tenant, the real
// Graph client, a SQLite store in a temporary folder, and the service, with a clock the test moves.
type Env struct {
	Graph     *graphtest.Server
	Directory bot.Directory
	Store     bot.Store
	StorePath string
	Service   *bot.Service
	Clock     *Clock
	logs      *syncBuffer
}

// NewEnv starts an Env; everything stops when the test ends. cfg may change the defaults.
func NewEnv(t testing.TB, cfg func(*bot.Config)) *Env {
	t.Helper()
	srv := graphtest.NewServer(graphtest.Contoso())
	t.Cleanup(srv.Close)
	dir, err := graphsvc.New(graphsvc.Config{Credential: srv.Credential(), GraphEndpoint: srv.URL,
		Timeout: 5 * time.Second, MaxRetryWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "resetbot.db")
	st, err := store.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := bot.Defaults()
	c.Policy.Protected = []string{"breakglass@contoso.com"}
	c.Location = time.UTC
	if cfg != nil {
		cfg(&c)
	}
	logs := &syncBuffer{}
	svc := bot.NewService(dir, st, c, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	clock := &Clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	svc.SetClock(clock.Now)
	srv.SetClock(clock.Now) // Graph's timestamps (lastPasswordChangeDateTime, audits) on the same clock
	return &Env{Graph: srv, Directory: dir, Store: st, StorePath: path, Service: svc, Clock: clock, logs: logs}
}

// Logs is everything the service logged.
func (e *Env) Logs() string { return e.logs.String() }

// Clock is a test clock that only moves when told.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

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

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
