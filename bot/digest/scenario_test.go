package digest_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/digest"
	"github.com/resetbot/resetbot/bot/scheduler"
	"github.com/resetbot/resetbot/bot/store"
	"github.com/resetbot/resetbot/bot/store/pgtest"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

var ctx = context.Background()

// poster records the digests posted to it, with their CSVs.
type poster struct {
	mu    sync.Mutex
	posts []chat.Message
	csvs  []string
}

func (p *poster) PostDigest(_ context.Context, m chat.Message, att *chat.Attachment) error {
	var b bytes.Buffer
	if att != nil {
		f, err := att.Open()
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := b.ReadFrom(f); err != nil {
			return err
		}
		if int64(b.Len()) != att.Size {
			return fmt.Errorf("attachment says %d bytes, has %d", att.Size, b.Len())
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.posts = append(p.posts, m)
	p.csvs = append(p.csvs, b.String())
	return nil
}

func (p *poster) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.posts)
}

// A day at Contoso on a controlled clock: real resets through resetbot (the service on the Graph
// simulator and SQLite), and resets Entra logged that did not come through it — an admin in the
// admin center at night, self-service, another app. The digest tells them apart, reads Entra's log
// page by page within the reports throttle, and never shows a temporary password.
func TestDigestOfADay(t *testing.T) {
	env := scenariotest.NewEnv(t, nil) // Friday 27 Nov 2026 10:00 UTC
	env.Service.Attach(chat.PlatformShell, &scenariotest.Inbox{})
	since := env.Clock.Now().Add(-2 * time.Hour) // Fri 08:00
	until := since.Add(24 * time.Hour)

	say := func(as, text string) {
		in := chat.Incoming{Actor: chat.Actor{Platform: chat.PlatformShell, Tenant: "demo", UserID: as, Email: as, Name: as}, Text: text,
			Reply: chat.ReplierFunc(func(context.Context, chat.Message) error { return nil })}
		if err := env.Service.Handle(ctx, in); err != nil {
			t.Fatal(err)
		}
		env.Clock.Advance(time.Minute)
	}
	say("helpdesk@contoso.com", "/resetpw adele@contoso.com --reason locked out")
	say("helpdesk@contoso.com", "/resetpw lynne@contoso.com")
	say("helpdesk@contoso.com", "/resetpw megan@contoso.com") // a Global Administrator: refused by policy
	say("pat@contoso.com", "/resetpw ceo@contoso.com --reason lost phone")
	reqID := ""
	env.Store.AuditSince(ctx, 0, func(r bot.AuditRecord) error {
		if r.Event == bot.EventApproval && r.Outcome == "asked" {
			reqID = r.RequestID
		}
		return nil
	})
	say("sam@contoso.com", "approve "+reqID)

	// Outside resetbot: an admin at 23:14 (outside hours), a self-service reset, another app; and
	// enough self-service resets to need several pages of 999.
	env.Graph.LogAdminReset(since.Add(15*time.Hour+14*time.Minute), "megan@contoso.com", "adele@contoso.com", "203.0.113.7")
	env.Graph.LogAppReset(since.Add(5*time.Hour), "9b1e2c3d-0000-4000-8000-00000000c0de", "HR onboarding script", "lynne@contoso.com")
	var bulk []graphtest.DirectoryAudit
	for i := range 5200 {
		bulk = append(bulk, graphtest.DirectoryAudit{ActivityDisplayName: "Reset password (self-service)", LoggedByService: "Self-service Password Management",
			Result: "success", CorrelationID: fmt.Sprint("sspr-", i), ActivityDateTime: since.Add(3*time.Hour + time.Duration(i)*time.Second),
			InitiatedBy:     graphtest.AuditInitiator{User: &graphtest.AuditUser{UserPrincipalName: fmt.Sprintf("user%d@contoso.com", i)}},
			TargetResources: []graphtest.AuditTarget{{ID: fmt.Sprint("sspr-user-", i), Type: "User", UserPrincipalName: fmt.Sprintf("user%d@contoso.com", i)}}})
	}
	env.Graph.AddAudit(bulk...)
	// Graph's reports budget, for real: 5 requests per 10 s, 429 past it.
	env.Graph.SetReportsBudget(graphtestBudget, 10*time.Second)

	entra, ok := env.Directory.(digest.EntraLog)
	if !ok {
		t.Fatal("the Graph client does not read directory audits")
	}
	p := &poster{}
	sender := &digest.Sender{Builder: &digest.Builder{Trail: env.Store, Requests: env.Store, Entra: entra,
		Config: digest.Config{Location: time.UTC, BotAppID: graphtest.ResetbotAppID, TempDir: t.TempDir()}}, Posters: []digest.Poster{{Name: "test", AuditPoster: p}}}
	d, err := sender.Send(ctx, since, until)
	if err != nil {
		t.Fatal(err)
	}

	// The digest carries the trail's head out of the database, as an anchor that verifies.
	footer := p.posts[0].Footer
	i := strings.Index(footer, "--anchor ")
	if i < 0 {
		t.Fatalf("the digest carries no trail head: %s", footer)
	}
	anchor, err := bot.ParseAnchor(strings.TrimSuffix(strings.Fields(footer[i+len("--anchor "):])[0], ")"))
	if err != nil || anchor != d.Head {
		t.Fatalf("the head in the footer %q is not the digest's %+v: %v", footer[i:], d.Head, err)
	}
	if _, err := bot.VerifyTrailWith(ctx, env.Store, &bot.ChainCheck{Key: env.TrailKey(), Anchors: []bot.Anchor{anchor}}); err != nil {
		t.Errorf("the trail does not verify against the digest's anchor: %v", err)
	}

	// What went through resetbot.
	if d.Resets != 3 || d.Done != 3 || d.Denied != 1 || d.Approvals.Asked != 1 || d.Approvals.Approved != 1 {
		t.Errorf("resets %d done %d denied %d approvals %+v", d.Resets, d.Done, d.Denied, d.Approvals)
	}
	if d.PrivilegedCount != 1 || d.Privileged[0].Target != "ceo@contoso.com" || d.Privileged[0].Approver != "sam@contoso.com" {
		t.Errorf("privileged: %+v", d.Privileged)
	}
	// What Entra logged: resetbot's three resets (its app), and 5,202 outside.
	x := d.Entra
	if x.Err != "" || x.ThroughBot != 3 || x.Outside != 5202 || x.ByAdmin != 1 || x.ByOtherApp != 1 || x.SelfService != 5200 {
		t.Fatalf("entra: %+v", x)
	}
	// Paging followed, the throttle respected: never more than 5 requests in any 10 s, none refused.
	reqs := env.Graph.ReportsRequests()
	if len(reqs) != 6 {
		t.Errorf("%d requests to auditLogs, want 6 pages", len(reqs))
	}
	for _, r := range reqs {
		if r.Throttled {
			t.Errorf("a request was throttled: %+v", reqs)
		}
	}
	if most := graphtest.MostReportsIn(reqs, 10*time.Second); most > 5 {
		t.Errorf("%d requests within 10 s", most)
	}
	off := ""
	for _, a := range d.Anomalies {
		if a.Kind == digest.AnomalyOffHours {
			off = a.Text
		}
	}
	if !strings.Contains(off, "megan@contoso.com → adele@contoso.com (admin) at Fri 23:14") {
		t.Errorf("off hours: %q", off)
	}

	// Posted once, with the CSV; no temporary password anywhere in either.
	if p.count() != 1 {
		t.Fatalf("%d posts", p.count())
	}
	m, file := p.posts[0], p.csvs[0]
	rows, err := csv.NewReader(strings.NewReader(file)).ReadAll()
	if err != nil || len(rows)-1 != d.CSVRows {
		t.Fatalf("csv: %d rows, digest says %d: %v", len(rows)-1, d.CSVRows, err)
	}
	text := m.Title + m.Text + m.Table.String() + m.Footer
	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com", "ceo@contoso.com"} {
		sets := env.Graph.Resets(upn)
		if len(sets) == 0 {
			t.Fatalf("%s was not reset", upn)
		}
		for _, s := range sets {
			if strings.Contains(file, s.Password) || strings.Contains(text, s.Password) {
				t.Errorf("the temporary password of %s is in the digest", upn)
			}
		}
	}
	for _, want := range []string{"*Through resetbot* 3 (3 done, 0 failed)", "*Outside resetbot* 5202 — 5200 self-service, 1 by admins",
		"adele@contoso.com, by megan@contoso.com (admin center or PowerShell) from 203.0.113.7 ⚠️ outside hours", "… and 5194 more (see the CSV)",
		"ceo@contoso.com (Global Administrator) by pat@contoso.com, approved by sam@contoso.com"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the digest lacks %q:\n%s", want, m.Text)
		}
	}
}

const graphtestBudget = 5

// Two replicas on one database tick at 08:00: the digest for the slot is posted once. Then every
// replica is down over the next slot; the replicas that start afterwards catch it up once, covering
// the whole time since the last digest. On a SQLite file, and on PostgreSQL where
// RESETBOT_TEST_POSTGRES names one (pgtest skips with how to, otherwise).
func TestDigestPostedOnceAcrossReplicasAndCaughtUp(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		digestReplicas(t, "sqlite:"+filepath.Join(t.TempDir(), "resetbot.db"))
	})
	t.Run("postgres", func(t *testing.T) { digestReplicas(t, pgtest.DSN(t)) })
}

func digestReplicas(t *testing.T, dsn string) {
	clock := &testClock{t: time.Date(2026, 11, 30, 7, 59, 0, 0, time.UTC)} // Monday
	p := &poster{}
	sched, err := scheduler.ParseSchedule("RESETBOT_DIGEST_SCHEDULE", "0 8 * * 1-5", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	var periods []string
	var mu sync.Mutex
	replica := func(name string) *scheduler.Runner {
		st, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		s := &digest.Sender{Builder: &digest.Builder{Trail: st, Requests: st, Config: digest.Config{TempDir: t.TempDir()}},
			Posters: []digest.Poster{{Name: "test", AuditPoster: p}}}
		job := s.Job(sched)
		run := job.Run
		job.Run = func(ctx context.Context, slot, since time.Time) error {
			mu.Lock()
			from := "start"
			if !since.IsZero() {
				from = since.Format("Mon 15:04")
			}
			periods = append(periods, fmt.Sprintf("%s → %s", from, slot.Format("Mon 15:04")))
			mu.Unlock()
			return run(ctx, slot, since)
		}
		r := scheduler.New(st, name, nil)
		r.SetClock(clock.Now)
		r.Add(job)
		return r
	}
	a, b := replica("a"), replica("b")
	clock.Set(time.Date(2026, 11, 30, 8, 0, 30, 0, time.UTC))
	var wg sync.WaitGroup
	for _, r := range []*scheduler.Runner{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); r.Tick(ctx) }()
	}
	wg.Wait()
	if p.count() != 1 {
		t.Fatalf("%d digests posted for one slot by two replicas", p.count())
	}
	a.Tick(ctx)
	b.Tick(ctx)
	if p.count() != 1 {
		t.Fatalf("%d digests after ticking again", p.count())
	}

	// Down from Monday 09:00 to Tuesday 09:30: Tuesday's 08:00 is missed.
	clock.Set(time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC))
	c, d := replica("c"), replica("d")
	for _, r := range []*scheduler.Runner{c, d} {
		wg.Add(1)
		go func() { defer wg.Done(); r.Tick(ctx) }()
	}
	wg.Wait()
	c.Tick(ctx)
	d.Tick(ctx)
	if p.count() != 2 {
		t.Fatalf("%d digests after the missed slot, want 2", p.count())
	}
	mu.Lock()
	got := strings.Join(periods, "; ")
	mu.Unlock()
	if got != "start → Mon 08:00; Mon 08:00 → Tue 08:00" {
		t.Errorf("periods: %s", got)
	}
	if !strings.HasPrefix(p.posts[0].Title, "📊 Password resets, Fri 27 Nov 08:00 → Mon 30 Nov 08:00") {
		t.Errorf("the first digest covers the schedule's previous slot: %s", p.posts[0].Title)
	}
	if !strings.HasPrefix(p.posts[1].Title, "📊 Password resets, Mon 30 Nov 08:00 → Tue 1 Dec 08:00") {
		t.Errorf("title: %s", p.posts[1].Title)
	}
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
