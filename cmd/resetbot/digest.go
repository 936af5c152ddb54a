package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	Since time.Time `help:"Start of the period (RFC 3339, e.g. 2026-11-27T08:00:00Z)." required:""`
	Until time.Time `help:"End of the period (RFC 3339); default now."`
	Out   string    `short:"o" help:"Write to this file instead of standard output."`
}

func (c digestCSVCmd) Run(ctx context.Context) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	env, err := openDigestEnv(ctx, log)
	if err != nil {
		return err
	}
	defer env.close()
	until := c.Until
	if until.IsZero() {
		until = time.Now()
	}
	var w io.Writer = os.Stdout
	if c.Out != "" {
		f, err := os.Create(c.Out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	sender := newDigestSender(env.ds, env.st, env.dir, env.gcfg.ClientID, nil, log)
	d, err := sender.Builder.Build(ctx, c.Since, until, w)
	if err != nil {
		return err
	}
	if d.Entra.Err != "" {
		fmt.Fprintln(os.Stderr, "resetbot: Entra's audit log could not be read: "+d.Entra.Err)
	}
	fmt.Fprintf(os.Stderr, "resetbot: %s\n", bot.Count(d.CSVRows, "row"))
	return nil
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
