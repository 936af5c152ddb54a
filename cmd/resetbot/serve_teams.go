package main

import (
	"context"
	"time"

	"github.com/resetbot/resetbot/adapters/teams"
	"github.com/resetbot/resetbot/bot/digest"
	"github.com/resetbot/resetbot/chat"
)

// setupTeams joins Teams to resetbot serve when MICROSOFT_APP_ID (or Azure's MicrosoftAppId) is
// set: the Bot Framework endpoint POST /api/messages on the shared server. See the README's
// Microsoft Teams section for the rest of the settings.
func setupTeams(_ context.Context, s *server, cfg teams.Config) error {
	cfg.Handler = newTracedHandler(s.Service)
	cfg.Refs = s.Store // conversation references survive restarts and are shared by replicas
	cfg.Log = s.Log
	cfg.Go = s.Go
	cfg.Acked = func(took time.Duration) { s.Metrics.Acked(chat.PlatformTeams, took) }
	a, err := teams.New(cfg)
	if err != nil {
		return err
	}
	// The key cache lives as long as the process: closing it at shutdown would refuse the requests
	// still being answered.
	s.Service.Attach(chat.PlatformTeams, a)
	if cfg.AuditConversation != "" {
		s.AuditPosters = append(s.AuditPosters, digest.Poster{Name: "teams", AuditPoster: a})
	}
	s.Mux.Handle("POST /api/messages", a)
	s.Health.platform("teams", a.Ready)
	if cfg.ApprovalsConversation == "" {
		s.Log.Warn("teams: " + teams.EnvApprovals + " is not set, so resets that need approval will be refused until it is")
	}
	s.Log.Info("teams: Bot Framework endpoint on POST /api/messages", "config", cfg)
	return nil
}
