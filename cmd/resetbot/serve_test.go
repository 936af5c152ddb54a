package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/resetbot/resetbot/bot/store"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func getReadyz(h *health) (int, string) {
	rec := httptest.NewRecorder()
	h.readyz(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code, rec.Body.String()
}

// /readyz fails while the store does not answer, so a load balancer stops sending the replica work,
// and says which check failed without the error's text (it could name internal hosts).
func TestReadyzFollowsTheStore(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "rb.db"))
	if err != nil {
		t.Fatal(err)
	}
	h := newHealth(quietLog())
	h.require("store", st.Ping)
	if code, body := getReadyz(h); code != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Fatalf("before the first check: %d %q, want 503 starting", code, body)
	}
	h.refresh(context.Background())
	if code, body := getReadyz(h); code != http.StatusOK || !strings.HasPrefix(body, "ready\n") {
		t.Fatalf("with the store up: %d %q", code, body)
	}
	st.Close() // the database is gone
	h.refresh(context.Background())
	code, body := getReadyz(h)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not ready: store down") {
		t.Fatalf("with the store gone: %d %q, want 503 naming the store", code, body)
	}
	if strings.Contains(body, "sql") || strings.Contains(body, "closed") {
		t.Errorf("the body carries the error's text: %q", body)
	}
}

// A Slack outage marks Slack down in /readyz's detail and in resetbot_dependency_up, and the
// replica stays in rotation for Teams. Only when no platform answers is it not ready.
func TestReadinessWithSlackDownAndTeamsUp(t *testing.T) {
	var slackUp, teamsUp atomic.Bool
	slackUp.Store(true)
	teamsUp.Store(true)
	check := func(up *atomic.Bool) func(context.Context) error {
		return func(context.Context) error {
			if up.Load() {
				return nil
			}
			return errors.New("dial tcp: slack.com: i/o timeout")
		}
	}
	h := newHealth(quietLog())
	reg := prometheus.NewRegistry()
	reg.MustRegister(h.up)
	h.require("store", func(context.Context) error { return nil })
	h.platform("slack", check(&slackUp))
	h.platform("teams", check(&teamsUp))

	h.refresh(context.Background())
	if code, body := getReadyz(h); code != http.StatusOK || !strings.HasPrefix(body, "ready\n") {
		t.Fatalf("all up: %d %q", code, body)
	}

	slackUp.Store(false)
	h.refresh(context.Background())
	code, body := getReadyz(h)
	if code != http.StatusOK || !strings.HasPrefix(body, "ready, degraded: slack down") ||
		!strings.Contains(body, "slack: down since ") || !strings.Contains(body, "teams: up") {
		t.Fatalf("Slack down, Teams up: %d %q, want 200 degraded", code, body)
	}
	if strings.Contains(body, "timeout") {
		t.Errorf("the body carries the error's text: %q", body)
	}
	if v := testutil.ToFloat64(h.up.WithLabelValues("slack")); v != 0 {
		t.Errorf("resetbot_dependency_up{dependency=slack} = %v, want 0", v)
	}
	if v := testutil.ToFloat64(h.up.WithLabelValues("teams")); v != 1 {
		t.Errorf("resetbot_dependency_up{dependency=teams} = %v, want 1", v)
	}

	teamsUp.Store(false)
	h.refresh(context.Background())
	if code, body := getReadyz(h); code != http.StatusServiceUnavailable || !strings.Contains(body, "no chat platform answers") {
		t.Fatalf("both down: %d %q, want 503", code, body)
	}

	slackUp.Store(true)
	teamsUp.Store(true)
	h.refresh(context.Background())
	h.draining.Store(true)
	if code, body := getReadyz(h); code != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Fatalf("draining: %d %q, want 503", code, body)
	}
}
