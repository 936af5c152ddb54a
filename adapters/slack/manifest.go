package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	slackgo "github.com/slack-go/slack"
)

// DefaultManifestURL is the public base URL the committed HTTP-mode manifest uses.
const DefaultManifestURL = "https://bot.contoso.com"

// Scopes are the bot token scopes resetbot needs, and no more:
//
//	commands          the /resetpw slash command
//	chat:write        DMs, approval cards, updating cards, deleting the password DM
//	im:write          conversations.open, to DM the requester
//	im:history        message.im events: a CSV list or a typed command sent to the bot in a DM
//	users:read        users.info: is the sender a full member, not a bot, guest or deactivated
//	users:read.email  users.info's profile email, which is how a Slack user is found in Entra
//	files:read        files.info and the download of a CSV list
//	files:write       the audit digest's detail CSV, uploaded to the audit channel
//	                  (files.getUploadURLExternal + files.completeUploadExternal)
var Scopes = []string{"commands", "chat:write", "im:write", "im:history", "users:read", "users:read.email", "files:read", "files:write"}

// Manifest is resetbot's Slack app manifest. In HTTP mode Slack is told where to send commands,
// interactions and events under base (an https URL); in Socket Mode it is told nothing, because the bot
// dials out. The committed files in manifest/slack and `resetbot manifest slack` both come from here.
func Manifest(socket bool, base string) (slackgo.Manifest, error) {
	base = strings.TrimRight(base, "/")
	if !socket {
		u, err := url.Parse(base)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return slackgo.Manifest{}, fmt.Errorf("the manifest URL must be an https URL such as %s, where resetbot serve is reachable", DefaultManifestURL)
		}
	}
	at := func(p string) string {
		if socket {
			return ""
		}
		return base + p
	}
	m := slackgo.Manifest{
		Metadata: slackgo.ManifestMetadata{MajorVersion: 1, MinorVersion: 1},
		Display: slackgo.Display{
			Name:            "resetbot",
			Description:     "Reset Microsoft Entra ID passwords safely: approvals, DMs that delete themselves, an audit trail.",
			BackgroundColor: "#1d3557",
		},
		Settings: slackgo.Settings{
			EventSubscriptions: &slackgo.EventSubscriptions{RequestUrl: at("/slack/events"), BotEvents: []string{"message.im"}},
			Interactivity:      &slackgo.Interactivity{IsEnabled: true, RequestUrl: at("/slack/interactions")},
			SocketModeEnabled:  socket,
		},
		Features: slackgo.Features{
			// The Messages tab stays writable: a CSV list is sent to the bot there.
			AppHome: slackgo.AppHome{MessagesTabEnabled: true},
			BotUser: slackgo.BotUser{DisplayName: "resetpw-bot", AlwaysOnline: true},
			SlashCommands: []slackgo.ManifestSlashCommand{{
				Command:     "/resetpw",
				Description: "Reset an Entra ID password (the temporary password comes by DM)",
				Url:         at("/slack/commands"),
				UsageHint:   "user@contoso.com [--reason TEXT] · whoami · status R-… · help",
			}},
		},
		OAuthConfig: slackgo.OAuthConfig{Scopes: slackgo.OAuthScopes{Bot: Scopes}},
	}
	return m, nil
}

// ManifestJSON is the manifest as Slack's "Create an app → From a manifest" takes it, indented, with a
// final newline.
func ManifestJSON(socket bool, base string) ([]byte, error) {
	m, err := Manifest(socket, base)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
