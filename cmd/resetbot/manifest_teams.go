package main

import (
	"bytes"
	"fmt"

	"github.com/resetbot/resetbot/adapters/teams"
)

// manifestTeamsCmd writes the Teams app package: `resetbot manifest teams --app-id ID >
// resetbot-teams.zip`. It is the Teams member of manifestCmd:
//
//	Teams manifestTeamsCmd `cmd:"" help:"The Teams app package (a zip to upload in Teams → Apps → Manage your apps → Upload an app)."`
type manifestTeamsCmd struct {
	AppID      string `name:"app-id" required:"" help:"The Azure Bot's Microsoft App ID (MICROSOFT_APP_ID)." placeholder:"GUID"`
	TeamsAppID string `name:"teams-app-id" help:"The Teams app's own ID (default: derived from --app-id, so a new package updates the same app)." placeholder:"GUID"`
	Version    string `help:"The app version; raise it for each new upload (default: the manifest's)." placeholder:"1.0.0"`
	Name       string `help:"The bot's short name in Teams, 30 characters at most (default ResetPW)."`
	Developer  string `help:"Who publishes the app in your tenant, 32 characters at most."`
	WebsiteURL string `name:"website-url" help:"https:// page about the app for your users."`
	PrivacyURL string `name:"privacy-url" help:"https:// privacy statement."`
	TermsURL   string `name:"terms-url" help:"https:// terms of use."`
	Manifest   bool   `name:"manifest-only" help:"Print manifest.json instead of the zip."`
}

func (c manifestTeamsCmd) Run(cc *cliContext) error {
	o := teams.ManifestOptions{BotAppID: c.AppID, TeamsAppID: c.TeamsAppID, Version: c.Version, ShortName: c.Name,
		Developer: c.Developer, WebsiteURL: c.WebsiteURL, PrivacyURL: c.PrivacyURL, TermsURL: c.TermsURL}
	if c.Manifest {
		b, err := teams.AppManifest(o)
		if err != nil {
			return err
		}
		_, err = cc.Stdout.Write(b)
		return err
	}
	if writesToTerminal(cc.Stdout) {
		return fmt.Errorf("the Teams app package is a zip file: redirect it, e.g. resetbot manifest teams --app-id %s > resetbot-teams.zip", c.AppID)
	}
	var buf bytes.Buffer
	if err := teams.AppPackage(&buf, o); err != nil {
		return err
	}
	_, err := cc.Stdout.Write(buf.Bytes())
	return err
}
