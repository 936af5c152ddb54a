package chat

import (
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// Message is what the bot says, in no platform's format. Each adapter renders a View of it: Block Kit
// for Slack, Adaptive Cards for Teams, plain text for the terminal.
type Message struct {
	Title  string  // one line, may start with an emoji: "✅ Reset Adele Vance"
	Text   string  // body, short paragraphs separated by blank lines; *bold* is the only markup
	Fields []Field // label/value pairs, shown as a small table
	// Secret is a value to show in a copyable monospace block. It is shown only in a direct message
	// (see ViewOn); anywhere else it is dropped, whatever the caller asked.
	Secret  Secret
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
	// ActionVerify is the agent choosing how the caller is verified: the ID carries the choice,
	// R-7F3K9Q:chat, R-7F3K9Q:manager or R-7F3K9Q:skip.
	ActionVerify Action = "verify"
	// ActionPick is the target tapping one of the numbers sent to them: R-7F3K9Q:42.
	ActionPick Action = "pick"
	// ActionConfirm and ActionDispute are the target's manager saying the caller is, or is not, the
	// target.
	ActionConfirm Action = "confirm"
	ActionDispute Action = "dispute"
	// ActionWasntMe is the target saying they did not ask for the reset they were told of.
	ActionWasntMe Action = "wasntme"
)

// Actions are every action a button may carry: adapters accept a click only for one of them.
var Actions = []Action{ActionApprove, ActionDeny, ActionRun, ActionCancel, ActionVerify, ActionPick, ActionConfirm, ActionDispute, ActionWasntMe}

// MaxButtonID is the longest ID a button carries (a request ID and a choice).
const MaxButtonID = 20

// Button carries only an action and an opaque request ID: never a command, never authority. A
// click is re-authorised from scratch as the person who clicked.
type Button struct {
	Label  string
	Action Action
	// RequestID is the request the button is about, with a choice after a colon where the action
	// takes one (R-7F3K9Q:42); at most MaxButtonID characters, no spaces.
	RequestID string
	Primary   bool
	Danger    bool
	Confirm   string // when set, the platform asks "are you sure?" with this text first
	// URL makes the button a link (a sign-in page): it opens the URL and sends the bot nothing, so it
	// has no Action or RequestID.
	URL string
	// Input, when set, is a one-line text box that goes with the button (a deny's reason): what
	// the person typed comes back with the click as Incoming.Input. The terminal, which has no
	// boxes, shows the command's option instead.
	Input *Input
}

// Input is a one-line text box on a card. Its text is the person's own words, never authority.
type Input struct {
	Label       string // "Reason (optional)"
	Placeholder string
	MaxLength   int    // the platform stops the typing here; the service checks again
	Option      string // the typed command's option that carries the same text: "--reason"
}

// Secret is a value only its recipient may see (a temporary password, a results file of them). It
// redacts itself wherever it could leak by accident: fmt verbs, slog, JSON. Only Reveal gives it.
type Secret struct{ value string }

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the value itself.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether no value is held.
func (s Secret) IsZero() bool { return s.value == "" }

const redacted = "[redacted]"

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Surface is where a message appears, which decides what of it may be shown.
type Surface int

const (
	// SurfaceReply is an answer to the person who asked, in the conversation they asked in (Slack
	// ephemeral or response_url, the Teams conversation, the terminal).
	SurfaceReply Surface = iota
	// SurfaceChannel is a channel many people read: approval cards, digests.
	SurfaceChannel
	// SurfaceDM is a direct message to one person: the only place a secret is shown.
	SurfaceDM
)

// View is a message as it may appear on one surface: what every renderer takes. Its embedded
// Message never holds the secret; SecretText gives it, and only on a DM.
type View struct {
	Message
	Surface Surface
	secret  string
}

// ViewOn decides what of m may appear on s. This is the one place the rule "a secret only in a
// direct message" is decided.
func ViewOn(m Message, s Surface) View {
	v := View{Message: m, Surface: s}
	if s == SurfaceDM {
		v.secret = m.Secret.Reveal()
	}
	v.Message.Secret = Secret{}
	return v
}

// SecretText is the secret to show: empty unless the view is a direct message.
func (v View) SecretText() string { return v.secret }

// IsCard reports whether the message is more than a line of text: it has fields, buttons or a
// secret, so platforms give it a header.
func (v View) IsCard() bool { return len(v.Fields) > 0 || len(v.Buttons) > 0 || v.secret != "" }

// Paragraphs splits the text at blank lines (single newlines stay inside a paragraph), dropping
// empty ones: platforms that lose single line breaks (Teams) show each paragraph on its own.
func (m Message) Paragraphs() []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Table is a small grid of short cells that every platform shows in a fixed-width font, so columns
// and bar charts made of block characters line up: Slack in a code block, Teams in a monospace
// text block, the terminal as it is.
type Table struct {
	Header []string
	Rows   [][]string
	// Right lists the columns aligned right (numbers).
	Right []int
}

// Lines lays the table out: columns padded to their widest cell (counted in runes), two spaces
// between them, trailing spaces trimmed.
func (t *Table) Lines() []string {
	if t == nil {
		return nil
	}
	all := append([][]string{t.Header}, t.Rows...)
	var width []int
	for _, row := range all {
		for i, c := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	right := map[int]bool{}
	for _, i := range t.Right {
		right[i] = true
	}
	var out []string
	for n, row := range all {
		if n == 0 && len(row) == 0 {
			continue
		}
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if right[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	return out
}

// String is the table's lines joined by newlines.
func (t *Table) String() string { return strings.Join(t.Lines(), "\n") }

// Attachment is a file that goes with a message (the digest's CSV, a list's results). The content
// is read through Open, once per platform that posts it, so a large file is never held in memory.
type Attachment struct {
	Name  string // file name, e.g. resetbot-digest-2026-11-28.csv
	Title string // what the file is, in words
	Size  int64
	Open  func() (io.ReadCloser, error)
	// Again is the command that gets the same file again, for platforms that cannot carry files
	// (Teams channel posts).
	Again string
}
