// Package chattest holds the shared examples that lock every platform's renderer with golden files:
// one message of each kind the service says (an approval card in each of its states, the password
// DM, a refusal, the help), built by driving the real service through its one door, so a platform's
// golden file says "this is what the service says, on this platform". A change to what the service
// says shows up in every platform's golden files at once.
//
// The service is handed in (Service), not imported: chattest imports chat only, like chat itself,
// so the message model stays a leaf and no arrow runs back up from it. internal/scenariotest hands
// it a whole resetbot on the Graph simulator's Contoso tenant (Env.Examples), whose people the
// examples' story names.
package chattest

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/chat"
)

// Example is one message the service says, and where it says it.
type Example struct {
	Name    string // what kind of message it is, and the name of its golden files
	Surface chat.Surface
	Message chat.Message
}

// Service is the reset service as the examples need it: its one door, a way to be its chat
// platform, its timed work and its clock.
type Service struct {
	chat.Handler
	Attach  func(p chat.Platform, c chat.Chat) // makes c the chat platform p's messages go to
	Tick    func(ctx context.Context)          // runs the timed work (approval expiry)
	Advance func(d time.Duration)              // moves the service's clock forward
}

// What the examples show in place of what changes from run to run: the request ID the service drew
// and the temporary password it generated.
const (
	RequestID = "R-7F3K9Q"
	Password  = "Kx7#mP2q-Vt9wLr4"
)

// Reason is what the requester typed: markup a requester might type, to show each platform escapes
// it (a Slack mention and link, a Markdown link, an ampersand).
const Reason = "lost phone, verified by video call <!channel> & <https://evil.example|click> [see](https://evil.example/)"

// Examples has svc say one of each kind of message, the help as platform p words it, and returns
// them in a fixed order. The story: the helpdesk asks to reset a Global Administrator and is
// refused; Pat asks to reset the CEO, which needs approval; Sam approves it (the card updates, Pat
// gets the password by DM); Pat asks again and Sam denies it; Pat asks a third time and nobody
// answers in time.
func Examples(t testing.TB, svc Service, p chat.Platform) []Example {
	t.Helper()
	s := &story{t: t, svc: svc}
	svc.Attach(chat.PlatformShell, s)

	help := s.one(s.say(p, "helpdesk@contoso.com", "help"), "reply")
	refusal := s.one(s.say(chat.PlatformShell, "helpdesk@contoso.com", "/resetpw megan@contoso.com"), "reply")

	ask := `/resetpw ceo@contoso.com --reason "` + Reason + `"`
	pending := s.one(s.say(chat.PlatformShell, "pat@contoso.com", ask), "approvals")
	approvedNow := s.say(chat.PlatformShell, "sam@contoso.com", "approve "+requestOf(t, pending))
	approved, dm := s.last(approvedNow, "card"), s.one(withSecret(approvedNow), "dm:pat@contoso.com")

	again := s.one(s.say(chat.PlatformShell, "pat@contoso.com", ask), "approvals")
	denied := s.last(s.say(chat.PlatformShell, "sam@contoso.com", "deny "+requestOf(t, again)+" --reason not verified"), "card")

	s.one(s.say(chat.PlatformShell, "pat@contoso.com", ask), "approvals")
	svc.Advance(31 * time.Minute)
	expired := s.last(s.tick(), "card")

	// Answers of many lines: platforms that lose single line breaks must keep them apart.
	whoami := s.one(s.say(chat.PlatformShell, "helpdesk@contoso.com", "whoami"), "reply")
	audit := s.one(s.say(chat.PlatformShell, "sam@contoso.com", "audit"), "reply")

	return []Example{
		{"approval_pending", chat.SurfaceChannel, steady(pending)},
		{"approval_approved", chat.SurfaceChannel, steady(approved)},
		{"approval_denied", chat.SurfaceChannel, steady(denied)},
		{"approval_expired", chat.SurfaceChannel, steady(expired)},
		{"password_dm", chat.SurfaceDM, steady(dm)},
		{"refusal", chat.SurfaceReply, steady(refusal)},
		{"help", chat.SurfaceReply, steady(help)},
		{"whoami", chat.SurfaceReply, steady(whoami)},
		{"audit", chat.SurfaceReply, steady(audit)},
	}
}

// sent is one message the service sent: "reply" (to the sender), "dm:<upn>", "approvals" (a new
// card), "card" (a card updated in place).
type sent struct {
	where string
	m     chat.Message
}

// story plays the examples' story, keeping every message whole as the service sent it. It is the
// chat platform of the story's people.
type story struct {
	t   testing.TB
	svc Service

	mu   sync.Mutex
	sent []sent
}

func (s *story) add(where string, m chat.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, sent{where, m})
}

func (s *story) take() []sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sent
	s.sent = nil
	return out
}

// say hands the service what a person typed and returns what it sent because of it.
func (s *story) say(p chat.Platform, as, text string) []sent {
	s.t.Helper()
	in := chat.Incoming{Actor: chat.Actor{Platform: p, Tenant: "demo", UserID: as, Email: as, Name: as}, Text: text,
		Reply: chat.ReplierFunc(func(_ context.Context, m chat.Message) error { s.add("reply", m); return nil })}
	if err := s.svc.Handle(context.Background(), in); err != nil {
		s.t.Fatalf("%s: %q: %v", as, text, err)
	}
	return s.take()
}

// tick runs the service's timed work and returns what it sent.
func (s *story) tick() []sent {
	s.svc.Tick(context.Background())
	return s.take()
}

// one is the single message sent to where; the story fails without exactly one.
func (s *story) one(all []sent, where string) chat.Message {
	s.t.Helper()
	var found []chat.Message
	for _, x := range all {
		if x.where == where {
			found = append(found, x.m)
		}
	}
	if len(found) != 1 {
		s.t.Fatalf("the service sent %d messages to %s, want 1: %+v", len(found), where, all)
	}
	return found[0]
}

// withSecret keeps the messages that carry a secret.
func withSecret(all []sent) []sent {
	var out []sent
	for _, x := range all {
		if !x.m.Secret.IsZero() {
			out = append(out, x)
		}
	}
	return out
}

// last is the last message sent to where: a card's final state after the updates on the way.
func (s *story) last(all []sent, where string) chat.Message {
	s.t.Helper()
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].where == where {
			return all[i].m
		}
	}
	s.t.Fatalf("the service sent nothing to %s: %+v", where, all)
	return chat.Message{}
}

// DM implements chat.Chat.
func (s *story) DM(_ context.Context, to chat.Actor, m chat.Message) (chat.MessageRef, error) {
	s.add("dm:"+to.UserID, m)
	return chat.MessageRef{Platform: to.Platform, Channel: "D-" + to.UserID, ID: "dm"}, nil
}

// PostApproval implements chat.Chat.
func (s *story) PostApproval(_ context.Context, m chat.Message) (chat.MessageRef, error) {
	s.add("approvals", m)
	return chat.MessageRef{Platform: chat.PlatformShell, Channel: "approvals", ID: "card"}, nil
}

// Update implements chat.Chat.
func (s *story) Update(_ context.Context, _ chat.MessageRef, m chat.Message) error {
	s.add("card", m)
	return nil
}

// Withdraw implements chat.Chat.
func (s *story) Withdraw(context.Context, chat.MessageRef) error { return nil }

// requestOf is the request an approval card's buttons carry.
func requestOf(t testing.TB, card chat.Message) string {
	t.Helper()
	for _, b := range card.Buttons {
		if b.RequestID != "" {
			return b.RequestID
		}
	}
	t.Fatalf("the approval card carries no request ID: %+v", card)
	return ""
}

// requestIDs are the IDs the service draws for requests (bot: "R-" and six of Crockford's base32).
var requestIDs = regexp.MustCompile(`\bR-[0-9A-HJKMNP-TV-Z]{6}\b`)

// steady puts RequestID for the request ID and Password for the temporary password, so an example
// is the same on every run.
func steady(m chat.Message) chat.Message {
	fix := func(s string) string { return requestIDs.ReplaceAllString(s, RequestID) }
	m.Title, m.Text, m.Footer = fix(m.Title), fix(m.Text), fix(m.Footer)
	m.Fields = append([]chat.Field(nil), m.Fields...)
	for i, f := range m.Fields {
		m.Fields[i] = chat.Field{Label: fix(f.Label), Value: fix(f.Value)}
	}
	m.Buttons = append([]chat.Button(nil), m.Buttons...)
	for i, b := range m.Buttons {
		b.RequestID, b.Confirm = fix(b.RequestID), fix(b.Confirm)
		m.Buttons[i] = b
	}
	if !m.Secret.IsZero() {
		m.Secret = chat.NewSecret(Password)
	}
	return m
}
