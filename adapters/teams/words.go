package teams

import (
	"context"
	"strings"
	"time"

	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/chat"
)

// Teams' own words for what the bot says (chat.Speaker): the app is called what the manifest calls
// it, the command menu uses bare words ("whoami", "status R-…") with "resetpw" before the user for a
// reset, a person's 1:1 chat with the bot is where they read every private answer ("this chat"),
// and the approvals channel is named as Teams shows it, team › channel.

const defaultAppName = "ResetPW"

// Vocabulary implements chat.Speaker.
func (a *Adapter) Vocabulary() chat.Vocabulary {
	app := a.cfg.AppName
	if app == "" {
		app = defaultAppName
	}
	return chat.Vocabulary{App: app, Reset: "resetpw", Command: "",
		YourDM: "this chat", ByDM: "in this chat", TheirDM: "in their chat with " + app,
		Approvals: a.approvalsChannelName(),
		SendFile:  "In your chat with " + app + ", attach the CSV file (the paper clip) and send it with the text `bulk`."}
}

// approvalsChannelName is the configured name, else the one learned from the channel, else words.
func (a *Adapter) approvalsChannelName() string {
	if a.cfg.ApprovalsName != "" {
		return a.cfg.ApprovalsName
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.approvalsName != "" {
		return a.approvalsName
	}
	return "the approvals channel"
}

// learnApprovalsName remembers the approvals channel's name from an activity in it: Teams names
// the team and the channel in channelData where it knows them (installs, channel events, and many
// messages). The General channel has the team's ID and often no name of its own.
func (a *Adapter) learnApprovalsName(act *inbound) {
	team, channel := act.channelDataName("team"), act.channelDataName("channel")
	if channel == "" && act.channelDataID("channel") == act.channelDataID("team") && team != "" {
		channel = "General"
	}
	if team == "" || channel == "" {
		return
	}
	name := team + " › " + channel
	a.mu.Lock()
	a.approvalsName = name
	a.mu.Unlock()
}

// channelDataName reads channelData.<name>.name (team, channel), trimmed and cut to a sane length.
func (a *inbound) channelDataName(name string) string {
	obj, _ := a.ChannelData[name].(map[string]any)
	n, _ := obj["name"].(string)
	return botframework.Truncate(strings.TrimSpace(n), 80)
}

var _ chat.Speaker = (*Adapter)(nil)

// installed reports whether an activity says the app was just added to its conversation: an
// installationUpdate "add", or a conversationUpdate with the bot among the members added.
func (a *Adapter) installed(act *inbound) bool {
	switch act.Type {
	case typeInstallationUpdate:
		return act.Action == "add"
	case typeConversationUpdate:
		for _, m := range act.MembersAdded {
			if m.ID != "" && strings.EqualFold(m.ID, act.Recipient.ID) {
				return true
			}
		}
	}
	return false
}

// welcomeAgain is how long after a welcome the same conversation is not welcomed again.
const welcomeAgain = 10 * time.Minute

// welcome posts, once per install, what the bot does, how to start and where approvals go.
func (a *Adapter) welcome(act *inbound) {
	conv := baseConversation(act.Conversation.ID)
	now := time.Now()
	a.mu.Lock()
	if a.welcomed == nil {
		a.welcomed = map[string]time.Time{}
	}
	if at, ok := a.welcomed[conv]; ok && now.Sub(at) < welcomeAgain {
		a.mu.Unlock()
		return
	}
	for c, at := range a.welcomed {
		if now.Sub(at) >= welcomeAgain {
			delete(a.welcomed, c)
		}
	}
	a.welcomed[conv] = now
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), learnTimeout)
	defer cancel()
	if _, err := a.conn.Send(ctx, act.ServiceURL, conv, cardActivity(chat.ViewOn(a.welcomeMessage(act.group()), chat.SurfaceChannel))); err != nil {
		a.log.Warn("teams: the welcome could not be posted", "err", err)
	}
}

// welcomeMessage is the welcome: in a team or group chat it also says that answers are private.
func (a *Adapter) welcomeMessage(shared bool) chat.Message {
	v := a.Vocabulary()
	text := []string{
		"Type `" + v.Reset + " user@contoso.com --reason \"locked out\"` to reset someone's password. The temporary password comes to you in your chat with " + v.App + ", which only you can see, and they must choose a new one at next sign-in.",
		"Type `whoami` to see whom you may reset, and `help` for every command.",
		"A reset of someone with an admin role needs a second person: I ask in " + v.Approvals + ".",
	}
	if shared {
		text = append(text, "Here, @mention "+v.App+": I answer you in your own chat with me, so nobody else reads who was reset or why.")
	}
	return chat.Message{Title: "👋 " + v.App + " resets Entra ID passwords for the helpdesk", Text: strings.Join(text, "\n\n")}
}
