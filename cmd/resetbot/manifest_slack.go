package main

import (
	"fmt"
	"os"

	slackadapter "github.com/resetbot/resetbot/adapters/slack"
)

// manifestCmd prints ready app manifests and packages.
type manifestCmd struct {
	Slack manifestSlackCmd `cmd:"" help:"The Slack app manifest (api.slack.com/apps → Create New App → From a manifest)."`
	Teams manifestTeamsCmd `cmd:"" help:"The Teams app package, a zip: resetbot manifest teams --app-id ID > resetbot-teams.zip."`
}

type manifestSlackCmd struct {
	Socket bool   `help:"Socket Mode: no public URL; the bot connects out with an app-level token."`
	URL    string `name:"url" help:"The public https base URL where resetbot serve is reachable (HTTP mode)." default:"https://bot.contoso.com"`
}

// Run prints the manifest generated from the same code as manifest/slack/*.json.
func (c manifestSlackCmd) Run() error {
	b, err := slackadapter.ManifestJSON(c.Socket, c.URL)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	if err == nil && !c.Socket && c.URL == slackadapter.DefaultManifestURL {
		fmt.Fprintln(os.Stderr, "resetbot: this manifest uses the example URL; pass --url https://your-host where resetbot serve is reachable")
	}
	return err
}
