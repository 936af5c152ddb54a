package graphsvc

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// revokeItems returns, per user ID, the request-ids of the revokeSignInSessions items Graph received.
func revokeItems(srv *graphtest.Server) map[string][]string {
	out := map[string][]string{}
	for _, r := range srv.Requests() {
		if r.BatchItem == "" || r.Method != http.MethodPost || !strings.HasSuffix(r.Path, "/revokeSignInSessions") {
			continue
		}
		id := strings.TrimSuffix(strings.TrimPrefix(r.Path, "/v1.0/users/"), "/revokeSignInSessions")
		out[id] = append(out[id], r.RequestID)
	}
	return out
}

// Every user is revoked once, in batches; throttled and failed items are sent again; a user named
// twice is sent once; an unknown user and an empty ID fail alone.
func TestRevokeSessionsMany(t *testing.T) {
	srv, c, users, tap := bulkSim(t, 45, nil)
	ids := []string{graphtest.AdeleID}
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	ids = append(ids, strings.ToUpper(graphtest.AdeleID), "10000000-0000-4000-8000-0000000000ff", " ")
	srv.ThrottleNextWrite(3, 0)
	srv.FailNextWrite(2, http.StatusServiceUnavailable)

	var mu sync.Mutex
	heard := map[int]int{}
	outcomes := c.RevokeSessionsMany(context.Background(), ids, func(o bot.RevokeOutcome) {
		mu.Lock()
		defer mu.Unlock()
		for i, id := range ids {
			if id == o.UserID {
				heard[i]++
			}
		}
	})
	if len(outcomes) != len(ids) {
		t.Fatalf("%d outcomes for %d IDs", len(outcomes), len(ids))
	}
	items := revokeItems(srv)
	for i, o := range outcomes[:len(ids)-2] {
		if o.UserID != ids[i] || o.Err != nil {
			t.Fatalf("outcomes[%d] = %+v", i, o)
		}
		id := strings.ToLower(strings.TrimSpace(ids[i]))
		if n := srv.SessionsRevoked(id); n != 1 {
			t.Errorf("%s revoked %d times", id, n)
		}
		sent := items[id]
		if len(sent) == 0 || o.GraphRequestID != sent[len(sent)-1] {
			t.Errorf("%s: request-id %q, items sent %v", id, o.GraphRequestID, sent)
		}
	}
	if len(items[graphtest.AdeleID])+len(items[strings.ToUpper(graphtest.AdeleID)]) > 1+3+2 {
		t.Errorf("adele was sent %d times", len(items[graphtest.AdeleID]))
	}
	if de := asDirectoryError(t, outcomes[len(ids)-2].Err); de.Kind != bot.ErrNotFound || de.RequestID == "" {
		t.Errorf("unknown user: %+v", de)
	}
	if de := asDirectoryError(t, outcomes[len(ids)-1].Err); de.Kind != bot.ErrOther || de.Status != 0 {
		t.Errorf("empty ID: %+v", de)
	}
	for i := range ids {
		want := 1
		if strings.EqualFold(ids[i], graphtest.AdeleID) {
			want = 2 // the two entries naming adele are both reported, each once
		}
		if heard[i] != want {
			t.Errorf("progress heard entry %d (%q) %d times, want %d", i, ids[i], heard[i], want)
		}
	}
	checkBatchSizes(t, srv, tap)
	if tap.throttled.Load() != 3 {
		t.Errorf("%d items answered 429, want the 3 injected", tap.throttled.Load())
	}
}

// Resets and revocations spend one write budget: a list that resets then revokes, both paced at
// the server's own budget, is never throttled and takes as long as the budget demands for both.
func TestRevokeSessionsManySharesTheWriteBudget(t *testing.T) {
	const (
		budget = 30
		window = 400 * time.Millisecond
		n      = 40
	)
	srv, c, users, tap := bulkSim(t, n, func(cfg *Config) { cfg.WriteBudget, cfg.WriteWindow = budget, window })
	srv.SetWriteBudget(budget, window)
	ids := make([]string, n)
	for i, u := range users {
		ids[i] = u.ID
	}
	start := time.Now()
	var wg sync.WaitGroup
	var resets []bot.ResetOutcome
	var revokes []bot.RevokeOutcome
	wg.Go(func() { resets = c.ResetPasswords(context.Background(), resetsFor(users, 1), nil) })
	wg.Go(func() { revokes = c.RevokeSessionsMany(context.Background(), ids, nil) })
	wg.Wait()
	took := time.Since(start)
	for i := range ids {
		if resets[i].Err != nil || revokes[i].Err != nil {
			t.Fatalf("%s: reset %v, revoke %v", ids[i], resets[i].Err, revokes[i].Err)
		}
	}
	if got := tap.throttled.Load(); got != 0 {
		t.Errorf("%d items answered 429", got)
	}
	if lower := budgetLowerBound(2*n, budget, window); took < lower {
		t.Errorf("%d writes took %v, less than the budget allows (%v)", 2*n, took, lower)
	}
}

func TestRevokeSessionsManyCancelled(t *testing.T) {
	srv, c, users, _ := bulkSim(t, 5, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ids := []string{users[0].ID, users[1].ID}
	outcomes := c.RevokeSessionsMany(ctx, ids, nil)
	for i, o := range outcomes {
		if de := asDirectoryError(t, o.Err); de.Kind != bot.ErrTransient || !strings.Contains(de.Message, "not attempted") {
			t.Errorf("outcomes[%d]: %+v", i, de)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests after cancellation", n)
	}
}

// tokenSource is a signed-in agent's delegated token.
type tokenSource string

func (t tokenSource) AccessToken(context.Context) (string, error) { return string(t), nil }

// As the agent: the revocation carries the agent's token and names Graph's request.
func TestRevokeSessionsAs(t *testing.T) {
	srv, c := newSimulator(t, nil)
	tok, err := srv.IssueUserToken("helpdesk@contoso.com", []string{graphtest.ScopeRevokeSessions}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.RevokeSessionsAs(context.Background(), tokenSource(tok), graphtest.AdeleID)
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].AsUser != graphtest.HelpdeskID || res.GraphRequestID != reqs[0].RequestID {
		t.Errorf("result %+v; requests %+v", res, reqs)
	}
	// A Helpdesk Administrator may not revoke a Global Administrator's sessions: Entra's 403, with
	// the agent's remedy.
	_, err = c.RevokeSessionsAs(context.Background(), tokenSource(tok), graphtest.MeganID)
	if de := asDirectoryError(t, err); de.Kind != bot.ErrInsufficientPrivileges || de.Remedy != RemedyAgentRole {
		t.Errorf("got %+v", de)
	}
}
