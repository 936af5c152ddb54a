package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/chat"
)

const pw = "Kx7#mP2q-Vt9wLr4"

// The one rule: a secret is shown on a DM and on nothing else, whatever the caller asked.
func TestViewOnShowsTheSecretOnlyInADM(t *testing.T) {
	m := chat.Message{Title: "🔐 Temporary password", Secret: chat.NewSecret(pw), Text: "Copy it."}
	for _, s := range []chat.Surface{chat.SurfaceReply, chat.SurfaceChannel} {
		v := chat.ViewOn(m, s)
		if v.SecretText() != "" || !v.Message.Secret.IsZero() {
			t.Errorf("surface %d shows the secret", s)
		}
		if b, _ := json.Marshal(v); strings.Contains(string(b), pw) {
			t.Errorf("surface %d: the view carries the secret: %s", s, b)
		}
	}
	dm := chat.ViewOn(m, chat.SurfaceDM)
	if dm.SecretText() != pw {
		t.Errorf("the DM shows %q, want the secret", dm.SecretText())
	}
	if !dm.Message.Secret.IsZero() {
		t.Error("the DM view's message still holds the secret; only SecretText may give it")
	}
}

// A secret redacts itself wherever it could be printed by accident.
func TestSecretRedacts(t *testing.T) {
	m := chat.Message{Title: "t", Secret: chat.NewSecret(pw)}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("sending", "message", m, "secret", m.Secret)
	b, _ := json.Marshal(m)
	for what, s := range map[string]string{
		"%v": fmt.Sprintf("%v", m), "%+v": fmt.Sprintf("%+v", m), "%#v": fmt.Sprintf("%#v", m),
		"json": string(b), "slog": logged.String(),
	} {
		if strings.Contains(s, pw) {
			t.Errorf("%s shows the secret: %s", what, s)
		}
	}
}

func TestParagraphs(t *testing.T) {
	m := chat.Message{Text: "Resets: 2 done\nPolicy: 1 allowed\n\n\n  Second paragraph  \r\n\r\nThird"}
	got := m.Paragraphs()
	want := []string{"Resets: 2 done\nPolicy: 1 allowed", "Second paragraph", "Third"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Paragraphs = %q, want %q", got, want)
	}
}

type revising struct {
	said    []string
	revised []string
}

func (r *revising) Reply(_ context.Context, m chat.Message) error {
	r.said = append(r.said, m.Title)
	return nil
}

func (r *revising) ReplyRevisable(_ context.Context, m chat.Message) (func(context.Context, chat.Message) error, error) {
	r.said = append(r.said, m.Title)
	return func(_ context.Context, m chat.Message) error { r.revised = append(r.revised, m.Title); return nil }, nil
}

// InPlace turns the next answer into a revision of the last where the platform can revise, and
// into a new message where it cannot.
func TestInPlace(t *testing.T) {
	r := &revising{}
	p := chat.InPlace(r)
	_ = p.Reply(context.Background(), chat.Message{Title: "⏳ Resetting"})
	_ = p.Reply(context.Background(), chat.Message{Title: "✅ Reset"})
	if strings.Join(r.said, "|") != "⏳ Resetting" || strings.Join(r.revised, "|") != "✅ Reset" {
		t.Errorf("said %q, revised %q: want the outcome to replace the ⏳ message", r.said, r.revised)
	}
	var plain []string
	p = chat.InPlace(chat.ReplierFunc(func(_ context.Context, m chat.Message) error { plain = append(plain, m.Title); return nil }))
	_ = p.Reply(context.Background(), chat.Message{Title: "⏳ Resetting"})
	_ = p.Reply(context.Background(), chat.Message{Title: "✅ Reset"})
	if strings.Join(plain, "|") != "⏳ Resetting|✅ Reset" {
		t.Errorf("a terminal said %q, want both lines", plain)
	}
}
