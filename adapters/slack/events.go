package slack

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	"github.com/slack-go/slack/slackevents"

	"github.com/resetbot/resetbot/chat"
)

// event is an Events API delivery: the envelope, and the inner event when it is one we act on.
type event struct {
	Type         string          `json:"type"` // url_verification, event_callback, app_rate_limited
	Challenge    string          `json:"challenge"`
	TeamID       string          `json:"team_id"`
	EnterpriseID string          `json:"enterprise_id"`
	EventID      string          `json:"event_id"`
	Inner        json.RawMessage `json:"event"`

	message *slackevents.MessageEvent // set when the inner event is a message
}

// parseEvent reads an Events API body (HTTP) or envelope payload (Socket Mode). Inner events other than
// messages are left unparsed: they are acknowledged and ignored, not refused, or Slack would retry them.
func parseEvent(body []byte) (event, error) {
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		return event{}, err
	}
	if ev.Type == "" {
		return event{}, errors.New("no event type")
	}
	if ev.Type != "event_callback" || len(ev.Inner) == 0 {
		return ev, nil
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(ev.Inner, &head); err != nil {
		return event{}, err
	}
	if head.Type == "message" {
		var m slackevents.MessageEvent
		if err := json.Unmarshal(ev.Inner, &m); err != nil {
			return event{}, err
		}
		ev.message = &m
	}
	return ev, nil
}

// onEvent takes a verified event. The only events resetbot subscribes to are messages in its DMs
// (message.im): a CSV list sent with "resetpw bulk", or a command typed as text.
func (a *Adapter) onEvent(ev event) delivery {
	m := ev.message
	if ev.Type != "event_callback" || m == nil {
		return delivery{}
	}
	// Our own DMs come back as message events too; so do edits and deletions.
	if m.ChannelType != slackevents.ChannelTypeIM || m.BotID != "" || m.User == "" || m.Channel == "" ||
		(m.SubType != "" && m.SubType != "file_share") {
		return delivery{}
	}
	text := strings.TrimSpace(unformat(m.Text))
	words := strings.Fields(strings.ToLower(text))
	if len(words) == 0 || (words[0] != "resetpw" && words[0] != "/resetpw") {
		return delivery{}
	}
	// Slack retries an event it thinks we missed; event_id is the same on every retry.
	key := ""
	if ev.EventID != "" {
		key = "slack:event:" + ev.TeamID + ":" + ev.EventID
	}
	team := ev.TeamID
	if m.UserTeam != "" {
		team = m.UserTeam
	}
	who := sender{team: team, enterprise: ev.EnterpriseID, user: m.User}
	channel := m.Channel
	var files []string
	if m.Message != nil {
		for _, f := range m.Message.Files {
			files = append(files, f.ID)
		}
	}
	return delivery{work: func(ctx context.Context) {
		if m.User == a.botUserID(ctx) {
			return
		}
		reply := a.inDM(channel)
		actor, ok := a.whoIs(ctx, who, reply)
		if !ok {
			return
		}
		if len(words) >= 2 && words[1] == "bulk" {
			a.receiveList(ctx, actor, key, text, files, reply)
			return
		}
		if len(files) > 0 {
			_ = reply.Reply(ctx, chat.Message{Title: "🤔 I only read files sent with the text `resetpw bulk`.", Text: "Nothing was done."})
			return
		}
		in := chat.Incoming{Actor: actor, Text: text, IdempotencyKey: key, Reply: reply}
		if err := a.svc.Handle(ctx, in); err != nil {
			a.log.Error("handling a typed command failed", "err", err)
		}
	}}
}

// slackLink is Slack's markup for what it turned into a link or mention: <mailto:a@b|a@b>, <https://x>.
var slackLink = regexp.MustCompile(`<([^<>|]*)(?:\|([^<>]*))?>`)

// unformat turns a message's or a slash command's text back into what the person typed: Slack links
// email addresses it sees ("adele@contoso.com" arrives as "<mailto:adele@contoso.com|adele@contoso.com>")
// and escapes &, < and >. Slack's markup ends here: the service reads plain text.
func unformat(s string) string {
	s = slackLink.ReplaceAllStringFunc(s, func(m string) string {
		parts := slackLink.FindStringSubmatch(m)
		if parts[2] != "" {
			return parts[2]
		}
		return strings.TrimPrefix(parts[1], "mailto:")
	})
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
