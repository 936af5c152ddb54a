package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
	"github.com/resetbot/resetbot/internal/scenariotest"
	"github.com/resetbot/resetbot/internal/syncbuf"
)

// harness is a whole resetbot on Slack, on loopback: the scenario Env (Graph simulator, SQLite, the
// service), the fake Slack Web API, and the adapter's real HTTP handlers behind an httptest server.
type harness struct {
	env     *scenariotest.Env
	slack   *fakeSlack
	adapter *Adapter
	srv     *httptest.Server
	logs    *syncbuf.Buffer
	n       atomic.Int64 // trigger IDs, action timestamps, event IDs
}

func newHarness(t testing.TB, env *scenariotest.Env, change func(*Config)) *harness {
	t.Helper()
	if env == nil {
		env = scenariotest.NewEnv(t, nil)
	}
	fake := newFakeSlack(t)
	logs := &syncbuf.Buffer{}
	cfg := Config{
		BotToken: fakeBotToken, SigningSecret: fakeSecret, APIURL: fake.apiURL(),
		ApprovalsChannel: fakeApprovals,
		Log:              slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if change != nil {
		change(&cfg)
	}
	a, err := New(cfg, env.Service)
	if err != nil {
		t.Fatal(err)
	}
	env.Service.Attach(chat.PlatformSlack, a)
	linkPersonas(t, env)
	mux := http.NewServeMux()
	a.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(a.Wait)
	return &harness{env: env, slack: fake, adapter: a, srv: srv, logs: logs}
}

// linkPersonas links every seeded persona's Slack account to their Entra account, as each would have
// by signing in once: Slack identities are trusted only through such a link.
func linkPersonas(t testing.TB, env *scenariotest.Env) {
	t.Helper()
	now := env.Clock.Now()
	for _, u := range graphtest.Contoso().Users {
		key := chat.Actor{Platform: chat.PlatformSlack, Tenant: fakeTeam, UserID: personaID(u.UPN)}.Key()
		if err := env.Store.PutLink(context.Background(), bot.IdentityLink{ActorKey: key, ObjectID: u.ID, LinkedAt: now, VerifiedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
}

// linkAs links one Slack account to a persona's Entra account.
func linkAs(t testing.TB, env *scenariotest.Env, team, user, upn string) {
	t.Helper()
	u, ok := env.Graph.User(upn)
	if !ok {
		t.Fatalf("no %s in the tenant", upn)
	}
	now := env.Clock.Now()
	key := chat.Actor{Platform: chat.PlatformSlack, Tenant: team, UserID: user}.Key()
	if err := env.Store.PutLink(context.Background(), bot.IdentityLink{ActorKey: key, ObjectID: u.ID, LinkedAt: now, VerifiedAt: now}); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) next() string { return strconv.FormatInt(h.n.Add(1), 10) }

// sign signs a body the way Slack does, at the given time.
func sign(secret string, at time.Time, body []byte) (ts, sig string) {
	ts = strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	return ts, "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// post sends a form to one of the adapter's endpoints, signed unless headers says otherwise.
func (h *harness) post(t testing.TB, path string, form url.Values, headers map[string]string) (*http.Response, string) {
	t.Helper()
	body := []byte(form.Encode())
	return h.postRaw(t, path, "application/x-www-form-urlencoded", body, headers)
}

func (h *harness) postRaw(t testing.TB, path, contentType string, body []byte, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	ts, sig := sign(fakeSecret, time.Now(), body)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// slashForm is the form Slack posts for "/resetpw text" typed by user.
func (h *harness) slashForm(user, text string) url.Values {
	return url.Values{
		"token": {"legacy-verification-token"}, "team_id": {fakeTeam}, "team_domain": {"contoso"},
		"channel_id": {"C_HELPDESK"}, "channel_name": {"helpdesk"}, "user_id": {user}, "user_name": {strings.ToLower(user)},
		"command": {"/resetpw"}, "text": {text}, "api_app_id": {"A_RESETBOT"},
		"response_url": {h.slack.responseURL()}, "trigger_id": {"trig." + h.next()},
	}
}

// clickForm is the interaction Slack posts when user presses one of our buttons.
func (h *harness) clickForm(user string, action chat.Action, id, blockID, channel string) url.Values {
	return h.clickTyped(user, action, id, blockID, channel, "")
}

// clickTyped is a click with text typed in the message's text box, which Slack sends in the
// payload's state.
func (h *harness) clickTyped(user string, action chat.Action, id, blockID, channel, typed string) url.Values {
	payload := map[string]any{
		"type": "block_actions", "api_app_id": "A_RESETBOT", "token": "legacy",
		"team":       map[string]any{"id": fakeTeam, "domain": "contoso"},
		"user":       map[string]any{"id": user, "username": strings.ToLower(user), "team_id": fakeTeam},
		"container":  map[string]any{"type": "message", "message_ts": "1790000000.000001", "channel_id": channel},
		"channel":    map[string]any{"id": channel},
		"trigger_id": "trig." + h.next(), "response_url": h.slack.responseURL(),
		"actions": []map[string]any{{
			"type": "button", "action_id": actionPrefix + string(action), "block_id": blockID, "value": id,
			"action_ts": "1790000100." + h.next(), "text": map[string]any{"type": "plain_text", "text": string(action)},
		}},
	}
	if typed != "" {
		payload["state"] = map[string]any{"values": map[string]any{reasonBlock: map[string]any{
			reasonAction: map[string]any{"type": "plain_text_input", "value": typed}}}}
	}
	b, _ := json.Marshal(payload)
	return url.Values{"payload": {string(b)}}
}

// say runs a slash command as a Slack user and waits until everything it set off has finished.
func (h *harness) say(t testing.TB, user, text string) []slackCall {
	t.Helper()
	mark := h.slack.mark()
	resp, body := h.post(t, "/slack/commands", h.slashForm(user, text), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Checking") {
		t.Fatalf("slash command answered %d %q, want 200 with a checking note", resp.StatusCode, body)
	}
	h.adapter.Wait()
	return h.slack.since(mark)
}

// click presses one of our buttons as a Slack user: Approve or Deny on a card in the approvals
// channel, Run or Cancel on a list's preview in the user's DM with the bot.
func (h *harness) click(t testing.TB, user string, action chat.Action, id string) []slackCall {
	t.Helper()
	block, channel := blockApproval, fakeApprovals
	switch action {
	case chat.ActionRun, chat.ActionCancel:
		block, channel = blockList, "D_"+user
	case chat.ActionVerify, chat.ActionPick, chat.ActionConfirm, chat.ActionDispute:
		// The agent's choice, the numbers and the manager's card are all in someone's DM.
		block, channel = blockVerify, "D_"+user
	case chat.ActionWasntMe:
		block, channel = blockNotice, "D_"+user
	}
	mark := h.slack.mark()
	resp, body := h.post(t, "/slack/interactions", h.clickForm(user, action, id, block, channel), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("click answered %d %q", resp.StatusCode, body)
	}
	h.adapter.Wait()
	return h.slack.since(mark)
}

// seen turns recorded Slack calls into what the scenarios read.
func (h *harness) seen(calls []slackCall) []scenariotest.Seen {
	var out []scenariotest.Seen
	for _, c := range calls {
		where, text := "", visible(c)
		switch c.Method {
		case "response_url", "chat.postEphemeral":
			where = "reply"
		case "chat.postMessage", "files.completeUploadExternal": // a message, or a file shared (its bytes)
			if c.Method == "files.completeUploadExternal" {
				text = c.Text
			}
			switch {
			case c.Channel == fakeApprovals:
				where = "approvals"
			case strings.HasPrefix(c.Channel, "D_"):
				where = "dm:" + h.upnOf(strings.TrimPrefix(c.Channel, "D_"))
			default:
				where = "channel:" + c.Channel
			}
		case "chat.update":
			where = "card"
		case "chat.delete":
			where = "withdrawn:" + h.upnOf(strings.TrimPrefix(c.Channel, "D_"))
		default:
			continue
		}
		out = append(out, scenariotest.Seen{Where: where, Text: text})
	}
	return out
}

func (h *harness) upnOf(userID string) string {
	h.slack.mu.Lock()
	defer h.slack.mu.Unlock()
	if u, ok := h.slack.users[userID]; ok && u.Email != "" {
		return u.Email
	}
	return userID
}

// driver runs the scenario suite through Slack: slash commands and button clicks are signed HTTP
// requests into the real handlers, and what people see is read back from the fake Slack.
type driver struct{ h *harness }

func (d driver) Say(t *testing.T, as, text string) []scenariotest.Seen {
	text = strings.TrimSpace(text)
	if rest, ok := strings.CutPrefix(text, "/resetpw"); ok {
		text = strings.TrimSpace(rest)
	}
	return d.h.seen(d.h.say(t, personaID(as), text))
}

// SendFile uploads the file to the fake and sends it in the persona's DM with the bot, as a
// file_share message event with the text, which the adapter downloads with the bot token.
func (d driver) SendFile(t *testing.T, as, name string, data []byte, text string) []scenariotest.Seen {
	filetype := map[string]string{".csv": "csv", ".tsv": "tsv", ".txt": "text"}[strings.ToLower(path.Ext(name))]
	return d.h.sendList(t, personaID(as), text, map[string]fakeFile{"F" + d.h.next(): {Name: name, Filetype: filetype, Data: data}})
}

func (d driver) Click(t *testing.T, as string, action chat.Action, requestID string) []scenariotest.Seen {
	return d.h.seen(d.h.click(t, personaID(as), action, requestID))
}

func (d driver) Deny(t *testing.T, as, requestID, reason string) []scenariotest.Seen {
	mark := d.h.slack.mark()
	resp, body := d.h.post(t, "/slack/interactions", d.h.clickTyped(personaID(as), chat.ActionDeny, requestID, blockApproval, fakeApprovals, reason), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("click answered %d %q", resp.StatusCode, body)
	}
	d.h.adapter.Wait()
	return d.h.seen(d.h.slack.since(mark))
}

func (d driver) Tick(t *testing.T) []scenariotest.Seen {
	mark := d.h.slack.mark()
	d.h.env.Service.Tick(t.Context())
	d.h.adapter.Wait()
	return d.h.seen(d.h.slack.since(mark))
}
