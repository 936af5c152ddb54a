package bot_test

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

// sendList sends a CSV file as a chat upload would, and returns the ID of the list it previewed.
func sendList(t *testing.T, svc *bot.Service, rec *recorder, as chat.Actor, name string, lines ...string) string {
	t.Helper()
	in := chat.Incoming{Actor: as, Text: "resetpw bulk", Reply: rec,
		File: &chat.File{Name: name, Data: []byte("UserPrincipalName\n" + strings.Join(lines, "\n"))}}
	if err := svc.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	return scenariotestListID(t, rec.last())
}

func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.msgs) == 0 {
		return ""
	}
	return r.msgs[len(r.msgs)-1]
}

// A list is previewed, nothing is reset until the go-ahead, then each allowed user is reset once and
// the passwords arrive only in the results DM.
func TestBulkPreviewThenRun(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	helpdesk := actor("helpdesk@contoso.com")
	id := sendList(t, env.Service, rec, helpdesk, "users.csv",
		"adele@contoso.com", "lynne@contoso.com", "megan@contoso.com", "ceo@contoso.com", "nobody@contoso.com", "bad", "ADELE@contoso.com")
	preview := rec.last()
	if !strings.Contains(preview, "7 rows → 2 can be reset, 0 need approval, 5 refused") {
		t.Fatalf("preview = %q", preview)
	}
	for _, r := range env.Graph.Writes() {
		t.Fatalf("the preview wrote to Graph: %s %s", r.Method, r.Path)
	}

	// Someone else cannot start it.
	_ = env.Service.Handle(context.Background(), chat.Click(actor("pat@contoso.com"), chat.ActionRun, id, "", rec))
	if !strings.Contains(rec.last(), "Only the person who sent the list") {
		t.Fatalf("another person started the list: %q", rec.last())
	}
	// Two clicks: one run.
	for range 2 {
		_ = env.Service.Handle(context.Background(), chat.Click(helpdesk, chat.ActionRun, id, "", rec))
	}
	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com"} {
		if n := len(env.Graph.Resets(upn)); n != 1 {
			t.Errorf("%s reset %d times, want 1", upn, n)
		}
	}
	var results string
	for _, m := range rec.msgs {
		if strings.HasPrefix(m, "dm:helpdesk@contoso.com: 🗝️ Results") {
			results = m
		}
	}
	table, _, _ := strings.Cut(results[strings.Index(results, "UserPrincipalName"):], " Only you")
	recs, err := csv.NewReader(strings.NewReader(strings.TrimSpace(table))).ReadAll()
	if err != nil {
		t.Fatalf("results are not CSV: %v", err)
	}
	if len(recs) != 3 {
		t.Fatalf("results have %d lines, want a header and 2", len(recs))
	}
	for _, r := range recs[1:] {
		set := env.Graph.Resets(r[0])
		if r[1] != "reset" || len(set) != 1 || r[2] != set[0].Password {
			t.Errorf("result %v does not match what Graph set", r)
		}
		scenariotest.PasswordOnlyInDM(t, env, set[0].Password, nil)
		for _, m := range rec.msgs {
			if strings.Contains(m, set[0].Password) && !strings.HasPrefix(m, "dm:") {
				t.Errorf("a password appeared outside a DM: %q", m)
			}
		}
		if n := env.Graph.SessionsRevoked(r[0]); n != 1 {
			t.Errorf("%s: sessions revoked %d times, want 1", r[0], n)
		}
	}
	summaries := 0
	for _, m := range rec.msgs {
		if strings.Contains(m, "2 reset, 0 failed") {
			summaries++
		}
	}
	if summaries != 1 {
		t.Errorf("%d run summaries, want 1: %q", summaries, rec.msgs)
	}
}

func TestBulkCancel(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	helpdesk := actor("helpdesk@contoso.com")
	id := sendList(t, env.Service, rec, helpdesk, "u.csv", "adele@contoso.com")
	_ = env.Service.Handle(context.Background(), chat.Click(helpdesk, chat.ActionCancel, id, "", rec))
	_ = env.Service.Handle(context.Background(), chat.Click(helpdesk, chat.ActionRun, id, "", rec))
	if n := len(env.Graph.Resets("adele@contoso.com")); n != 0 {
		t.Fatalf("a cancelled list reset %d users", n)
	}
	if !strings.Contains(rec.last(), "no longer waiting") {
		t.Errorf("running a cancelled list said %q", rec.last())
	}
}

func scenariotestListID(t *testing.T, msg string) string {
	t.Helper()
	i := strings.Index(msg, "List B-")
	if i < 0 {
		t.Fatalf("no list ID in %q", msg)
	}
	return strings.Fields(msg[i+5:])[0]
}

// A list above the threshold needs a second person: nothing is reset until someone entitled to
// reset every user on it approves; the requester cannot, and a second approval does nothing.
func TestBulkListApproval(t *testing.T) {
	env := scenariotest.NewEnv(t, func(c *bot.Config) { c.ListApprovalAbove = 2 })
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	helpdesk := actor("helpdesk@contoso.com")
	id := sendList(t, env.Service, rec, helpdesk, "u.csv", "adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com")
	if !strings.Contains(rec.last(), "second person") {
		t.Fatalf("preview = %q", rec.last())
	}
	_ = env.Service.Handle(context.Background(), chat.Click(helpdesk, chat.ActionRun, id, "", rec))
	var card string
	for _, m := range rec.msgs {
		if strings.HasPrefix(m, "approvals:") {
			card = m
		}
	}
	if !strings.Contains(card, id) {
		t.Fatalf("no list approval card: %q", rec.msgs)
	}
	_ = env.Service.Handle(context.Background(), chat.Click(helpdesk, chat.ActionApprove, id, "", rec))
	if !strings.Contains(rec.last(), "can't approve your own request") {
		t.Errorf("self-approval answered %q", rec.last())
	}
	_ = env.Service.Handle(context.Background(), chat.Click(actor("reader@contoso.com"), chat.ActionApprove, id, "", rec))
	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com"} {
		if n := len(env.Graph.Resets(upn)); n != 0 {
			t.Fatalf("%s was reset before an entitled approval", upn)
		}
	}
	_ = env.Service.Handle(context.Background(), chat.Click(actor("pwadmin@contoso.com"), chat.ActionApprove, id, "", rec))
	_ = env.Service.Handle(context.Background(), chat.Click(actor("sam@contoso.com"), chat.ActionApprove, id, "", rec))
	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com"} {
		if n := len(env.Graph.Resets(upn)); n != 1 {
			t.Errorf("%s reset %d times, want 1", upn, n)
		}
	}
	if !strings.Contains(rec.last(), "already decided") {
		t.Errorf("a second approval answered %q", rec.last())
	}
}

func TestBulkListApprovalExpires(t *testing.T) {
	env := scenariotest.NewEnv(t, func(c *bot.Config) { c.ListApprovalAbove = 1 })
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	helpdesk := actor("helpdesk@contoso.com")
	id := sendList(t, env.Service, rec, helpdesk, "u.csv", "adele@contoso.com", "lynne@contoso.com")
	_ = env.Service.Handle(context.Background(), chat.Click(helpdesk, chat.ActionRun, id, "", rec))
	env.Clock.Advance(31 * time.Minute)
	env.Service.Tick(context.Background())
	env.Service.Tick(context.Background())
	expired := 0
	for _, m := range rec.msgs {
		if strings.Contains(m, "Nobody approved list "+id) {
			expired++
		}
	}
	if expired != 1 {
		t.Errorf("the requester was told %d times that the list expired, want once", expired)
	}
	_ = env.Service.Handle(context.Background(), chat.Click(actor("sam@contoso.com"), chat.ActionApprove, id, "", rec))
	if n := len(env.Graph.Resets("adele@contoso.com")); n != 0 {
		t.Errorf("an expired list was reset")
	}
}
