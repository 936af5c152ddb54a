package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/digest"
	"github.com/resetbot/resetbot/bot/digest/digesttest"
	"github.com/resetbot/resetbot/chat"
)

type digestTrail = digesttest.Trail

func manyAgentsDigest(t *testing.T, topN int) chat.Message {
	since := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	var tr digestTrail
	for i := range 600 {
		r := bot.AuditRecord{At: since.Add(time.Duration(i) * time.Minute), Event: bot.EventReset, RequestID: fmt.Sprint("R-", i),
			ActorUPN: fmt.Sprintf("agent-with-a-long-name-%03d@contoso.com", i%300), TargetID: fmt.Sprint("x", i),
			TargetUPN: fmt.Sprintf("user%d@contoso.com", i%5), Outcome: "done"}
		if i%4 == 0 {
			r.Outcome, r.Detail = "failed", fmt.Sprintf("[click](https://evil.example) reason %d ", i)+strings.Repeat("y", 300)
		}
		tr = append(tr, r)
	}
	d, err := (&digest.Builder{Trail: tr, Config: digest.Config{TopN: topN, TempDir: t.TempDir()}}).Build(context.Background(), since, since.Add(24*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	return d.Message("resetbot-digest-20261127-0800.csv")
}

// The digest card stays under Teams' 28 KB with many agents, shows the table in monospace, carries
// no link someone typed, and says how to get the CSV Teams cannot carry.
func TestPostDigestCard(t *testing.T) {
	for _, topN := range []int{8, 200} {
		h := newHarness(t, harnessOpts{tweak: func(c *Config) { c.AuditConversation = "19:audit@thread.tacv2" }})
		h.adapter.cfg.ServiceURL = h.conn.ServiceURL()
		m := manyAgentsDigest(t, topN)
		m.Secret = chat.NewSecret("must-not-appear")
		att := &chat.Attachment{Name: "resetbot-digest-20261127-0800.csv", Again: "resetbot digest csv --since 2026-11-26T08:00:00Z --until 2026-11-27T08:00:00Z"}
		if err := h.adapter.PostDigest(context.Background(), m, att); err != nil {
			t.Fatal(err)
		}
		calls := h.conn.since(0)
		if len(calls) != 1 || calls[0].Conv != "19:audit@thread.tacv2" || calls[0].Card == nil {
			t.Fatalf("top %d: calls %+v", topN, calls)
		}
		if len(calls[0].Raw) > 28<<10 {
			t.Errorf("top %d: the activity is %d bytes", topN, len(calls[0].Raw))
		}
		text := CardText(*calls[0].Card)
		if strings.Contains(calls[0].Raw, "must-not-appear") || strings.Contains(calls[0].Raw, "](https://evil") {
			t.Errorf("top %d: secret or link in the card", topN)
		}
		if !strings.Contains(text, "can't be attached in Teams; an admin gets it with: resetbot digest csv --since 2026-11-26T08:00:00Z") {
			t.Errorf("top %d: no CSV note:\n%s", topN, text)
		}
		raw, _ := json.Marshal(calls[0].Card)
		if !strings.Contains(string(raw), `"fontType":"Monospace"`) {
			t.Errorf("top %d: no monospace table", topN)
		}
	}
}

func TestPostDigestNeedsAChannel(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	if err := h.adapter.PostDigest(context.Background(), chat.Message{Title: "x"}, nil); err == nil || !strings.Contains(err.Error(), EnvAudit) {
		t.Errorf("err: %v", err)
	}
}
