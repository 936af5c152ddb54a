package main

import (
	"fmt"

	slackadapter "github.com/resetbot/resetbot/adapters/slack"
)

// manifestCmd prints ready app manifests and packages.
type manifestCmd struct {
	Slack manifestSlackCmd `cmd:"" help:"The Slack app manifest (api.slack.com/apps → Create New App → From a manifest)."`
	Teams manifestTeamsCmd `cmd:"" help:"The Teams app package, a zip: resetbot manifest teams --app-id ID > resetbot-teams.zip."`
}

type manifestSlackCmd struct {
	Socket bool   `help:"Socket Mode: no public URL; the bot connects out with an app-level token."`
	URL    string `name:"url" help:"The public https base URL where resetbot serve is reachable (HTTP mode; default https://bot.contoso.com, an example)."`
}

// Run prints the manifest generated from the same code as manifest/slack/*.json.
func (c manifestSlackCmd) Run(cc *cliContext) error {
	// A Socket Mode app has no request URL: a --url given with --socket would be dropped without
	// a word, and the admin left wondering where it went.
	if c.Socket && c.URL != "" {
		return fmt.Errorf("--socket and --url %s do not go together: a Socket Mode app connects out and has no request URL; leave --url out, or leave --socket out for HTTP mode", c.URL)
	}
	example := c.URL == "" && !c.Socket
	if example {
		c.URL = slackadapter.DefaultManifestURL
	}
	b, err := slackadapter.ManifestJSON(c.Socket, c.URL)
	if err != nil {
		return err
	}
	_, err = cc.Stdout.Write(b)
	if err == nil && example {
		fmt.Fprintln(cc.Stderr, "resetbot: this manifest uses the example URL; pass --url https://your-host where resetbot serve is reachable")
	}
	return err
}
