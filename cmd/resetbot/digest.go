package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	slackadapter "github.com/resetbot/resetbot/adapters/slack"
	"github.com/resetbot/resetbot/adapters/teams"
	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/digest"
	"github.com/resetbot/resetbot/bot/scheduler"
	"github.com/resetbot/resetbot/bot/store"
	"github.com/resetbot/resetbot/graphsvc"
)

// DefaultDigestSchedule is 08:00 on weekdays, in RESETBOT_DIGEST_TZ.
const DefaultDigestSchedule = "0 8 * * 1-5"

// digestSettings are the RESETBOT_DIGEST_* settings.
type digestSettings struct {
	Spec     string
	Schedule cron.Schedule
	Config   digest.Config
	Entra    bool // read Entra's audit log (AuditLog.Read.All)
}

// loadDigestSettings reads the digest's settings. A malformed schedule, zone or number is an error
// naming the setting, so serve refuses to start rather than never posting.
func loadDigestSettings(getenv func(string) string) (digestSettings, error) {
	ds := digestSettings{Spec: DefaultDigestSchedule, Config: digest.Defaults(), Entra: true}
	e := envReader{getenv: getenv}
	e.str("RESETBOT_DIGEST_SCHEDULE", &ds.Spec)
	tz := getenv("RESETBOT_DIGEST_TZ")
	if tz == "" {
		tz = getenv("RESETBOT_TZ")
	}
	sched, err := scheduler.ParseSchedule("RESETBOT_DIGEST_SCHEDULE", ds.Spec, tz)
	if err != nil {
		e.errs = append(e.errs, err.Error())
	}
	ds.Schedule = sched
	ds.Config.Location = time.Local
	if tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			ds.Config.Location = loc
		}
	}
	if v := getenv("RESETBOT_DIGEST_HOURS"); v != "" {
		h, err := digest.ParseHours(v)
		if err != nil {
			e.fail("RESETBOT_DIGEST_HOURS", v, "business hours such as \"08:00-18:00 Mon-Fri\"")
		}
		ds.Config.Hours = h
	}
	if v := getenv("RESETBOT_DIGEST_AGENT_FACTOR"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 1 || f > 100 {
			e.fail("RESETBOT_DIGEST_AGENT_FACTOR", v, "a number from 1 to 100: how many times their usual count flags an agent")
		}
		ds.Config.AgentFactor = f
	}
	e.integer("RESETBOT_DIGEST_AGENT_MIN", &ds.Config.AgentMinimum, 1, 100000)
	e.integer("RESETBOT_DIGEST_ACCOUNT_REPEATS", &ds.Config.AccountRepeats, 2, 1000)
	e.integer("RESETBOT_DIGEST_HISTORY", &ds.Config.HistoryWindows, 1, 60)
	e.boolean("RESETBOT_DIGEST_ENTRA", &ds.Entra)
	if len(e.errs) > 0 {
		return ds, fmt.Errorf("configuration:\n  %s", strings.Join(e.errs, "\n  "))
	}
	return ds, nil
}

// newDigestSender wires the digest to the store, Graph and the audit channels.
func newDigestSender(ds digestSettings, st bot.Store, dir *graphsvc.Client, botAppID string, posters []digest.Poster, log *slog.Logger) *digest.Sender {
	cfg := ds.Config
	cfg.BotAppID = botAppID
	b := &digest.Builder{Trail: st, Requests: st, Config: cfg}
	if ds.Entra && dir != nil {
		b.Entra = dir
	}
	return &digest.Sender{Builder: b, Posters: posters, Log: log}
}

// jobOwner names this process in the store's job runs.
func jobOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

type digestCmd struct {
	Send digestSendCmd `cmd:"" help:"Build the audit digest for the time since the last one and post it now, to the configured audit channels."`
	CSV  digestCSVCmd  `cmd:"" name:"csv" help:"Write the digest's detail CSV for a period (what the Teams card points to)."`
}

type digestSendCmd struct{}

// Run posts a digest now through the scheduler's own path (Runner.RunNow): it covers the time since
// the last digest, and the next scheduled one covers the time since this one.
func (digestSendCmd) Run(ctx context.Context) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	env, err := openDigestEnv(ctx, log)
	if err != nil {
		return err
	}
	defer env.close()
	posters, err := digestPosters(env, log)
	if err != nil {
		return err
	}
	sender := newDigestSender(env.ds, env.st, env.dir, env.gcfg.ClientID, posters, log)
	runner := scheduler.New(env.st, jobOwner(), log)
	runner.Add(sender.Job(env.ds.Schedule))
	if err := runner.RunNow(ctx, digest.JobName); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "resetbot: digest posted")
	return nil
}

type digestCSVCmd struct {
	auditStoreFlag
	Since string `help:"Start of the period: a length of time back from now (7d, 36h), a date (2026-11-01, UTC) or an RFC 3339 time." placeholder:"WHEN" required:""`
	Until string `help:"End of the period (same forms as --since). Default: now." placeholder:"WHEN"`
	Out   string `short:"o" help:"Write to this file instead of standard output."`
}

// Run writes the detail CSV of a period. Graph is optional: without its credentials (or with
// RESETBOT_DIGEST_ENTRA=false) the CSV has resetbot's own records, and stderr says Entra's side
// was left out, so a security reader can still pull the bot's side from a copy of the store.
func (c digestCSVCmd) Run(ctx context.Context, cc *cliContext) error {
	since, until, err := parsePeriod(c.Since, c.Until, cc.now())
	if err != nil {
		return err
	}
	if c.Out != "" {
		if err := checkOut(c.Out, "digest.csv"); err != nil {
			return err
		}
	}
	ds, err := loadDigestSettings(cc.Getenv)
	if err != nil {
		return err
	}
	var dir *graphsvc.Client
	var appID string
	if ds.Entra {
		gcfg, err := graphsvc.ConfigFromEnv(cc.Getenv)
		switch {
		case err != nil && !graphConfigured(cc.Getenv):
			fmt.Fprintln(cc.Stderr, "resetbot: Entra's side was left out: Graph is not configured here (AZURE_TENANT_ID, AZURE_CLIENT_ID and a secret or certificate); the CSV has resetbot's own records only")
		case err != nil:
			return err
		default:
			if dir, err = graphsvc.New(gcfg); err != nil {
				return err
			}
			appID = gcfg.ClientID
		}
	} else {
		fmt.Fprintln(cc.Stderr, "resetbot: Entra's side was left out (RESETBOT_DIGEST_ENTRA=false); the CSV has resetbot's own records only")
	}
	st, err := openAuditStore(ctx, c.dsn(cc.Getenv), cc.Getenv)
	if err != nil {
		return c.named(err)
	}
	defer st.Close()

	w := cc.Stdout
	if c.Out != "" {
		f, err := os.Create(c.Out)
		if err != nil {
			return cannotWrite(c.Out, err)
		}
		defer f.Close()
		w = f
	}
	log := slog.New(slog.NewTextHandler(cc.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sender := newDigestSender(ds, st, dir, appID, nil, log)
	d, err := sender.Builder.Build(ctx, since, until, w)
	if err != nil {
		return err
	}
	if d.Entra.Err != "" {
		fmt.Fprintln(cc.Stderr, "resetbot: Entra's audit log could not be read: "+d.Entra.Err)
	}
	fmt.Fprintf(cc.Stderr, "resetbot: %s\n", bot.Count(d.CSVRows, "row"))
	return nil
}

// graphConfigured reports whether any of Graph's settings is set: then a mistake in them is an
// error to fix, not a reason to leave Entra out.
func graphConfigured(getenv func(string) string) bool {
	for _, k := range []string{graphsvc.EnvTenantID, graphsvc.EnvClientID, graphsvc.EnvClientSecret, graphsvc.EnvCertificatePath,
		graphsvc.EnvFederatedTokenFile, graphsvc.EnvGraphAuth} {
		if strings.TrimSpace(getenv(k)) != "" {
			return true
		}
	}
	return false
}

// parsePeriod reads --since and --until as every command that takes a period does: a length of
// time back from now (7d, 12h, 2w), a date (UTC) or an RFC 3339 time. An empty --until is now.
func parsePeriod(sinceFlag, untilFlag string, now time.Time) (since, until time.Time, err error) {
	if sinceFlag != "" {
		if since, err = bot.ParseSince(sinceFlag, now); err != nil {
			return since, until, fmt.Errorf("--since: %w", err)
		}
	}
	until = now.UTC()
	if untilFlag != "" {
		if until, err = bot.ParseSince(untilFlag, now); err != nil {
			return since, until, fmt.Errorf("--until: %w", err)
		}
	}
	switch {
	case untilFlag == "" && !until.After(since):
		return since, until, fmt.Errorf("--since (%s) is not in the past", stamp(since))
	case !until.After(since):
		return since, until, fmt.Errorf("--until (%s) must be after --since (%s)", stamp(until), stamp(since))
	}
	return since, until, nil
}

// digestEnv is what the digest commands open: settings, the store and Graph.
type digestEnv struct {
	ds   digestSettings
	cfg  serveConfig
	gcfg graphsvc.Config
	st   bot.Store
	dir  *graphsvc.Client
}

func (e *digestEnv) close() { e.st.Close() }

func openDigestEnv(ctx context.Context, _ *slog.Logger) (*digestEnv, error) {
	ds, err := loadDigestSettings(os.Getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := loadServeConfig(os.Getenv)
	if err != nil {
		return nil, err
	}
	gcfg, err := graphsvc.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	dir, err := graphsvc.New(gcfg)
	if err != nil {
		return nil, err
	}
	// The digest appends to the trail (that it was sent), signed as serve signs.
	trailKey, err := bot.NewTrailKey(cfg.Service.AuditKey)
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, cfg.Store, os.Getenv, gcfg.Credential, store.WithAuditMAC(trailKey.Sign))
	if err != nil {
		return nil, err
	}
	return &digestEnv{ds: ds, cfg: cfg, gcfg: gcfg, st: st, dir: dir}, nil
}

// digestPosters builds the configured platforms' audit posters without serving anything.
func digestPosters(env *digestEnv, log *slog.Logger) ([]digest.Poster, error) {
	var posters []digest.Poster
	svc := bot.NewService(env.dir, env.st, env.cfg.Service, log)
	if cfg, on, err := slackadapter.ConfigFromEnv(os.Getenv); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	} else if on && cfg.AuditChannel != "" {
		cfg.Log = log
		a, err := slackadapter.New(cfg, svc)
		if err != nil {
			return nil, err
		}
		posters = append(posters, digest.Poster{Name: "slack", AuditPoster: a})
	}
	if cfg, on, err := teams.ConfigFromEnv(os.Getenv); err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	} else if on && cfg.AuditConversation != "" {
		cfg.Handler, cfg.Refs, cfg.Log = svc, env.st, log
		a, err := teams.New(cfg)
		if err != nil {
			return nil, err
		}
		posters = append(posters, digest.Poster{Name: "teams", AuditPoster: a})
	}
	if len(posters) == 0 {
		return nil, errors.New("no audit channel is configured: set RESETBOT_AUDIT_CHANNEL (Slack channel ID) or RESETBOT_TEAMS_AUDIT_CONVERSATION (Teams channel ID)")
	}
	return posters, nil
}
