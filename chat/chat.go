// Package chat is the bot's neutral message model: who is talking (Actor), what they said, clicked
// or sent (Incoming), what the bot says (Message) and where it may appear (Surface). Each platform
// adapter renders a View of a Message in its own format; the rule that a secret appears only in a
// direct message is decided here, in ViewOn, and nowhere else.
//
// chat is a leaf: it imports nothing of resetbot's, so a renderer never depends on the reset service.
package chat

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Platform is where a person talks to the bot.
type Platform string

const (
	PlatformShell Platform = "shell"
	PlatformSlack Platform = "slack"
	PlatformTeams Platform = "teams"
)

// Actor is a person as a chat platform knows them, keyed by immutable IDs, never by display names.
type Actor struct {
	Platform Platform
	Tenant   string // Slack team_id, Teams tenant ID, "demo" in the terminal
	UserID   string // Slack user_id, Teams aadObjectId, the persona's UPN in the terminal
	// ObjectID is the Entra object ID when the platform vouches for it (Teams signs aadObjectId).
	ObjectID string
	// Email is the profile email when the platform gives one (Slack users:read.email); it maps the
	// person to Entra when no object ID is known.
	Email string
	Name  string // for messages only; never used to decide anything
	// TimeZone is the person's IANA time zone when the platform tells it (Slack profile tz, Teams
	// localTimezone); empty when unknown. Only used to show times.
	TimeZone string
}

// Key is the actor's stable identity key.
func (a Actor) Key() string { return string(a.Platform) + ":" + a.Tenant + ":" + a.UserID }

// DirectoryRef is what the directory is asked for to find this person in Entra.
func (a Actor) DirectoryRef() string {
	if a.ObjectID != "" {
		return a.ObjectID
	}
	return a.Email
}

// Location is the actor's time zone, or def when the platform did not say or named an unknown zone.
func (a Actor) Location(def *time.Location) *time.Location {
	if a.TimeZone != "" {
		if loc, err := time.LoadLocation(a.TimeZone); err == nil {
			return loc
		}
	}
	return def
}

// Incoming is one thing a person said, clicked or sent: the only thing an adapter hands the service.
type Incoming struct {
	Actor Actor
	// Text is the command text; a button click arrives as "approve R-…" (see Click).
	Text string
	// Input is what the person typed in the text box of the button they clicked (Button.Input):
	// a deny's reason. Empty for typed commands, which carry it in Text.
	Input string
	// File is a file sent with the text (a CSV list of users), nil when none.
	File *File
	// Shared is true when the conversation is seen by others (a channel, a group chat): answers meant
	// for one person then go to their direct messages, with only a pointer in the conversation.
	Shared bool
	// IdempotencyKey identifies the delivery (Slack trigger or envelope, Teams activity ID): a
	// second delivery with the same key does nothing. Empty for sources that never repeat.
	IdempotencyKey string
	Reply          Replier
}

// MaxFileBytes is the largest file the service takes. Adapters read at most one byte more, so the
// service can say that a file is too large rather than read part of it.
const MaxFileBytes = 4 << 20

// File is a file a person sent: its name as they named it and its bytes, read by the adapter up to
// MaxFileBytes+1.
type File struct {
	Name string
	Data []byte
}

// Click turns a button press into the same Incoming a typed command would be.
func Click(actor Actor, action Action, requestID, idempotencyKey string, reply Replier) Incoming {
	return Incoming{Actor: actor, Text: string(action) + " " + requestID, IdempotencyKey: idempotencyKey, Reply: reply}
}

// Handler is the one door of the reset service: every adapter hands it every Incoming.
type Handler interface {
	Handle(ctx context.Context, in Incoming) error
}

// Replier answers the person who sent a command, visible only to them (Slack ephemeral or
// response_url, the Teams conversation or invoke response, the terminal).
type Replier interface {
	Reply(ctx context.Context, m Message) error
}

// ReplierFunc adapts a function to Replier.
type ReplierFunc func(ctx context.Context, m Message) error

// Reply calls f.
func (f ReplierFunc) Reply(ctx context.Context, m Message) error { return f(ctx, m) }

// Reviser is a Replier that can change an answer after it was sent, in place: Teams updates the
// activity, Slack replaces the message through its response_url. Platforms that cannot (the
// terminal) are plain Repliers, and their next answer is a new message.
type Reviser interface {
	Replier
	// ReplyRevisable sends m and returns what replaces it later with another message.
	ReplyRevisable(ctx context.Context, m Message) (revise func(context.Context, Message) error, err error)
}

// InPlace is a Replier each of whose answers replaces the one before it where r can revise (a
// "⏳ Resetting …" that becomes "✅ Reset …"), and is a new message where it cannot or the revision
// fails.
func InPlace(r Replier) Replier { return &inPlace{r: r} }

type inPlace struct {
	r      Replier
	mu     sync.Mutex
	revise func(context.Context, Message) error
}

func (p *inPlace) Reply(ctx context.Context, m Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.revise != nil {
		if err := p.revise(ctx, m); err == nil {
			return nil
		}
	}
	rv, ok := p.r.(Reviser)
	if !ok {
		p.revise = nil
		return p.r.Reply(ctx, m)
	}
	revise, err := rv.ReplyRevisable(ctx, m)
	p.revise = revise
	return err
}

// Vocabulary is how a platform names what the bot speaks of, so that what the service says reads
// as the platform does: the app's name, how commands are typed, where private messages are and
// what the approvals channel is called. A platform's Chat that is a Speaker gives its own; others
// get the service's defaults (Slack's words).
type Vocabulary struct {
	App     string // the app's name as people see it: "resetbot", "ResetPW"
	Reset   string // how a reset is typed, before the user: "/resetpw", "resetpw"
	Command string // what goes before any other command (status, help): "/resetpw ", or "" for bare words
	// YourDM is a person's private chat with the bot, said to them: "your DMs", "this chat".
	YourDM string
	// ByDM is how something reaches the reader privately ("by DM", "in this chat"); TheirDM how it
	// reaches someone else ("by DM", "in their chat with ResetPW").
	ByDM, TheirDM string
	// Approvals is the approvals channel as its readers know it: "#approvals", "IT › approvals".
	// Empty: the service's configured name.
	Approvals string
	// SendFile says how to send the bot a list file.
	SendFile string
}

// Speaker is a Chat that words the bot's messages for its platform.
type Speaker interface {
	Vocabulary() Vocabulary
}

// Chat is what the bot needs from a platform beyond replying: private messages, the approvals
// channel, and changing what it has already sent.
type Chat interface {
	// DM sends a direct message to a person. This is the only way a secret leaves the bot.
	DM(ctx context.Context, to Actor, m Message) (MessageRef, error)
	// PostApproval posts an approval card to the configured approvals channel.
	PostApproval(ctx context.Context, m Message) (MessageRef, error)
	// Update replaces a message the bot sent, in place.
	Update(ctx context.Context, ref MessageRef, m Message) error
	// Withdraw removes a DM that held a secret: Slack deletes it, Teams replaces it with a note that
	// it has expired.
	Withdraw(ctx context.Context, ref MessageRef) error
}

// Person is someone in the directory the bot writes to first, who has not written to it: the target
// of a reset, their manager.
type Person struct {
	ObjectID string // Entra object ID
	UPN      string
	Mail     string
}

// ErrUnreachable is a person with no chat account the bot can write to on a platform: none found, a
// deactivated one, one of another organisation.
var ErrUnreachable = errors.New("no chat account the bot can write to")

// Reacher is a Chat that can find a person's own chat account from their Entra identity, so the bot
// can tell them something (their password was reset) or ask them something (which number the
// helpdesk read them). The account may be only as sure as the platform's identity is: Teams signs
// the Entra object ID; a Slack account is found by its email.
type Reacher interface {
	// Reach returns the person's chat account, or an error wrapping ErrUnreachable.
	Reach(ctx context.Context, p Person) (Actor, error)
}

// FileSender is a Chat that can send a person a file in a direct message (a list's results). Where a
// platform cannot, the service says how to get the file instead.
type FileSender interface {
	DMFile(ctx context.Context, to Actor, m Message, f *Attachment) error
}

// AuditPoster posts to a platform's audit channel (Slack RESETBOT_AUDIT_CHANNEL, the Teams audit
// conversation, the terminal). A digest never holds a secret.
type AuditPoster interface {
	PostDigest(ctx context.Context, m Message, csv *Attachment) error
}

// MessageRef says where a sent message lives so it can be updated or withdrawn later.
type MessageRef struct {
	Platform Platform `json:"platform"`
	Channel  string   `json:"channel"` // Slack channel/DM ID, Teams conversation ID
	ID       string   `json:"id"`      // Slack ts, Teams activity ID
	// Route is the platform's own routing data for the conversation (Teams: its regional service
	// URL), opaque to everyone but the adapter that wrote it.
	Route string `json:"route,omitempty"`
}

// IsZero reports whether the reference points nowhere.
func (r MessageRef) IsZero() bool { return r.ID == "" && r.Channel == "" }
