package teams

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/chat"
)

// Adaptive Cards are how resetbot speaks in Teams. Version 1.4 is the least that has Action.Execute
// (Universal Actions: the click comes back as an invoke the bot answers with the refreshed card);
// every Action.Execute carries an Action.Submit fallback for clients that predate it.
const (
	cardContentType = "application/vnd.microsoft.card.adaptive"
	cardSchema      = "http://adaptivecards.io/schemas/adaptive-card.json"
	cardVersion     = "1.4"
)

// Card is an Adaptive Card: only the parts resetbot uses, in a fixed field order so the golden files
// read well.
type Card struct {
	Schema  string       `json:"$schema,omitempty"`
	Type    string       `json:"type"`
	Version string       `json:"version,omitempty"`
	Body    []Element    `json:"body"`
	Actions []CardAction `json:"actions,omitempty"`
}

// Element is a body element: TextBlock, FactSet, RichTextBlock or Container.
type Element struct {
	Type      string    `json:"type"`
	Text      string    `json:"text,omitempty"`
	Size      string    `json:"size,omitempty"`
	Weight    string    `json:"weight,omitempty"`
	IsSubtle  bool      `json:"isSubtle,omitempty"`
	Wrap      bool      `json:"wrap,omitempty"`
	Spacing   string    `json:"spacing,omitempty"`
	Separator bool      `json:"separator,omitempty"`
	Style     string    `json:"style,omitempty"`
	FontType  string    `json:"fontType,omitempty"`
	Facts     []Fact    `json:"facts,omitempty"`
	Inlines   []TextRun `json:"inlines,omitempty"`
	Items     []Element `json:"items,omitempty"`
	// An Input.Text's: what it is called in the action's data, and what it shows.
	ID          string `json:"id,omitempty"`
	Label       string `json:"label,omitempty"`
	Placeholder string `json:"placeholder,omitempty"`
	MaxLength   int    `json:"maxLength,omitempty"`
}

// Fact is one row of a FactSet.
type Fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// TextRun is literal text inside a RichTextBlock: unlike a TextBlock it is never read as markdown,
// which is what a password needs (a "*" or "_" in it must show as typed).
type TextRun struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	FontType string `json:"fontType,omitempty"`
	Size     string `json:"size,omitempty"`
	Weight   string `json:"weight,omitempty"`
}

// CardAction is a button: Action.Execute with an Action.Submit fallback, or Action.ShowCard.
type CardAction struct {
	Type     string      `json:"type"`
	Title    string      `json:"title"`
	Verb     string      `json:"verb,omitempty"`
	Data     *ActionData `json:"data,omitempty"`
	Style    string      `json:"style,omitempty"`
	URL      string      `json:"url,omitempty"` // Action.OpenUrl
	Card     *Card       `json:"card,omitempty"`
	Fallback *CardAction `json:"fallback,omitempty"`
}

// ActionData is all a button carries: the opaque request ID, and for the Action.Submit fallback
// (which has no verb) the action. Never a command, never authority: a click is re-authorised as the
// person who clicked.
type ActionData struct {
	Action    string `json:"action,omitempty"`
	RequestID string `json:"requestId"`
}

// Render turns a view of a neutral message into an Adaptive Card.
func Render(m chat.View) Card {
	c := Card{Schema: cardSchema, Type: "AdaptiveCard", Version: cardVersion}
	if m.Title != "" {
		c.Body = append(c.Body, Element{Type: "TextBlock", Text: markdown(m.Title), Size: "Medium", Weight: "Bolder", Wrap: true})
	}
	c.Body = append(c.Body, paragraphs(m.Message)...)
	if secret := m.SecretText(); secret != "" {
		c.Body = append(c.Body, Element{Type: "Container", Style: "emphasis", Items: []Element{{
			Type:    "RichTextBlock",
			Inlines: []TextRun{{Type: "TextRun", Text: secret, FontType: "Monospace", Size: "Large", Weight: "Bolder"}},
		}}})
	}
	c.Body = append(c.Body, table(m.Table)...)
	c.Body = append(c.Body, fields(m.Fields)...)
	if m.Footer != "" {
		c.Body = append(c.Body, Element{Type: "TextBlock", Text: markdown(m.Footer), Size: "Small", IsSubtle: true, Wrap: true, Spacing: "Medium"})
	}
	for _, b := range m.Buttons {
		c.Actions = append(c.Actions, button(b))
	}
	if c.Body == nil {
		c.Body = []Element{}
	}
	return c
}

// paragraphs renders the body. A TextBlock's markdown joins single line breaks into one run-on
// paragraph, so each paragraph is a TextBlock of its own and each further line of it one more,
// set close under the line before: a list or a set of counts reads as the service wrote it.
func paragraphs(m chat.Message) []Element {
	var out []Element
	for _, p := range m.Paragraphs() {
		for i, l := range strings.Split(p, "\n") {
			if l = strings.TrimSpace(l); l == "" {
				continue
			}
			e := Element{Type: "TextBlock", Text: markdown(l), Wrap: true}
			if i > 0 {
				e.Spacing = "None"
			}
			out = append(out, e)
		}
	}
	return out
}

// table renders a chat.Table as one monospace TextBlock per line, in an emphasis container. Spaces
// become no-break spaces, which markdown does not collapse, so the columns and bars line up.
func table(t *chat.Table) []Element {
	lines := t.Lines()
	if len(lines) == 0 {
		return nil
	}
	box := Element{Type: "Container", Style: "emphasis", Spacing: "Medium"}
	for i, l := range lines {
		e := Element{Type: "TextBlock", Text: strings.ReplaceAll(plain(l), " ", "\u00a0"), FontType: "Monospace", Size: "Small", Spacing: "None"}
		if i == 0 {
			e.Weight = "Bolder"
		}
		box.Items = append(box.Items, e)
	}
	return []Element{box}
}

// fields are a FactSet when the labels are short (the approval card); long labels (the help's
// command forms) would squeeze the values into a sliver, so those become label/value paragraphs.
func fields(fs []chat.Field) []Element {
	if len(fs) == 0 {
		return nil
	}
	short := true
	for _, f := range fs {
		if len([]rune(f.Label)) > 24 {
			short = false
		}
	}
	if short {
		set := Element{Type: "FactSet"}
		for _, f := range fs {
			set.Facts = append(set.Facts, Fact{Title: plain(f.Label), Value: plain(f.Value)})
		}
		return []Element{set}
	}
	var out []Element
	for _, f := range fs {
		out = append(out,
			Element{Type: "TextBlock", Text: plain(f.Label), Weight: "Bolder", Wrap: true, Spacing: "Medium"},
			Element{Type: "TextBlock", Text: plain(f.Value), Wrap: true, Spacing: "None"})
	}
	return out
}

// button renders a chat.Button. Teams shows no confirmation dialog for Action.Execute, so a button
// with Confirm becomes an Action.ShowCard: the first click opens the question inside the card, the
// second ("Yes, …") sends the action. No round trip and no state: the card carries the question.
// A button with a text box opens the same way, onto the box and the button that sends it: Teams
// puts what was typed into the action's data (inputID).
func button(b chat.Button) CardAction {
	if b.URL != "" {
		return CardAction{Type: "Action.OpenUrl", Title: b.Label, URL: b.URL, Style: style(b)}
	}
	exec := CardAction{
		Type:  "Action.Execute",
		Title: b.Label,
		Verb:  string(b.Action),
		Data:  &ActionData{RequestID: b.RequestID},
		Style: style(b),
		Fallback: &CardAction{Type: "Action.Submit", Title: b.Label,
			Data: &ActionData{Action: string(b.Action), RequestID: b.RequestID}, Style: style(b)},
	}
	if b.Confirm == "" && b.Input == nil {
		return exec
	}
	var body []Element
	if b.Confirm != "" {
		exec.Title = "Yes, " + lowerFirst(b.Label)
		exec.Fallback.Title = exec.Title
		body = append(body, Element{Type: "TextBlock", Text: plain(b.Confirm), Wrap: true})
	}
	if in := b.Input; in != nil {
		body = append(body, Element{Type: "Input.Text", ID: inputID, Label: plain(in.Label), Placeholder: plain(in.Placeholder), MaxLength: in.MaxLength})
	}
	return CardAction{
		Type:  "Action.ShowCard",
		Title: b.Label,
		Style: style(b),
		Card:  &Card{Type: "AdaptiveCard", Body: body, Actions: []CardAction{exec}},
	}
}

func lowerFirst(s string) string {
	r := []rune(s)
	if len(r) > 0 {
		r[0] = unicode.ToLower(r[0])
	}
	return string(r)
}

func style(b chat.Button) string {
	switch {
	case b.Danger:
		return "destructive"
	case b.Primary:
		return "positive"
	}
	return ""
}

var boldRe = regexp.MustCompile(`\*([^*\n]+)\*`)

// markdown turns the message model's one markup, *bold*, into Adaptive Card markdown (**bold**),
// after neutralising anything else in it that Teams would read as markdown.
func markdown(s string) string {
	return boldRe.ReplaceAllString(plain(s), "**$1**")
}

// plain keeps text people typed (a reason, a name) from becoming markup in a card: Teams renders
// markdown links in TextBlocks and FactSets, and an approval card must not carry a clickable link
// somebody slipped into a reason. A zero-width space between "]" and "(" breaks the link syntax
// and shows nothing.
func plain(s string) string {
	return strings.ReplaceAll(s, "](", "]\u200b(")
}

// cardActivity is a message activity carrying the message as a card. Its summary (what a
// notification shows) is the title, which never holds a secret.
func cardActivity(v chat.View) botframework.Activity {
	return botframework.Activity{Type: typeMessage, Summary: botframework.Truncate(v.Title, 200),
		Attachments: []schema.Attachment{{ContentType: cardContentType, Content: Render(v)}}}
}

// CardText flattens a card to the text a person sees, one element per line, buttons as [Label]:
// for tests, and for the short message an invoke answers with.
func CardText(c Card) string {
	var b strings.Builder
	var walk func(es []Element)
	walk = func(es []Element) {
		for _, e := range es {
			switch e.Type {
			case "TextBlock":
				line(&b, strings.ReplaceAll(e.Text, "**", ""))
			case "FactSet":
				for _, f := range e.Facts {
					line(&b, f.Title+"  "+f.Value)
				}
			case "RichTextBlock":
				var s strings.Builder
				for _, r := range e.Inlines {
					s.WriteString(r.Text)
				}
				line(&b, s.String())
			}
			walk(e.Items)
		}
	}
	walk(c.Body)
	var actions []string
	var shown []Card
	for _, a := range c.Actions {
		actions = append(actions, "["+a.Title+"]")
		if a.Card != nil {
			shown = append(shown, *a.Card)
		}
	}
	if len(actions) > 0 {
		line(&b, strings.Join(actions, "  "))
	}
	for _, s := range shown {
		line(&b, CardText(s))
	}
	return strings.TrimSpace(strings.ReplaceAll(b.String(), "\u200b", ""))
}

func line(b *strings.Builder, s string) {
	if s == "" {
		return
	}
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	b.WriteString(s)
}

// messageText is a message as one short paragraph, for the invoke answers that carry text only.
func messageText(m chat.Message) string {
	parts := []string{}
	for _, s := range []string{m.Title, m.Text} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return botframework.Truncate(strings.Join(parts, " "), 1000)
}
