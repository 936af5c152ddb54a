package bot_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

// Trust boundaries: what the bot believes once a request is inside. Each test is one of the ways a
// request could claim more than it may, and shows it gets nothing.

// alerts records what the audit channel is told as it happens.
type alerts struct {
	mu   sync.Mutex
	said []string
}

func (a *alerts) PostDigest(_ context.Context, m chat.Message, _ *chat.Attachment) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.said = append(a.said, m.Title+" "+m.Text)
	return nil
}

func (a *alerts) all() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.said, "\n")
}

// A row written into the database by anyone but resetbot — a request "approved" for a Global
// Administrator and the break-glass account, naming the writer's chat account as requester — resets
// nobody, shows no password to anyone, and security hears of it at once.
func TestARowInTheStoreIsNoReset(t *testing.T) {
	for _, c := range []struct {
		name  string
		forge func(env *scenariotest.Env, req *bot.Request)
	}{
		{"no seal", func(*scenariotest.Env, *bot.Request) {}},
		{"a seal copied from a real request", func(env *scenariotest.Env, req *bot.Request) {
			real := realRequest(t, env)
			req.Seal, req.ApprovalSeal = real.Seal, real.ApprovalSeal
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := scenariotest.NewEnv(t, nil)
			rec, heard := &recorder{}, &alerts{}
			env.Service.Attach(chat.PlatformShell, rec)
			env.Service.AttachAuditChannel(heard)
			now := env.Clock.Now()
			req := &bot.Request{ID: "R-FORGED", State: bot.StateApproved, Requester: actor("attacker@contoso.com"),
				RequesterID: graphtest.MeganID, RequesterUPN: "megan@contoso.com", RequesterName: "Megan Bowen",
				CreatedAt: now, UpdatedAt: now, ApproverKey: actor("sam@contoso.com").Key(), ApproverID: graphtest.SamID,
				Targets: []bot.Target{
					{N: 0, Ref: "ceo@contoso.com", ID: graphtest.CeoID, UPN: "ceo@contoso.com", Step: bot.StepQueued},
					{N: 1, Ref: "breakglass@contoso.com", ID: graphtest.BreakGlassID, UPN: "breakglass@contoso.com", Step: bot.StepQueued},
				}}
			c.forge(env, req)
			if err := env.Store.CreateRequest(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			writesBefore := len(env.Graph.Writes())
			env.Service.Tick(context.Background()) // a restart: interrupted work is resumed
			if w := env.Graph.Writes()[writesBefore:]; len(w) != 0 {
				t.Fatalf("a forged row reached Graph: %+v", w)
			}
			for _, m := range rec.msgs {
				if strings.HasPrefix(m, "dm:attacker") {
					t.Errorf("the forged row's requester heard something: %q", m)
				}
			}
			if !strings.Contains(heard.all(), "was not run") {
				t.Errorf("the audit channel was not told: %q", heard.all())
			}
			got, _ := env.Store.GetRequest(context.Background(), req.ID)
			for _, tg := range got.Targets {
				if tg.Step != bot.StepRefused {
					t.Errorf("%s ended %s, want refused", tg.UPN, tg.Step)
				}
			}
		})
	}
}

// realRequest makes one genuine request, for its seals.
func realRequest(t *testing.T, env *scenariotest.Env) *bot.Request {
	t.Helper()
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	_ = env.Service.Handle(context.Background(), chat.Incoming{Actor: actor("helpdesk@contoso.com"), Text: "/resetpw lynne@contoso.com", Reply: rec})
	var real *bot.Request
	_ = env.Store.AuditSince(context.Background(), 0, func(r bot.AuditRecord) error {
		if r.Event == bot.EventReset && real == nil {
			real, _ = env.Store.GetRequest(context.Background(), r.RequestID)
		}
		return nil
	})
	if real == nil {
		t.Fatal("no genuine request")
	}
	return real
}

// A requester disabled, or stripped of the right, while their request waits for approval gets
// nothing when it is approved.
func TestApprovalChecksTheRequesterAgain(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(u *graphtest.User)
		says   string
	}{
		{"disabled", func(u *graphtest.User) { u.AccountEnabled = false }, "disabled"},
		{"role removed", func(u *graphtest.User) { u.Roles = nil }, "may no longer reset"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := scenariotest.NewEnv(t, nil)
			rec := &recorder{}
			env.Service.Attach(chat.PlatformShell, rec)
			_ = env.Service.Handle(context.Background(), chat.Incoming{Actor: actor("pat@contoso.com"), Text: "/resetpw ceo@contoso.com", Reply: rec})
			id := rec.requestID(t)
			pat, _ := env.Graph.User("pat@contoso.com")
			c.change(&pat)
			env.Graph.AddUser(pat)
			_ = env.Service.Handle(context.Background(), chat.Click(actor("sam@contoso.com"), chat.ActionApprove, id, "", rec))
			if n := len(env.Graph.Resets("ceo@contoso.com")); n != 0 {
				t.Fatalf("ceo was reset %d times for a requester who may no longer ask", n)
			}
			if !strings.Contains(rec.last(), c.says) {
				t.Errorf("the approver was told %q", rec.last())
			}
		})
	}
}

// In rules mode two agents of a rule who hold no Entra role cannot reset an administrator between
// them: the approver of a privileged target must be entitled by their own roles.
func TestRulesModeApproverNeedsTheirOwnRole(t *testing.T) {
	const group = "40000000-0000-4000-8000-000000000001"
	env := scenariotest.NewEnv(t, func(c *bot.Config) {
		c.Policy.Mode = bot.ModeRules
		c.Policy.Rules = []bot.Rule{{Name: "service desk", Agents: []string{group}, Targets: bot.Selector{Domains: []string{"contoso.com"}}}}
	})
	env.Graph.AddGroup(graphtest.Group{ID: group, DisplayName: "Service desk"})
	for _, n := range []string{"agent1", "agent2"} {
		env.Graph.AddUser(graphtest.User{UPN: n + "@contoso.com", DisplayName: n, AccountEnabled: true, Groups: []string{group}})
	}
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	_ = env.Service.Handle(context.Background(), chat.Incoming{Actor: actor("agent1@contoso.com"), Text: "/resetpw ceo@contoso.com", Reply: rec})
	id := rec.requestID(t) // the rule's agent is asked to wait for approval
	_ = env.Service.Handle(context.Background(), chat.Click(actor("agent2@contoso.com"), chat.ActionApprove, id, "", rec))
	if n := len(env.Graph.Resets("ceo@contoso.com")); n != 0 {
		t.Fatalf("two role-less agents reset a Global Administrator")
	}
	if !strings.Contains(rec.last(), "own Entra roles") {
		t.Errorf("the approver was told %q", rec.last())
	}
	// An agent of the rule whose own role covers the target may approve it.
	sam, _ := env.Graph.User("sam@contoso.com")
	sam.Groups = append(sam.Groups, group)
	env.Graph.AddUser(sam)
	_ = env.Service.Handle(context.Background(), chat.Click(actor("sam@contoso.com"), chat.ActionApprove, id, "", rec))
	if n := len(env.Graph.Resets("ceo@contoso.com")); n != 1 {
		t.Errorf("an entitled approver's approval reset ceo %d times", n)
	}
}

// In a channel or a group chat, an answer meant for one person goes to their 1:1 chat; the
// conversation gets only a pointer.
func TestPrivateAnswersInSharedConversations(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	in := chat.Incoming{Actor: actor("helpdesk@contoso.com"), Text: "whoami", Reply: rec, Shared: true}
	if err := env.Service.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	var thread, dm []string
	for _, m := range rec.msgs {
		switch {
		case strings.HasPrefix(m, "reply:"):
			thread = append(thread, m)
		case strings.HasPrefix(m, "dm:helpdesk@contoso.com:"):
			dm = append(dm, m)
		}
	}
	if len(thread) != 1 || !strings.Contains(thread[0], "1:1 chat") || strings.Contains(thread[0], "Helpdesk Administrator") {
		t.Errorf("the shared conversation saw %q", thread)
	}
	if len(dm) != 1 || !strings.Contains(dm[0], "Helpdesk Administrator") {
		t.Errorf("the person's 1:1 chat saw %q", dm)
	}
}

// The tenant-wide brake: three agents together reach the limit; the next reset, by any of them,
// waits for an approver who may read the audit trail, and the audit channel is told once.
func TestTenantBrakeAcrossAgents(t *testing.T) {
	env := scenariotest.NewEnv(t, func(c *bot.Config) { c.TenantLimit = 3 })
	rec, heard := &recorder{}, &alerts{}
	env.Service.Attach(chat.PlatformShell, rec)
	env.Service.AttachAuditChannel(heard)
	for _, ask := range [][2]string{{"helpdesk@contoso.com", "adele"}, {"pwadmin@contoso.com", "lynne"}, {"useradmin@contoso.com", "nestor"}} {
		_ = env.Service.Handle(context.Background(), chat.Incoming{Actor: actor(ask[0]), Text: "/resetpw " + ask[1] + "@contoso.com", Reply: rec})
	}
	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com"} {
		if n := len(env.Graph.Resets(upn)); n != 1 {
			t.Fatalf("%s: %d resets before the brake", upn, n)
		}
	}
	for _, who := range []string{"helpdesk@contoso.com", "pwadmin@contoso.com"} {
		_ = env.Service.Handle(context.Background(), chat.Incoming{Actor: actor(who), Text: "/resetpw reader@contoso.com", Reply: rec})
		if !strings.Contains(rec.last(), "security") && !strings.Contains(rec.last(), "already being reset") {
			t.Errorf("past the brake %s was told %q", who, rec.last())
		}
	}
	if n := len(env.Graph.Resets("reader@contoso.com")); n != 0 {
		t.Fatalf("a reset past the brake ran without approval")
	}
	if n := strings.Count(heard.all(), "brake is on"); n != 1 {
		t.Errorf("the audit channel was told %d times, want once: %q", n, heard.all())
	}
}

// Two hundred commands at once from one agent never make more resets than the agent's limit.
func TestRateLimitHoldsUnderABurst(t *testing.T) {
	env := scenariotest.NewEnv(t, func(c *bot.Config) { c.RateLimit, c.TenantLimit = 30, 0 })
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	var users []string
	for i := range 200 {
		users = append(users, env.Graph.AddUser(graphtest.User{UPN: fmt.Sprintf("burst%03d@contoso.com", i),
			DisplayName: fmt.Sprintf("Burst %03d", i), AccountEnabled: true}).UPN)
	}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			_ = env.Service.Handle(context.Background(), chat.Incoming{Actor: actor("helpdesk@contoso.com"), Text: "/resetpw " + u, Reply: rec})
		})
	}
	wg.Wait()
	reset := 0
	for _, u := range users {
		reset += len(env.Graph.Resets(u))
	}
	if reset != 30 {
		t.Errorf("%d resets from a burst of 200 against a limit of 30", reset)
	}
}
