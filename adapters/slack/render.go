package slack

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/chat"
)

// Block Kit limits (docs.slack.dev/reference/block-kit): what each piece may hold.
const (
	maxHeader       = 150  // header block plain_text
	maxSectionText  = 3000 // section text
	maxFieldText    = 2000 // one section field
	maxFields       = 10   // fields in one section
	maxBlocks       = 50   // blocks in one message
	maxConfirmText  = 300  // confirmation dialog text
	maxButtonLabel  = 75   // button text
	maxPlaceholder  = 150  // a text box's placeholder
	maxFallbackText = 3000 // what we put in `text`; Slack allows more, notifications show far less
)

// Rendered is a message as Slack takes it: blocks for the eye, and text for notifications, screen
// readers and clients that show no blocks. The text never holds the secret, so a password never appears
// in a notification preview or on a lock screen.
type Rendered struct {
	Text   string          `json:"text"`
	Blocks []slackgo.Block `json:"blocks"`
}

// Render lays a view of a chat.Message out in Block Kit. A card (fields, buttons or a secret) gets a header; a reply
// gets its title in bold. Everything the bot did not write itself (names, reasons, file names) is
// escaped, so nobody can slip a mention or a link into a card.
func Render(m chat.View) Rendered {
	var blocks []slackgo.Block
	card := m.IsCard()
	if t := strings.TrimSpace(m.Title); t != "" {
		if card && utf8.RuneCountInString(t) <= maxHeader {
			blocks = append(blocks, slackgo.NewHeaderBlock(plain(t)))
		} else {
			blocks = append(blocks, section("*"+escape(t)+"*"))
		}
	}
	if secret := m.SecretText(); secret != "" {
		// Right under the title, in a code block so it can be copied exactly; long secrets (a list's
		// results) take several.
		for _, chunk := range chunks(escape(secret), maxSectionText-8) {
			blocks = append(blocks, section("```"+chunk+"```"))
		}
	}
	for _, chunk := range chunks(escape(strings.TrimSpace(m.Text)), maxSectionText) {
		blocks = append(blocks, section(chunk))
	}
	if lines := m.Table.Lines(); len(lines) > 0 {
		// A code block keeps the columns and bars aligned.
		for _, chunk := range chunks(escape(strings.Join(lines, "\n")), maxSectionText-8) {
			blocks = append(blocks, section("```"+chunk+"```"))
		}
	}
	for start := 0; start < len(m.Fields); start += maxFields {
		var fields []*slackgo.TextBlockObject
		for _, f := range m.Fields[start:min(start+maxFields, len(m.Fields))] {
			fields = append(fields, mrkdwn(clip("*"+escape(f.Label)+"*\n"+escape(f.Value), maxFieldText)))
		}
		blocks = append(blocks, slackgo.NewSectionBlock(nil, fields, nil))
	}
	var tail []slackgo.Block
	if len(m.Buttons) > 0 {
		tail = append(tail, inputs(m.Buttons)...)
		tail = append(tail, buttons(m.Buttons))
	}
	if f := strings.TrimSpace(m.Footer); f != "" {
		tail = append(tail, slackgo.NewContextBlock("", mrkdwn(clip(escape(f), maxSectionText))))
	}
	if len(blocks)+len(tail) > maxBlocks {
		// Slack refuses a message of more than 50 blocks. Cut the body, never the buttons or the
		// footer (an approval card without its buttons could not be decided), and say so.
		cut := len(blocks) - (maxBlocks - len(tail) - 1)
		blocks = append(blocks[:maxBlocks-len(tail)-1],
			section(fmt.Sprintf("_… %d more parts did not fit in one Slack message._", cut)))
	}
	return Rendered{Text: fallbackText(m), Blocks: append(blocks, tail...)}
}

// fallbackText is the title and body, never the secret.
func fallbackText(m chat.View) string {
	parts := []string{strings.TrimSpace(m.Title)}
	if t := strings.TrimSpace(m.Text); t != "" {
		parts = append(parts, t)
	}
	return clip(escape(strings.Join(parts, "\n")), maxFallbackText)
}

// buttons renders a message's buttons in one actions block. A button's value is only the request or
// list ID; the action ID says what it does. Approval cards and list previews get their own block IDs.
func buttons(bs []chat.Button) *slackgo.ActionBlock {
	blockID := blockApproval
	var elems []slackgo.BlockElement
	used := map[string]int{}
	for _, b := range bs {
		if b.URL != "" {
			// A link: Slack opens it and still tells the bot, under an action ID that is none of ours,
			// so the click is acknowledged and ignored.
			link := slackgo.NewButtonBlockElement(actionPrefix+"link", "", plain(clip(b.Label, maxButtonLabel)))
			link.URL = b.URL
			if b.Primary {
				link = link.WithStyle(slackgo.StylePrimary)
			}
			elems = append(elems, link)
			continue
		}
		switch b.Action {
		case chat.ActionRun, chat.ActionCancel:
			blockID = blockList
		case chat.ActionVerify, chat.ActionPick, chat.ActionConfirm, chat.ActionDispute:
			blockID = blockVerify
		case chat.ActionWasntMe:
			blockID = blockNotice
		}
		actionID := actionPrefix + string(b.Action)
		if n := used[actionID]; n > 0 {
			actionID += "#" + strconv.Itoa(n)
		}
		used[actionPrefix+string(b.Action)]++
		btn := slackgo.NewButtonBlockElement(actionID, b.RequestID, plain(clip(b.Label, maxButtonLabel)))
		switch {
		case b.Primary:
			btn = btn.WithStyle(slackgo.StylePrimary)
		case b.Danger:
			btn = btn.WithStyle(slackgo.StyleDanger)
		}
		if b.Confirm != "" {
			btn = btn.WithConfirm(slackgo.NewConfirmationBlockObject(
				plain("Are you sure?"), mrkdwn(clip(escape(b.Confirm), maxConfirmText)),
				plain(clip(b.Label, 30)), plain("Cancel")))
		}
		elems = append(elems, btn)
	}
	return slackgo.NewActionBlock(blockID, elems...)
}

// inputs renders the text box a button takes (a deny's reason) as an input block above the
// buttons. Slack sends what was typed with the click, in the payload's state (reasonBlock).
func inputs(bs []chat.Button) []slackgo.Block {
	var out []slackgo.Block
	for _, b := range bs {
		if b.Input == nil {
			continue
		}
		box := slackgo.NewPlainTextInputBlockElement(plain(clip(b.Input.Placeholder, maxPlaceholder)), reasonAction)
		box.MaxLength = b.Input.MaxLength
		out = append(out, slackgo.NewInputBlock(reasonBlock, plain(b.Input.Label), nil, box).WithOptional(true))
		break // one box per message: the state carries it under one block ID
	}
	return out
}

func plain(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.PlainTextType, clip(s, maxHeader), true, false)
}

// mrkdwn is verbatim: Slack does not turn words into links or mentions on its own, so a reason that
// says "@channel" stays words.
func mrkdwn(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.MarkdownType, s, false, true)
}

func section(s string) *slackgo.SectionBlock { return slackgo.NewSectionBlock(mrkdwn(s), nil, nil) }

// escape makes text safe for Slack's mrkdwn: &, < and > are the only characters Slack needs escaped,
// and escaping < and > is what stops <!channel>, <@U…> and <http://…|…> being smuggled in.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// chunks splits s into pieces of at most n bytes, at line ends where it can, and never inside an
// escape such as &amp; or a UTF-8 character.
func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		cut := strings.LastIndexByte(s[:n], '\n')
		if cut <= 0 {
			cut = n
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			if amp := strings.LastIndexByte(s[:cut], '&'); amp > 0 && amp > cut-5 && !strings.Contains(s[amp:cut], ";") {
				cut = amp
			}
		}
		out = append(out, s[:cut])
		s = strings.TrimPrefix(s[cut:], "\n")
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}
