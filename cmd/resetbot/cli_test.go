package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs resetbot as a person would type it, with the given environment.
func runCLI(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	var environ []string
	for k, v := range vars {
		environ = append(environ, k+"="+v)
	}
	code = run(context.Background(), args, &cliContext{Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return vars[k] }, Environ: func() []string { return environ }})
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-V"}, {"version"}} {
		code, out, errb := runCLI(t, nil, args...)
		if code != 0 || !strings.HasPrefix(out, "resetbot ") || !strings.Contains(out, "go1.") || errb != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errb)
		}
	}
	version, revision = "v1.4.0", "0123456789abcdef0123"
	defer func() { version, revision = "", "" }()
	if _, out, _ := runCLI(t, nil, "--version"); !strings.HasPrefix(out, "resetbot v1.4.0 (revision 0123456789ab, go1.") {
		t.Errorf("with -ldflags: %q", out)
	}
}

// A wrong command line says so on stderr, with the command's usage, and exits 2; stdout stays
// empty, so `resetbot manifest teams > app.zip` without --app-id leaves no help text in the zip.
func TestUsageErrorsGoToStderr(t *testing.T) {
	for _, args := range [][]string{{"manifest", "teams"}, {"bogus"}, {"serve", "--no-such-flag"}, {"audit", "export", "--format", "xml"}} {
		code, out, errb := runCLI(t, nil, args...)
		if code != exitUsage || out != "" || !strings.Contains(errb, "resetbot: error:") || !strings.Contains(errb, "Usage:") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errb)
		}
	}
	code, _, errb := runCLI(t, nil, "manifest", "teams")
	if code != exitUsage || !strings.Contains(errb, "--app-id") {
		t.Errorf("manifest teams: exit %d, %q", code, errb)
	}
	// Help asked for is not an error: stdout, exit 0.
	if code, out, _ := runCLI(t, nil, "--help"); code != 0 || !strings.Contains(out, "Usage: resetbot") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
}

// config check reports every problem at once, each under its section, and exits 1.
func TestConfigCheckListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	certA, _ := writeCert(t, dir, "a.example")
	_, keyB := writeCert(t, dir, "b.example")
	vars := map[string]string{
		"AZURE_TENANT_ID": testTenant, "AZURE_CLIENT_ID": testApp, "AZURE_CLIENT_SECRET": "x",
		"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "s",
		"RESETBOT_DM_TTL":        "forever",
		"RESETBOT_LOG_LEVEL":     "loud",
		"RESETBOT_TLS_CERT_FILE": certA, "RESETBOT_TLS_KEY_FILE": keyB,
		"RESETBOT_POSTGRES_AUTH": "azure",
		"RESETBOT_DIGEST_HOURS":  "9 to 5",
		"MicrosoftAppId":         testApp, // Teams, with no tenant
		"RESETBOT_APROVAL_TTL":   "10m",   // a typo
		// What Kubernetes gives every pod for a service named resetbot: not typos.
		"RESETBOT_SERVICE_HOST": "10.0.0.1", "RESETBOT_SERVICE_PORT": "80", "RESETBOT_SERVICE_PORT_HTTP": "80",
		"RESETBOT_PORT": "tcp://10.0.0.1:80", "RESETBOT_PORT_80_TCP": "tcp://10.0.0.1:80",
		"RESETBOT_PORT_80_TCP_PROTO": "tcp", "RESETBOT_PORT_80_TCP_PORT": "80", "RESETBOT_PORT_80_TCP_ADDR": "10.0.0.1",
	}
	code, out, errb := runCLI(t, vars, "config", "check")
	if code != exitFailed || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	for _, want := range []string{
		"Policy and resets: RESETBOT_DM_TTL=\"forever\"",
		"Policy and resets: RESETBOT_ENCRYPTION_KEY is not set: generate one with `openssl rand -base64 32`",
		"Policy and resets: RESETBOT_AUDIT_KEY is not set",
		"Server: RESETBOT_LOG_LEVEL=\"loud\"",
		"Server: RESETBOT_TLS_KEY_FILE " + keyB + " is not the key of the certificate in RESETBOT_TLS_CERT_FILE",
		"Server: RESETBOT_POSTGRES_AUTH=azure signs in to PostgreSQL, but RESETBOT_STORE is SQLite",
		"Digests: RESETBOT_DIGEST_HOURS",
		"Slack: SLACK_BOT_TOKEN does not start with xoxb-",
		"Slack: RESETBOT_APPROVALS_CHANNEL is not set",
		"Microsoft Teams: MICROSOFT_APP_TENANT_ID must be your Entra tenant ID",
		"Unknown settings: RESETBOT_APROVAL_TTL is not a setting resetbot knows: did you mean RESETBOT_APPROVAL_TTL?",
	} {
		if !strings.Contains(errb, want) {
			t.Errorf("config check does not say %q:\n%s", want, errb)
		}
	}
	if !strings.Contains(errb, "the configuration has 11 problems") {
		t.Errorf("the count is wrong:\n%s", errb)
	}

	// Fixed, it says what would run.
	good := map[string]string{"AZURE_TENANT_ID": testTenant, "AZURE_CLIENT_ID": testApp, "AZURE_CLIENT_SECRET": "x",
		"MicrosoftAppId": testApp, "MicrosoftAppTenantId": testTenant, "MicrosoftAppPassword": "x",
		"RESETBOT_STORE": "postgres://resetbot:pw@db.example/resetbot", "RESETBOT_OPS_LISTEN": ":9090",
		"RESETBOT_ENCRYPTION_KEY": testEncryptionKey, "RESETBOT_AUDIT_KEY": testAuditKey}
	code, out, errb = runCLI(t, good, "config", "check")
	if code != 0 || !strings.Contains(out, "configuration OK: Teams; store postgres://resetbot:…@db.example/resetbot") ||
		!strings.Contains(out, "ops endpoints on :9090") || strings.Contains(out, "pw@") {
		t.Errorf("exit %d, %q %q", code, out, errb)
	}
}

// serve refuses to start with the same list.
func TestServeReportsEveryProblemAtStart(t *testing.T) {
	code, _, errb := runCLI(t, map[string]string{"RESETBOT_DM_TTL": "forever", "RESETBOT_LOG_FORMAT": "xml"}, "serve")
	if code != exitFailed || !strings.Contains(errb, "RESETBOT_DM_TTL") || !strings.Contains(errb, "RESETBOT_LOG_FORMAT") ||
		!strings.Contains(errb, "AZURE_TENANT_ID is not set") || !strings.Contains(errb, "none is configured") {
		t.Errorf("exit %d: %s", code, errb)
	}
	if first := strings.SplitN(errb, "\n", 2)[0]; !strings.Contains(first, `"msg":"resetbot starting","version":`) {
		t.Errorf("the first line does not say which resetbot this is: %s", first)
	}
}

// config shows every setting with its value, default or absence, and never a secret.
func TestConfigShow(t *testing.T) {
	vars := map[string]string{"SLACK_BOT_TOKEN": "xoxb-very-secret", "RESETBOT_DM_TTL": "5m", "MicrosoftAppId": testApp, "RESETBOT_DM_TLL": "1m"}
	code, out, _ := runCLI(t, vars, "config")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"SLACK_BOT_TOKEN", "(set, hidden)", "RESETBOT_DM_TTL", "5m", "RESETBOT_APPROVAL_TTL", "30m", "(default)",
		"MICROSOFT_APP_ID (as MicrosoftAppId)", testApp, "RESETBOT_PUBLIC_URL", "(not set)", "RESETBOT_DM_TLL is not a setting resetbot knows: did you mean RESETBOT_DM_TTL?"} {
		if !strings.Contains(out, want) {
			t.Errorf("config does not show %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "very-secret") {
		t.Error("config shows a secret")
	}
}

// An image started without a writable volume for SQLite says so before anything else.
func TestSQLiteNeedsAWritableFolder(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root can write anywhere: the image smoke test (tools/image) checks this as a non-root user")
	}
	dir := filepath.Join(t.TempDir(), "data")
	os.Mkdir(dir, 0o555)
	err := checkSQLiteWritable("sqlite:" + filepath.Join(dir, "resetbot.db"))
	if err == nil || !strings.Contains(err.Error(), "mount a writable volume") {
		t.Errorf("%v", err)
	}
}

func TestSQLiteFolderMissing(t *testing.T) {
	err := checkSQLiteWritable("sqlite:/nonexistent/data/resetbot.db")
	if err == nil || !strings.Contains(err.Error(), "the folder /nonexistent/data does not exist") || !strings.Contains(err.Error(), "mount a writable volume") {
		t.Errorf("%v", err)
	}
	if err := checkSQLiteWritable("sqlite:" + filepath.Join(t.TempDir(), "resetbot.db")); err != nil {
		t.Errorf("a writable folder: %v", err)
	}
}

// The owner migrates with `store migrate`; a grant is a PostgreSQL matter and SQLite says so.
func TestStoreMigrate(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "resetbot.db")
	code, out, errb := runCLI(t, map[string]string{"RESETBOT_STORE": dsn}, "store", "migrate")
	if code != 0 || out != "the store at "+dsn+" is up to date\n" {
		t.Errorf("exit %d, %q %q", code, out, errb)
	}
	code, out, errb = runCLI(t, nil, "store", "migrate", "--store", dsn, "--grant", "resetbot_bot")
	if code != exitFailed || out != "" || !strings.Contains(errb, "SQLite has no roles") {
		t.Errorf("exit %d, %q %q", code, out, errb)
	}
}

// A wrong value on the command line is said in words: no Go parser's message ("time: missing unit
// in duration", "parsing time", "is a directory") reaches the person typing.
func TestBadValuesInWords(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "trail.db")
	if code, _, errb := runCLI(t, nil, "store", "migrate", "--store", db); code != 0 {
		t.Fatalf("store migrate: %d %s", code, errb)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"audit", "export", "--poll", "1x"}, `--poll: "1x" is not a length of time: give a number and a unit, such as 500ms, 2s, 5m or 1h`},
		{[]string{"demo", "--latency", "5"}, `--latency: "5" is not a length of time`},
		{[]string{"audit", "export", "--after", "x"}, `--after: "x" is not a whole number`},
		{[]string{"audit", "export", "--since", "1x", "--store", db}, `--since: "1x" is not a time I understand`},
		{[]string{"audit", "export", "--store", db, "--out", dir}, "--out " + dir + " is a folder; give the path of a file to write, e.g. --out " + filepath.Join(dir, "audit.jsonl")},
		{[]string{"audit", "export", "--store", db, "--out", filepath.Join(dir, "no", "x.jsonl")}, "the folder " + filepath.Join(dir, "no") + " does not exist"},
		{[]string{"audit", "verify", "--store", "sqlite:" + dir}, "--store: " + dir + " is a folder; give the path of the database file, e.g. sqlite:" + filepath.Join(dir, "resetbot.db")},
		{[]string{"digest", "csv", "--since", "1d", "--store", filepath.Join(dir, "x.db")}, `--store="` + filepath.Join(dir, "x.db") + `" is not a store I know: set --store to sqlite:PATH`},
	}
	for _, tt := range tests {
		code, _, errb := runCLI(t, nil, tt.args...)
		if code == 0 || !strings.Contains(errb, tt.want) {
			t.Errorf("%v: exit %d, said:\n%s\nwant %q", tt.args, code, errb, tt.want)
		}
		for _, never := range []string{"time: missing", "time: unknown", "time: invalid", "parsing time", "is a directory", "bit int", "expected duration"} {
			if strings.Contains(errb, never) {
				t.Errorf("%v: said %q:\n%s", tt.args, never, errb)
			}
		}
	}
}

// /dev/null is a character device but no terminal: `manifest teams … > /dev/null` writes the zip
// there instead of refusing as if a person were reading binary on a screen.
func TestManifestTeamsToDevNull(t *testing.T) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer devnull.Close()
	if isTerminal(devnull) {
		t.Fatalf("%s is taken for a terminal", os.DevNull)
	}
	var errb bytes.Buffer
	code := run(context.Background(), []string{"manifest", "teams", "--app-id", "0f0e0d0c-0b0a-0908-0706-050403020100"},
		&cliContext{Stdout: devnull, Stderr: &errb, Getenv: noEnv})
	if code != 0 || strings.Contains(errb.String(), "redirect it") {
		t.Errorf("manifest teams > %s: exit %d, %s", os.DevNull, code, errb.String())
	}
	// A wrong app ID is still refused, whatever stdout is.
	errb.Reset()
	code = run(context.Background(), []string{"manifest", "teams", "--app-id", "not-a-guid"}, &cliContext{Stdout: devnull, Stderr: &errb, Getenv: noEnv})
	if code == 0 || !strings.Contains(errb.String(), `--app-id "not-a-guid" is not a GUID`) {
		t.Errorf("not-a-guid > %s: exit %d, %s", os.DevNull, code, errb.String())
	}
}

// --url means nothing to a Socket Mode app: refused, not dropped without a word.
func TestManifestSlackSocketRefusesURL(t *testing.T) {
	code, out, errb := runCLI(t, nil, "manifest", "slack", "--socket", "--url", "https://bot.fabrikam.com")
	if code == 0 || out != "" || !strings.Contains(errb, "--socket and --url https://bot.fabrikam.com do not go together: a Socket Mode app connects out and has no request URL") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errb)
	}
	code, out, errb = runCLI(t, nil, "manifest", "slack", "--socket")
	if code != 0 || !strings.Contains(out, `"socket_mode_enabled": true`) || errb != "" {
		t.Errorf("--socket alone: exit %d, stderr %q", code, errb)
	}
	code, out, errb = runCLI(t, nil, "manifest", "slack", "--url", "https://bot.fabrikam.com")
	if code != 0 || !strings.Contains(out, "https://bot.fabrikam.com/slack/events") || errb != "" {
		t.Errorf("--url: exit %d, stderr %q", code, errb)
	}
	if code, _, errb = runCLI(t, nil, "manifest", "slack"); code != 0 || !strings.Contains(errb, "uses the example URL") {
		t.Errorf("no --url: exit %d, stderr %q", code, errb)
	}
}
