package bot

import "context"

// Message is what the bot says, in no platform's format. Each adapter renders it: Block Kit for
// Slack, Adaptive Cards for Teams, plain text for the terminal.
type Message struct {
	Title   string  // one line, may start with an emoji: "✅ Reset Adele Vance"
	Text    string  // body, short paragraphs; *bold* is the only markup
	Fields  []Field // label/value pairs, shown as a small table
	Secret  string  // a value to show in a copyable monospace block; only ever set on DMs
	Buttons []Button
	Footer  string // small print: request ID, expiry
	// Table is a small grid shown in a fixed-width font (a digest's counts and bars); nil on most
	// messages. Never a secret.
	Table *Table
}

// Field is one label/value pair of a message.
type Field struct {
	Label string
	Value string
}

// Action is what a button asks the bot to do.
type Action string

const (
	ActionApprove Action = "approve"
	ActionDeny    Action = "deny"
	ActionRun     Action = "run"    // go ahead with a previewed list (the ID is a B-… list ID)
	ActionCancel  Action = "cancel" // drop a previewed list
)

// Button carries only an action and an opaque request ID: never a command, never authority. A
// click is re-authorised from scratch as the person who clicked.
type Button struct {
	Label     string
	Action    Action
	RequestID string
	Primary   bool
	Danger    bool
	Confirm   string // when set, the platform asks "are you sure?" with this text first
}

// MessageRef says where a sent message lives so it can be updated or withdrawn later.
type MessageRef struct {
	Platform Platform `json:"platform"`
	Channel  string   `json:"channel"` // Slack channel/DM ID, Teams conversation ID
	ID       string   `json:"id"`      // Slack ts, Teams activity ID
	// ServiceURL is Teams' regional endpoint for the conversation.
	ServiceURL string `json:"service_url,omitempty"`
}

// IsZero reports whether the reference points nowhere.
func (r MessageRef) IsZero() bool { return r.ID == "" && r.Channel == "" }

// Replier answers the person who sent a command, visible only to them (Slack ephemeral or
// response_url, the Teams conversation or invoke response, the terminal).
type Replier interface {
	Reply(ctx context.Context, m Message) error
}

// ReplierFunc adapts a function to Replier.
type ReplierFunc func(ctx context.Context, m Message) error

// Reply calls f.
func (f ReplierFunc) Reply(ctx context.Context, m Message) error { return f(ctx, m) }

// Chat is what the bot needs from a platform beyond replying: private messages, the approvals
// channel, and changing what it has already sent.
type Chat interface {
	// DM sends a direct message to a person. This is the only way a temporary password leaves the bot.
	DM(ctx context.Context, to Actor, m Message) (MessageRef, error)
	// PostApproval posts an approval card to the configured approvals channel.
	PostApproval(ctx context.Context, m Message) (MessageRef, error)
	// Update replaces a message the bot sent, in place.
	Update(ctx context.Context, ref MessageRef, m Message) error
	// Withdraw removes a DM that held a temporary password: Slack deletes it, Teams replaces it
	// with a note that it has expired.
	Withdraw(ctx context.Context, ref MessageRef) error
}

// Observer hears what the service does, for metrics. It is told outcomes only, never who or what.
type Observer interface {
	Command(p Platform)
	Decided(v Verdict)
	ResetFinished(outcome string) // "done", or the failure's ErrorKind
}

type noObserver struct{}

func (noObserver) Command(Platform)     {}
func (noObserver) Decided(Verdict)      {}
func (noObserver) ResetFinished(string) {}
