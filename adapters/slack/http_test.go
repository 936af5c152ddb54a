package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

func mustSee(t *testing.T, seen []scenariotest.Seen, where, contains string) scenariotest.Seen {
	t.Helper()
	for _, s := range seen {
		if strings.HasPrefix(s.Where, where) && strings.Contains(s.Text, contains) {
			return s
		}
	}
	t.Fatalf("nothing in %q containing %q; saw %+v", where, contains, seen)
	return scenariotest.Seen{}
}

func noGraphCalls(t *testing.T, h *harness) {
	t.Helper()
	if n := len(h.env.Graph.Requests()); n != 0 {
		t.Errorf("Graph received %d requests, want none", n)
	}
}

// TestRefusesWhatSlackDidNotSign: every endpoint answers 401 to a request that is unsigned, stale,
// signed with another secret or altered after signing, and nothing is recorded or done.
func TestRefusesWhatSlackDidNotSign(t *testing.T) {
	h := newHarness(t, nil, nil)
	bodies := map[string][]byte{
		"/slack/commands":     []byte(h.slashForm("U_HELPDESK", "adele@contoso.com").Encode()),
		"/slack/interactions": []byte(h.clickForm("U_SAM", chat.ActionApprove, "R-AAAAAA", blockApproval, fakeApprovals).Encode()),
		"/slack/events":       []byte(`{"type":"url_verification","challenge":"c"}`),
	}
	now := time.Now()
	for path, body := range bodies {
		ts, sig := sign(fakeSecret, now, body)
		staleTS, staleSig := sign(fakeSecret, now.Add(-6*time.Minute), body)
		futureTS, futureSig := sign(fakeSecret, now.Add(6*time.Minute), body)
		_, otherSig := sign("another-secret", now, body)
		tampered := bytes.Replace(body, []byte("a"), []byte("b"), 1)
		for name, c := range map[string]struct {
			body    []byte
			headers map[string]string
		}{
			"no headers":       {body, map[string]string{"X-Slack-Signature": "", "X-Slack-Request-Timestamp": ""}},
			"no signature":     {body, map[string]string{"X-Slack-Signature": "", "X-Slack-Request-Timestamp": ts}},
			"no timestamp":     {body, map[string]string{"X-Slack-Signature": sig, "X-Slack-Request-Timestamp": ""}},
			"stale":            {body, map[string]string{"X-Slack-Signature": staleSig, "X-Slack-Request-Timestamp": staleTS}},
			"from the future":  {body, map[string]string{"X-Slack-Signature": futureSig, "X-Slack-Request-Timestamp": futureTS}},
			"other secret":     {body, map[string]string{"X-Slack-Signature": otherSig, "X-Slack-Request-Timestamp": ts}},
			"tampered body":    {tampered, map[string]string{"X-Slack-Signature": sig, "X-Slack-Request-Timestamp": ts}},
			"v1 scheme":        {body, map[string]string{"X-Slack-Signature": "v1=" + strings.TrimPrefix(sig, "v0="), "X-Slack-Request-Timestamp": ts}},
			"not hex":          {body, map[string]string{"X-Slack-Signature": "v0=zz", "X-Slack-Request-Timestamp": ts}},
			"timestamp words":  {body, map[string]string{"X-Slack-Signature": sig, "X-Slack-Request-Timestamp": "now"}},
			"truncated digest": {body, map[string]string{"X-Slack-Signature": sig[:20], "X-Slack-Request-Timestamp": ts}},
		} {
			resp, _ := h.postRaw(t, path, "application/x-www-form-urlencoded", c.body, c.headers)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s: status %d, want 401", path, name, resp.StatusCode)
			}
		}
	}
	// Too large to be Slack's: refused before it is all read.
	big := bytes.Repeat([]byte("x"), maxRequestBytes+10)
	if resp, _ := h.postRaw(t, "/slack/commands", "application/x-www-form-urlencoded", big, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("an oversized body: status %d, want 413", resp.StatusCode)
	}
	h.adapter.Wait()
	if calls := h.slack.all(); len(calls) != 0 {
		t.Errorf("refused requests still reached Slack: %+v", calls)
	}
	noGraphCalls(t, h)
	if !strings.Contains(h.logs.String(), "refused a Slack request") {
		t.Error("refusals are not logged")
	}
}

// TestBadPayloads: a signed body that does not parse is 400; interactions that are not our buttons are
// acknowledged and ignored with a log line.
func TestBadPayloads(t *testing.T) {
	h := newHarness(t, nil, nil)
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, c := range []struct {
		path string
		form url.Values
		raw  string
		want int
	}{
		{path: "/slack/interactions", form: form("payload", "{not json"), want: 400},
		{path: "/slack/interactions", form: form("other", "x"), want: 400},
		{path: "/slack/interactions", form: form("payload", `{"type":""}`), want: 400},
		{path: "/slack/commands", form: form("text", "adele@contoso.com"), want: 400},
		{path: "/slack/commands", raw: "%zz=%", want: 400},
		{path: "/slack/events", raw: "{", want: 400},
		{path: "/slack/events", raw: `{"type":"event_callback","event":{"type":"message","ts":5}}`, want: 400},
		{path: "/slack/events", raw: `{"type":"event_callback","event":{"type":"app_mention","text":"hi"}}`, want: 200},
		{path: "/slack/interactions", form: form("payload", `{"type":"view_submission","team":{"id":"T_CONTOSO"},"user":{"id":"U_SAM"}}`), want: 200},
		{path: "/slack/interactions", form: h.clickForm("U_SAM", "delete_everything", "R-AAAAAA", blockApproval, fakeApprovals), want: 200},
		{path: "/slack/interactions", form: h.clickForm("U_SAM", chat.ActionApprove, "R-AAAAAA", "someone_elses_block", fakeApprovals), want: 200},
	} {
		body := []byte(c.raw)
		if c.form != nil {
			body = []byte(c.form.Encode())
		}
		resp, _ := h.postRaw(t, c.path, "application/x-www-form-urlencoded", body, nil)
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: status %d, want %d", c.path, body, resp.StatusCode, c.want)
		}
	}
	h.adapter.Wait()
	if calls := h.slack.all(); len(calls) != 0 {
		t.Errorf("bad payloads reached Slack: %+v", calls)
	}
	noGraphCalls(t, h)
	if !strings.Contains(h.logs.String(), "not our button") {
		t.Error("an unknown button is not logged")
	}
}

func TestURLVerification(t *testing.T) {
	h := newHarness(t, nil, nil)
	resp, body := h.postRaw(t, "/slack/events", "application/json", []byte(`{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`), nil)
	if resp.StatusCode != 200 || body != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("url_verification answered %d %q", resp.StatusCode, body)
	}
}

// TestDuplicateDeliveryResetsOnce: the same slash command delivered twice (a proxy retrying, say),
// even at the same moment, resets once and answers once.
func TestDuplicateDeliveryResetsOnce(t *testing.T) {
	h := newHarness(t, nil, nil)
	form := h.slashForm("U_HELPDESK", "adele@contoso.com --reason INC0042")
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if resp, _ := h.post(t, "/slack/commands", form, nil); resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	h.adapter.Wait()
	if n := len(h.env.Graph.Resets("adele@contoso.com")); n != 1 {
		t.Fatalf("Graph set %d passwords, want 1", n)
	}
	opened := map[string]int{}
	for _, c := range h.slack.all() {
		if c.Method == "conversations.open" {
			opened[c.User]++
		}
	}
	// One DM to the agent (the password), one to Adele (the notice that her password was reset).
	if opened["U_HELPDESK"] != 1 || opened["U_ADELE"] != 1 || len(opened) != 2 {
		t.Errorf("DMs opened %v, want one to the agent and one to Adele", opened)
	}
	done := 0
	for _, s := range h.seen(h.slack.all()) {
		if s.Where == "reply" && strings.Contains(s.Text, "✅ Reset Adele Vance") {
			done++
		}
	}
	if done != 1 {
		t.Errorf("%d replies say it was reset, want 1", done)
	}
}

// TestDoubleClickResetsOnce: an approver clicking Approve twice in a hurry (two deliveries, two
// action_ts), and Slack delivering one click twice, reset the target once.
func TestDoubleClickResetsOnce(t *testing.T) {
	h := newHarness(t, nil, nil)
	card := mustSee(t, h.seen(h.say(t, "U_PAT", `ceo@contoso.com --reason "lost phone"`)), "approvals", "Approve")
	id := scenariotest.RequestID(t, card.Text)
	same := h.clickForm("U_SAM", chat.ActionApprove, id, blockApproval, fakeApprovals)
	forms := []url.Values{same, same, h.clickForm("U_SAM", chat.ActionApprove, id, blockApproval, fakeApprovals),
		h.clickForm("U_SAM", chat.ActionApprove, id, blockApproval, fakeApprovals)}
	var wg sync.WaitGroup
	for _, f := range forms {
		wg.Go(func() {
			if resp, _ := h.post(t, "/slack/interactions", f, nil); resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	h.adapter.Wait()
	if n := len(h.env.Graph.Resets("ceo@contoso.com")); n != 1 {
		t.Fatalf("Graph set %d passwords, want 1", n)
	}
	dms := 0
	for _, s := range h.seen(h.slack.all()) {
		if s.Where == "dm:pat@contoso.com" && strings.Contains(s.Text, "Temporary password") {
			dms++
		}
	}
	if dms != 1 {
		t.Errorf("%d password DMs, want 1", dms)
	}
}

// TestPasswordOnlyInTheDM: the temporary password is in the DM's blocks and nowhere else: not the
// DM's notification text, not any other Slack call, not an acknowledgement, not a log.
func TestPasswordOnlyInTheDM(t *testing.T) {
	h := newHarness(t, nil, nil)
	calls := h.say(t, "U_HELPDESK", "adele@contoso.com")
	resets := h.env.Graph.Resets("adele@contoso.com")
	if len(resets) != 1 {
		t.Fatalf("%d resets", len(resets))
	}
	pw := resets[0].Password
	scenariotest.PasswordOnlyInDM(t, h.env, pw, h.seen(calls))
	inDM := 0
	for _, c := range h.slack.all() {
		if !c.Contains(pw) {
			continue
		}
		if c.Method != "chat.postMessage" || c.Channel != "D_U_HELPDESK" {
			t.Errorf("the password went out in %s to %q", c.Method, c.Channel)
			continue
		}
		inDM++
		if strings.Contains(c.Text, pw) || strings.Contains(unescape(c.Text), pw) {
			t.Error("the password is in the DM's notification text")
		}
	}
	if inDM != 1 {
		t.Errorf("the password is in %d DMs, want 1", inDM)
	}
	if strings.Contains(h.logs.String(), pw) {
		t.Error("the password is in the adapter's log")
	}
}

// TestPasswordDMDeletedOnSchedule: the DM is deleted when its time is up, by a restarted bot too, and a
// DM someone already deleted counts as done.
func TestPasswordDMDeletedOnSchedule(t *testing.T) {
	h := newHarness(t, nil, nil)
	var dm slackCall
	for _, c := range h.say(t, "U_HELPDESK", "adele@contoso.com") {
		if c.Method == "chat.postMessage" && c.Channel == "D_U_HELPDESK" {
			dm = c
		}
	}
	if dm.TS == "" {
		t.Fatal("no DM")
	}
	tick := func() []slackCall {
		mark := h.slack.mark()
		h.env.Service.Tick(context.Background())
		return h.slack.since(mark)
	}
	h.env.Clock.Advance(14 * time.Minute)
	if calls := tick(); len(calls) != 0 {
		t.Fatalf("before its time: %+v", calls)
	}

	// A restart: a new service and adapter on the same database still delete it.
	svc := bot.NewService(h.env.Directory, h.env.Store, bot.Defaults(), nil)
	svc.SetClock(h.env.Clock.Now)
	a2, err := New(Config{BotToken: fakeBotToken, SigningSecret: fakeSecret, APIURL: h.slack.apiURL(), ApprovalsChannel: fakeApprovals}, svc)
	if err != nil {
		t.Fatal(err)
	}
	svc.Attach(chat.PlatformSlack, a2)
	h.env.Clock.Advance(2 * time.Minute)
	mark := h.slack.mark()
	svc.Tick(context.Background())
	calls := h.slack.since(mark)
	if len(calls) != 1 || calls[0].Method != "chat.delete" || calls[0].Channel != dm.Channel || calls[0].TS != dm.TS {
		t.Fatalf("after 16 minutes: %+v, want chat.delete of %s/%s", calls, dm.Channel, dm.TS)
	}
	if calls := tick(); len(calls) != 0 {
		t.Errorf("deleted twice: %+v", calls)
	}

	// Deleted by hand before its time: chat.delete says message_not_found, and that is the end of it.
	for _, c := range h.say(t, "U_HELPDESK", "lynne@contoso.com") {
		if c.Method == "chat.postMessage" && c.Channel == "D_U_HELPDESK" {
			h.slack.mu.Lock()
			h.slack.deleted[c.Channel+"/"+c.TS] = true
			h.slack.mu.Unlock()
		}
	}
	h.env.Clock.Advance(16 * time.Minute)
	if calls := tick(); len(calls) != 1 || calls[0].Method != "chat.delete" {
		t.Fatalf("deleting a gone DM: %+v", calls)
	}
	if calls := tick(); len(calls) != 0 {
		t.Errorf("a gone DM is retried: %+v", calls)
	}
}

// TestPeopleSlackCannotVouchFor: a sender with no email, a bot, a deactivated account or a guest is told
// why, and nothing else happens: no directory lookup, no DM.
func TestPeopleSlackCannotVouchFor(t *testing.T) {
	h := newHarness(t, nil, nil)
	for user, says := range map[string]string{
		"U_NOEMAIL": "no email address",
		"U_SOMEBOT": "Bots and apps",
		"U_GONE":    "deactivated",
		"U_GUEST":   "guests",
		"U_UNKNOWN": "can't look you up",
	} {
		seen := h.seen(h.say(t, user, "adele@contoso.com"))
		r := mustSee(t, seen, "reply", says)
		if strings.Contains(r.Text, "Reset") {
			t.Errorf("%s: %q", user, r.Text)
		}
		for _, s := range seen {
			if s.Where != "reply" {
				t.Errorf("%s: more than a reply: %+v", user, s)
			}
		}
	}
	// Clicks are held to the same rule.
	mustSee(t, h.seen(h.click(t, "U_GUEST", chat.ActionApprove, "R-AAAAAA")), "reply", "guests")
	noGraphCalls(t, h)

	// An email Entra does not know is the service's to explain.
	mustSee(t, h.seen(h.say(t, "U_STRANGER", "whoami")), "reply", "stranger@contoso.com")
}

// TestIdentityIsCached: users.info is asked once per person while the answer is fresh.
func TestIdentityIsCached(t *testing.T) {
	h := newHarness(t, nil, nil)
	for range 3 {
		h.say(t, "U_HELPDESK", "whoami")
	}
	if n := h.slack.count("users.info"); n != 1 {
		t.Errorf("users.info asked %d times, want 1", n)
	}
	h.adapter.people.now = func() time.Time { return time.Now().Add(11 * time.Minute) }
	h.say(t, "U_HELPDESK", "whoami")
	if n := h.slack.count("users.info"); n != 2 {
		t.Errorf("users.info asked %d times after the TTL, want 2", n)
	}
}

func TestPeopleCacheIsBounded(t *testing.T) {
	c := newPeople(time.Minute, 3)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		c.put(k, person{})
	}
	if len(c.m) > 3 {
		t.Errorf("%d cached, bound 3", len(c.m))
	}
	if _, ok := c.get("e"); !ok {
		t.Error("the newest entry was evicted")
	}
}

// TestOnlyOurWorkspace: who may use the bot is decided by the person's own workspace as users.info
// says it, never by the payload's team_id, which in a channel shared with another organisation names
// the channel's workspace. A stranger (Slack Connect) or a member of another workspace whose profile
// shows one of our addresses is refused, whatever the payload says; a configured Enterprise Grid
// organisation lets its members in.
func TestOnlyOurWorkspace(t *testing.T) {
	h := newHarness(t, nil, nil)
	for _, who := range []struct{ user, says string }{
		{"U_CONNECT", "another organisation"},
		{"U_OTHERTEAM", "does not serve your Slack workspace"},
	} {
		form := h.slashForm(who.user, "adele@contoso.com") // team_id is ours: the channel is
		mark := h.slack.mark()
		h.post(t, "/slack/commands", form, nil)
		h.adapter.Wait()
		mustSee(t, h.seen(h.slack.since(mark)), "reply", who.says)
		for _, c := range h.slack.since(mark) {
			if strings.HasPrefix(c.Channel, "D_") {
				t.Errorf("%s was sent a DM: %+v", who.user, c)
			}
		}
	}
	noGraphCalls(t, h)

	h2 := newHarness(t, nil, func(c *Config) { c.Workspaces = []string{"E_CONTOSO_ORG"} })
	h2.slack.mu.Lock()
	u := h2.slack.users["U_HELPDESK"]
	u.Team, u.Enterprise = "T_PARIS", "E_CONTOSO_ORG"
	h2.slack.users["U_HELPDESK"] = u
	h2.slack.mu.Unlock()
	linkAs(t, h2.env, "T_PARIS", "U_HELPDESK", "helpdesk@contoso.com")
	form := h2.slashForm("U_HELPDESK", "whoami")
	form.Set("team_id", "T_PARIS")
	mark := h2.slack.mark()
	h2.post(t, "/slack/commands", form, nil)
	h2.adapter.Wait()
	mustSee(t, h2.seen(h2.slack.since(mark)), "reply", "Helen Desk")
}

// TestResponseURLOnlyToSlack: a response_url on any host but Slack's (or the configured API host) is not
// posted to; the answer goes by DM instead.
func TestResponseURLOnlyToSlack(t *testing.T) {
	h := newHarness(t, nil, nil)
	evil := make(chan struct{}, 10)
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { evil <- struct{}{} }))
	defer other.Close()
	form := h.slashForm("U_HELPDESK", "whoami")
	form.Set("response_url", other.URL+"/hooks/steal")
	mark := h.slack.mark()
	h.post(t, "/slack/commands", form, nil)
	h.adapter.Wait()
	if len(evil) != 0 {
		t.Fatal("the adapter posted to a response_url on another host")
	}
	mustSee(t, h.seen(h.slack.since(mark)), "dm:helpdesk@contoso.com", "Helpdesk Administrator")
	if !strings.Contains(h.logs.String(), "unexpected host") {
		t.Error("not logged")
	}
	for raw, ok := range map[string]bool{
		"https://hooks.slack.com/commands/T1/2/3": true,
		"http://hooks.slack.com/commands/T1/2/3":  false,
		"https://hooks.slack.com.evil.example/x":  false,
		"https://user@hooks.slack.com/x":          false,
		h.slack.srv.URL + "/hooks/x":              true,
		"https://evil.example/hooks":              false,
		"::":                                      false,
	} {
		if got := h.adapter.mayRespondTo(raw); got != ok {
			t.Errorf("mayRespondTo(%q) = %v, want %v", raw, got, ok)
		}
	}
}

// TestAckDoesNotWaitForGraph: with Graph answering in 2 s, the command is still acknowledged at once.
func TestAckDoesNotWaitForGraph(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.env.Graph.SetLatency(2 * time.Second)
	start := time.Now()
	resp, body := h.post(t, "/slack/commands", h.slashForm("U_HELPDESK", "adele@contoso.com"), nil)
	took := time.Since(start)
	if resp.StatusCode != 200 || took > time.Second {
		t.Errorf("acknowledged in %s with %d", took, resp.StatusCode)
	}
	var ack ephemeral
	if err := json.Unmarshal([]byte(body), &ack); err != nil || ack.ResponseType != "ephemeral" || !strings.Contains(ack.Text, "Checking") {
		t.Errorf("ack %q", body)
	}
	h.adapter.Wait()
	if n := len(h.env.Graph.Resets("adele@contoso.com")); n != 1 {
		t.Errorf("%d resets after the work finished", n)
	}
}

// A slash command naming an address Slack linked resets that address: the markup is removed here,
// as for typed messages, before the service reads the text.
func TestSlashCommandWithLinkedAddress(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.say(t, "U_HELPDESK", "<mailto:adele@contoso.com|adele@contoso.com>")
	if n := len(h.env.Graph.Resets("adele@contoso.com")); n != 1 {
		t.Errorf("%d resets of adele, want 1", n)
	}
}

// TestTypedCommandsInTheDM: "resetpw …" typed in the bot's DM is a command answered in the DM; the bot's
// own messages and other chatter are ignored; an event Slack retries is handled once.
func TestTypedCommandsInTheDM(t *testing.T) {
	h := newHarness(t, nil, nil)
	event := func(id string, inner map[string]any) []byte {
		b, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": fakeTeam, "api_app_id": "A_RESETBOT",
			"event_id": id, "event_time": 1790000000, "event": inner})
		return b
	}
	msg := map[string]any{"type": "message", "channel": "D_U_HELPDESK", "channel_type": "im", "user": "U_HELPDESK",
		"text": "resetpw status <mailto:r-abcdef@x.com|R-ABCDEF>", "ts": "1790000000.000200", "event_ts": "1790000000.000200"}
	body := event("Ev1", msg)
	mark := h.slack.mark()
	h.postRaw(t, "/slack/events", "application/json", body, nil)
	h.postRaw(t, "/slack/events", "application/json", body, map[string]string{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
	h.adapter.Wait()
	seen := h.seen(h.slack.since(mark))
	mustSee(t, seen, "dm:helpdesk@contoso.com", "no request R-ABCDEF")
	if len(seen) != 1 {
		t.Errorf("a retried event answered %d times: %+v", len(seen), seen)
	}

	mark = h.slack.mark()
	for i, m := range []map[string]any{
		{"type": "message", "channel": "D_U_HELPDESK", "channel_type": "im", "user": fakeBotUser, "text": "resetpw whoami"},
		{"type": "message", "channel": "D_U_HELPDESK", "channel_type": "im", "bot_id": "B_RESETBOT", "text": "resetpw whoami"},
		{"type": "message", "channel": "D_U_HELPDESK", "channel_type": "im", "user": "U_HELPDESK", "text": "thanks!"},
		{"type": "message", "channel": "C_HELPDESK", "channel_type": "channel", "user": "U_HELPDESK", "text": "resetpw whoami"},
		{"type": "message", "subtype": "message_changed", "channel": "D_U_HELPDESK", "channel_type": "im", "message": map[string]any{"user": "U_HELPDESK", "text": "resetpw whoami"}},
	} {
		h.postRaw(t, "/slack/events", "application/json", event("EvIgnored"+string(rune('a'+i)), m), nil)
	}
	h.adapter.Wait()
	if calls := h.slack.since(mark); len(calls) != 0 {
		t.Errorf("ignored messages got answers: %+v", calls)
	}
}
