package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/adapters/teams/botframework/botframeworktest"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

var alice = person{aad: "10000000-0000-4000-8000-0000000000aa", name: "Alice"}

func TestBadBodies(t *testing.T) {
	rec := &recordingHandler{}
	h := newHarness(t, harnessOpts{handler: rec})
	tok := "Bearer " + h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: h.conn.ServiceURL()})
	big := h.message(alice, strings.Repeat("x", 300<<10))
	bigBody, _ := json.Marshal(big)
	for _, c := range []struct {
		name string
		body []byte
		want int
	}{
		{"oversize", bigBody, http.StatusRequestEntityTooLarge},
		{"not JSON", []byte(`{"type":"message",`), 400},
		{"JSON but not an object", []byte(`["message"]`), 400},
		{"empty", nil, 400},
		{"no type", []byte(`{"id":"1"}`), 400},
		{"value of the wrong shape", []byte(`{"type":"message","value":"x","conversation":"nope"}`), 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			if st, _ := h.post(c.body, tok); st != c.want {
				t.Errorf("status %d, want %d", st, c.want)
			}
		})
	}
	// Unknown activity types are acknowledged and ignored.
	for _, typ := range []string{"typing", "messageReaction", "event", "endOfConversation", "conversationUpdate", "installationUpdate", "somethingNew"} {
		act := h.message(alice, "resetpw adele@contoso.com")
		act["type"] = typ
		if st, _ := h.send(act); st != 200 {
			t.Errorf("%s: status %d, want 200", typ, st)
		}
	}
	// An invoke that is not a card action is not ours either.
	inv := h.invoke(alice, "approve", "R-AAAAAA", "1:act-1")
	inv["name"] = "composeExtension/query"
	if st, _ := h.send(inv); st != 200 {
		t.Errorf("other invoke: status %d", st)
	}
	h.wait()
	if n := len(rec.got()); n != 0 {
		t.Fatalf("%d commands reached the service", n)
	}
	if h.conn.Count() != 0 {
		t.Fatal("the connector was called")
	}
}

// In a channel the bot acts only when @mentioned, and the mention is not part of the command.
func TestChannelMessagesNeedAMention(t *testing.T) {
	rec := &recordingHandler{reply: &chat.Message{Title: "ok"}}
	h := newHarness(t, harnessOpts{handler: rec})
	if st, _ := h.send(h.channelMessage(alice, "resetpw whoami", false)); st != 200 {
		t.Fatal(st)
	}
	h.wait()
	if n := len(rec.got()); n != 0 {
		t.Fatalf("channel chatter reached the service (%d)", n)
	}
	act := h.channelMessage(alice, "resetpw &quot;whoami&quot;<br>", true)
	if st, _ := h.send(act); st != 200 {
		t.Fatal(st)
	}
	h.wait()
	got := rec.got()
	if len(got) != 1 || got[0].Text != `resetpw "whoami"` {
		t.Fatalf("service got %+v", got)
	}
	in := got[0]
	want := chat.Actor{Platform: chat.PlatformTeams, Tenant: testTenant, UserID: alice.aad, ObjectID: alice.aad, Name: alice.name}
	if in.Actor != want {
		t.Errorf("actor %+v, want %+v", in.Actor, want)
	}
	if in.IdempotencyKey == "" || !strings.Contains(in.IdempotencyKey, act["id"].(string)) {
		t.Errorf("idempotency key %q", in.IdempotencyKey)
	}
	// The reply goes to the thread the mention was in.
	calls := h.conn.since(0)
	if len(calls) != 1 || calls[0].Conv != approvalsConv+";messageid=1700000000001" {
		t.Fatalf("reply went to %+v", calls)
	}
}

// Action.Submit (clients without Universal Actions) arrives as a message with a value: it becomes
// the same click as Action.Execute.
func TestSubmitFallbackIsAClick(t *testing.T) {
	rec := &recordingHandler{}
	h := newHarness(t, harnessOpts{handler: rec})
	act := h.channelMessage(alice, "", false)
	act["value"] = map[string]any{"action": "deny", "requestId": "R-7F3K9Q"}
	act["replyToId"] = "1:act-9"
	if st, _ := h.send(act); st != 200 {
		t.Fatal(st)
	}
	bad := h.channelMessage(alice, "", false)
	bad["value"] = map[string]any{"action": "resetpw megan@contoso.com", "requestId": "R-7F3K9Q"}
	if st, _ := h.send(bad); st != 200 {
		t.Fatal(st)
	}
	h.wait()
	got := rec.got()
	if len(got) != 1 || got[0].Text != "deny R-7F3K9Q" {
		t.Fatalf("service got %+v", got)
	}
}

func TestInvokeWithBadDataIsRefused(t *testing.T) {
	rec := &recordingHandler{}
	h := newHarness(t, harnessOpts{handler: rec})
	for _, v := range []any{
		"a string",
		map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": "resetpw", "data": map[string]any{"requestId": "R-1"}}},
		map[string]any{"action": map[string]any{"type": "Action.Submit", "verb": "approve", "data": map[string]any{"requestId": "R-1"}}},
		map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": "approve", "data": map[string]any{"requestId": strings.Repeat("R", 100)}}},
		map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": "approve"}},
	} {
		inv := h.invoke(alice, "approve", "R-1", "1:act-1")
		inv["value"] = v
		st, body := h.send(inv)
		if st != 200 || !strings.Contains(string(body), invokeTypeError) {
			t.Errorf("value %v: %d %s", v, st, body)
		}
	}
	h.wait()
	if len(rec.got()) != 0 {
		t.Fatal("a bad click reached the service")
	}
}

// slowHandler holds a click past the invoke deadline.
type slowHandler struct{ release chan struct{} }

func (s slowHandler) Handle(ctx context.Context, in chat.Incoming) error {
	<-s.release
	return in.Reply.Reply(ctx, chat.Message{Title: "finally"})
}

// A click that takes longer than Teams waits is answered "working on it"; what the service says
// later goes to the conversation.
func TestSlowClickAnswersWorkingOnIt(t *testing.T) {
	s := slowHandler{release: make(chan struct{})}
	h := newHarness(t, harnessOpts{handler: s, tweak: func(c *Config) { c.InvokeTimeout = 50 * time.Millisecond }})
	st, body := h.send(h.invoke(alice, "approve", "R-7F3K9Q", "1:act-1"))
	if st != 200 || !strings.Contains(string(body), "Working on it") || !strings.Contains(string(body), invokeTypeMessage) {
		t.Fatalf("%d %s", st, body)
	}
	close(s.release)
	h.wait()
	calls := h.conn.since(0)
	if len(calls) != 1 || !strings.Contains(CardText(*calls[0].Card), "finally") {
		t.Fatalf("the late answer: %+v", calls)
	}
}

// teamsEnv is a whole resetbot on the sandbox tenant with the Teams adapter attached.
func teamsEnv(t *testing.T) (*scenariotest.Env, *driver) {
	env := scenariotest.NewEnv(t, nil)
	d := newDriver(t, env).(*driver)
	return env, d
}

// Teams retries an invoke it got no answer to, with the same activity ID: the second delivery
// resets nothing.
func TestDuplicateInvokeResetsOnce(t *testing.T) {
	env, d := teamsEnv(t)
	seen := d.Say(t, "pat@contoso.com", "resetpw ceo@contoso.com --reason \"lost phone\"")
	var card string
	for _, s := range seen {
		if s.Where == "approvals" {
			card = s.Text
		}
	}
	id := scenariotest.RequestID(t, card)
	sam := d.persona(t, "sam@contoso.com")
	inv := tenanted(d.h.invoke(sam, "approve", id, d.cardFor(t, id)))
	var wg sync.WaitGroup
	bodies := make([][]byte, 3)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, bodies[i] = d.h.send(inv)
		}()
	}
	wg.Wait()
	d.h.wait()
	if n := len(env.Graph.Resets("ceo@contoso.com")); n != 1 {
		t.Fatalf("Graph set %d passwords, want 1", n)
	}
	for _, b := range bodies {
		var r invokeResponse
		if err := json.Unmarshal(b, &r); err != nil || r.StatusCode != 200 {
			t.Errorf("invoke answer %s", b)
		}
	}
}

// The temporary password travels in one request only, the DM, and nowhere else in all the traffic
// to the connector; when its time is up the DM is replaced, without the password.
func TestPasswordOnlyInTheDMAndWithdrawnOnSchedule(t *testing.T) {
	env, d := teamsEnv(t)
	seen := d.Say(t, "helpdesk@contoso.com", "resetpw adele@contoso.com --reason INC0042")
	resets := env.Graph.Resets("adele@contoso.com")
	if len(resets) != 1 {
		t.Fatalf("%d resets", len(resets))
	}
	pw := resets[0].Password
	scenariotest.PasswordOnlyInDM(t, env, pw, seen)
	var dm *connCall
	for _, c := range d.h.conn.since(0) {
		if strings.Contains(c.Raw, pw) {
			if dm != nil || c.Method != "POST" || !strings.HasPrefix(c.Conv, "a:dm-") {
				t.Fatalf("the password went in %s %s", c.Method, c.Conv)
			}
			cc := c
			dm = &cc
		}
		if strings.Contains(c.Raw, botframeworktest.Token) {
			t.Fatal("the bot's token is in a request body")
		}
	}
	if dm == nil {
		t.Fatal("no DM carried the password")
	}
	if dm.Conv != "a:dm-29:"+graphtest.HelpdeskID {
		t.Errorf("the DM went to %s", dm.Conv)
	}
	// The password is literal text (a RichTextBlock), not markdown that could mangle it.
	if !bytes.Contains([]byte(dm.Raw), []byte(`"type":"RichTextBlock"`)) {
		t.Error("the password is not in a RichTextBlock")
	}

	env.Clock.Advance(14 * time.Minute)
	if w := d.Tick(t); len(w) != 0 {
		t.Fatalf("withdrawn early: %+v", w)
	}
	env.Clock.Advance(2 * time.Minute)
	d.Tick(t)
	var put *connCall
	for _, c := range d.h.conn.since(0) {
		if c.Method == "PUT" && c.Conv == dm.Conv && c.ActivityID == dm.ActivityID {
			cc := c
			put = &cc
		}
	}
	if put == nil {
		t.Fatal("the password DM was not replaced")
	}
	if strings.Contains(put.Raw, pw) || !strings.Contains(CardText(*put.Card), "expired and was removed") {
		t.Fatalf("the replacement: %s", put.Raw)
	}
}

// A DM whose remembered conversation is gone is sent through a freshly opened one.
func TestDMReopensAStaleConversation(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	_ = h.adapter.refs.PutConversationRef(ctx, refUser+alice.aad, ConversationRef{ServiceURL: h.conn.ServiceURL(), ConversationID: "a:gone", UserID: "29:" + alice.aad})
	h.conn.FailNext("POST", 404)
	ref, err := h.adapter.DM(ctx, chat.Actor{Platform: chat.PlatformTeams, Tenant: testTenant, UserID: alice.aad, ObjectID: alice.aad}, chat.Message{Title: "hi", Secret: chat.NewSecret("s3cret")})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Channel != "a:dm-29:"+alice.aad || ref.Route != h.conn.ServiceURL() || ref.ID == "" || ref.Platform != chat.PlatformTeams {
		t.Fatalf("ref %+v", ref)
	}
	// A person of another tenant is never messaged.
	if _, err := h.adapter.DM(ctx, chat.Actor{Platform: chat.PlatformTeams, Tenant: "other", UserID: "x", ObjectID: "x"}, chat.Message{Title: "hi"}); err == nil {
		t.Fatal("DM to another tenant")
	}
}

// What the adapter learns from activities lets it post approvals with no service URL configured.
func TestLearnsServiceURLs(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	ctx := context.Background()
	if _, err := h.adapter.PostApproval(ctx, chat.Message{Title: "x"}); err == nil || !strings.Contains(err.Error(), "RESETBOT_TEAMS_SERVICE_URL") {
		t.Fatalf("before any activity: %v", err)
	}
	act := h.channelMessage(alice, "", false)
	act["type"] = "conversationUpdate"
	if st, _ := h.send(act); st != 200 {
		t.Fatal(st)
	}
	h.wait() // learning happens after the acknowledgement
	ref, err := h.adapter.PostApproval(ctx, chat.Message{Title: "x", Secret: chat.NewSecret("never-here")})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Channel != approvalsConv || ref.Route != h.conn.ServiceURL() {
		t.Fatalf("ref %+v", ref)
	}
	if c := h.conn.since(0); strings.Contains(c[0].Raw, "never-here") {
		t.Fatal("a secret was rendered outside a DM")
	}
}
