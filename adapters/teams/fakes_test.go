package teams

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/resetbot/resetbot/chat"
)

const (
	testAppID  = "4e5e7b07-0000-4000-8000-000000000001"
	testTenant = "c0a7e5e0-0000-4000-8000-000000000000"
	// testToken is what the fake credential hands out; tests check where it travels.
	testToken      = "bf-token-SECRET-4f1d"
	approvalsConv  = "19:approvals@thread.tacv2"
	approvalsTeam  = "19:team-general@thread.tacv2"
	endorsedFor    = "msteams"
	signingKeyID   = "key-1"
	rotatedKeyID   = "key-2"
	unknownKeyID   = "rogue"
	maxTestWaitFor = 10 * time.Second
)

// botFramework is the Bot Framework's token side, on loopback: OpenID metadata and a key set with
// RSA keys it signs tokens with. Keys can be added (a rotation) while it runs.
type botFramework struct {
	srv *httptest.Server

	mu        sync.Mutex
	published map[string]*rsa.PrivateKey // kid → key, as served in the JWKS
	private   map[string]*rsa.PrivateKey // every key a test may sign with, published or not
	jwksHits  atomic.Int32
	metaHits  atomic.Int32
}

func newBotFramework(t testing.TB) *botFramework {
	bf := &botFramework{published: map[string]*rsa.PrivateKey{}, private: map[string]*rsa.PrivateKey{}}
	for _, kid := range []string{signingKeyID, rotatedKeyID, unknownKeyID} {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		bf.private[kid] = k
	}
	bf.published[signingKeyID] = bf.private[signingKeyID]
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", func(w http.ResponseWriter, r *http.Request) {
		bf.metaHits.Add(1)
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"https://invalid.example/","jwks_uri":%q,"id_token_signing_alg_values_supported":["RS256"]}`,
			BotFrameworkIssuer, bf.srv.URL+"/v1/.well-known/keys")
	})
	mux.HandleFunc("GET /v1/.well-known/keys", func(w http.ResponseWriter, r *http.Request) {
		bf.jwksHits.Add(1)
		bf.mu.Lock()
		defer bf.mu.Unlock()
		var keys []json.RawMessage
		for kid, k := range bf.published {
			pub, err := jwk.Import(&k.PublicKey)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			_ = pub.Set(jwk.KeyIDKey, kid)
			_ = pub.Set(jwk.KeyUsageKey, "sig")
			_ = pub.Set("endorsements", []string{endorsedFor, "skype"})
			b, _ := json.Marshal(pub)
			keys = append(keys, b)
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	bf.srv = httptest.NewServer(mux)
	t.Cleanup(bf.srv.Close)
	return bf
}

func (bf *botFramework) metadataURL() string {
	return bf.srv.URL + "/v1/.well-known/openidconfiguration"
}

// publish adds a key to the key set, as a rotation would.
func (bf *botFramework) publish(kid string) {
	bf.mu.Lock()
	defer bf.mu.Unlock()
	bf.published[kid] = bf.private[kid]
}

// tokenSpec is what a test token says; the zero value is a valid token for serviceURL.
type tokenSpec struct {
	kid        string
	issuer     string
	audience   string
	serviceURL string
	noService  bool
	exp, nbf   time.Time
}

func (bf *botFramework) token(t testing.TB, s tokenSpec) string {
	t.Helper()
	if s.kid == "" {
		s.kid = signingKeyID
	}
	if s.issuer == "" {
		s.issuer = BotFrameworkIssuer
	}
	if s.audience == "" {
		s.audience = testAppID
	}
	now := time.Now()
	if s.exp.IsZero() {
		s.exp = now.Add(time.Hour)
	}
	if s.nbf.IsZero() {
		s.nbf = now.Add(-time.Minute)
	}
	b := jwt.NewBuilder().Issuer(s.issuer).Audience([]string{s.audience}).Expiration(s.exp).NotBefore(s.nbf).IssuedAt(now)
	if !s.noService {
		b = b.Claim("serviceurl", s.serviceURL)
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.Import(bf.private[s.kid])
	if err != nil {
		t.Fatal(err)
	}
	_ = key.Set(jwk.KeyIDKey, s.kid)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256(), key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// publicPEM is the signing key's public half as PEM: what an alg-confusion attacker would use as
// an HMAC secret.
func (bf *botFramework) publicPEM(t testing.TB) []byte {
	der, err := x509.MarshalPKIXPublicKey(&bf.private[signingKeyID].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// fakeCredential hands out a fixed token and counts requests for it.
type fakeCredential struct{ calls atomic.Int32 }

func (c *fakeCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls.Add(1)
	if len(o.Scopes) != 1 || o.Scopes[0] != BotFrameworkScope {
		return azcore.AccessToken{}, fmt.Errorf("unexpected scopes %v", o.Scopes)
	}
	return azcore.AccessToken{Token: testToken, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// connCall is one request the fake connector received.
type connCall struct {
	Method     string
	Conv       string // conversation ID (unescaped)
	ActivityID string // the ID it issued (POST) or was asked to change (PUT, DELETE)
	Member     string // POST /v3/conversations: the member the 1:1 chat is with
	Card       *Card  // the card the activity carried
	Raw        string // the whole body
	Auth       string
}

// fakeConnector is the Bot Framework connector service: it records what the bot sends, issues
// activity and conversation IDs, and can be told to throttle.
type fakeConnector struct {
	srv *httptest.Server

	mu       sync.Mutex
	calls    []connCall
	next     int
	throttle int
	fail     map[string]int // "PUT" → status for the next call of that method
}

func newFakeConnector(t testing.TB) *fakeConnector {
	f := &fakeConnector{fail: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/conversations", func(w http.ResponseWriter, r *http.Request) {
		var p conversationParameters
		body, ok := f.admit(w, r, &p)
		if !ok {
			return
		}
		if len(p.Members) != 1 || p.IsGroup || p.ChannelData["tenant"] == nil || !strings.HasPrefix(p.Bot.ID, "28:") {
			http.Error(w, `{"error":{"code":"BadArgument","message":"bad conversation parameters"}}`, 400)
			return
		}
		conv := "a:dm-" + p.Members[0].ID // Teams returns the same 1:1 chat every time
		f.record(connCall{Method: "CREATE", Conv: conv, Member: p.Members[0].ID, Raw: body, Auth: r.Header.Get("Authorization")})
		json.NewEncoder(w).Encode(map[string]string{"id": conv})
	})
	mux.HandleFunc("POST /v3/conversations/{conv}/activities", func(w http.ResponseWriter, r *http.Request) {
		var a struct {
			Type        string
			Attachments []struct {
				ContentType string
				Content     Card
			}
		}
		body, ok := f.admit(w, r, &a)
		if !ok {
			return
		}
		f.mu.Lock()
		f.next++
		id := fmt.Sprintf("1:act-%d", f.next)
		f.mu.Unlock()
		c := connCall{Method: "POST", Conv: r.PathValue("conv"), ActivityID: id, Raw: body, Auth: r.Header.Get("Authorization")}
		if len(a.Attachments) == 1 && a.Attachments[0].ContentType == cardContentType {
			c.Card = &a.Attachments[0].Content
		}
		f.record(c)
		json.NewEncoder(w).Encode(map[string]string{"id": id})
	})
	mux.HandleFunc("PUT /v3/conversations/{conv}/activities/{id}", func(w http.ResponseWriter, r *http.Request) {
		var a struct {
			ID          string
			Attachments []struct {
				ContentType string
				Content     Card
			}
		}
		body, ok := f.admit(w, r, &a)
		if !ok {
			return
		}
		c := connCall{Method: "PUT", Conv: r.PathValue("conv"), ActivityID: r.PathValue("id"), Raw: body, Auth: r.Header.Get("Authorization")}
		if len(a.Attachments) == 1 {
			c.Card = &a.Attachments[0].Content
		}
		f.record(c)
		json.NewEncoder(w).Encode(map[string]string{"id": r.PathValue("id")})
	})
	mux.HandleFunc("DELETE /v3/conversations/{conv}/activities/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.admit(w, r, nil); !ok {
			return
		}
		f.record(connCall{Method: "DELETE", Conv: r.PathValue("conv"), ActivityID: r.PathValue("id"), Auth: r.Header.Get("Authorization")})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// serviceURL is the fake's URL as Teams gives service URLs: with a trailing slash.
func (f *fakeConnector) serviceURL() string { return f.srv.URL + "/" }

func (f *fakeConnector) admit(w http.ResponseWriter, r *http.Request, into any) (string, bool) {
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		http.Error(w, `{"error":{"code":"Unauthorized","message":"no token"}}`, 401)
		return "", false
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	if f.throttle > 0 {
		f.throttle--
		f.mu.Unlock()
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"error":{"code":"TooManyRequests","message":"slow down"}}`, 429)
		return "", false
	}
	if st := f.fail[r.Method]; st != 0 {
		delete(f.fail, r.Method)
		f.mu.Unlock()
		http.Error(w, `{"error":{"code":"Failed","message":"injected"}}`, st)
		return "", false
	}
	f.mu.Unlock()
	if into != nil && json.Unmarshal(body, into) != nil {
		http.Error(w, `{"error":{"code":"BadArgument","message":"not JSON"}}`, 400)
		return "", false
	}
	return string(body), true
}

// setThrottle answers the next n calls with 429.
func (f *fakeConnector) setThrottle(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle = n
}

func (f *fakeConnector) record(c connCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

// since returns the calls after the first n.
func (f *fakeConnector) since(n int) []connCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]connCall(nil), f.calls[n:]...)
}

func (f *fakeConnector) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// harness is the adapter behind a real HTTP server, with the fakes around it.
type harness struct {
	t       testing.TB
	bf      *botFramework
	conn    *fakeConnector
	cred    *fakeCredential
	adapter *Adapter
	srv     *httptest.Server
	work    sync.WaitGroup
	seq     atomic.Int32
}

type harnessOpts struct {
	handler Handler
	tweak   func(*Config)
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	h := &harness{t: t, bf: newBotFramework(t), conn: newFakeConnector(t), cred: &fakeCredential{}}
	if o.handler == nil {
		o.handler = &recordingHandler{}
	}
	cfg := Config{AppID: testAppID, TenantID: testTenant, Credential: h.cred, Handler: o.handler,
		ApprovalsConversation: approvalsConv, MetadataURL: h.bf.metadataURL(), AllowLoopbackServiceURL: true,
		Go: func(f func()) {
			h.work.Add(1)
			go func() { defer h.work.Done(); f() }()
		},
		KeyRefreshInterval: time.Hour, MaxRetryWait: time.Second,
		Log: slog.New(slog.NewTextHandler(testLog{t}, nil))}
	if o.tweak != nil {
		o.tweak(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	h.adapter = a
	h.srv = httptest.NewServer(a)
	t.Cleanup(h.srv.Close)
	return h
}

// wait blocks until the work started by requests so far has finished: the hook, never a sleep.
func (h *harness) wait() {
	done := make(chan struct{})
	go func() { h.work.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(maxTestWaitFor):
		h.t.Fatal("the adapter's work did not finish")
	}
}

// post sends a body to /api/messages with an Authorization header (none when empty).
func (h *harness) post(body []byte, auth string, hdr ...string) (int, []byte) {
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/api/messages", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// send posts an activity signed for its own serviceUrl.
func (h *harness) send(act map[string]any) (int, []byte) {
	h.t.Helper()
	body, err := json.Marshal(act)
	if err != nil {
		h.t.Fatal(err)
	}
	su, _ := act["serviceUrl"].(string)
	return h.post(body, "Bearer "+h.bf.token(h.t, tokenSpec{serviceURL: su}))
}

// person is someone of the tenant as Teams describes them.
type person struct {
	aad, name string
}

func (p person) from() map[string]any {
	return map[string]any{"id": "29:" + p.aad, "aadObjectId": p.aad, "name": p.name}
}

// message is a typed message in the person's 1:1 chat with the bot.
func (h *harness) message(p person, text string) map[string]any {
	n := h.seq.Add(1)
	return map[string]any{
		"type": "message", "id": fmt.Sprintf("m-%d", n), "channelId": "msteams", "serviceUrl": h.conn.serviceURL(),
		"from": p.from(), "recipient": map[string]any{"id": "28:" + testAppID, "name": "ResetPW"},
		"conversation": map[string]any{"id": "a:chat-" + p.aad, "conversationType": "personal", "tenantId": testTenant},
		"channelData":  map[string]any{"tenant": map[string]any{"id": testTenant}},
		"text":         text, "textFormat": "plain", "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
	}
}

// channelMessage is a message in a thread of the approvals channel, optionally @mentioning the bot.
func (h *harness) channelMessage(p person, text string, mention bool) map[string]any {
	act := h.message(p, text)
	act["conversation"] = map[string]any{"id": approvalsConv + ";messageid=1700000000001", "conversationType": "channel", "tenantId": testTenant}
	act["channelData"] = map[string]any{"tenant": map[string]any{"id": testTenant},
		"team": map[string]any{"id": approvalsTeam}, "channel": map[string]any{"id": approvalsConv}}
	if mention {
		act["text"] = "<at>ResetPW</at> " + text
		act["entities"] = []any{map[string]any{"type": "mention", "text": "<at>ResetPW</at>",
			"mentioned": map[string]any{"id": "28:" + testAppID, "name": "ResetPW"}}}
	}
	return act
}

// invoke is an Action.Execute click on a card in the approvals channel.
func (h *harness) invoke(p person, verb, requestID, cardID string) map[string]any {
	n := h.seq.Add(1)
	return map[string]any{
		"type": "invoke", "name": invokeCardAction, "id": fmt.Sprintf("i-%d", n), "channelId": "msteams",
		"serviceUrl": h.conn.serviceURL(), "from": p.from(), "recipient": map[string]any{"id": "28:" + testAppID},
		"conversation": map[string]any{"id": approvalsConv + ";messageid=" + cardID, "conversationType": "channel", "tenantId": testTenant},
		"channelData": map[string]any{"tenant": map[string]any{"id": testTenant},
			"team": map[string]any{"id": approvalsTeam}, "channel": map[string]any{"id": approvalsConv}},
		"replyToId": cardID,
		"value": map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": verb,
			"data": map[string]any{"requestId": requestID}}, "trigger": "manual"},
	}
}

// recordingHandler stands in for the service where a test only checks what reaches it.
type recordingHandler struct {
	mu  sync.Mutex
	ins []chat.Incoming
	// reply, when set, is said back to every command.
	reply *chat.Message
}

func (r *recordingHandler) Handle(ctx context.Context, in chat.Incoming) error {
	r.mu.Lock()
	r.ins = append(r.ins, in)
	r.mu.Unlock()
	if r.reply != nil {
		return in.Reply.Reply(ctx, *r.reply)
	}
	return nil
}

func (r *recordingHandler) got() []chat.Incoming {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]chat.Incoming(nil), r.ins...)
}

// testLog sends the adapter's log to the test's, shown with -v or on failure.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
