// Command resetbot is the helpdesk's password-reset bot for Microsoft Teams and Slack.
//
//	resetbot demo     the bot on a sandbox tenant, SQLite and a terminal chat
//	resetbot serve    Slack and Teams, configured from the environment
//	resetbot config   every setting with its value and default; config check reports every problem
//	resetbot check    what the configured Graph credentials can and cannot do
//	resetbot manifest the Slack app manifest or the Teams app package
//	resetbot digest   the audit digest: send one now, or write a period's CSV
//	resetbot audit    verify the audit trail's hash chain, or export (and follow) it for a SIEM
//	resetbot store    migrate the schema as its owner; grant the bot's role what it needs
//	resetbot version  the version and VCS revision it was built from
//
// It owns the wiring: settings, the store, graphsvc, the service and the adapters meet here and
// nowhere else. It may import every package of resetbot's; none may import it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"
	_ "time/tzdata" // RESETBOT_TZ and RESETBOT_DIGEST_TZ work on hosts and images without a zoneinfo database

	"github.com/alecthomas/kong"
)

type cli struct {
	Demo       demoCmd     `cmd:"" help:"Run the bot on a sandbox tenant with a terminal chat (no Azure, no Slack, no Teams needed)."`
	Serve      serveCmd    `cmd:"" help:"Serve Slack and/or Teams, configured from the environment (resetbot serve --help lists every setting)."`
	Config     configCmd   `cmd:"" help:"Show every setting with its value and default (config), or report every problem in them at once (config check)."`
	Check      checkCmd    `cmd:"" help:"Check the Graph configuration from the environment: credentials, permissions, roles."`
	Manifest   manifestCmd `cmd:"" help:"Print an app manifest or package for a chat platform."`
	Digest     digestCmd   `cmd:"" help:"The audit digest: post one now (digest send), or write a period's detail CSV (digest csv)."`
	Audit      auditCmd    `cmd:"" help:"Verify the audit trail's hash chain, or export it for a SIEM (--follow streams new records)."`
	Store      storeCmd    `cmd:"" help:"Migrate the store's schema as its owner and grant the bot's role its rights (store migrate --grant ROLE)."`
	VersionCmd versionCmd  `cmd:"" name:"version" help:"Print the version and the VCS revision it was built from."`
}

// cliContext is what commands write to and read from, so tests can run them as a person would
// without touching the process's own streams and environment.
type cliContext struct {
	Stdin          io.Reader // nil: os.Stdin
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Environ        func() []string  // every variable, NAME=value; nil: none
	Now            func() time.Time // nil: time.Now; "7d ago" is counted from it
}

func (cc *cliContext) stdin() io.Reader {
	if cc.Stdin != nil {
		return cc.Stdin
	}
	return os.Stdin
}

func (cc *cliContext) now() time.Time {
	if cc.Now != nil {
		return cc.Now()
	}
	return time.Now()
}

// Exit codes: 0 done, 1 the command failed, 2 the command line was wrong (as most Unix tools).
const (
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &cliContext{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Environ: os.Environ})
	stop()
	os.Exit(code)
}

// exited carries kong's exit (after --help or --version) out of the parse.
type exited struct{ code int }

// run parses args and runs the command. Help and the version go to stdout; a usage error goes to
// stderr with the command's usage and exit code 2, so `resetbot manifest teams > app.zip` with a
// flag missing leaves the zip empty rather than full of help text.
func run(ctx context.Context, args []string, cc *cliContext) (code int) {
	// --version as the first argument, as most tools take it. (It cannot be a kong flag: `manifest
	// teams --version` is the Teams app's version.)
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-V") {
		fmt.Fprintln(cc.Stdout, currentBuild())
		return 0
	}
	var c cli
	k, err := kong.New(&c,
		kong.Name("resetbot"),
		kong.Description("Reset Microsoft Entra ID passwords safely from Slack and Teams. resetbot --version prints the version."),
		kong.Writers(cc.Stdout, cc.Stderr),
		kong.Exit(func(code int) { panic(exited{code}) }),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(cc),
	)
	if err != nil {
		fmt.Fprintln(cc.Stderr, "resetbot:", err)
		return exitFailed
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(exited)
			if !ok {
				panic(r)
			}
			code = e.code
		}
	}()
	kctx, err := k.Parse(args)
	if err != nil {
		var pe *kong.ParseError
		if errors.As(err, &pe) && pe.Context != nil {
			k.Stdout = cc.Stderr
			_ = pe.Context.PrintUsage(true)
			fmt.Fprintln(cc.Stderr)
		}
		fmt.Fprintln(cc.Stderr, "resetbot: error:", usageWords(err))
		return exitUsage
	}
	if err := kctx.Run(); err != nil {
		fmt.Fprintln(cc.Stderr, "resetbot:", err)
		return exitFailed
	}
	return 0
}

var (
	kongInt      = regexp.MustCompile(`^(--[\w-]+): expected a valid \d+ bit (?:u?int) but got (".*")$`)
	kongDuration = regexp.MustCompile(`^(--[\w-]+): expected duration but got (".*?"): time: .*$`)
)

// usageWords rewords kong's messages about a flag's value that quote Go's parsers ("expected
// duration but got "5": time: missing unit in duration "5"") in the words of the person typing.
func usageWords(err error) string {
	s := err.Error()
	if m := kongInt.FindStringSubmatch(s); m != nil {
		return fmt.Sprintf("%s: %s is not a whole number", m[1], m[2])
	}
	if m := kongDuration.FindStringSubmatch(s); m != nil {
		return fmt.Sprintf("%s: %s is not a length of time: give a number and a unit, such as 500ms, 2s, 5m or 1h", m[1], m[2])
	}
	return s
}
