package scenariotest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

// Inbox is a chat platform for driving the service directly: it keeps every message, where it
// went, and who it was for.
type Inbox struct {
	mu   sync.Mutex
	Seen []Seen
}

func (b *Inbox) add(where string, m chat.Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var parts []string
	for _, s := range []string{m.Title, m.Text, m.Secret.Reveal(), m.Footer} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	for _, f := range m.Fields {
		parts = append(parts, f.Label+": "+f.Value)
	}
	b.Seen = append(b.Seen, Seen{Where: where, Text: strings.Join(parts, "\n")})
}

// Take returns the messages since the last Take.
func (b *Inbox) Take() []Seen {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.Seen
	b.Seen = nil
	return s
}

// DM implements chat.Chat.
func (b *Inbox) DM(_ context.Context, to chat.Actor, m chat.Message) (chat.MessageRef, error) {
	b.add("dm:"+to.UserID, m)
	return chat.MessageRef{Platform: to.Platform, Channel: "D-" + to.UserID, ID: "1"}, nil
}

// PostApproval implements chat.Chat.
func (b *Inbox) PostApproval(_ context.Context, m chat.Message) (chat.MessageRef, error) {
	b.add("approvals", m)
	return chat.MessageRef{Platform: chat.PlatformShell, Channel: "#approvals", ID: "2"}, nil
}

// Update implements chat.Chat.
func (b *Inbox) Update(_ context.Context, _ chat.MessageRef, m chat.Message) error {
	b.add("card", m)
	return nil
}

// Withdraw implements chat.Chat.
func (b *Inbox) Withdraw(_ context.Context, ref chat.MessageRef) error {
	b.add("withdrawn:"+strings.TrimPrefix(ref.Channel, "D-"), chat.Message{})
	return nil
}

// Say runs one command as the persona (a UPN) through the terminal platform and returns what it
// showed; replies are "reply".
func (b *Inbox) Say(t testing.TB, svc *bot.Service, as, text string) []Seen {
	t.Helper()
	actor := chat.Actor{Platform: chat.PlatformShell, Tenant: "demo", UserID: as, Email: as, Name: as}
	reply := chat.ReplierFunc(func(_ context.Context, m chat.Message) error { b.add("reply", m); return nil })
	if err := svc.Handle(context.Background(), chat.Incoming{Actor: actor, Text: text, Reply: reply}); err != nil {
		t.Fatalf("%s: %q: %v", as, text, err)
	}
	return b.Take()
}

// AuditDay runs a helpdesk's day through the real service, so the trail holds every kind of
// record: an allowed reset with a reason, a refusal by policy, an unknown user, a command not
// understood, an approval refused to its requester and then given, a denial, an expiry, and the
// password DMs withdrawn. It returns the temporary passwords Graph received, to look for.
func AuditDay(t testing.TB, env *Env) (passwords []string) {
	t.Helper()
	in := &Inbox{}
	env.Service.Attach(chat.PlatformShell, in)
	say := func(as, text string) []Seen { return in.Say(t, env.Service, as, text) }

	say("helpdesk@contoso.com", `/resetpw adele@contoso.com --reason "locked out after phone change, INC0042"`)
	say("helpdesk@contoso.com", "/resetpw megan@contoso.com")
	say("helpdesk@contoso.com", "/resetpw nobody@contoso.com")
	say("helpdesk@contoso.com", "/resetpw adele")
	// A reason a spreadsheet would run as a formula, for the CSV export.
	say("helpdesk@contoso.com", "/resetpw lynne@contoso.com --reason =SUM(1+2) INC7")

	card := findCard(t, say("pat@contoso.com", `/resetpw ceo@contoso.com --reason "lost phone, verified by video call"`))
	id := cardID(t, card)
	say("pat@contoso.com", "approve "+id)
	say("sam@contoso.com", "approve "+id)

	card = findCard(t, say("pat@contoso.com", "/resetpw megan@contoso.com"))
	say("sam@contoso.com", "deny "+cardID(t, card)+" --reason not verified")
	findCard(t, say("pat@contoso.com", "/resetpw isaiah@contoso.com"))

	env.Clock.Advance(31 * time.Minute) // the isaiah approval expires; the password DMs are due
	env.Service.Tick(context.Background())

	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com", "ceo@contoso.com"} {
		for _, r := range env.Graph.Resets(upn) {
			passwords = append(passwords, r.Password)
		}
	}
	if len(passwords) != 3 {
		t.Fatalf("the day set %d passwords, want 3", len(passwords))
	}
	return passwords
}

func cardID(t testing.TB, text string) string {
	t.Helper()
	id := requestIDRe.FindString(text)
	if id == "" {
		t.Fatalf("no request ID in %q", text)
	}
	return id
}

func findCard(t testing.TB, seen []Seen) string {
	t.Helper()
	for _, s := range seen {
		if s.Where == "approvals" {
			return s.Text
		}
	}
	t.Fatalf("no approval card in %+v", seen)
	return ""
}
