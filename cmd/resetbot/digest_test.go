package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// A malformed schedule, zone or business hours is a startup error naming the setting.
func TestDigestSettingsErrors(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	if ds, err := loadDigestSettings(env(nil)); err != nil || ds.Spec != "0 8 * * 1-5" || ds.Schedule == nil || !ds.Entra {
		t.Fatalf("defaults: %+v, %v", ds, err)
	}
	for setting, kv := range map[string]map[string]string{
		"RESETBOT_DIGEST_SCHEDULE":     {"RESETBOT_DIGEST_SCHEDULE": "every morning"},
		"RESETBOT_DIGEST_TZ":           {"RESETBOT_DIGEST_TZ": "Mars/Olympus"},
		"RESETBOT_DIGEST_HOURS":        {"RESETBOT_DIGEST_HOURS": "9 to 5"},
		"RESETBOT_DIGEST_AGENT_FACTOR": {"RESETBOT_DIGEST_AGENT_FACTOR": "0.5"},
	} {
		_, err := loadDigestSettings(env(kv))
		if err == nil || !strings.Contains(err.Error(), setting) {
			t.Errorf("%s: %v", setting, err)
		}
	}
	ds, err := loadDigestSettings(env(map[string]string{"RESETBOT_DIGEST_TZ": "Europe/Paris", "RESETBOT_DIGEST_HOURS": "07:00-19:00 Mon-Sat"}))
	if err != nil || ds.Config.Location.String() != "Europe/Paris" || ds.Config.Hours.String() != "07:00-19:00 Mon-Sat" {
		t.Errorf("%+v %v", ds.Config, err)
	}
}

// digest csv takes the same --since and --until as audit export, reads the store named by --store,
// and without Graph credentials writes resetbot's own records, saying Entra's side was left out.
func TestDigestCSVWithoutGraph(t *testing.T) {
	env, _ := dayOnFile(t) // a day of requests on 2026-11-27
	now := func() time.Time { return time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC) }
	for _, args := range [][]string{
		{"digest", "csv", "--store", env.DSN, "--since", "1d"},
		{"digest", "csv", "--store", env.DSN, "--since", "2026-11-27", "--until", "2026-11-28T00:00:00Z"},
		{"digest", "csv", "--store", env.DSN, "--since", "2w", "--until", "5m"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &cliContext{Stdout: &out, Stderr: &errb, Getenv: noEnv, Now: now})
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		if !strings.Contains(errb.String(), "resetbot: Entra's side was left out: Graph is not configured here") {
			t.Errorf("%v: stderr does not say Entra was left out:\n%s", args, errb.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) < 2 || !strings.Contains(out.String(), "adele@contoso.com") {
			t.Errorf("%v: the CSV lacks the bot's own records:\n%s", args, out.String())
		}
		if !strings.Contains(errb.String(), fmt.Sprintf("resetbot: %d rows", len(lines)-1)) {
			t.Errorf("%v: rows: %s (CSV has %d lines)", args, errb.String(), len(lines))
		}
	}

	// Graph half configured is a mistake to fix, not a reason to leave Entra out.
	var errb bytes.Buffer
	code := run(context.Background(), []string{"digest", "csv", "--store", env.DSN, "--since", "1d"},
		&cliContext{Stdout: io.Discard, Stderr: &errb, Getenv: func(k string) string {
			return map[string]string{"AZURE_TENANT_ID": "contoso"}[k]
		}, Now: now})
	if code == 0 || !strings.Contains(errb.String(), "AZURE_TENANT_ID") {
		t.Errorf("half a Graph configuration: exit %d, %s", code, errb.String())
	}
	// A period word it does not know is refused in words, as audit export refuses it.
	code, _, stderr := runCLI(t, nil, "digest", "csv", "--store", env.DSN, "--since", "yesterday")
	if code == 0 || !strings.Contains(stderr, `--since: "yesterday" is not a time I understand`) {
		t.Errorf("--since yesterday: exit %d, %s", code, stderr)
	}
}
