package graphtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// Server is a running simulated tenant. All methods are safe for concurrent use.
type Server struct {
	// URL is the server's root, "http://127.0.0.1:PORT"; the Graph base URL is URL+"/v1.0".
	URL string
	// Token is the only bearer token the server accepts.
	Token string

	http    *http.Server
	closing chan struct{}  // closed by Close: wakes requests held by latency or HangNext
	active  sync.WaitGroup // requests in progress, so Close returns only when none touches state

	mu       sync.Mutex // guards everything below
	isClosed bool
	directory
	now       func() time.Time
	requests  []Request
	latency   time.Duration
	faults    []fault
	budget    writeBudget
	reports   reportsBudget // auditLogs' 5 requests per 10 s (reports.go)
	appRole   string
	writeback bool
	// delegated are the access tokens issued for signed-in users (IssueUserToken, the Authority).
	delegated map[string]grant
	// writebackAgentDown and onPremReject shape how resetPassword operations on synced users end.
	writebackAgentDown bool
	onPremReject       map[string]string // user ID → statusDetail of the on-premises refusal
}

// Request is one request the server received. Items of a $batch are recorded after their envelope,
// with BatchItem set to the item's id and Path as if they had been sent on their own.
type Request struct {
	Method    string
	Path      string // decoded path, e.g. /v1.0/users/adele@contoso.com
	RawQuery  string
	Header    http.Header
	Body      []byte // gunzipped when the request said Content-Encoding: gzip and was
	BatchItem string // the item id inside a $batch, "" for a request of its own
	RequestID string // the request-id the server answered with
	// AsUser is the object ID of the signed-in user whose delegated token the request carried, ""
	// for the bot's application token (or none). Tests assert on it to prove which credential wrote.
	AsUser string
}

// NewServer starts a simulator for a copy of t (an empty tenant when t is nil) on 127.0.0.1 on a
// random port. The bot's service principal holds Privileged Authentication Administrator until
// SetAppRole says otherwise. Close it when done.
func NewServer(t *Tenant) *Server {
	if t == nil {
		t = &Tenant{}
	}
	s := &Server{
		closing:      make(chan struct{}),
		now:          time.Now,
		appRole:      bot.RolePrivilegedAuthAdmin,
		directory:    newDirectory(t),
		delegated:    map[string]grant{},
		onPremReject: map[string]string{},
	}
	s.Token = newToken(s.tenant)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("graphtest: listen on loopback: %v", err))
	}
	s.URL = "http://" + ln.Addr().String()
	// net/http rather than httptest.Server: `resetbot demo` ships this package, and httptest
	// registers a command-line flag on import.
	s.http = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go s.http.Serve(ln) //nolint:errcheck // returns ErrServerClosed on Close
	return s
}

// Close stops the server and waits for the requests in progress. Requests held by latency or HangNext
// are abandoned (their connections are closed), so Close never waits on a client that forgot its
// timeout.
func (s *Server) Close() {
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return
	}
	s.isClosed = true
	s.mu.Unlock()
	close(s.closing)
	// Close, not Shutdown: Shutdown waits up to 5 s for connections a client opened and never used.
	s.http.Close()
	s.active.Wait()
}

// enter registers a request in progress; it reports false once the server is closing.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isClosed {
		return false
	}
	s.active.Add(1) // never concurrent with Close's Wait: both happen around isClosed under mu
	return true
}

// SetClock makes the server take "now" from now, for the timestamps it reports (audit entries,
// operations, PasswordSet.At). Latency, Retry-After and the write budget stay on the real clock: they
// are about waiting, and a test clock that does not move would never free the budget.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

func (s *Server) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// Requests returns everything received so far, in order of arrival.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

// call is one request on its way through the server: a request of its own or an item of a $batch.
type call struct {
	ctx             context.Context
	method          string
	path            string // decoded, starting /v1.0/
	query           url.Values
	rawQuery        string
	header          http.Header
	body            []byte
	bodyErr         error // set when the body said gzip and was not
	requestID       string
	clientRequestID string
	batchItem       string
	// asUser and scopes come from a delegated token: the signed-in user's object ID and the
	// delegated permissions (scp) it carries. asUser is "" for the application token.
	asUser string
	scopes []string
}

// isWrite reports whether the call spends Graph's write budget.
func (c *call) isWrite() bool { return c.method != http.MethodGet && c.method != http.MethodHead }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		panic(http.ErrAbortHandler)
	}
	defer s.active.Done()
	c := &call{
		ctx:       r.Context(),
		method:    r.Method,
		path:      r.URL.Path,
		query:     r.URL.Query(),
		rawQuery:  r.URL.RawQuery,
		header:    r.Header,
		requestID: newGUID(),
	}
	c.clientRequestID = r.Header.Get("client-request-id")
	if c.clientRequestID == "" {
		c.clientRequestID = c.requestID
	}
	c.body, c.bodyErr = readBody(r)
	authorized := s.identify(c, r.Header.Get("Authorization"))
	s.record(c)
	setIDHeaders(w.Header(), c)

	if !authorized {
		msg := "Access token validation failure. Invalid audience."
		if r.Header.Get("Authorization") == "" {
			msg = "Access token is empty."
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
		s.writeError(w, c, http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
		return
	}
	answered := true
	if strings.EqualFold(c.path, "/v1.0/$batch") {
		answered = s.serveBatch(w, c)
	} else {
		answered = s.serveOne(w, c)
	}
	if !answered {
		// The client gave up or the server is closing: drop the connection, as a hung Graph would.
		panic(http.ErrAbortHandler)
	}
}

// serveOne takes a call through the fault knobs, latency and the write budget, then to its handler.
// It reports false when the call was never answered (hung, or abandoned by the client).
func (s *Server) serveOne(w http.ResponseWriter, c *call) bool {
	f, overBudget, latency := s.admit(c)
	return s.finish(w, c, f, overBudget, latency)
}

// finish answers an admitted call: after the latency, the fault it drew, or the write budget's 429,
// or its handler.
func (s *Server) finish(w http.ResponseWriter, c *call, f fault, overBudget, latency time.Duration) bool {
	if !s.wait(c.ctx, latency) {
		return false
	}
	if f.afterApplying && (f.kind == faultFail || f.kind == faultHang) {
		s.route(newRecorder(), c) // the change is made; the client hears what the fault says
	}
	switch f.kind {
	case faultHang:
		s.wait(c.ctx, -1)
		return false
	case faultThrottle:
		w.Header().Set("Retry-After", retryAfterSeconds(f.retryAfter, true))
		w.Header().Set("x-ms-throttle-scope", "Tenant_Application/All/"+s.tenant.AppID+"/"+s.tenant.TenantID)
		w.Header().Set("x-ms-throttle-information", "ResourceUnitLimitExceeded")
		s.writeError(w, c, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
		return true
	case faultFail:
		code, msg := failureText(f.status)
		s.writeError(w, c, f.status, code, msg)
		return true
	}
	if overBudget > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(overBudget, false))
		w.Header().Set("x-ms-throttle-scope", "Tenant_Application/ReadWrite/"+s.tenant.AppID+"/"+s.tenant.TenantID)
		w.Header().Set("x-ms-throttle-information", "WriteLimitExceeded")
		s.writeError(w, c, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
		return true
	}
	s.route(w, c)
	return true
}

// wait sleeps for d, or until the client gives up or the server closes; d < 0 waits for those only.
// It reports whether the full time passed.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d == 0 {
		return true
	}
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-timeout:
		return true
	case <-ctx.Done():
	case <-s.closing:
	}
	return false
}

// identify reads the bearer token: the application token, or a delegated token for a signed-in
// user that has not expired. It reports false for anything else.
func (s *Server) identify(c *call, h string) bool {
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return false
	}
	if tok == s.Token {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, found := s.delegated[tok]
	if !found || !time.Now().Before(g.expires) {
		return false
	}
	c.asUser, c.scopes = g.userID, g.scopes
	return true
}

func (s *Server) record(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{
		Method: c.method, Path: c.path, RawQuery: c.rawQuery, Header: c.header.Clone(),
		Body: bytes.Clone(c.body), BatchItem: c.batchItem, RequestID: c.requestID, AsUser: c.asUser,
	})
}

func setIDHeaders(h http.Header, c *call) {
	h.Set("request-id", c.requestID)
	h.Set("client-request-id", c.clientRequestID)
}

var errNotGzip = errors.New("body is labelled Content-Encoding: gzip but is not gzip data")

const maxBody = 4 << 20

// readBody reads the request body, gunzipping it when it says it is gzip. A body that says gzip but
// is not is kept as it came and flagged: kiota-http-go re-sends a retried request uncompressed with
// the gzip label still on (issue #183), and Graph answers such a request 400.
func readBody(r *http.Request) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil || !strings.Contains(strings.ToLower(r.Header.Get("Content-Encoding")), "gzip") {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return raw, errNotGzip
	}
	plain, err := io.ReadAll(io.LimitReader(zr, maxBody))
	if err != nil {
		return raw, errNotGzip
	}
	return plain, nil
}

// newToken makes a JWT-shaped app-only token. Nothing verifies its signature; the shape is there for
// clients that peek at claims (tid, appid) the way they would with a real token.
func newToken(t Tenant) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256"})
	claims, _ := json.Marshal(map[string]any{
		"aud": "https://graph.microsoft.com", "iss": "https://sts.windows.net/" + t.TenantID + "/",
		"tid": t.TenantID, "appid": t.AppID, "oid": t.ServicePrincipalID, "idtyp": "app",
		"roles": []string{"User.Read.All", "User-PasswordProfile.ReadWrite.All", "User.RevokeSessions.All",
			"RoleManagement.Read.Directory", "AuditLog.Read.All"},
		"uti": newGUID(),
	})
	sig := make([]byte, 32)
	rand.Read(sig)
	return enc.EncodeToString(header) + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString(sig)
}

// newGUID returns a random version 4 GUID.
func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
