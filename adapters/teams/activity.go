package teams

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strings"

	"github.com/infracloudio/msbotbuilder-go/schema"
	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/chat"
)

// inbound is an activity as it arrives: msbotbuilder-go's schema.Activity with the fields that
// would make decoding fail on legitimate traffic shadowed by looser ones. schema.Activity.Value is a
// map, so a string value fails the whole activity; its timestamps are time.Time, so one client's odd
// format would too; and its Entity keeps only the type, while a mention's target is needed. Fields
// declared here win over the embedded ones of the same JSON name.
type inbound struct {
	schema.Activity
	Timestamp      json.RawMessage `json:"timestamp,omitempty"`
	LocalTimestamp json.RawMessage `json:"localTimestamp,omitempty"`
	Expiration     json.RawMessage `json:"expiration,omitempty"`
	Value          json.RawMessage `json:"value,omitempty"`
	Entities       []entity        `json:"entities,omitempty"`
}

type entity struct {
	Type      string                 `json:"type"`
	Mentioned *schema.ChannelAccount `json:"mentioned,omitempty"`
	Text      string                 `json:"text,omitempty"`
}

// Activity types and the invoke name resetbot acts on.
const (
	typeMessage            = "message"
	typeInvoke             = "invoke"
	typeConversationUpdate = "conversationUpdate"
	typeInstallationUpdate = "installationUpdate"
	invokeCardAction       = "adaptiveCard/action"
)

// parseActivity decodes a request body. It never panics; anything that is not one JSON object with
// a type is an error (400).
func parseActivity(body []byte) (*inbound, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, errors.New("the body is not a JSON object")
	}
	var a inbound
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("the body is not an activity: %w", err)
	}
	if a.Type == "" {
		return nil, errors.New("the activity has no type")
	}
	return &a, nil
}

// tenant is the activity's tenant: channelData.tenant.id, or conversation.tenantId. When both are
// there they must agree.
func (a *inbound) tenant() (string, error) {
	fromData := a.channelDataID("tenant")
	fromConv := a.Conversation.TenantID
	switch {
	case fromData != "" && fromConv != "" && !strings.EqualFold(fromData, fromConv):
		return "", fmt.Errorf("channelData.tenant.id %q and conversation.tenantId %q differ", botframework.Truncate(fromData, 64), botframework.Truncate(fromConv, 64))
	case fromData != "":
		return fromData, nil
	case fromConv != "":
		return fromConv, nil
	}
	return "", errors.New("the activity names no tenant")
}

// channelDataID reads channelData.<name>.id (tenant, team, channel).
func (a *inbound) channelDataID(name string) string {
	obj, _ := a.ChannelData[name].(map[string]any)
	id, _ := obj["id"].(string)
	return id
}

// group reports whether other people see the conversation: a channel or a group chat.
func (a *inbound) group() bool {
	switch a.Conversation.ConversationType {
	case "channel", "groupChat":
		return true
	case "personal":
		return false
	}
	return a.Conversation.IsGroup
}

// mentionsBot reports whether the bot is @mentioned: in channels and group chats it acts only then.
func (a *inbound) mentionsBot() bool {
	for _, e := range a.Entities {
		if e.Type == "mention" && e.Mentioned != nil && a.Recipient.ID != "" && strings.EqualFold(e.Mentioned.ID, a.Recipient.ID) {
			return true
		}
	}
	return false
}

var (
	tagRe   = regexp.MustCompile(`<[^>]*>`)
	breakRe = regexp.MustCompile(`(?i)<br\s*/?>|</p>|</div>`)
	spaceRe = regexp.MustCompile(`[ \t\r\n\x{00a0}]+`)
)

// commandText is what the person typed, as the command parser wants it: the bot's own @mention
// removed, other mentions reduced to the name, HTML tags dropped and entities decoded (Teams may
// send "&quot;" and "<p>…</p>").
func (a *inbound) commandText() string {
	t := a.Text
	for _, e := range a.Entities {
		if e.Type == "mention" && e.Mentioned != nil && strings.EqualFold(e.Mentioned.ID, a.Recipient.ID) && e.Text != "" {
			t = strings.ReplaceAll(t, e.Text, " ")
		}
	}
	t = breakRe.ReplaceAllString(t, " ")
	t = tagRe.ReplaceAllString(t, "")
	t = html.UnescapeString(t)
	return strings.TrimSpace(spaceRe.ReplaceAllString(t, " "))
}

// click is a button press: the action and the opaque request ID it carries, and what was typed in
// the card's text box (inputID), if it has one.
type click struct {
	Action    string
	RequestID string
	Input     string
}

// inputID is the ID of a card's text box (a deny's reason): Teams puts what was typed in it into
// the action's data under this name.
const inputID = "reason"

// maxRequestIDLength bounds what a button's data may carry; real IDs are 8 characters.
const maxRequestIDLength = 64

// submitted reads an Action.Submit: a message whose value is {"action", "requestId"}.
func (a *inbound) submitted() (click, bool) {
	var v struct {
		Action    string `json:"action"`
		RequestID string `json:"requestId"`
		Input     string `json:"reason"`
	}
	if len(a.Value) == 0 || json.Unmarshal(a.Value, &v) != nil || v.Action == "" {
		return click{}, false
	}
	return click{Action: v.Action, RequestID: v.RequestID, Input: v.Input}, true
}

// executed reads an Action.Execute invoke: value.action.verb and value.action.data.requestId.
func (a *inbound) executed() (click, error) {
	var v struct {
		Action struct {
			Type string `json:"type"`
			Verb string `json:"verb"`
			Data struct {
				RequestID string `json:"requestId"`
				Input     string `json:"reason"`
			} `json:"data"`
		} `json:"action"`
	}
	if len(a.Value) == 0 || json.Unmarshal(a.Value, &v) != nil {
		return click{}, errors.New("the invoke carries no card action")
	}
	if v.Action.Type != "" && v.Action.Type != "Action.Execute" {
		return click{}, fmt.Errorf("card action type %q is not Action.Execute", botframework.Truncate(v.Action.Type, 40))
	}
	return click{Action: v.Action.Verb, RequestID: v.Action.Data.RequestID, Input: v.Action.Data.Input}, nil
}

// valid reports whether a click names one of the bot's actions and a plausible ID. Anything else is
// refused before the service sees it.
func (c click) valid() bool {
	if !slices.Contains(chat.Actions, chat.Action(c.Action)) {
		return false
	}
	return c.RequestID != "" && len(c.RequestID) <= maxRequestIDLength && !strings.ContainsAny(c.RequestID, " \t\r\n")
}

// baseConversation drops the ";messageid=…" suffix Teams adds for a reply thread in a channel.
func baseConversation(id string) string {
	base, _, _ := strings.Cut(id, ";")
	return base
}
