package slack

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

type socketAck struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload"`
	took       time.Duration
}

// TestSocketMode: over a websocket, after hello, a slash command envelope is acknowledged at once with
// the checking note while Graph takes its time, and the reset happens once; envelopes the bot does not
// act on, or slack-go cannot even parse, are acknowledged too; a disconnect request is followed by a
// new connection that works the same.
func TestSocketMode(t *testing.T) {
	h := newHarness(t, nil, func(c *Config) { c.AppToken = fakeAppToken; c.SigningSecret = "" })
	h.env.Graph.SetLatency(500 * time.Millisecond)

	acks := make(chan socketAck, 20)
	var mu sync.Mutex
	connections := 0
	h.slack.socket = func(conn *websocket.Conn) {
		mu.Lock()
		connections++
		n := connections
		mu.Unlock()
		write := func(v any) {
			if err := conn.WriteJSON(v); err != nil {
				t.Errorf("writing to the bot: %v", err)
			}
		}
		write(map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": "A_RESETBOT"}})
		sent := map[string]time.Time{}
		envelope := func(typ, id string, payload any) {
			sent[id] = time.Now()
			write(map[string]any{"type": typ, "envelope_id": id, "payload": payload, "accepts_response_payload": typ == "slash_commands"})
		}
		if n == 1 {
			envelope("slash_commands", "env-1", map[string]any{"team_id": fakeTeam, "user_id": "U_HELPDESK", "command": "/resetpw",
				"text": "adele@contoso.com", "response_url": h.slack.responseURL(), "trigger_id": "trig.socket.1", "channel_id": "C_HELPDESK"})
			envelope("interactive", "env-2", map[string]any{"type": "block_actions", "team": map[string]any{"id": fakeTeam},
				"user": map[string]any{"id": "U_SAM"}, "actions": []any{map[string]any{"action_id": "not_ours", "block_id": "x", "value": "y"}}})
			envelope("events_api", "env-3", map[string]any{"type": "event_callback", "team_id": fakeTeam, "event_id": "Ev9",
				"event": map[string]any{"type": "an_event_from_the_future"}})
		} else {
			envelope("slash_commands", "env-4", map[string]any{"team_id": fakeTeam, "user_id": "U_HELPDESK", "command": "/resetpw",
				"text": "whoami", "response_url": h.slack.responseURL(), "trigger_id": "trig.socket.2", "channel_id": "C_HELPDESK"})
		}
		for {
			var a socketAck
			if err := conn.ReadJSON(&a); err != nil {
				return
			}
			a.took = time.Since(sent[a.EnvelopeID])
			acks <- a
			if a.EnvelopeID == "env-3" {
				write(map[string]any{"type": "disconnect", "reason": "refresh_requested"})
			}
		}
	}

	if err := h.adapter.Check(context.Background()); err == nil {
		t.Error("ready before the Socket Mode connection is open")
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := h.adapter.RunSocketMode(ctx); err != nil {
			t.Errorf("RunSocketMode: %v", err)
		}
	}()
	defer func() { cancel(); <-stopped; noSecretsLogged(t, h) }()

	got := map[string]socketAck{}
	for len(got) < 4 {
		select {
		case a := <-acks:
			got[a.EnvelopeID] = a
		case <-time.After(10 * time.Second):
			t.Fatalf("acknowledged only %v", got)
		}
	}
	for id, a := range got {
		// Promptly: well inside Slack's 3 s, and not waiting for Graph's 500 ms.
		if a.took > 400*time.Millisecond {
			t.Errorf("%s acknowledged after %s", id, a.took)
		}
	}
	var ack ephemeral
	if err := json.Unmarshal(got["env-1"].Payload, &ack); err != nil || ack.ResponseType != "ephemeral" || !strings.Contains(ack.Text, "Checking") {
		t.Errorf("the slash command's ack payload is %s", got["env-1"].Payload)
	}
	if len(got["env-2"].Payload) != 0 || len(got["env-3"].Payload) != 0 {
		t.Errorf("acks of ignored envelopes carry payloads: %s %s", got["env-2"].Payload, got["env-3"].Payload)
	}
	h.adapter.Wait()
	if err := h.adapter.Check(context.Background()); err != nil {
		t.Errorf("not ready while connected: %v", err)
	}
	if n := len(h.env.Graph.Resets("adele@contoso.com")); n != 1 {
		t.Fatalf("Graph set %d passwords, want 1", n)
	}
	seen := h.seen(h.slack.all())
	mustSee(t, seen, "reply", "Reset Adele Vance")
	mustSee(t, seen, "dm:helpdesk@contoso.com", "Temporary password")
	mustSee(t, seen, "reply", "Helen Desk") // whoami, over the second connection
	mu.Lock()
	defer mu.Unlock()
	if connections != 2 {
		t.Errorf("%d connections, want 2 (one after the disconnect)", connections)
	}
}

func TestSocketModeNeedsAnAppToken(t *testing.T) {
	h := newHarness(t, nil, nil)
	if err := h.adapter.RunSocketMode(context.Background()); err == nil {
		t.Error("Socket Mode ran without an app-level token")
	}
}
