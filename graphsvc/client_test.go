package graphsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/resetbot/resetbot/bot"
)

// These tests run the real client against small scripted servers. The same behaviour is checked
// against the graphtest simulator in simulator_test.go.

type fakeCred struct {
	token  string
	scopes atomic.Value // []string of the last request
}

func (f *fakeCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.scopes.Store(o.Scopes)
	return azcore.AccessToken{Token: f.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

type seen struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// fakeGraph answers with script(n, r), n counting the requests so far from 1, and records them.
type fakeGraph struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newFakeGraph(t *testing.T, script func(n int, w http.ResponseWriter, r *http.Request)) *fakeGraph {
	t.Helper()
	return newFake(t, script, false)
}

// newDirectoryFake is newFakeGraph whose $batch requests the script answers item by item (see
// batchAware): lookups read the privileged set in batches.
func newDirectoryFake(t *testing.T, script func(n int, w http.ResponseWriter, r *http.Request)) *fakeGraph {
	t.Helper()
	return newFake(t, script, true)
}

func newFake(t *testing.T, script func(n int, w http.ResponseWriter, r *http.Request), batching bool) *fakeGraph {
	t.Helper()
	f := &fakeGraph{}
	h := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), b})
		n := len(f.reqs)
		f.mu.Unlock()
		w.Header().Set("request-id", fmt.Sprintf("req-%d", n))
		script(n, w, r)
	}
	if batching {
		h = batchAware(h)
	}
	f.Server = httptest.NewServer(http.HandlerFunc(h))
	t.Cleanup(f.Close)
	return f
}

// batchAware answers POST /v1.0/$batch by handing each item to h as a request of its own (with the
// envelope's headers and the item's), and everything else to h directly, so a scripted fake answers
// a read the same way whether it comes alone or in a batch.
func batchAware(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1.0/$batch" {
			h(w, r)
			return
		}
		var env struct {
			Requests []struct {
				ID      string            `json:"id"`
				Method  string            `json:"method"`
				URL     string            `json:"url"`
				Headers map[string]string `json:"headers"`
				Body    json.RawMessage   `json:"body"`
			} `json:"requests"`
		}
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
			writeGraphError(w, 400, "BadRequest", "unreadable batch")
			return
		}
		var responses []map[string]any
		for _, it := range env.Requests {
			req := httptest.NewRequest(it.Method, "/v1.0"+it.URL, bytes.NewReader(it.Body)).WithContext(r.Context())
			req.Header = r.Header.Clone()
			for k, v := range it.Headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h(rec, req)
			headers := map[string]string{}
			for k := range rec.Header() {
				headers[k] = rec.Header().Get(k)
			}
			var body any
			if b := rec.Body.Bytes(); len(b) > 0 {
				body = json.RawMessage(b)
			}
			responses = append(responses, map[string]any{"id": it.ID, "status": rec.Code, "headers": headers, "body": body})
		}
		writeJSON(w, 200, map[string]any{"responses": responses})
	}
}

func (f *fakeGraph) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func newTestClient(t *testing.T, endpoint string, tweak func(*Config)) *Client {
	t.Helper()
	cfg := Config{Credential: &fakeCred{token: "test-token"}, GraphEndpoint: endpoint, Timeout: 2 * time.Second, MaxRetryWait: 5 * time.Second}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeGraphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

const secretPW = "Tmp-Pa55word!xyzQ"

func asDirectoryError(t *testing.T, err error) *bot.DirectoryError {
	t.Helper()
	var de *bot.DirectoryError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *bot.DirectoryError", err, err)
	}
	if strings.Contains(de.Error(), secretPW) || strings.Contains(de.Remedy, secretPW) || strings.Contains(fmt.Sprintf("%+v", de), secretPW) {
		t.Fatalf("the password leaked into an error: %+v", de)
	}
	return de
}

// The token must reach a Graph endpoint that is not graph.microsoft.com: the SDK drops it silently
// for hosts outside its valid-hosts list.
func TestAuthorizationOnCustomHost(t *testing.T) {
	f := newFakeGraph(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	cred := &fakeCred{token: "test-token"}
	c := newTestClient(t, f.URL, func(cfg *Config) { cfg.Credential = cred })
	if _, err := c.ResetPassword(context.Background(), "u1", bot.NewTempPassword(secretPW), bot.ResetOptions{}); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if got := r.Header.Get("Authorization"); got != "Bearer test-token" {
		t.Errorf("Authorization %q", got)
	}
	if scopes := cred.scopes.Load().([]string); len(scopes) != 1 || scopes[0] != f.URL+"/.default" {
		t.Errorf("scopes %v", scopes)
	}
}

func TestResetPasswordRequest(t *testing.T) {
	f := newFakeGraph(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	c := newTestClient(t, f.URL, nil)
	res, err := c.ResetPassword(context.Background(), "2b8f6a9e-1111-4c1d-9a6e-0c2f3b4d5e6f", bot.NewTempPassword(secretPW), bot.ResetOptions{RequireMFA: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.GraphRequestID != "req-1" {
		t.Errorf("request id %q", res.GraphRequestID)
	}
	r := f.requests()[0]
	if r.Method != http.MethodPatch || r.Path != "/v1.0/users/2b8f6a9e-1111-4c1d-9a6e-0c2f3b4d5e6f" {
		t.Errorf("%s %s", r.Method, r.Path)
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" {
		t.Errorf("request body is %s-encoded; compression must be off (kiota-http-go #183)", enc)
	}
	var got struct {
		PasswordProfile map[string]any `json:"passwordProfile"`
	}
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	want := map[string]any{"password": secretPW, "forceChangePasswordNextSignIn": true, "forceChangePasswordNextSignInWithMfa": true}
	for k, v := range want {
		if got.PasswordProfile[k] != v {
			t.Errorf("passwordProfile.%s = %v, want %v (body %s)", k, got.PasswordProfile[k], v, r.Body)
		}
	}
}

// The kiota #183 shape: a PATCH throttled once must go out again, complete, with the same plain
// body, after Retry-After.
func TestThrottledPatchIsRetriedWithTheSameBody(t *testing.T) {
	f := newFakeGraph(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			writeGraphError(w, 429, "TooManyRequests", "Please retry again later.")
			return
		}
		w.WriteHeader(204)
	})
	c := newTestClient(t, f.URL, nil)
	start := time.Now()
	res, err := c.ResetPassword(context.Background(), "u1", bot.NewTempPassword(secretPW), bot.ResetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %v, before Retry-After", waited)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if string(reqs[0].Body) != string(reqs[1].Body) || !strings.Contains(string(reqs[1].Body), secretPW) {
		t.Errorf("retry body differs:\n%s\n%s", reqs[0].Body, reqs[1].Body)
	}
	if reqs[1].Header.Get("Content-Encoding") != "" || reqs[1].Header.Get("Authorization") == "" {
		t.Errorf("retry headers: %v", reqs[1].Header)
	}
	if res.GraphRequestID != "req-2" {
		t.Errorf("request id %q, want the one of the answer that succeeded", res.GraphRequestID)
	}
}

// A Retry-After beyond MaxRetryWait is not slept through: the caller gets ErrThrottled at once.
func TestLongRetryAfterFailsFast(t *testing.T) {
	f := newFakeGraph(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		writeGraphError(w, 429, "TooManyRequests", "Please retry again later.")
	})
	c := newTestClient(t, f.URL, nil)
	start := time.Now()
	_, err := c.ResetPassword(context.Background(), "u1", bot.NewTempPassword(secretPW), bot.ResetOptions{})
	de := asDirectoryError(t, err)
	if de.Kind != bot.ErrThrottled || de.RetryAfter != 120 || de.RequestID != "req-1" {
		t.Errorf("got %+v", de)
	}
	if n := len(f.requests()); n != 1 || time.Since(start) > time.Second {
		t.Errorf("%d requests in %v", n, time.Since(start))
	}
}

// Throttled every time: MaxRetries retries, then ErrThrottled.
func TestThrottledUntilRetriesRunOut(t *testing.T) {
	f := newFakeGraph(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "0")
		writeGraphError(w, 429, "TooManyRequests", "Please retry again later.")
	})
	c := newTestClient(t, f.URL, func(cfg *Config) { cfg.MaxRetries = 2 })
	_, err := c.RevokeSessions(context.Background(), "u1")
	if de := asDirectoryError(t, err); de.Kind != bot.ErrThrottled {
		t.Errorf("got %+v", de)
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d requests, want 1 + 2 retries", n)
	}
}

// revokeSignInSessions may be sent again after a 503 (revoking twice is revoking once), and its
// result names the request Graph finally answered.
func TestRevokeIsRetriedOn503(t *testing.T) {
	f := newFakeGraph(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			writeGraphError(w, 503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.")
			return
		}
		writeJSON(w, 200, map[string]any{"value": true})
	})
	c := newTestClient(t, f.URL, nil)
	res, err := c.RevokeSessions(context.Background(), "u1")
	if err != nil || res.GraphRequestID != "req-2" {
		t.Errorf("got %+v, %v", res, err)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[1].Method != http.MethodPost || reqs[1].Path != "/v1.0/users/u1/revokeSignInSessions" {
		t.Errorf("requests: %+v", reqs)
	}
}

// {"value": false} is Graph saying it did not revoke: an error, with the request-id.
func TestRevokeAnsweredFalse(t *testing.T) {
	f := newFakeGraph(t, func(_ int, w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]any{"value": false}) })
	c := newTestClient(t, f.URL, nil)
	_, err := c.RevokeSessions(context.Background(), "u1")
	if de := asDirectoryError(t, err); de.Kind != bot.ErrOther || de.RequestID != "req-1" {
		t.Errorf("got %+v", de)
	}
}

// Only calls that can be repeated without a second effect are retried after a 5xx.
func TestRetryOn503OnlyWhatCanBeRepeated(t *testing.T) {
	c := newTestClient(t, "https://graph.example.com", nil)
	for _, tc := range []struct {
		method, path string
		retry        bool
	}{
		{"GET", "/v1.0/users/u1", true},
		{"PATCH", "/v1.0/users/u1", true},
		{"POST", "/v1.0/users/u1/revokeSignInSessions", true},
		{"POST", "/v1.0/users/u1/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword", false},
		{"POST", "/v1.0/users/u1/authentication/temporaryAccessPassMethods", false},
		{"DELETE", "/v1.0/users/u1/authentication/temporaryAccessPassMethods/x", false},
	} {
		req := httptest.NewRequest(tc.method, "https://graph.example.com"+tc.path, nil)
		resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"0"}}, Body: http.NoBody}
		if got := c.shouldRetry(0, 0, req, resp); got != tc.retry {
			t.Errorf("%s %s: retry=%v, want %v", tc.method, tc.path, got, tc.retry)
		}
	}
}

func TestGetIsRetriedOn503(t *testing.T) {
	var userGets atomic.Int32
	f := newDirectoryFake(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1.0/users/u1@contoso.com" {
			if userGets.Add(1) == 1 {
				writeGraphError(w, 503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.")
				return
			}
			writeJSON(w, 200, map[string]any{"id": "u1", "userPrincipalName": "u1@contoso.com", "accountEnabled": true})
			return
		}
		writeJSON(w, 200, map[string]any{"value": []any{}})
	})
	c := newTestClient(t, f.URL, nil)
	u, err := c.FindUser(context.Background(), "u1@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "u1" || !u.Enabled || userGets.Load() != 2 {
		t.Errorf("user %+v after %d GETs", u, userGets.Load())
	}
}

// A PATCH that keeps answering 503 is retried (its body is fixed) but gives up with ErrTransient.
func TestPatch503RetriedThenTransient(t *testing.T) {
	f := newFakeGraph(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "0")
		writeGraphError(w, 503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.")
	})
	c := newTestClient(t, f.URL, func(cfg *Config) { cfg.MaxRetries = 1 })
	_, err := c.ResetPassword(context.Background(), "u1", bot.NewTempPassword(secretPW), bot.ResetOptions{})
	if de := asDirectoryError(t, err); de.Kind != bot.ErrTransient {
		t.Errorf("got %+v", de)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestHangingRequestTimesOut(t *testing.T) {
	release := make(chan struct{})
	f := newFakeGraph(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	c := newTestClient(t, f.URL, func(cfg *Config) { cfg.Timeout = 300 * time.Millisecond })
	start := time.Now()
	_, err := c.ResetPassword(context.Background(), "u1", bot.NewTempPassword(secretPW), bot.ResetOptions{})
	elapsed := time.Since(start)
	if de := asDirectoryError(t, err); de.Kind != bot.ErrTransient {
		t.Errorf("got %+v", de)
	}
	if elapsed < 300*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("gave up after %v, want about the 300ms timeout", elapsed)
	}
}

// When the caller's own context ends, the caller gets its context error back, not a classification.
func TestCallerCancellation(t *testing.T) {
	f := newDirectoryFake(t, func(_ int, w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c := newTestClient(t, f.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.FindUser(ctx, "adele@contoso.com")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v (%T)", err, err)
	}
}

// Graph never echoes the password, but if anything did, the error must not carry it.
func TestPasswordIsRedactedFromErrors(t *testing.T) {
	f := newFakeGraph(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		writeGraphError(w, 400, "Request_BadRequest", "Invalid value in body: "+string(b))
	})
	c := newTestClient(t, f.URL, nil)
	_, err := c.ResetPassword(context.Background(), "u1", bot.NewTempPassword(secretPW), bot.ResetOptions{})
	de := asDirectoryError(t, err) // fails the test if the password is in it
	if !strings.Contains(de.Message, "[redacted]") {
		t.Errorf("message %q", de.Message)
	}
}

func TestRedirectIsNotSuccess(t *testing.T) {
	f := newFakeGraph(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Redirect(w, &http.Request{}, "https://elsewhere.example/users/u1", http.StatusTemporaryRedirect)
	})
	c := newTestClient(t, f.URL, nil)
	_, err := c.ResetPassword(context.Background(), "u1", bot.NewTempPassword(secretPW), bot.ResetOptions{})
	if de := asDirectoryError(t, err); de.Kind != bot.ErrOther || de.Status != 307 {
		t.Errorf("got %+v", de)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests", n)
	}
}

func TestBadArgumentsNeverReachGraph(t *testing.T) {
	f := newFakeGraph(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
	c := newTestClient(t, f.URL, nil)
	ctx := context.Background()
	if _, err := c.ResetPassword(ctx, "", bot.NewTempPassword(secretPW), bot.ResetOptions{}); bot.KindOf(err) != bot.ErrOther {
		t.Errorf("empty user ID: %v", err)
	}
	if _, err := c.ResetPassword(ctx, "u1", bot.TempPassword{}, bot.ResetOptions{}); bot.KindOf(err) != bot.ErrOther {
		t.Errorf("empty password: %v", err)
	}
	if _, err := c.RevokeSessions(ctx, " "); bot.KindOf(err) != bot.ErrOther {
		t.Errorf("empty user ID: %v", err)
	}
	if _, err := c.FindUser(ctx, "adele"); bot.KindOf(err) != bot.ErrNotFound {
		t.Errorf("bare name: %v", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests reached Graph", n)
	}
}

// FindUser: UPN 404 falls back to mail (quotes doubled); the privileged set is read from the group
// side and joined; every list is paged through; every read carries the token.
func TestFindUserByMailWithPaging(t *testing.T) {
	const uid = "0a1b2c3d-0000-4000-8000-00000000000a"
	var base string
	page := func(w http.ResponseWriter, r *http.Request, first, rest []any) {
		if r.URL.Query().Get("$skiptoken") == "" {
			writeJSON(w, 200, map[string]any{"value": first, "@odata.nextLink": base + r.URL.Path + "?" + r.URL.RawQuery + "&$skiptoken=2"})
			return
		}
		writeJSON(w, 200, map[string]any{"value": rest})
	}
	obj := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	f := newDirectoryFake(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch p := r.URL.Path; {
		case p == "/v1.0/users/o'brien@contoso.com":
			writeGraphError(w, 404, "Request_ResourceNotFound", "Resource 'o'brien@contoso.com' does not exist or one of its queried reference-property objects are not present.")
		case p == "/v1.0/users":
			if got := q.Get("$filter"); got != "mail eq 'o''brien@contoso.com'" || !strings.Contains(q.Get("$select"), "lastPasswordChangeDateTime") {
				writeGraphError(w, 400, "BadRequest", "unexpected query "+r.URL.RawQuery)
				return
			}
			writeJSON(w, 200, map[string]any{"value": []any{obj(
				"id", uid, "userPrincipalName", "obrien_fabrikam.com#EXT#@contoso.onmicrosoft.com", "mail", "o'brien@contoso.com",
				"userType", "Guest", "accountEnabled", true, "onPremisesSyncEnabled", nil, "lastPasswordChangeDateTime", "2026-11-01T08:00:00Z",
				"manager", obj("@odata.type", "#microsoft.graph.user", "id", "mgr-1"))}})
		case p == "/v1.0/users/"+uid+"/transitiveMemberOf/microsoft.graph.group":
			page(w, r, []any{obj("id", "g1")}, []any{obj("id", "g2")})
		case p == "/v1.0/roleManagement/directory/roleAssignments" && q.Get("$filter") == "":
			page(w, r,
				[]any{obj("principalId", uid, "roleDefinitionId", bot.RoleHelpdeskAdmin, "directoryScopeId", "/administrativeUnits/au9")},
				[]any{obj("principalId", "g2", "roleDefinitionId", bot.RoleUserAdmin, "directoryScopeId", "/"),
					obj("principalId", "someone-else", "roleDefinitionId", bot.RoleGlobalAdmin, "directoryScopeId", "/")})
		case p == "/v1.0/roleManagement/directory/roleEligibilitySchedules" && q.Get("$filter") == "":
			writeJSON(w, 200, map[string]any{"value": []any{obj("principalId", uid, "roleDefinitionId", bot.RoleGlobalAdmin, "directoryScopeId", "/")}})
		case p == "/v1.0/groups" && q.Get("$filter") == "isAssignableToRole eq true":
			writeJSON(w, 200, map[string]any{"value": []any{obj("id", "g2"), obj("id", "g3")}})
		case p == "/v1.0/groups/g2/members":
			page(w, r, []any{obj("id", "x")}, []any{obj("id", uid)})
		case p == "/v1.0/groups/g3/owners":
			writeJSON(w, 200, map[string]any{"value": []any{obj("@odata.type", "#microsoft.graph.user", "id", uid)}})
		case p == "/v1.0/groups/g2/owners", p == "/v1.0/groups/g3/members":
			writeJSON(w, 200, map[string]any{"value": []any{}})
		case p == "/v1.0/identityGovernance/privilegedAccess/group/eligibilitySchedules":
			writeJSON(w, 200, map[string]any{"value": []any{}})
		case p == "/v1.0/directory/administrativeUnits":
			writeJSON(w, 200, map[string]any{"value": []any{obj("id", "au1", "isMemberManagementRestricted", true),
				obj("id", "au3", "isMemberManagementRestricted", false), obj("id", "au9", "isMemberManagementRestricted", false)}})
		case p == "/v1.0/directory/administrativeUnits/au1/members":
			writeJSON(w, 200, map[string]any{"value": []any{obj("id", uid)}})
		case p == "/v1.0/directory/administrativeUnits/au9/members":
			writeJSON(w, 200, map[string]any{"value": []any{}})
		default:
			writeGraphError(w, 400, "BadRequest", "unexpected "+p+"?"+r.URL.RawQuery)
		}
	})
	base = f.URL
	c := newTestClient(t, f.URL, nil)
	u, err := c.FindUser(context.Background(), "o'brien@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	want := bot.User{
		ID: uid, UPN: "obrien_fabrikam.com#EXT#@contoso.onmicrosoft.com", Mail: "o'brien@contoso.com",
		Enabled: true, Guest: true, ManagerID: "mgr-1", PasswordChangedAt: time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC),
		Roles:                    []bot.RoleAssignment{{TemplateID: bot.RoleHelpdeskAdmin, Scope: "/administrativeUnits/au9"}, {TemplateID: bot.RoleUserAdmin, Scope: "/"}},
		EligibleRoles:            []bot.RoleAssignment{{TemplateID: bot.RoleGlobalAdmin, Scope: "/"}},
		Groups:                   []string{"g1", "g2"},
		InRoleAssignableGroup:    true,
		RoleAssignableGroupOwner: true,
		AdministrativeUnits:      []string{"au1"},
		InRestrictedAU:           true,
	}
	if fmt.Sprintf("%+v", u) != fmt.Sprintf("%+v", want) {
		t.Errorf("got  %+v\nwant %+v", u, want)
	}
	var members []string
	for _, r := range f.requests() {
		if r.Header.Get("Authorization") != "Bearer test-token" {
			t.Errorf("%s %s?%s went without the token", r.Method, r.Path, r.Query)
		}
		if strings.Contains(r.Path, "/administrativeUnits/") {
			members = append(members, r.Path)
		}
	}
	// au3 is neither restricted nor the scope of a role: its members are not read.
	slices.Sort(members)
	if !slices.Equal(members, []string{"/v1.0/directory/administrativeUnits/au1/members", "/v1.0/directory/administrativeUnits/au9/members"}) {
		t.Errorf("unit members read: %v", members)
	}
}

func TestFindUserNotFound(t *testing.T) {
	f := newDirectoryFake(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1.0/users" || !strings.HasPrefix(r.URL.Path, "/v1.0/users/") {
			writeJSON(w, 200, map[string]any{"value": []any{}})
			return
		}
		writeGraphError(w, 404, "Request_ResourceNotFound", "Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present.")
	})
	c := newTestClient(t, f.URL, nil)
	_, err := c.FindUser(context.Background(), "nobody@contoso.com")
	de := asDirectoryError(t, err)
	mailRead := ""
	var userReads []string
	for i, r := range f.requests() {
		if strings.HasPrefix(r.Path, "/v1.0/users") {
			userReads = append(userReads, r.Path)
		}
		if r.Path == "/v1.0/users" {
			mailRead = fmt.Sprintf("req-%d", i+1)
		}
	}
	if de.Kind != bot.ErrNotFound || de.Status != 404 || de.Code != "Request_ResourceNotFound" || de.RequestID != mailRead ||
		de.Message != "no user has the UPN or mail address nobody@contoso.com" {
		t.Errorf("got %+v (the mail read was %s)", de, mailRead)
	}
	// A GUID that is not found is not looked up as a mail address.
	_, err = c.FindUser(context.Background(), "0a1b2c3d-0000-4000-8000-00000000000a")
	if de := asDirectoryError(t, err); de.Kind != bot.ErrNotFound || de.Message != "no user has the object ID 0a1b2c3d-0000-4000-8000-00000000000a" {
		t.Errorf("got %+v", de)
	}
	userReads = userReads[:0]
	for _, r := range f.requests() {
		if strings.HasPrefix(r.Path, "/v1.0/users") {
			userReads = append(userReads, r.Path)
		}
	}
	if want := []string{"/v1.0/users/nobody@contoso.com", "/v1.0/users", "/v1.0/users/0a1b2c3d-0000-4000-8000-00000000000a"}; !slices.Equal(userReads, want) {
		t.Errorf("user reads %v, want %v", userReads, want)
	}
}

// A failure reading the privileged set fails the lookup: a user whose roles could not be read must
// not look like a user without roles.
func TestFindUserFailsClosed(t *testing.T) {
	for failing, permission := range map[string]string{"roleAssignments": "RoleManagement.Read.Directory",
		"roleEligibilitySchedules": "RoleManagement.Read.Directory", "/groups": "GroupMember.Read.All", "/owners": "GroupMember.Read.All",
		"group/eligibilitySchedules": "PrivilegedEligibilitySchedule.Read.AzureADGroup", "administrativeUnits": "AdministrativeUnit.Read.All",
		"administrativeUnits/au1/members": "AdministrativeUnit.Read.All", "groups/g1/members": "GroupMember.Read.All"} {
		f := newDirectoryFake(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/v1.0/users/u1@contoso.com":
				writeJSON(w, 200, map[string]any{"id": "u1", "userPrincipalName": "u1@contoso.com"})
			case strings.Contains(r.URL.Path, failing):
				writeGraphError(w, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
			case r.URL.Path == "/v1.0/groups":
				writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "g1"}}})
			case r.URL.Path == "/v1.0/directory/administrativeUnits":
				writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "au1", "isMemberManagementRestricted": true}}})
			default:
				writeJSON(w, 200, map[string]any{"value": []any{}})
			}
		})
		c := newTestClient(t, f.URL, func(cfg *Config) { cfg.GroupsOfInterest = []string{} })
		u, err := c.FindUser(context.Background(), "u1@contoso.com")
		if de := asDirectoryError(t, err); de.Kind != bot.ErrInsufficientPrivileges || u.ID != "" || !strings.Contains(de.Remedy, permission) {
			t.Errorf("%s failing: %+v, %+v", failing, u, de)
		}
	}
}

func TestNewRejectsPlainHTTPOffLoopback(t *testing.T) {
	_, err := New(Config{Credential: &fakeCred{}, GraphEndpoint: "http://graph.example.com"})
	if err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("got %v", err)
	}
	c, err := New(Config{Credential: &fakeCred{}, GraphEndpoint: "https://graph.microsoft.us/v1.0/"})
	if err != nil || c.baseURL != "https://graph.microsoft.us/v1.0" {
		t.Errorf("got %v, %v", c, err)
	}
}
