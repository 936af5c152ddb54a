package teams

import (
	"strings"

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
	return truncate(strings.TrimSpace(n), 80)
}

var _ chat.Speaker = (*Adapter)(nil)
