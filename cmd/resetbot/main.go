// Command resetbot is the helpdesk's password-reset bot for Microsoft Teams and Slack.
//
//	resetbot demo     the bot on a sandbox tenant, SQLite and a terminal chat
//	resetbot serve    Slack and Teams, configured from the environment
//	resetbot check    what the configured Graph credentials can and cannot do
//	resetbot manifest the Slack app manifest or the Teams app package
//	resetbot digest   the audit digest: send one now, or write a period's CSV
//	resetbot audit    verify the audit trail's hash chain, or export it for a SIEM
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // RESETBOT_TZ and RESETBOT_DIGEST_TZ work on hosts and images without a zoneinfo database

	"github.com/alecthomas/kong"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type cli struct {
	Demo     demoCmd     `cmd:"" help:"Run the bot on a sandbox tenant with a terminal chat (no Azure, no Slack, no Teams needed)."`
	Serve    serveCmd    `cmd:"" help:"Serve Slack and/or Teams, configured from the environment (see README)."`
	Check    checkCmd    `cmd:"" help:"Check the Graph configuration from the environment: credentials, permissions, roles."`
	Manifest manifestCmd `cmd:"" help:"Print an app manifest or package for a chat platform."`
	Digest   digestCmd   `cmd:"" help:"The audit digest: post one now (digest send), or write a period's detail CSV (digest csv)."`
	Audit    auditCmd    `cmd:"" help:"Verify the audit trail's hash chain, or export it for a SIEM."`
	Version  versionCmd  `cmd:"" help:"Print the version."`
}

type versionCmd struct{}

func (versionCmd) Run() error {
	fmt.Println("resetbot", version)
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c cli
	k := kong.Parse(&c,
		kong.Name("resetbot"),
		kong.Description("Reset Microsoft Entra ID passwords safely from Slack and Teams."),
		kong.UsageOnError(),
		kong.BindTo(ctx, (*context.Context)(nil)),
	)
	if err := k.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "resetbot:", err)
		os.Exit(1)
	}
}
