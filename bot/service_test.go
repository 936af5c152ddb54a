package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

// recorder is a chat platform that remembers what it was asked to show. The replicas of a test
// share one (it is one Slack or Teams), so what people saw is counted across them.
type recorder struct {
	mu        sync.Mutex
	msgs      []string
	withdrawn int
}

func (r *recorder) add(where string, m chat.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, where+": "+m.Title+" "+m.Text+" "+m.Secret.Reveal()+" "+m.Footer)
}

func (r *recorder) Reply(_ context.Context, m chat.Message) error { r.add("reply", m); return nil }
func (r *recorder) DM(_ context.Context, to chat.Actor, m chat.Message) (chat.MessageRef, error) {
	r.add("dm:"+to.UserID, m)
	return chat.MessageRef{Platform: to.Platform, Channel: "D-" + to.UserID, ID: "1"}, nil
}
func (r *recorder) PostApproval(_ context.Context, m chat.Message) (chat.MessageRef, error) {
	r.add("approvals", m)
	return chat.MessageRef{Platform: chat.PlatformShell, Channel: "C", ID: "2"}, nil
}
func (r *recorder) Update(_ context.Context, _ chat.MessageRef, m chat.Message) error {
	r.add("card", m)
	return nil
}
func (r *recorder) Withdraw(context.Context, chat.MessageRef) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.withdrawn++
	return nil
}

// count is how many messages shown contain all of the words.
func (r *recorder) count(words ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
next:
	for _, m := range r.msgs {
		for _, w := range words {
			if !strings.Contains(m, w) {
				continue next
			}
		}
		n++
	}
	return n
}

// requestID is the request the first approval card shown carries.
func (r *recorder) requestID(t *testing.T) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		if strings.HasPrefix(m, "approvals:") {
			return scenariotest.RequestID(t, m)
		}
	}
	t.Fatalf("no approval card among %q", r.msgs)
	return ""
}

func actor(upn string) chat.Actor {
	return chat.Actor{Platform: chat.PlatformShell, Tenant: "demo", UserID: upn, Email: upn}
}

// A delivery repeated with the same key (a Slack retry, a double click, two replicas) resets once.
func TestDuplicateDeliveryResetsOnce(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := chat.Incoming{Actor: actor("helpdesk@contoso.com"), Text: "/resetpw adele@contoso.com", IdempotencyKey: "slack:trigger-1", Reply: rec}
			if err := env.Service.Handle(context.Background(), in); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(env.Graph.Resets("adele@contoso.com")); n != 1 {
		t.Fatalf("Graph set %d passwords, want 1", n)
	}
}

// Two approvers clicking at once: exactly one reset.
func TestConcurrentApprovalsResetOnce(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	if err := env.Service.Handle(context.Background(), chat.Incoming{Actor: actor("pat@contoso.com"), Text: "/resetpw ceo@contoso.com", Reply: rec}); err != nil {
		t.Fatal(err)
	}
	var id string
	for _, m := range rec.msgs {
		if strings.HasPrefix(m, "approvals:") {
			id = scenariotest.RequestID(t, m)
		}
	}
	var wg sync.WaitGroup
	for _, who := range []string{"sam@contoso.com", "megan@contoso.com", "sam@contoso.com", "megan@contoso.com"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = env.Service.Handle(context.Background(), chat.Click(actor(who), chat.ActionApprove, id, "", rec))
		}()
	}
	wg.Wait()
	if n := len(env.Graph.Resets("ceo@contoso.com")); n != 1 {
		t.Fatalf("Graph set %d passwords, want 1", n)
	}
}

// The audit trail has a record for each step, linked by hashes.
func TestAuditTrailRecordsEachStep(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	_ = env.Service.Handle(context.Background(), chat.Incoming{Actor: actor("helpdesk@contoso.com"), Text: "/resetpw adele@contoso.com --reason INC1", Reply: rec})
	var events []string
	prev := ""
	err := env.Store.AuditSince(context.Background(), 0, func(r bot.AuditRecord) error {
		events = append(events, string(r.Event)+"="+r.Outcome)
		if r.PrevHash != prev || r.Hash != r.ChainHash(prev) {
			t.Errorf("record %d does not link to the one before", r.Seq)
		}
		prev = r.Hash
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "requested=asked decision=allow reset=done revoke=done delivery=sent notice=unreached"
	if got := strings.Join(events, " "); got != want {
		t.Errorf("audit events = %q, want %q", got, want)
	}
}

// A person past the rate limit is refused before anything is written.
func TestRateLimit(t *testing.T) {
	env := scenariotest.NewEnv(t, func(c *bot.Config) { c.RateLimit = 2 })
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	for _, target := range []string{"adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com"} {
		if err := env.Service.Handle(context.Background(), chat.Incoming{Actor: actor("helpdesk@contoso.com"), Text: "/resetpw " + target, Reply: rec}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(env.Graph.Resets("nestor@contoso.com")); n != 0 {
		t.Fatalf("the third reset went through (%d passwords set)", n)
	}
	last := rec.msgs[len(rec.msgs)-1]
	if !strings.Contains(last, "the limit is 2") {
		t.Errorf("the refusal does not explain the limit: %q", last)
	}
}

// failingStore is a store whose database has gone away.
type failingStore struct{ bot.Store }

func (failingStore) Claim(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("database is locked")
}
func (failingStore) CountRequests(context.Context, string, time.Time) (int, error) {
	return 0, errors.New("database is locked")
}
func (failingStore) CreateRequest(context.Context, *bot.Request) error {
	return errors.New("database is locked")
}

// With the store gone, the person is told to try later and nothing is reset.
func TestStoreDownResetsNothing(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	svc := bot.NewService(env.Directory, failingStore{env.Store}, bot.Defaults(), nil)
	rec := &recorder{}
	svc.Attach(chat.PlatformShell, rec)
	for _, key := range []string{"", "k1"} {
		_ = svc.Handle(context.Background(), chat.Incoming{Actor: actor("helpdesk@contoso.com"), Text: "/resetpw adele@contoso.com", IdempotencyKey: key, Reply: rec})
	}
	if n := len(env.Graph.Resets("adele@contoso.com")); n != 0 {
		t.Fatalf("a reset went through without a store (%d)", n)
	}
	for _, m := range rec.msgs {
		if !strings.Contains(m, "temporarily unavailable") {
			t.Errorf("unexpected message %q", m)
		}
	}
	if len(rec.msgs) != 2 {
		t.Errorf("%d messages, want 2", len(rec.msgs))
	}
}
