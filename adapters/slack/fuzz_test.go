package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

// FuzzVerifyBody: whatever the headers and body, the verifier never panics, never reads past its limit,
// and accepts a body only with a valid signature over exactly that body and a timestamp within 5 minutes.
func FuzzVerifyBody(f *testing.F) {
	f.Add(int64(0), "", []byte("team_id=T1&text=hi"), true, uint16(0))
	f.Add(int64(0), "", []byte("payload=%7B%7D"), true, uint16(3))
	f.Add(int64(-400), "", []byte("x"), true, uint16(0))
	f.Add(int64(0), "v0=00", []byte(""), false, uint16(0))
	f.Add(int64(10), "v0="+hex.EncodeToString(make([]byte, 32)), []byte("abc"), false, uint16(0))
	f.Fuzz(func(t *testing.T, offset int64, sig string, body []byte, signIt bool, flip uint16) {
		ts := strconv.FormatInt(time.Now().Unix()+offset%100000, 10)
		if signIt {
			mac := hmac.New(sha256.New, []byte(fakeSecret))
			fmt.Fprintf(mac, "v0:%s:", ts)
			mac.Write(body)
			sig = "v0=" + hex.EncodeToString(mac.Sum(nil))
		}
		sent := bytes.Clone(body)
		if flip > 0 && len(sent) > 0 {
			sent[int(flip)%len(sent)] ^= byte(flip>>8) | 1
		}
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", sig)
		got, err := verifyBody(h, bytes.NewReader(sent), fakeSecret, 4096)
		if err != nil {
			return
		}
		if len(sent) > 4096 {
			t.Fatalf("accepted %d bytes past the limit", len(sent))
		}
		mac := hmac.New(sha256.New, []byte(fakeSecret))
		fmt.Fprintf(mac, "v0:%s:", ts)
		mac.Write(got)
		if "v0="+hex.EncodeToString(mac.Sum(nil)) != sig || !bytes.Equal(got, sent) {
			t.Fatalf("accepted a body without a valid signature: ts %s sig %q body %q", ts, sig, sent)
		}
		if d := time.Now().Unix() - (time.Now().Unix() + offset%100000); d > 300 || d < -300 {
			t.Fatalf("accepted a timestamp %ds off", d)
		}
	})
}

// FuzzSignedPayloads: signed bodies of any shape through the real handlers (the work after the ack is
// not run) never panic, and get 200 or 400; an acknowledgement is always valid JSON.
func FuzzSignedPayloads(f *testing.F) {
	click, _ := json.Marshal(map[string]any{"type": "block_actions", "team": map[string]any{"id": fakeTeam}, "user": map[string]any{"id": "U_SAM"},
		"actions": []any{map[string]any{"action_id": "resetbot_approve", "block_id": "resetbot_approval", "value": "R-ABCDEF", "action_ts": "1.2"}}})
	f.Add(uint8(0), []byte("team_id=T1&user_id=U1&command=%2Fresetpw&text=adele%40contoso.com&trigger_id=1.2&response_url=https%3A%2F%2Fhooks.slack.com%2Fx"))
	f.Add(uint8(1), []byte("payload="+string(click)))
	f.Add(uint8(1), []byte("payload=%7B%22type%22%3A%22view_submission%22%7D"))
	f.Add(uint8(2), []byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"message","channel_type":"im","user":"U1","text":"resetpw bulk","files":[{"id":"F1"}]}}`))
	f.Add(uint8(2), []byte(`{"type":"url_verification","challenge":"abc"}`))
	f.Add(uint8(2), []byte(`{"type":"event_callback","event":null}`))
	a, err := New(Config{BotToken: fakeBotToken, SigningSecret: fakeSecret, APIURL: "http://127.0.0.1:1/api/",
		ApprovalsChannel: fakeApprovals, Go: func(func()) {}}, nopHandler{})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Mount(mux)
	paths := []string{"/slack/commands", "/slack/interactions", "/slack/events"}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := paths[int(which)%len(paths)]
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		ts, sig := sign(fakeSecret, time.Now(), body)
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			if rec.Header().Get("Content-Type") == "application/json" && !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("an acknowledgement that is not JSON: %q", rec.Body.String())
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("%s answered %d to a signed body", path, rec.Code)
		}
		// The parsers on their own, as Socket Mode uses them.
		_, _ = parseInteractionJSON(body)
		if ev, err := parseEvent(body); err == nil {
			_ = a.onEvent(ev)
		}
	})
}

type nopHandler struct{}

func (nopHandler) Handle(context.Context, chat.Incoming) error { return nil }
func (nopHandler) HandleBulk(context.Context, chat.Incoming, string, []bot.UserRow, []bot.RowProblem) error {
	return nil
}
func (nopHandler) MaxListRows() int { return bot.MaxBulkRows }
