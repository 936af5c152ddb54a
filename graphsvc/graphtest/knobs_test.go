package graphtest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestThrottleNext(t *testing.T) {
	srv := newServer(t)
	for _, c := range []struct {
		after time.Duration
		want  string
	}{{7 * time.Second, "7"}, {1500 * time.Millisecond, "2"}, {200 * time.Millisecond, "1"}, {0, "0"}} {
		srv.ThrottleNext(1, c.after)
		r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil)
		code, _ := r.graphErr(t)
		if r.Status != http.StatusTooManyRequests || code != "TooManyRequests" || r.Header.Get("Retry-After") != c.want {
			t.Errorf("ThrottleNext(1, %v): %d %s Retry-After %q, want %q", c.after, r.Status, code, r.Header.Get("Retry-After"), c.want)
		}
	}
	if r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil); r.Status != http.StatusOK {
		t.Errorf("after the throttled requests: %d", r.Status)
	}
}

func TestFaultsQueueInOrder(t *testing.T) {
	srv := newServer(t)
	srv.FailNext(2, http.StatusServiceUnavailable)
	srv.ThrottleNext(1, time.Second)
	srv.FailNext(1, http.StatusGatewayTimeout)
	var got []int
	for range 5 {
		got = append(got, send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil).Status)
	}
	want := []int{503, 503, 429, 504, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	srv.FailNext(1, http.StatusInternalServerError)
	r := send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", passwordBody(goodPassword))
	if code, msg := r.graphErr(t); r.Status != 500 || code == "" || msg == "" {
		t.Errorf("500: %d %s %q", r.Status, code, msg)
	}
	if len(srv.Resets("adele@contoso.com")) != 0 {
		t.Error("a failed PATCH changed the password")
	}
}

func TestUnauthenticatedRequestsTakeNoFault(t *testing.T) {
	srv := newServer(t)
	srv.ThrottleNext(1, time.Second)
	if r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil, noAuth()); r.Status != 401 {
		t.Fatalf("status %d", r.Status)
	}
	if r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil); r.Status != 429 {
		t.Fatalf("the fault was spent on a 401: %d", r.Status)
	}
}

func TestHangNext(t *testing.T) {
	srv := newServer(t)
	srv.HangNext(1)
	client := &http.Client{Timeout: 150 * time.Millisecond}
	req, _ := http.NewRequest("GET", srv.URL+"/v1.0/users/adele@contoso.com", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	start := time.Now()
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a hung request answered %d", resp.StatusCode)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
	if r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil); r.Status != 200 {
		t.Errorf("after the hang: %d", r.Status)
	}
}

func TestLatencyRespectsTheClient(t *testing.T) {
	srv := newServer(t)
	srv.SetLatency(50 * time.Millisecond)
	start := time.Now()
	if r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil); r.Status != 200 {
		t.Fatal(r.Status)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answered in %v with 50ms latency", d)
	}

	srv.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1.0/users/adele@contoso.com", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	start = time.Now()
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancel took %v", d)
	}
}

func TestWriteBudget(t *testing.T) {
	srv := newServer(t)
	srv.SetWriteBudget(3, time.Second)
	for i := range 3 {
		if r := send(t, srv, "POST", "/v1.0/users/adele@contoso.com/revokeSignInSessions", nil); r.Status != 200 {
			t.Fatalf("write %d: %d", i, r.Status)
		}
	}
	r := send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", passwordBody(goodPassword))
	code, _ := r.graphErr(t)
	if r.Status != 429 || code != "TooManyRequests" || r.Header.Get("x-ms-throttle-information") != "WriteLimitExceeded" ||
		r.Header.Get("Retry-After") != "1" {
		t.Fatalf("over budget: %d %s %v", r.Status, code, r.Header)
	}
	if len(srv.Resets("adele@contoso.com")) != 0 {
		t.Error("a write over budget changed the password")
	}
	if r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil); r.Status != 200 {
		t.Errorf("reads are not limited by the write budget: %d", r.Status)
	}
	time.Sleep(time.Second)
	if r := send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", passwordBody(goodPassword)); r.Status != 204 {
		t.Errorf("after Retry-After: %d %s", r.Status, r.Body)
	}

	srv.SetWriteBudget(0, 0)
	for range 10 {
		if r := send(t, srv, "POST", "/v1.0/users/adele@contoso.com/revokeSignInSessions", nil); r.Status != 200 {
			t.Fatalf("unlimited: %d", r.Status)
		}
	}
}

func TestWriteBudgetUnderConcurrency(t *testing.T) {
	srv := newServer(t)
	srv.SetWriteBudget(50, time.Minute)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[int]int{}
	)
	for range 200 {
		wg.Go(func() {
			r := send(t, srv, "POST", "/v1.0/users/adele@contoso.com/revokeSignInSessions", nil)
			mu.Lock()
			counts[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts[200] != 50 || counts[429] != 150 {
		t.Errorf("statuses %v, want 50×200 and 150×429", counts)
	}
	if n := srv.SessionsRevoked("adele@contoso.com"); n != 50 {
		t.Errorf("%d revocations", n)
	}
}

func TestConcurrentLoad(t *testing.T) {
	srv := newServer(t)
	srv.SetLatency(20 * time.Millisecond)
	srv.ThrottleNext(30, time.Second)
	users := []string{"adele", "lynne", "nestor", "johanna", "reader", "pwadmin"}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[int]int{}
	)
	for i := range 300 {
		wg.Go(func() {
			u := "/v1.0/users/" + users[i%len(users)] + "@contoso.com"
			var r reply
			switch i % 3 {
			case 0:
				r = send(t, srv, "PATCH", u, passwordBody(goodPassword))
			case 1:
				r = send(t, srv, "GET", u+"/transitiveMemberOf", nil)
			default:
				r = send(t, srv, "GET", "/v1.0/auditLogs/directoryAudits?$top=5", nil)
			}
			mu.Lock()
			counts[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts[429] != 30 || counts[200]+counts[204] != 270 {
		t.Errorf("statuses %v", counts)
	}
	total := 0
	for _, u := range users {
		total += len(srv.Resets(u + "@contoso.com"))
	}
	if patches := counts[204]; total != patches {
		t.Errorf("%d passwords recorded for %d successful PATCHes", total, patches)
	}
	if n := len(srv.Requests()); n != 300 {
		t.Errorf("%d requests recorded", n)
	}
}

func TestThrottleNextWriteLetsReadsThrough(t *testing.T) {
	srv := newServer(t)
	srv.ThrottleNextWrite(1, time.Second)
	if r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil); r.Status != http.StatusOK {
		t.Fatalf("a read was throttled: %d", r.Status)
	}
	if r := send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", passwordBody(goodPassword)); r.Status != http.StatusTooManyRequests {
		t.Fatalf("the write was not throttled: %d", r.Status)
	}
	if r := send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", passwordBody(goodPassword)); r.Status != http.StatusNoContent {
		t.Fatalf("the second write: %d", r.Status)
	}
	if n := len(srv.Resets("adele@contoso.com")); n != 1 {
		t.Errorf("%d passwords set, want 1", n)
	}
}

// A write failed after applying has changed the directory; one failed before has not.
func TestFaultsAfterApplying(t *testing.T) {
	srv := NewServer(Contoso())
	defer srv.Close()
	patch := func(pw string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPatch, srv.URL+"/v1.0/users/"+AdeleID,
			strings.NewReader(`{"passwordProfile":{"password":"`+pw+`","forceChangePasswordNextSignIn":true}}`))
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	srv.FailNextWrite(1, 503)
	if code := patch("Before-Fail-1a"); code != 503 || len(srv.Resets(AdeleID)) != 0 {
		t.Fatalf("a write failed before applying: %d, %d resets", code, len(srv.Resets(AdeleID)))
	}
	srv.FailNextWriteAfterApplying(1, 503)
	if code := patch("After-Fail-1a"); code != 503 {
		t.Fatalf("status %d, want 503", code)
	}
	if r := srv.Resets(AdeleID); len(r) != 1 || r[0].Password != "After-Fail-1a" {
		t.Fatalf("a write failed after applying did not change the directory: %+v", r)
	}
}

func TestSetAccountEnabled(t *testing.T) {
	srv := newServer(t)
	enabled := func() any {
		t.Helper()
		r := send(t, srv, "GET", "/v1.0/users/"+HelpdeskID+"?$select=id,accountEnabled", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET: %d", r.Status)
		}
		return r.json(t)["accountEnabled"]
	}
	if !srv.SetAccountEnabled("helpdesk@contoso.com", false) {
		t.Fatal("helpdesk@ not found")
	}
	if got := enabled(); got != false {
		t.Errorf("after disabling, Graph serves accountEnabled %v", got)
	}
	if u, _ := srv.BotUser(HelpdeskID); u.Enabled {
		t.Error("after disabling, the user is still enabled as the bot would read it")
	}
	srv.SetAccountEnabled(HelpdeskID, true)
	if got := enabled(); got != true {
		t.Errorf("after enabling again, Graph serves accountEnabled %v", got)
	}
	if srv.SetAccountEnabled("nobody@contoso.com", false) {
		t.Error("an unknown user was found")
	}
	if w := srv.Writes(); len(w) != 0 {
		t.Errorf("an admin's change through the knob shows as %d requests to Graph", len(w))
	}
}
