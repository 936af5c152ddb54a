package signin_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/signin"
	"github.com/resetbot/resetbot/bot/store"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
	"github.com/resetbot/resetbot/internal/scenariotest"
	"github.com/resetbot/resetbot/internal/syncbuf"
)

// env is a whole resetbot with agent sign-in on loopback: the Graph simulator, the local authority,
// the real Graph client, a SQLite store, the service, and the callback served over HTTP.
type env struct {
	graph    *graphtest.Server
	auth     *graphtest.Authority
	store    bot.Store
	dbPath   string
	svc      *bot.Service
	signIn   *signin.Manager
	callback *httptest.Server
	inbox    *inbox
	logs     *syncbuf.Buffer
	clock    *scenariotest.Clock
}

type envOpts struct {
	tenant     *graphtest.Tenant
	policy     func(*bot.Policy)
	config     func(*bot.Config)
	deviceFlow bool
	// sandbox: the authority approves every device code at once and Begin waits for it, as in
	// resetbot demo.
	sandbox string
	// words is how the platform names the app and its commands; nil: the service's own.
	words func(chat.Platform) chat.Vocabulary
}

var testKey = bytes.Repeat([]byte{7}, 32)

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	tenant := o.tenant
	if tenant == nil {
		tenant = graphtest.Contoso()
	}
	e := &env{graph: graphtest.NewServer(tenant), logs: &syncbuf.Buffer{}, inbox: &inbox{},
		clock: scenariotest.NewClock(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))}
	t.Cleanup(e.graph.Close)
	e.graph.SetWriteback(true)
	e.auth = graphtest.NewAuthority(e.graph)
	t.Cleanup(e.auth.Close)

	dir, err := graphsvc.New(graphsvc.Config{Credential: e.graph.Credential(), GraphEndpoint: e.graph.URL,
		Timeout: 5 * time.Second, MaxRetryWait: 5 * time.Second, MinPoll: 5 * time.Millisecond, MaxPoll: 20 * time.Millisecond,
		OperationTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.dbPath = filepath.Join(t.TempDir(), "resetbot.db")
	st, err := store.Open(context.Background(), "sqlite:"+e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st

	cfg := bot.Defaults()
	cfg.Location = time.UTC
	cfg.Policy.Writeback = true
	if o.policy != nil {
		o.policy(&cfg.Policy)
	}
	if o.config != nil {
		o.config(&cfg)
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.svc = bot.NewService(dir, st, cfg, log)
	e.svc.SetClock(e.clock.Now)
	e.svc.Attach(chat.PlatformShell, e.inbox)

	e.callback = httptest.NewUnstartedServer(nil)
	e.callback.StartTLS()
	t.Cleanup(e.callback.Close)
	scopes := append([]string{}, signin.Scopes...)
	if cfg.Policy.AsAgent {
		scopes = append(scopes, signin.ScopesAsAgent...)
	}
	sc := signin.Config{ClientID: e.auth.ClientID, Authority: e.auth.Authority(), Scopes: scopes,
		Key: testKey, Store: st, HTTPClient: e.auth.Client(), Now: e.clock.Now, Log: log,
		Tell: e.svc.TellActor, Audit: e.svc.AuditSignIn, Linked: e.svc.Link, Words: e.svc.Words}
	if o.words != nil {
		sc.Words = o.words
	}
	if !o.deviceFlow && o.sandbox == "" {
		sc.PublicURL = e.callback.URL
	}
	if o.sandbox != "" {
		sc.DeviceWait = 5 * time.Second
		e.auth.AutoApprove(func() string { return o.sandbox })
	}
	e.signIn, err = signin.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.signIn.Close)
	e.callback.Config.Handler = e.signIn
	e.svc.EnableAgentSignIn(e.signIn, dir)
	return e
}

func actor(upn string) chat.Actor {
	return chat.Actor{Platform: chat.PlatformShell, Tenant: "demo", UserID: upn, Email: upn, Name: upn}
}

// say runs a command as the persona and returns what only they saw (replies) and what came by DM.
func (e *env) say(t *testing.T, as, text string) (replies, dms []chat.Message) {
	t.Helper()
	before := e.inbox.count()
	var mu sync.Mutex
	err := e.svc.Handle(context.Background(), chat.Incoming{Actor: actor(as), Text: text,
		Reply: chat.ReplierFunc(func(_ context.Context, m chat.Message) error {
			mu.Lock()
			defer mu.Unlock()
			replies = append(replies, m)
			return nil
		})})
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return replies, e.inbox.since(before)
}

// login runs /resetpw login as the persona and returns the sign-in link from the DM.
func (e *env) login(t *testing.T, as string) string {
	t.Helper()
	replies, dms := e.say(t, as, "/resetpw login")
	if len(replies) != 1 || !strings.Contains(replies[0].Title, "I sent you a link to open by DM") {
		t.Fatalf("login reply: %+v", replies)
	}
	if strings.Contains(text(replies), "https://") {
		t.Fatalf("the sign-in link was shown outside the DM: %+v", replies)
	}
	if len(dms) != 1 {
		t.Fatalf("login DMs: %+v", dms)
	}
	// The link is the card's Sign in button, not text to copy.
	for _, b := range dms[0].Buttons {
		if b.Label == "Sign in" && strings.HasPrefix(b.URL, e.auth.URL) {
			return b.URL
		}
	}
	t.Fatalf("no sign-in link in the DM: %+v", dms[0])
	return ""
}

// browse follows the sign-in link the way a browser would: the authority signs in as whoever
// SignInAs chose and redirects to the callback, whose page is returned.
func (e *env) browse(t *testing.T, link string) (status int, body string, callbackURL string) {
	t.Helper()
	resp, err := e.auth.Client().Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	callbackURL = resp.Header.Get("Location")
	status, body = e.get(t, callbackURL)
	return status, body, callbackURL
}

func (e *env) get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := e.callback.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) signInAs(t *testing.T, agent string) {
	t.Helper()
	link := e.login(t, agent)
	e.auth.SignInAs(agent)
	if status, body, _ := e.browse(t, link); status != http.StatusOK || !strings.Contains(body, "Signed in as "+agent) {
		t.Fatalf("callback: %d %s", status, body)
	}
}

// secretsNowhere checks that no token the authority issued appears in the logs, the SQLite file (and
// its journal) or any chat message, and that none of the extra values (the temporary password, a
// device code) appears in the logs or the store.
func (e *env) secretsNowhere(t *testing.T, extra ...string) {
	t.Helper()
	tokens := e.auth.IssuedTokens()
	secrets := append(append([]string{}, tokens...), extra...)
	if len(tokens) == 0 {
		t.Fatal("no tokens were issued: the test proves nothing")
	}
	var db []byte
	for _, suffix := range []string{"", "-wal", "-journal"} {
		b, _ := os.ReadFile(e.dbPath + suffix)
		db = append(db, b...)
	}
	if len(db) == 0 {
		t.Fatal("the SQLite file is empty")
	}
	msgs := e.inbox.all()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(e.logs.String(), s) {
			t.Errorf("a secret is in the logs: %.12s…", s)
		}
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("a secret is in the store file: %.12s…", s)
		}
		if strings.Contains(msgs, s) && slices.Contains(tokens, s) {
			t.Errorf("a secret is in a chat message: %.12s…", s)
		}
	}
}

func text(ms []chat.Message) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%s\n%s\n%s\n%s\n", m.Title, m.Text, m.Secret, m.Footer)
		for _, btn := range m.Buttons {
			fmt.Fprintf(&b, "[%s] %s\n", btn.Label, btn.URL)
		}
		for _, f := range m.Fields {
			fmt.Fprintf(&b, "%s: %s\n", f.Label, f.Value)
		}
	}
	return b.String()
}

// inbox records DMs; approvals are not used here.
type inbox struct {
	mu  sync.Mutex
	dms []chat.Message
	to  []string
}

func (c *inbox) DM(_ context.Context, to chat.Actor, m chat.Message) (chat.MessageRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dms = append(c.dms, m)
	c.to = append(c.to, to.UserID)
	return chat.MessageRef{Platform: chat.PlatformShell, Channel: "D-" + to.UserID, ID: fmt.Sprint(len(c.dms))}, nil
}

func (c *inbox) PostApproval(context.Context, chat.Message) (chat.MessageRef, error) {
	return chat.MessageRef{Platform: chat.PlatformShell, Channel: "#approvals", ID: "card"}, nil
}
func (c *inbox) Update(context.Context, chat.MessageRef, chat.Message) error { return nil }
func (c *inbox) Withdraw(context.Context, chat.MessageRef) error             { return nil }

func (c *inbox) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.dms)
}

func (c *inbox) since(n int) []chat.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]chat.Message(nil), c.dms[n:]...)
}

func (c *inbox) all() string { return text(c.since(0)) }

func query(t *testing.T, raw, key string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(key)
}
