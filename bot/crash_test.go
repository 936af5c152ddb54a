package bot_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/store/pgtest"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

// A process killed at any step boundary of a request, then another started on the same store: every
// target ends reset exactly once, with its password delivered to its requester and no one else, its
// sessions revoked after the reset, and every step in the trail. The kill is a hook that parks the
// goroutine reaching the boundary for good: nothing after that line ever runs in that process.

// kill stops a process at its at-th step boundary (1 is the first); 0 never stops it.
type kill struct {
	at     int
	mu     sync.Mutex
	points []string
	hit    chan struct{}
}

func newKill(at int) *kill { return &kill{at: at, hit: make(chan struct{})} }

func (k *kill) hook(point string) {
	k.mu.Lock()
	k.points = append(k.points, point)
	n := len(k.points)
	k.mu.Unlock()
	if n == k.at {
		close(k.hit)
		select {} // killed: this goroutine never goes on
	}
}

func (k *kill) seen() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.points...)
}

// crashCase is one way a request is asked for: what the killed process is doing, and whose
// passwords it sets.
type crashCase struct {
	name      string
	targets   []string
	requester string
	// ask runs up to the point where the request is cleared to run, on the process that will be
	// killed (run is false) or on one that lives (the approval case asks on a live process).
	prepare func(t *testing.T, env *scenariotest.Env, svc *bot.Service, rec *recorder) (id string)
	// run is what the killed process does.
	run func(t *testing.T, svc *bot.Service, rec *recorder, id string)
	// pass: the request gives Temporary Access Passes, not passwords.
	pass bool
}

var crashCases = []crashCase{
	{
		name: "a single reset", targets: []string{"adele@contoso.com"}, requester: "helpdesk@contoso.com",
		run: func(t *testing.T, svc *bot.Service, rec *recorder, _ string) {
			_ = svc.Handle(context.Background(), chat.Incoming{Actor: actor("helpdesk@contoso.com"), Text: "/resetpw adele@contoso.com --reason INC1", Reply: rec})
		},
	},
	{
		name: "an approved reset", targets: []string{"ceo@contoso.com"}, requester: "pat@contoso.com",
		prepare: func(t *testing.T, env *scenariotest.Env, svc *bot.Service, rec *recorder) string {
			_ = svc.Handle(context.Background(), chat.Incoming{Actor: actor("pat@contoso.com"), Text: "/resetpw ceo@contoso.com", Reply: rec})
			for _, m := range rec.msgs {
				if strings.HasPrefix(m, "approvals:") {
					return scenariotest.RequestID(t, m)
				}
			}
			t.Fatalf("no approval card: %q", rec.msgs)
			return ""
		},
		run: func(t *testing.T, svc *bot.Service, rec *recorder, id string) {
			_ = svc.Handle(context.Background(), chat.Click(actor("sam@contoso.com"), chat.ActionApprove, id, "", rec))
		},
	},
	{
		name: "a pass", targets: []string{"adele@contoso.com"}, requester: "authadmin@contoso.com", pass: true,
		run: func(t *testing.T, svc *bot.Service, rec *recorder, _ string) {
			_ = svc.Handle(context.Background(), chat.Incoming{Actor: actor("authadmin@contoso.com"), Text: "/resetpw adele@contoso.com --tap --reason INC1", Reply: rec})
		},
	},
	{
		name: "a list", targets: []string{"adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com", "reader@contoso.com"}, requester: "helpdesk@contoso.com",
		prepare: func(t *testing.T, env *scenariotest.Env, svc *bot.Service, rec *recorder) string {
			return sendList(t, svc, rec, actor("helpdesk@contoso.com"), "users.csv", "adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com", "reader@contoso.com")
		},
		run: func(t *testing.T, svc *bot.Service, rec *recorder, id string) {
			_ = svc.Handle(context.Background(), chat.Click(actor("helpdesk@contoso.com"), chat.ActionRun, id, "", rec))
		},
	},
}

func TestKilledAtEveryStepBoundary(t *testing.T) {
	for _, c := range crashCases {
		t.Run(c.name, func(t *testing.T) { killAtEveryBoundary(t, func(testing.TB) string { return "" }, c) })
	}
}

func TestKilledAtEveryStepBoundaryOnPostgres(t *testing.T) {
	pgtest.DSN(t) // skips when no database is configured
	for _, c := range crashCases {
		t.Run(c.name, func(t *testing.T) { killAtEveryBoundary(t, pgtest.DSN, c) })
	}
}

// killAtEveryBoundary runs the case once per boundary, each on a new, empty store from newDSN ("" is
// a SQLite file of its own).
func killAtEveryBoundary(t *testing.T, newDSN func(testing.TB) string, c crashCase) {
	// First, unharmed: which boundaries does this request cross?
	k := newKill(0)
	_, _ = crashRun(t, newDSN(t), c, k)
	points := k.seen()
	if len(points) < 6 {
		t.Fatalf("only %d step boundaries: %q", len(points), points)
	}
	for i := range points {
		t.Run(fmt.Sprintf("%02d %s", i+1, strings.Fields(points[i])[0]), func(t *testing.T) {
			env, rec := crashRun(t, newDSN(t), c, newKill(i+1))
			checkFinishedOnce(t, env, rec, c)
		})
	}
}

// crashRun runs the case on a process with the kill hook; when the hook fires, that process is
// abandoned, the clock moves past its lease, and a second process on the same store takes over, as
// a restart or another replica would.
func crashRun(t *testing.T, dsn string, c crashCase, k *kill) (*scenariotest.Env, *recorder) {
	t.Helper()
	env := scenariotest.NewEnvOn(t, dsn, nil)
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, reaching{rec})
	id := ""
	if c.prepare != nil {
		id = c.prepare(t, env, env.Service, rec)
	}
	cfg := env.Config()
	cfg.Hook, cfg.Owner = k.hook, "killed"
	doomed := bot.NewService(env.Directory, env.Store, cfg, nil)
	doomed.SetClock(env.Clock.Now)
	doomed.Attach(chat.PlatformShell, reaching{rec})
	done := make(chan struct{})
	go func() { defer close(done); c.run(t, doomed, rec, id) }()
	select {
	case <-done:
	case <-k.hit:
		doomed.Close() // its timers die with it
		// Past its lease, and past the time a notice it left "sending" is sent again.
		env.Clock.Advance(6 * time.Minute)
		_, next := env.Replica(t)
		next.Attach(chat.PlatformShell, reaching{rec})
		next.Tick(context.Background())
	case <-time.After(30 * time.Second):
		t.Fatal("the request neither finished nor reached the kill")
	}
	return env, rec
}

// checkFinishedOnce holds the promise: reset exactly once, delivered, revoked after, recorded.
func checkFinishedOnce(t *testing.T, env *scenariotest.Env, rec *recorder, c crashCase) {
	t.Helper()
	rec.mu.Lock()
	msgs := append([]string(nil), rec.msgs...)
	rec.mu.Unlock()
	for _, upn := range c.targets {
		// Told of it in their own chat, once (twice at most after a kill between send and record),
		// with nothing secret in the notice.
		told := 0
		for _, m := range msgs {
			if strings.HasPrefix(m, "dm:"+upn+":") && strings.Contains(m, "by the helpdesk") {
				told++
			}
		}
		if told < 1 || told > 2 {
			t.Errorf("%s: told of it %d times, want 1 (2 at most after a kill between send and record)", upn, told)
		}
		if c.pass {
			checkPassOnce(t, env, msgs, c, upn)
			continue
		}
		set := env.Graph.Resets(upn)
		if len(set) != 1 {
			t.Errorf("%s: Graph set %d passwords, want exactly 1", upn, len(set))
			continue
		}
		pw := set[0].Password
		delivered := 0
		for _, m := range msgs {
			if strings.Contains(m, pw) {
				if !strings.HasPrefix(m, "dm:"+c.requester+":") {
					t.Errorf("%s: the password was shown elsewhere: %q", upn, m)
				}
				delivered++
			}
		}
		// A kill between a DM and its record sends that DM again, to the same person.
		if delivered < 1 || delivered > 2 {
			t.Errorf("%s: the password reached its requester %d times, want 1 (2 at most after a kill between send and record)", upn, delivered)
		}
		if !revokedAfterReset(env.Graph, upn) {
			t.Errorf("%s: no session revocation after the reset", upn)
		}
		scenariotest.PasswordOnlyInDM(t, env, pw, nil)
	}
	counts := map[string]int{}
	err := env.Store.AuditSince(context.Background(), 0, func(r bot.AuditRecord) error {
		counts[string(r.Event)+"="+r.Outcome+" "+r.TargetUPN]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, upn := range c.targets {
		wants := []string{"reset=done ", "revoke=done ", "delivery=sent ", "notice=sent "}
		if c.pass {
			wants = []string{"reset=done ", "delivery=sent ", "notice=sent "} // a pass signs nobody out
		}
		for _, want := range wants {
			if counts[want+upn] < 1 {
				t.Errorf("the trail has no %q record for %s", strings.TrimSpace(want), upn)
			}
		}
		if n := counts["reset=done "+upn]; n > 1 {
			t.Errorf("the trail has %d reset records for %s, want 1", n, upn)
		}
	}
}

// checkPassOnce holds a pass's promise: the pass that works (Entra's last) reached the requester and
// nobody else, an earlier one made before a kill works no more, and no password changed.
func checkPassOnce(t *testing.T, env *scenariotest.Env, msgs []string, c crashCase, upn string) {
	t.Helper()
	passes := env.Graph.AccessPasses(upn)
	if len(passes) == 0 || len(passes) > 2 {
		t.Errorf("%s: Graph made %d passes, want 1 (2 after a kill before the first was recorded)", upn, len(passes))
		return
	}
	if n := len(env.Graph.Resets(upn)); n != 0 {
		t.Errorf("%s: a pass changed the password %d times", upn, n)
	}
	last := passes[len(passes)-1].Code
	delivered := 0
	for _, m := range msgs {
		for _, p := range passes {
			if strings.Contains(m, p.Code) && !strings.HasPrefix(m, "dm:"+c.requester+":") {
				t.Errorf("%s: a pass was shown elsewhere: %q", upn, m)
			}
		}
		if strings.Contains(m, last) {
			delivered++
		}
	}
	if delivered < 1 || delivered > 2 {
		t.Errorf("%s: the working pass reached its requester %d times, want 1 (2 at most)", upn, delivered)
	}
	for _, p := range passes {
		scenariotest.PasswordOnlyInDM(t, env, p.Code, nil)
	}
}

// reaching is the recorder as a chat that can reach anyone: notices go to "dm:<upn>".
type reaching struct{ *recorder }

func (r reaching) Reach(_ context.Context, p chat.Person) (chat.Actor, error) {
	return actor(p.UPN), nil
}

// revokedAfterReset reports whether Graph received a session revocation for the user after the last
// password change.
func revokedAfterReset(g *graphtest.Server, upn string) bool {
	u, ok := g.User(upn)
	if !ok {
		return false
	}
	lastReset, lastRevoke := -1, -1
	for i, r := range g.Requests() {
		switch {
		case r.Method == "PATCH" && strings.HasSuffix(r.Path, "/users/"+u.ID) || r.Method == "PATCH" && strings.HasSuffix(r.Path, "/users/"+upn):
			lastReset = i
		case r.Method == "POST" && (strings.HasSuffix(r.Path, "/users/"+u.ID+"/revokeSignInSessions") || strings.HasSuffix(r.Path, "/users/"+upn+"/revokeSignInSessions")):
			lastRevoke = i
		}
	}
	return lastReset >= 0 && lastRevoke > lastReset
}
