package teams

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/resetbot/resetbot/adapters/teams/botframework/botframeworktest"
	"github.com/resetbot/resetbot/chat"
)

const (
	testAppID      = "4e5e7b07-0000-4000-8000-000000000001"
	testTenant     = "c0a7e5e0-0000-4000-8000-000000000000"
	approvalsConv  = "19:approvals@thread.tacv2"
	approvalsTeam  = "19:team-general@thread.tacv2"
	maxTestWaitFor = 10 * time.Second
)

// connCall is one request the fake connector received, with the card its activity carried.
type connCall struct {
	botframeworktest.Call
	Card *Card
}

// fakeConnector is the Bot Framework connector service, its calls read back as Teams renders them.
type fakeConnector struct{ *botframeworktest.Connector }

// since returns the calls after the first n.
func (f fakeConnector) since(n int) []connCall {
	var out []connCall
	for _, c := range f.Since(n) {
		cc := connCall{Call: c}
		var a struct {
			Attachments []struct {
				ContentType string
				Content     Card
			}
		}
		if (c.Method == "POST" || c.Method == "PUT") && json.Unmarshal([]byte(c.Raw), &a) == nil && len(a.Attachments) == 1 &&
			(c.Method == "PUT" || a.Attachments[0].ContentType == cardContentType) {
			cc.Card = &a.Attachments[0].Content
		}
		out = append(out, cc)
	}
	return out
}

// harness is the adapter behind a real HTTP server, with the fakes around it.
type harness struct {
	t       testing.TB
	bf      *botframeworktest.Authority
	conn    fakeConnector
	cred    *botframeworktest.Credential
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
	h := &harness{t: t, bf: botframeworktest.NewAuthority(t, testAppID), conn: fakeConnector{botframeworktest.NewConnector(t)},
		cred: &botframeworktest.Credential{}}
	if o.handler == nil {
		o.handler = &recordingHandler{}
	}
	cfg := Config{AppID: testAppID, TenantID: testTenant, Credential: h.cred, Handler: o.handler,
		ApprovalsConversation: approvalsConv, MetadataURL: h.bf.MetadataURL(), AllowLoopbackServiceURL: true,
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
	return h.post(body, "Bearer "+h.bf.Token(h.t, botframeworktest.TokenSpec{ServiceURL: su}))
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
		"type": "message", "id": fmt.Sprintf("m-%d", n), "channelId": "msteams", "serviceUrl": h.conn.ServiceURL(),
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
		"serviceUrl": h.conn.ServiceURL(), "from": p.from(), "recipient": map[string]any{"id": "28:" + testAppID},
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
