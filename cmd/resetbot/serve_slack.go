package main

import (
	"context"
	"time"

	slackadapter "github.com/resetbot/resetbot/adapters/slack"
	"github.com/resetbot/resetbot/bot/digest"
	"github.com/resetbot/resetbot/chat"
)

// setupSlack joins Slack to resetbot serve when its settings are present: SLACK_BOT_TOKEN with
// SLACK_SIGNING_SECRET (HTTP mode, endpoints under /slack/ on the shared server) or SLACK_APP_TOKEN
// (Socket Mode, no public URL). See the README's Slack section.
func setupSlack(ctx context.Context, s *server, cfg slackadapter.Config) error {
	cfg.Log = s.Log
	cfg.Go = s.Go
	cfg.Acked = func(took time.Duration) { s.Metrics.Acked(chat.PlatformSlack, took) }
	a, err := slackadapter.New(cfg, newTracedHandler(s.Service))
	if err != nil {
		return err
	}
	s.Service.Attach(chat.PlatformSlack, a)
	if cfg.AuditChannel != "" {
		s.AuditPosters = append(s.AuditPosters, digest.Poster{Name: "slack", AuditPoster: a})
	}
	s.Health.platform("slack", a.Check)
	if cfg.SocketMode() {
		if cfg.SigningSecret != "" {
			s.Log.Info("slack: Socket Mode is on (" + slackadapter.EnvAppToken + "), so " + slackadapter.EnvSigningSecret + " is not used and /slack/* is not served")
		}
		// The connection lives as long as serve does; in-flight work is still waited for at shutdown.
		go func() {
			if err := a.RunSocketMode(ctx); err != nil {
				s.Log.Error("slack: Socket Mode stopped", "err", err)
			}
		}()
		s.Log.Info("slack: Socket Mode", "config", cfg)
		return nil
	}
	a.Mount(s.Mux)
	s.Log.Info("slack: HTTP mode on /slack/commands, /slack/interactions, /slack/events", "config", cfg)
	return nil
}
