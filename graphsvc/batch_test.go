package graphsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	khttp "github.com/microsoft/kiota-http-go"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// These tests run ResetPasswords against the graphtest simulator (and, for failures of the $batch
// envelope itself, which the simulator cannot inject, against scripted servers).

// bulkSim is a Contoso simulator with n more users, bulk00000@ … , and a client for it. The client
// sees the $batch answers through a tap that counts the items Graph answered 429.
func bulkSim(t testing.TB, n int, tweak func(*Config)) (*graphtest.Server, *Client, []graphtest.User, *batchTap) {
	t.Helper()
	srv := graphtest.NewServer(graphtest.Contoso())
	t.Cleanup(srv.Close)
	added := addBulkUsers(srv, n)
	tap := &batchTap{}
	cfg := Config{Credential: srv.Credential(), GraphEndpoint: srv.URL, Timeout: 5 * time.Second, MaxRetryWait: 5 * time.Second,
		HTTPClient: &http.Client{Transport: tap}}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, added, tap
}

func addBulkUsers(srv *graphtest.Server, n int) []graphtest.User {
	out := make([]graphtest.User, n)
	for i := range n {
		upn := fmt.Sprintf("bulk%05d@contoso.com", i)
		out[i] = srv.AddUser(graphtest.User{UPN: upn, Mail: upn, DisplayName: fmt.Sprintf("Bulk User %d", i), AccountEnabled: true})
	}
	return out
}

// bulkPassword is a password the simulator's policy accepts, different for every i and run.
func bulkPassword(run, i int) bot.TempPassword {
	return bot.NewTempPassword(fmt.Sprintf("Rb%d!%05d#qZx", run, i))
}

func resetsFor(users []graphtest.User, run int) []bot.PasswordReset {
	out := make([]bot.PasswordReset, len(users))
	for i, u := range users {
		out[i] = bot.PasswordReset{UserID: u.ID, Password: bulkPassword(run, i), Options: bot.ResetOptions{RequireMFA: i%2 == 0}}
	}
	return out
}

// batchTap is a transport that reads every $batch answer on its way to the client and counts the
// item statuses, and the 429s that say WriteLimitExceeded.
type batchTap struct {
	batches, items, throttled, writeLimit atomic.Int64
	maxItems                              atomic.Int64
	base                                  http.RoundTripper // nil: the transport New would use
}

func (b *batchTap) transport() http.RoundTripper {
	if b.base == nil {
		return defaultTransport
	}
	return b.base
}

// defaultTransport is what New uses when Config.HTTPClient is nil.
var defaultTransport = khttp.GetDefaultTransport()

func (b *batchTap) RoundTrip(r *http.Request) (*http.Response, error) {
	isBatch := strings.HasSuffix(r.URL.Path, "/$batch")
	if isBatch && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var env struct{ Requests []json.RawMessage }
		if json.Unmarshal(body, &env) == nil {
			n := int64(len(env.Requests))
			for {
				old := b.maxItems.Load()
				if n <= old || b.maxItems.CompareAndSwap(old, n) {
					break
				}
			}
		}
	}
	resp, err := b.transport().RoundTrip(r)
	if err != nil || !isBatch || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	var answer struct{ Responses []wireResponse }
	if json.Unmarshal(body, &answer) == nil {
		b.batches.Add(1)
		for _, it := range answer.Responses {
			b.items.Add(1)
			if it.Status == http.StatusTooManyRequests {
				b.throttled.Add(1)
				for k, v := range it.Headers {
					if strings.EqualFold(k, "x-ms-throttle-information") && strings.Contains(v, "WriteLimitExceeded") {
						b.writeLimit.Add(1)
					}
				}
			}
		}
	}
	return resp, nil
}

// checkExactlyOnce checks that every reset that succeeded set its password exactly once, with the
// options asked for, and that the outcomes answer the resets in order.
func checkExactlyOnce(t *testing.T, srv *graphtest.Server, resets []bot.PasswordReset, outcomes []bot.ResetOutcome) {
	t.Helper()
	if len(outcomes) != len(resets) {
		t.Fatalf("%d outcomes for %d resets", len(outcomes), len(resets))
	}
	for i, r := range resets {
		o := outcomes[i]
		if o.UserID != r.UserID {
			t.Fatalf("outcomes[%d] is for %q, not %q", i, o.UserID, r.UserID)
		}
		sets := srv.Resets(r.UserID)
		if o.Err != nil {
			continue
		}
		if len(sets) != 1 {
			t.Errorf("%s: %d passwords set, want exactly 1", r.UserID, len(sets))
			continue
		}
		s := sets[0]
		if s.Password != r.Password.Reveal() || !s.ForceChange || s.ForceChangeWithMFA != r.Options.RequireMFA || s.Via != "patch" {
			t.Errorf("%s: set %+v, want the password sent with force change (MFA %v)", r.UserID, s, r.Options.RequireMFA)
		}
		if o.GraphRequestID == "" || o.GraphRequestID != s.RequestID {
			t.Errorf("%s: GraphRequestID %q, Graph's request-id %q", r.UserID, o.GraphRequestID, s.RequestID)
		}
	}
}

// batchEnvelopes returns the item counts of the $batch requests the server received.
func batchEnvelopes(t *testing.T, srv *graphtest.Server) []int {
	t.Helper()
	var sizes []int
	for _, r := range srv.Requests() {
		if r.BatchItem != "" || !strings.HasSuffix(r.Path, "/$batch") {
			continue
		}
		var env struct {
			Requests []struct {
				ID      string            `json:"id"`
				Method  string            `json:"method"`
				Headers map[string]string `json:"headers"`
				Body    json.RawMessage   `json:"body"`
			} `json:"requests"`
		}
		if err := json.Unmarshal(r.Body, &env); err != nil {
			t.Fatalf("envelope: %v", err)
		}
		for _, it := range env.Requests {
			if it.Method == http.MethodPatch && (it.Headers["Content-Type"] != "application/json" || len(it.Body) == 0) {
				t.Errorf("PATCH item %s without a JSON body and its Content-Type: %+v", it.ID, it)
			}
		}
		sizes = append(sizes, len(env.Requests))
	}
	return sizes
}

func checkBatchSizes(t *testing.T, srv *graphtest.Server, tap *batchTap) {
	t.Helper()
	sizes := batchEnvelopes(t, srv)
	if len(sizes) == 0 {
		t.Fatal("no $batch request was sent")
	}
	for _, n := range sizes {
		if n < 1 || n > maxBatchItems {
			t.Fatalf("a $batch carried %d items; Graph takes 1–20", n)
		}
	}
	if m := tap.maxItems.Load(); m > maxBatchItems {
		t.Fatalf("a $batch carried %d items", m)
	}
}

func TestResetPasswordsBatched(t *testing.T) {
	srv, c, users, tap := bulkSim(t, 130, nil)
	resets := resetsFor(users, 1)
	var (
		busy     atomic.Bool
		progress = map[string]int{} // no lock: progress is never called concurrently
	)
	outcomes := c.ResetPasswords(context.Background(), resets, func(o bot.ResetOutcome) {
		if busy.Swap(true) {
			t.Error("progress called concurrently")
		}
		progress[o.UserID]++
		time.Sleep(time.Millisecond)
		busy.Store(false)
	})
	for i, o := range outcomes {
		if o.Err != nil {
			t.Fatalf("outcomes[%d]: %v", i, o.Err)
		}
		if progress[o.UserID] != 1 {
			t.Errorf("progress heard %s %d times", o.UserID, progress[o.UserID])
		}
	}
	checkExactlyOnce(t, srv, resets, outcomes)
	checkBatchSizes(t, srv, tap)
	if n := len(batchEnvelopes(t, srv)); n != 7 { // 130 = 6×20 + 10
		t.Errorf("%d batches for 130 resets, want 7", n)
	}
}

// Every way one item can fail, next to items that succeed: each fails on its own, classified as a
// single reset would be, without the password in the error.
func TestResetPasswordsItemFailures(t *testing.T) {
	srv, c, users, _ := bulkSim(t, 30, nil)
	srv.SetAppRole(bot.RoleHelpdeskAdmin) // may reset users without roles, not admins
	const weak = "abcdefgh"
	resets := resetsFor(users, 1)
	resets = append(resets,
		bot.PasswordReset{UserID: graphtest.AlexID, Password: bot.NewTempPassword(secretPW)},                       // synced
		bot.PasswordReset{UserID: "10000000-0000-4000-8000-0000000000ff", Password: bot.NewTempPassword(secretPW)}, // unknown
		bot.PasswordReset{UserID: graphtest.MeganID, Password: bot.NewTempPassword(secretPW)},                      // Global Administrator
		bot.PasswordReset{UserID: graphtest.AdeleID, Password: bot.NewTempPassword(weak)},                          // too weak
		bot.PasswordReset{UserID: users[3].ID, Password: bot.NewTempPassword(secretPW)},                            // listed twice
		bot.PasswordReset{UserID: " ", Password: bot.NewTempPassword(secretPW)},
		bot.PasswordReset{UserID: graphtest.NestorID},
		bot.PasswordReset{UserID: graphtest.GuestUPN, Password: bot.NewTempPassword(secretPW)}, // by UPN, with a '#'
	)
	var calls atomic.Int64
	outcomes := c.ResetPasswords(context.Background(), resets, func(bot.ResetOutcome) { calls.Add(1) })
	if int(calls.Load()) != len(resets) {
		t.Errorf("progress called %d times for %d resets", calls.Load(), len(resets))
	}
	n := len(users)
	checkExactlyOnce(t, srv, resets[:n], outcomes[:n])
	want := []struct {
		kind   bot.ErrorKind
		status int
	}{
		{bot.ErrSyncedObject, 400}, {bot.ErrNotFound, 404}, {bot.ErrInsufficientPrivileges, 403},
		{bot.ErrPasswordPolicy, 400}, {bot.ErrOther, 0}, {bot.ErrOther, 0}, {bot.ErrOther, 0},
	}
	for i, w := range want {
		o := outcomes[n+i]
		if o.UserID != resets[n+i].UserID {
			t.Fatalf("outcomes[%d] is for %q", n+i, o.UserID)
		}
		de := asDirectoryError(t, o.Err)
		if de.Kind != w.kind || de.Status != w.status || de.Remedy == "" {
			t.Errorf("%s: %+v, want %s %d", o.UserID, de, w.kind, w.status)
		}
		if w.status != 0 && de.RequestID == "" {
			t.Errorf("%s: no request-id in %+v", o.UserID, de)
		}
		if strings.Contains(de.Error(), weak) {
			t.Errorf("the weak password leaked: %+v", de)
		}
	}
	if got := srv.Resets(users[3].ID); len(got) != 1 || got[0].Password != resets[3].Password.Reveal() {
		t.Errorf("user listed twice: %+v", got)
	}
	if o := outcomes[len(outcomes)-1]; o.Err != nil || len(srv.Resets(graphtest.GuestID)) != 1 {
		t.Errorf("guest by UPN: %+v, %d resets", o, len(srv.Resets(graphtest.GuestID)))
	}
	for _, id := range []string{graphtest.AlexID, graphtest.MeganID, graphtest.AdeleID, graphtest.NestorID} {
		if got := srv.Resets(id); len(got) != 0 {
			t.Errorf("%s: %d passwords set", id, len(got))
		}
	}
}

// Items throttled (429 with Retry-After) and failed (500, 503) inside batches are sent again, and
// every user ends up with exactly the one password sent for them.
func TestResetPasswordsExactlyOnceUnderItemFaults(t *testing.T) {
	srv, c, users, tap := bulkSim(t, 100, nil)
	srv.ThrottleNextWrite(7, time.Second)
	srv.FailNextWrite(3, http.StatusServiceUnavailable)
	srv.FailNextWrite(2, http.StatusInternalServerError)
	srv.ThrottleNextWrite(2, 0)
	resets := resetsFor(users, 1)
	outcomes := c.ResetPasswords(context.Background(), resets, nil)
	for i, o := range outcomes {
		if o.Err != nil {
			t.Fatalf("outcomes[%d]: %v", i, o.Err)
		}
	}
	checkExactlyOnce(t, srv, resets, outcomes)
	checkBatchSizes(t, srv, tap)
	if got := tap.throttled.Load(); got != 9 {
		t.Errorf("%d items answered 429, want the 9 injected", got)
	}
	patches := 0
	for _, r := range srv.Requests() {
		if r.BatchItem != "" && r.Method == http.MethodPatch {
			patches++
		}
	}
	if patches != 100+9+5 {
		t.Errorf("%d PATCH items sent, want 100 + 14 retries", patches)
	}
}

// With the server's write budget smaller than the client's, Graph's WriteLimitExceeded 429s are
// waited out (and pause the pacer), and still every user is reset exactly once.
func TestResetPasswordsOverServerBudget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget int
	}{{"unpaced", -1}, {"paced above the server's budget", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c, users, tap := bulkSim(t, 100, func(cfg *Config) { cfg.WriteBudget = tc.budget; cfg.MaxRetries = 5 })
			srv.SetWriteBudget(40, time.Second)
			resets := resetsFor(users, 1)
			outcomes := c.ResetPasswords(context.Background(), resets, nil)
			for i, o := range outcomes {
				if o.Err != nil {
					t.Fatalf("outcomes[%d]: %v", i, o.Err)
				}
			}
			checkExactlyOnce(t, srv, resets, outcomes)
			if tap.writeLimit.Load() == 0 {
				t.Error("the server's budget never answered 429: the test tests nothing")
			}
		})
	}
}

// With the client's budget set to the server's, the run stays inside it: no item is ever answered
// 429, and the run takes at least as long as the budget demands.
func TestResetPasswordsPacedWithinBudget(t *testing.T) {
	const (
		budget = 50
		window = 500 * time.Millisecond
		n      = 120
	)
	srv, c, users, tap := bulkSim(t, n, func(cfg *Config) { cfg.WriteBudget, cfg.WriteWindow = budget, window })
	srv.SetWriteBudget(budget, window)
	resets := resetsFor(users, 1)
	start := time.Now()
	outcomes := c.ResetPasswords(context.Background(), resets, nil)
	took := time.Since(start)
	for i, o := range outcomes {
		if o.Err != nil {
			t.Fatalf("outcomes[%d]: %v", i, o.Err)
		}
	}
	checkExactlyOnce(t, srv, resets, outcomes)
	checkBatchSizes(t, srv, tap)
	if got := tap.throttled.Load(); got != 0 {
		t.Errorf("%d items answered 429 (%d WriteLimitExceeded)", got, tap.writeLimit.Load())
	}
	lower := budgetLowerBound(n, budget, window)
	if took < lower {
		t.Errorf("%d writes took %v, less than the budget allows (%v)", n, took, lower)
	}
	t.Logf("%d writes at %d per %v: %v (lower bound %v)", n, budget, window, took, lower)

	// A second run right after shares the same budget: it must wait for the first run's writes to
	// leave the window, and still never be throttled.
	more := resetsFor(addBulkUsers(srv, budget), 2)
	outcomes = c.ResetPasswords(context.Background(), more, nil)
	for i, o := range outcomes {
		if o.Err != nil {
			t.Fatalf("second run, outcomes[%d]: %v", i, o.Err)
		}
	}
	if got := tap.throttled.Load(); got != 0 {
		t.Errorf("second run: %d items answered 429", got)
	}
}

// budgetLowerBound is the least time n writes can take under budget writes per window: the last
// one cannot go before ceil(n/budget)-1 windows have passed.
func budgetLowerBound(n, budget int, window time.Duration) time.Duration {
	return time.Duration((n+budget-1)/budget-1) * window
}

// Cancelling mid-run: nothing new is sent, entries never sent come back "not attempted", batches
// in flight report what Graph did, and no user is reset twice.
func TestResetPasswordsCancelled(t *testing.T) {
	srv, c, users, _ := bulkSim(t, 400, func(cfg *Config) { cfg.BatchConcurrency = 2 })
	srv.SetLatency(30 * time.Millisecond)
	resets := resetsFor(users, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var settled atomic.Int64
	outcomes := c.ResetPasswords(ctx, resets, func(bot.ResetOutcome) {
		if settled.Add(1) == 60 {
			cancel()
		}
	})
	var ok, notAttempted int
	for i, o := range outcomes {
		sets := srv.Resets(resets[i].UserID)
		switch {
		case o.Err == nil:
			ok++
			if len(sets) != 1 {
				t.Errorf("%s succeeded with %d passwords set", o.UserID, len(sets))
			}
		default:
			de := asDirectoryError(t, o.Err)
			if de.Kind != bot.ErrTransient {
				t.Errorf("%s: %+v", o.UserID, de)
			}
			if de.Message == msgNotAttempted {
				notAttempted++
				if len(sets) != 0 {
					t.Errorf("%s was not attempted but has %d passwords set", o.UserID, len(sets))
				}
			}
			if len(sets) > 1 {
				t.Errorf("%s has %d passwords set", o.UserID, len(sets))
			}
		}
	}
	if ok < 60 || notAttempted == 0 || ok+notAttempted != len(resets) {
		t.Errorf("%d succeeded, %d not attempted, of %d", ok, notAttempted, len(resets))
	}
	// Nothing is sent after the call returns.
	before := len(srv.Requests())
	time.Sleep(100 * time.Millisecond)
	if after := len(srv.Requests()); after != before {
		t.Errorf("%d requests after ResetPasswords returned", after-before)
	}
}

func TestResetPasswordsCancelledBeforeStart(t *testing.T) {
	srv, c, users, _ := bulkSim(t, 30, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, o := range c.ResetPasswords(ctx, resetsFor(users, 1), nil) {
		if de := asDirectoryError(t, o.Err); de.Kind != bot.ErrTransient || de.Message != msgNotAttempted {
			t.Fatalf("%+v", de)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent after cancellation", n)
	}
}

// An item that never answers holds up its whole batch until the attempt times out; the batch is
// sent again. Its other items had been applied: they are set a second time with the same password,
// which leaves the users as one reset would (the same temporary password, a change forced at next
// sign-in). No user gets any other password.
func TestResetPasswordsLostBatchIsSentAgain(t *testing.T) {
	srv, c, users, _ := bulkSim(t, 2*maxBatchItems, func(cfg *Config) { cfg.Timeout = 300 * time.Millisecond })
	srv.HangNext(1)
	resets := resetsFor(users, 1)
	outcomes := c.ResetPasswords(context.Background(), resets, nil)
	twice := 0
	for i, o := range outcomes {
		if o.Err != nil {
			t.Fatalf("outcomes[%d]: %v", i, o.Err)
		}
		sets := srv.Resets(resets[i].UserID)
		for _, s := range sets {
			if s.Password != resets[i].Password.Reveal() {
				t.Errorf("%s: a password other than the one sent", o.UserID)
			}
		}
		if len(sets) == 2 {
			twice++
		} else if len(sets) != 1 {
			t.Errorf("%s: %d passwords set", o.UserID, len(sets))
		}
	}
	if twice != maxBatchItems-1 {
		t.Errorf("%d users set twice, want the 19 siblings of the lost item", twice)
	}
}

// Failures of the $batch request itself, which the simulator does not inject.
func TestResetPasswordsEnvelopeFailures(t *testing.T) {
	patchAll := func(w http.ResponseWriter, r *http.Request, skip func(id string) bool) {
		var env struct {
			Requests []wireRequest `json:"requests"`
		}
		_ = json.NewDecoder(r.Body).Decode(&env)
		var out []map[string]any
		for _, it := range env.Requests {
			if skip != nil && skip(it.ID) {
				continue
			}
			out = append(out, map[string]any{"id": it.ID, "status": 204, "headers": map[string]string{"request-id": "item-" + it.ID}})
		}
		writeJSON(w, http.StatusOK, map[string]any{"responses": out})
	}
	resets := []bot.PasswordReset{
		{UserID: "u1", Password: bot.NewTempPassword(secretPW)},
		{UserID: "u2", Password: bot.NewTempPassword(secretPW + "2")},
	}

	t.Run("503 then success", func(t *testing.T) {
		f := newFakeGraph(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				writeGraphError(w, http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable.")
				return
			}
			patchAll(w, r, nil)
		})
		c := newTestClient(t, f.URL, nil)
		for _, o := range c.ResetPasswords(context.Background(), resets, nil) {
			if o.Err != nil || o.GraphRequestID == "" {
				t.Errorf("%+v", o)
			}
		}
		if n := len(f.requests()); n != 2 {
			t.Errorf("%d requests, want the batch twice", n)
		}
	})
	t.Run("503 until retries run out", func(t *testing.T) {
		f := newFakeGraph(t, func(n int, w http.ResponseWriter, r *http.Request) {
			writeGraphError(w, http.StatusBadGateway, "BadGateway", "bad gateway")
		})
		c := newTestClient(t, f.URL, func(cfg *Config) { cfg.MaxRetries = 1 })
		for _, o := range c.ResetPasswords(context.Background(), resets, nil) {
			if de := asDirectoryError(t, o.Err); de.Kind != bot.ErrTransient || de.Status != 502 {
				t.Errorf("%+v", de)
			}
		}
		if n := len(f.requests()); n != 2 {
			t.Errorf("%d requests, want 2 (MaxRetries 1)", n)
		}
	})
	t.Run("an item missing from the answer", func(t *testing.T) {
		f := newFakeGraph(t, func(n int, w http.ResponseWriter, r *http.Request) {
			patchAll(w, r, func(id string) bool { return n == 1 && id == "1" })
		})
		c := newTestClient(t, f.URL, nil)
		for _, o := range c.ResetPasswords(context.Background(), resets, nil) {
			if o.Err != nil {
				t.Errorf("%+v", o)
			}
		}
		reqs := f.requests()
		if len(reqs) != 2 || bytes.Count(reqs[1].Body, []byte(`"id"`)) != 1 {
			t.Errorf("want the missing item alone in a second batch: %d requests", len(reqs))
		}
	})
	t.Run("envelope refused", func(t *testing.T) {
		f := newFakeGraph(t, func(n int, w http.ResponseWriter, r *http.Request) {
			writeGraphError(w, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
		})
		c := newTestClient(t, f.URL, nil)
		for _, o := range c.ResetPasswords(context.Background(), resets, nil) {
			if de := asDirectoryError(t, o.Err); de.Kind != bot.ErrOther || de.Status != 400 {
				t.Errorf("%+v", de)
			}
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("%d requests: a refused batch is not sent again", n)
		}
	})
	t.Run("item throttled past MaxRetryWait", func(t *testing.T) {
		f := newFakeGraph(t, func(n int, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"responses": []map[string]any{
				{"id": "0", "status": 429, "headers": map[string]string{"Retry-After": "120", "Content-Type": "application/json"},
					"body": map[string]any{"error": map[string]any{"code": "TooManyRequests", "message": "Please retry again later."}}},
				{"id": "1", "status": 204, "headers": map[string]string{"request-id": "ok"}},
			}})
		})
		c := newTestClient(t, f.URL, nil)
		out := c.ResetPasswords(context.Background(), resets, nil)
		if de := asDirectoryError(t, out[0].Err); de.Kind != bot.ErrThrottled || de.RetryAfter != 120 {
			t.Errorf("%+v", de)
		}
		if out[1].Err != nil || out[1].GraphRequestID != "ok" {
			t.Errorf("%+v", out[1])
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("%d requests", n)
		}
	})
	t.Run("the token goes with the batch", func(t *testing.T) {
		f := newFakeGraph(t, func(n int, w http.ResponseWriter, r *http.Request) { patchAll(w, r, nil) })
		c := newTestClient(t, f.URL, nil)
		c.ResetPasswords(context.Background(), resets, nil)
		r := f.requests()[0]
		if r.Path != "/v1.0/$batch" || r.Header.Get("Authorization") != "Bearer test-token" || r.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s %v", r.Path, r.Header)
		}
	})
}

func TestBatchConfigDefaults(t *testing.T) {
	c := newTestClient(t, "https://graph.microsoft.com", nil)
	if cap(c.batch.slots) != DefaultBatchConcurrency || c.batch.pacer == nil ||
		c.batch.pacer.budget != DefaultWriteBudget || c.batch.pacer.window != DefaultWriteWindow {
		t.Errorf("defaults: %d slots, pacer %+v", cap(c.batch.slots), c.batch.pacer)
	}
	c = newTestClient(t, "https://graph.microsoft.com", func(cfg *Config) {
		cfg.BatchConcurrency, cfg.WriteBudget = 9, -1
	})
	if cap(c.batch.slots) != 9 || c.batch.pacer != nil {
		t.Errorf("configured: %d slots, pacer %+v", cap(c.batch.slots), c.batch.pacer)
	}
}

func TestResetPasswordsEmpty(t *testing.T) {
	c := newTestClient(t, "https://graph.microsoft.com", nil)
	if out := c.ResetPasswords(context.Background(), nil, nil); len(out) != 0 {
		t.Errorf("%+v", out)
	}
	if u, errs := c.FindUsers(context.Background(), nil); len(u) != 0 || len(errs) != 0 {
		t.Errorf("%+v %+v", u, errs)
	}
}
