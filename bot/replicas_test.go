package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/scheduler"
	"github.com/resetbot/resetbot/bot/store/pgtest"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

// Several replicas behind a load balancer on one database must behave as one: whichever replica a
// click, a tick or a retry lands on, each thing happens once. These tests run two (or three)
// services on one store; storeEngines lists the engines available here.

type replicas struct {
	env    *scenariotest.Env
	chat   *recorder
	svcs   []*bot.Service
	stores []bot.Store // each replica's own handle
	store  bot.Store
}

func startReplicas(t *testing.T, dsn string, n int) *replicas {
	env := scenariotest.NewEnvOn(t, dsn, nil)
	r := &replicas{env: env, chat: &recorder{}, svcs: []*bot.Service{env.Service}, stores: []bot.Store{env.Store}, store: env.Store}
	for range n - 1 {
		st, svc := env.Replica(t)
		r.svcs = append(r.svcs, svc)
		r.stores = append(r.stores, st)
	}
	for _, s := range r.svcs {
		s.Attach(chat.PlatformShell, r.chat)
	}
	return r
}

// all runs f on every replica at once, twice each, as ticks and retries would.
func (r *replicas) all(f func(*bot.Service)) {
	var wg sync.WaitGroup
	for range 2 {
		for _, s := range r.svcs {
			wg.Add(1)
			go func() { defer wg.Done(); f(s) }()
		}
	}
	wg.Wait()
}

func (r *replicas) events(t *testing.T, event bot.AuditEvent, outcome string) int {
	n := 0
	err := r.store.AuditSince(context.Background(), 0, func(rec bot.AuditRecord) error {
		if rec.Event == event && rec.Outcome == outcome {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReplicas(t *testing.T) {
	for _, engine := range storeEngines(t) {
		t.Run(engine.name, func(t *testing.T) {
			t.Run("ApprovalOnOneClickedOnAnotherResetsOnce", func(t *testing.T) {
				r := startReplicas(t, engine.dsn(t), 3)
				ctx := context.Background()
				if err := r.svcs[0].Handle(ctx, chat.Incoming{Actor: actor("pat@contoso.com"), Text: "/resetpw ceo@contoso.com --reason INC7", Reply: r.chat}); err != nil {
					t.Fatal(err)
				}
				id := r.chat.requestID(t)
				var wg sync.WaitGroup
				for i, who := range []string{"sam@contoso.com", "megan@contoso.com", "sam@contoso.com"} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_ = r.svcs[(i+1)%3].Handle(ctx, chat.Click(actor(who), chat.ActionApprove, id, "", r.chat))
					}()
				}
				wg.Wait()
				if n := len(r.env.Graph.Resets("ceo@contoso.com")); n != 1 {
					t.Fatalf("Graph set %d passwords for one approved request on three replicas, want 1", n)
				}
				if n := r.chat.count("dm:pat@contoso.com", "temporary password"); n != 1 {
					t.Errorf("the requester got %d password DMs, want 1", n)
				}
				if n := r.events(t, bot.EventReset, "done"); n != 1 {
					t.Errorf("%d reset records in the trail, want 1", n)
				}
			})
			t.Run("DMWithdrawnOnce", func(t *testing.T) {
				r := startReplicas(t, engine.dsn(t), 2)
				ctx := context.Background()
				if err := r.svcs[1].Handle(ctx, chat.Incoming{Actor: actor("helpdesk@contoso.com"), Text: "/resetpw adele@contoso.com", Reply: r.chat}); err != nil {
					t.Fatal(err)
				}
				r.env.Clock.Advance(14 * time.Minute)
				r.all(func(s *bot.Service) { s.Tick(ctx) })
				if r.chat.withdrawn != 0 {
					t.Fatalf("withdrawn before it was due")
				}
				r.env.Clock.Advance(2 * time.Minute)
				r.all(func(s *bot.Service) { s.Tick(ctx) })
				r.env.Clock.Advance(5 * time.Minute) // past any lease: nothing left to withdraw
				r.all(func(s *bot.Service) { s.Tick(ctx) })
				if r.chat.withdrawn != 1 {
					t.Errorf("the password DM was withdrawn %d times by two replicas, want 1", r.chat.withdrawn)
				}
				if n := r.events(t, bot.EventDelivery, "withdrawn"); n != 1 {
					t.Errorf("%d withdrawal records, want 1", n)
				}
			})
			t.Run("ExpiryToldOnce", func(t *testing.T) {
				r := startReplicas(t, engine.dsn(t), 2)
				ctx := context.Background()
				if err := r.svcs[0].Handle(ctx, chat.Incoming{Actor: actor("pat@contoso.com"), Text: "/resetpw ceo@contoso.com", Reply: r.chat}); err != nil {
					t.Fatal(err)
				}
				r.env.Clock.Advance(31 * time.Minute)
				r.all(func(s *bot.Service) { s.Tick(ctx) })
				if n := r.chat.count("Nobody approved"); n != 1 {
					t.Errorf("the requester was told %d times that nobody approved, want 1", n)
				}
				if n := r.events(t, bot.EventExpired, "expired"); n != 1 {
					t.Errorf("%d expiry records, want 1", n)
				}
				if n := len(r.env.Graph.Resets("ceo@contoso.com")); n != 0 {
					t.Errorf("an expired request reset the password %d times", n)
				}
			})
			t.Run("ListPreviewedOnOneRunFromAnother", func(t *testing.T) {
				r := startReplicas(t, engine.dsn(t), 3)
				id := r.sendList(t, r.svcs[0], "users.csv", "adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com")
				// Its button, pressed twice, lands on the two other replicas at once.
				var wg sync.WaitGroup
				for i := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_ = r.svcs[1+i%2].Handle(context.Background(), chat.Click(actor("helpdesk@contoso.com"), chat.ActionRun, id, "", r.chat))
					}()
				}
				wg.Wait()
				r.ranOnce(t, id, "users.csv", "adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com")
			})
			t.Run("ListPreviewSurvivesARestart", func(t *testing.T) {
				r := startReplicas(t, engine.dsn(t), 1)
				id := r.sendList(t, r.svcs[0], "users.csv", "adele@contoso.com", "lynne@contoso.com")
				// The process stops; another starts on the same database a few minutes later.
				r.svcs[0].Close()
				if err := r.stores[0].Close(); err != nil {
					t.Fatal(err)
				}
				r.env.Clock.Advance(5 * time.Minute)
				st, next := r.env.Replica(t)
				r.store, r.env.Store, r.env.Service = st, st, next // the Env's process is now the new one
				next.Attach(chat.PlatformShell, r.chat)
				next.Resume(context.Background()) // what a start does: nothing to take over, the list waits
				if n := len(r.env.Graph.Writes()); n != 0 {
					t.Fatalf("the restart wrote %d times to Graph before the go-ahead", n)
				}
				if err := next.Handle(context.Background(), chat.Click(actor("helpdesk@contoso.com"), chat.ActionRun, id, "", r.chat)); err != nil {
					t.Fatal(err)
				}
				r.ranOnce(t, id, "users.csv", "adele@contoso.com", "lynne@contoso.com")
			})
			t.Run("ScheduledJobRunsOnceAndADeadReplicaHandsItOver", func(t *testing.T) {
				r := startReplicas(t, engine.dsn(t), 3)
				scheduledJobs(t, r)
			})
		})
	}
}

// sendList sends a list file to a replica as the helpdesk agent and returns the ID of its preview.
// Nothing may be written to Graph before its go-ahead.
func (r *replicas) sendList(t *testing.T, svc *bot.Service, name string, upns ...string) string {
	t.Helper()
	in := chat.Incoming{Actor: actor("helpdesk@contoso.com"), Text: "resetpw bulk", Reply: r.chat,
		File: &chat.File{Name: name, Data: []byte("UserPrincipalName\n" + strings.Join(upns, "\n") + "\n")}}
	if err := svc.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if n := r.chat.count(fmt.Sprintf("→ %d can be reset", len(upns))); n != 1 {
		t.Fatalf("%d previews of %s, want 1: %q", n, name, r.chat.msgs)
	}
	if n := len(r.env.Graph.Writes()); n != 0 {
		t.Fatalf("the preview wrote %d times to Graph", n)
	}
	r.chat.mu.Lock()
	defer r.chat.mu.Unlock()
	return scenariotest.ListID(t, r.chat.msgs[len(r.chat.msgs)-1])
}

// ranOnce checks that a list ran once, whichever replicas were asked: each user reset and revoked
// once, one results DM holding each password, one summary, one start and one reset per user in the
// trail.
func (r *replicas) ranOnce(t *testing.T, id, name string, upns ...string) {
	t.Helper()
	for _, upn := range upns {
		set := r.env.Graph.Resets(upn)
		if len(set) != 1 {
			t.Errorf("Graph set %d passwords for %s, want 1", len(set), upn)
			continue
		}
		if n := r.chat.count("dm:helpdesk@contoso.com", "Results for "+name, set[0].Password); n != 1 {
			t.Errorf("%s's password reached the requester in %d results messages, want 1", upn, n)
		}
		if n := r.env.Graph.SessionsRevoked(upn); n != 1 {
			t.Errorf("%s's sessions were revoked %d times, want 1", upn, n)
		}
		scenariotest.PasswordOnlyInDM(t, r.env, set[0].Password, nil)
	}
	if n := r.chat.count(fmt.Sprintf("✅ %s: %d reset, 0 failed.", name, len(upns))); n != 1 {
		t.Errorf("%d summaries of %s, want 1", n, id)
	}
	if n := r.events(t, bot.EventRequested, "bulk_started"); n != 1 {
		t.Errorf("the trail has %d starts of %s, want 1", n, id)
	}
	if n := r.events(t, bot.EventReset, "done"); n != len(upns) {
		t.Errorf("the trail has %d resets, want %d", n, len(upns))
	}
}

// scheduledJobs: three replicas tick the digest's schedule together and it runs once; then the
// replica running the next one dies mid-run, and another finishes it after the lease.
func scheduledJobs(t *testing.T, r *replicas) {
	ctx := context.Background()
	sched, err := scheduler.ParseSchedule("RESETBOT_DIGEST_SCHEDULE", "0 8 * * *", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		runs []string
	)
	dying := make(chan struct{}) // closed: the replica that claims the next run dies in it
	runners := make([]*scheduler.Runner, len(r.stores))
	for i, st := range r.stores {
		name := fmt.Sprint("replica-", i)
		runners[i] = scheduler.New(st, name, nil)
		runners[i].SetClock(r.env.Clock.Now)
		runners[i].Add(scheduler.Job{Name: "digest", Schedule: sched, Lease: 5 * time.Minute,
			Run: func(ctx context.Context, slot, _ time.Time) error {
				select {
				case <-dying:
					return errors.New(name + " died mid-run") // as if the process stopped: no finish
				default:
				}
				mu.Lock()
				defer mu.Unlock()
				runs = append(runs, name+"@"+slot.Format("Jan 2 15:04"))
				return nil
			}})
	}
	alive := runners
	tickAll := func() {
		var wg sync.WaitGroup
		for _, rn := range alive {
			wg.Add(1)
			go func() { defer wg.Done(); rn.Tick(ctx) }()
		}
		wg.Wait()
	}
	got := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), runs...) }

	r.env.Clock.Advance(22 * time.Hour) // Nov 28 08:00
	tickAll()
	tickAll()
	if g := got(); len(g) != 1 || !strings.HasSuffix(g[0], "@Nov 28 08:00") {
		t.Fatalf("runs of the Nov 28 digest on three replicas: %q, want one", g)
	}

	r.env.Clock.Advance(24 * time.Hour)
	close(dying)
	runners[1].Tick(ctx) // claims Nov 29 and dies in it
	dying = make(chan struct{})
	alive = []*scheduler.Runner{runners[0], runners[2]}
	tickAll()
	if g := got(); len(g) != 1 {
		t.Fatalf("the run was taken over while its lease still ran: %q", g)
	}
	r.env.Clock.Advance(6 * time.Minute)
	tickAll()
	tickAll()
	g := got()
	if len(g) != 2 || !strings.HasSuffix(g[1], "@Nov 29 08:00") {
		t.Fatalf("after the lease lapsed: %q, want the Nov 29 run done once by a surviving replica", g)
	}
	last, ok, err := r.store.LastFinishedJob(ctx, "digest")
	if err != nil || !ok || last.Claims != 2 || last.Owner == "replica-1" {
		t.Errorf("the Nov 29 run: %+v %v %v, want claimed twice and finished by a survivor", last, ok, err)
	}
}

type storeEngine struct {
	name string
	dsn  func(t *testing.T) string // a new, empty database
}

// storeEngines: SQLite files always (two handles on one file are two processes to SQLite), and
// PostgreSQL where RESETBOT_TEST_POSTGRES names a database (pgtest skips with how to, otherwise).
func storeEngines(*testing.T) []storeEngine {
	return []storeEngine{
		{name: "sqlite", dsn: func(*testing.T) string { return "" }},
		{name: "postgres", dsn: func(t *testing.T) string { return pgtest.DSN(t) }},
	}
}
