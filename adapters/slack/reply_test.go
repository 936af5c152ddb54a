package slack

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestExpiredResponseURL: when Slack refuses the response_url (expired, or used 5 times), the answer
// comes by DM instead.
func TestExpiredResponseURL(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.slack.mu.Lock()
	h.slack.hookStatus = 404
	h.slack.mu.Unlock()
	seen := h.seen(h.say(t, "U_HELPDESK", "whoami"))
	mustSee(t, seen, "dm:helpdesk@contoso.com", "Helpdesk Administrator")
}

// TestNoDMNoPassword: when the DM cannot be sent, the password goes nowhere else and the requester is
// told nobody knows it.
func TestNoDMNoPassword(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.slack.mu.Lock()
	h.slack.failDM = true
	h.slack.mu.Unlock()
	seen := h.seen(h.say(t, "U_HELPDESK", "adele@contoso.com"))
	mustSee(t, seen, "reply", "could not DM you")
	resets := h.env.Graph.Resets("adele@contoso.com")
	if len(resets) != 1 {
		t.Fatalf("%d resets", len(resets))
	}
	for _, c := range h.slack.all() {
		if c.Contains(resets[0].Password) && c.Method != "chat.postMessage" {
			t.Errorf("the password went out in %s", c.Method)
		}
	}
}

func TestAckGate(t *testing.T) {
	g := newAckGate(5*time.Millisecond, 200*time.Millisecond)
	start := time.Now()
	g.wait(context.Background())
	if time.Since(start) > 5*time.Millisecond {
		t.Error("an open gate made work wait")
	}
	g.enter()
	released := make(chan time.Time)
	go func() { g.wait(context.Background()); released <- time.Now() }()
	time.Sleep(20 * time.Millisecond)
	left := time.Now()
	g.leave()
	at := <-released
	if d := at.Sub(left); d < 4*time.Millisecond || d > 150*time.Millisecond {
		t.Errorf("work started %s after the last acknowledgement, want about the quiet period", d)
	}
	g.enter() // a steady stream: never idle
	defer g.leave()
	start = time.Now()
	g.wait(context.Background())
	if d := time.Since(start); d < 150*time.Millisecond || d > time.Second {
		t.Errorf("under a steady stream work waited %s, want maxWait", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	g.wait(ctx)
	if time.Since(start) > 50*time.Millisecond {
		t.Error("a cancelled context still waited")
	}
}

func TestCheckingNote(t *testing.T) {
	for text, want := range map[string]string{
		"":                      "⏳ Checking …",
		"adele@contoso.com":     "⏳ Checking `adele@contoso.com` …",
		"<!channel> `x` & more": "⏳ Checking `&lt;!channel&gt; 'x' &amp; more` …",
	} {
		if got := checking(text).Text; got != want {
			t.Errorf("checking(%q) = %q, want %q", text, got, want)
		}
	}
	if got := checking(strings.Repeat("a", 500)).Text; len([]rune(got)) > 100 {
		t.Errorf("a long command is echoed whole: %d runes", len([]rune(got)))
	}
}
