package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/resetbot/resetbot/internal/syncbuf"
)

// fakeSlack answers auth.test, or fails it while down is set.
func fakeSlack(t *testing.T, down *atomic.Bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"url":"https://contoso.slack.com/","team":"Contoso","user":"resetpw","team_id":"T0123ABCD","user_id":"U0BOT","bot_id":"B0BOT"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startServe runs `resetbot serve` in the test's process with vars, and returns its log and the
// addresses it says it serves on, once it says "serving".
func startServe(t *testing.T, vars map[string]string) (log *syncbuf.Buffer, public, ops string, stop func() int) {
	t.Helper()
	log = &syncbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, &cliContext{Stdout: io.Discard, Stderr: log, Getenv: func(k string) string { return vars[k] }})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(log.String(), `"msg":"serving"`) {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before serving:\n%s", code, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not say serving:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var line struct {
		Listen    string `json:"listen"`
		OpsListen string `json:"ops_listen"`
	}
	for _, l := range strings.Split(log.String(), "\n") {
		if strings.Contains(l, `"msg":"serving"`) {
			json.Unmarshal([]byte(l), &line)
		}
	}
	return log, line.Listen, line.OpsListen, func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
			return -1
		}
	}
}

func serveVars(t *testing.T, slackURL string) map[string]string {
	return map[string]string{
		"AZURE_TENANT_ID": testTenant, "AZURE_CLIENT_ID": testApp, "AZURE_CLIENT_SECRET": "not-used",
		"RESETBOT_GRAPH_ENDPOINT": "http://127.0.0.1:1",
		"SLACK_BOT_TOKEN":         "xoxb-test", "SLACK_SIGNING_SECRET": "signing-secret", "RESETBOT_APPROVALS_CHANNEL": "C0123ABCD",
		"RESETBOT_SLACK_API_URL":  slackURL + "/api/",
		"RESETBOT_STORE":          "sqlite:" + filepath.Join(t.TempDir(), "resetbot.db"),
		"RESETBOT_LISTEN":         "127.0.0.1:0",
		"RESETBOT_ENCRYPTION_KEY": testEncryptionKey, "RESETBOT_AUDIT_KEY": testAuditKey,
	}
}

// Keys for tests only: 32 bytes each, base64.
const (
	testEncryptionKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	testAuditKey      = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
)

func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With RESETBOT_OPS_LISTEN, /healthz, /readyz and /metrics answer on the ops port and not on the
// public one. Readiness follows Slack from cached checks; the first log line has the version; an
// access log line per request at debug, without the query.
func TestServeOpsPortApart(t *testing.T) {
	defer func(d time.Duration) { readyInterval = d }(readyInterval)
	readyInterval = 50 * time.Millisecond
	var slackDown atomic.Bool
	slack := fakeSlack(t, &slackDown)
	vars := serveVars(t, slack.URL)
	vars["RESETBOT_OPS_LISTEN"] = "127.0.0.1:0"
	vars["RESETBOT_LOG_LEVEL"] = "debug"
	log, public, ops, stop := startServe(t, vars)
	if public == "" || ops == "" || public == ops {
		t.Fatalf("serving on %q, ops on %q:\n%s", public, ops, log.String())
	}
	c := &http.Client{Timeout: 5 * time.Second}

	if code, body := get(t, c, "http://"+ops+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("ops /healthz: %d %q", code, body)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, _ := get(t, c, "http://"+public+p); code != http.StatusNotFound {
			t.Errorf("public %s: %d, want 404 (it is on the ops port)", p, code)
		}
	}
	waitReady := func(want int, says string) string {
		t.Helper()
		var body string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			var code int
			code, body = get(t, c, "http://"+ops+"/readyz")
			if code == want && strings.Contains(body, says) {
				return body
			}
		}
		t.Fatalf("/readyz never answered %d %q; last %q", want, says, body)
		return ""
	}
	body := waitReady(200, "ready\n")
	if !strings.Contains(body, "slack: up") || !strings.Contains(body, "store: up") {
		t.Errorf("/readyz detail: %q", body)
	}
	slackDown.Store(true)
	waitReady(503, "no chat platform answers (slack down)")

	_, metrics := get(t, c, "http://"+ops+"/metrics")
	for _, want := range []string{`resetbot_build_info{goversion="go1.`, `resetbot_dependency_up{dependency="slack"} 0`,
		`resetbot_dependency_up{dependency="store"} 1`, "resetbot_pending_approvals 0", "resetbot_pending_dm_withdrawals 0",
		"resetbot_last_digest_success_timestamp_seconds"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// One access log line per public request, with the route and status, never the query.
	resp, err := c.Get("http://" + public + "/oauth/callback?code=SECRET-CODE&state=x")
	if err == nil {
		resp.Body.Close()
	}
	resp, err = c.Post("http://"+public+"/slack/commands", "application/x-www-form-urlencoded", strings.NewReader("text=hi"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, metrics = get(t, c, "http://"+ops+"/metrics")
	if !strings.Contains(metrics, `resetbot_http_request_duration_seconds_count{code="401",route="POST /slack/commands"} 1`) {
		t.Errorf("/metrics has no request duration for the Slack command")
	}
	if code := stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	out := log.String()
	first := strings.SplitN(out, "\n", 2)[0]
	if !strings.Contains(first, `"msg":"resetbot starting"`) || !strings.Contains(first, `"version":"devel"`) {
		t.Errorf("first log line: %s", first)
	}
	if !regexp.MustCompile(`"msg":"http request".*"path":"/slack/commands","route":"POST /slack/commands","status":401`).MatchString(out) {
		t.Errorf("no access log line for the Slack command:\n%s", out)
	}
	if strings.Contains(out, "SECRET-CODE") {
		t.Error("the access log shows a query string")
	}
	if !strings.Contains(out, `"msg":"dependency down","dependency":"slack"`) {
		t.Errorf("Slack going down was not logged")
	}
	if !strings.Contains(out, `"msg":"stopped"`) {
		t.Errorf("no clean stop:\n%s", out)
	}
}

// At info level there is no access log; without RESETBOT_OPS_LISTEN the ops endpoints share the
// public port, as before.
func TestServeOpsOnPublicPortByDefault(t *testing.T) {
	var down atomic.Bool
	vars := serveVars(t, fakeSlack(t, &down).URL)
	log, public, ops, stop := startServe(t, vars)
	if ops != "" {
		t.Errorf("ops_listen %q without RESETBOT_OPS_LISTEN", ops)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	if code, _ := get(t, c, "http://"+public+"/healthz"); code != 200 {
		t.Errorf("/healthz on the public port: %d", code)
	}
	if code, m := get(t, c, "http://"+public+"/metrics"); code != 200 || !strings.Contains(m, "resetbot_build_info") {
		t.Errorf("/metrics on the public port: %d", code)
	}
	stop()
	if strings.Contains(log.String(), `"msg":"http request"`) {
		t.Error("access log lines at info level")
	}
}

// A port already taken is a start-up error naming the setting, before anything says "serving".
func TestServePortInUse(t *testing.T) {
	var down atomic.Bool
	taken := httptest.NewServer(http.NotFoundHandler())
	defer taken.Close()
	vars := serveVars(t, fakeSlack(t, &down).URL)
	vars["RESETBOT_LISTEN"] = strings.TrimPrefix(taken.URL, "http://")
	var errb syncbuf.Buffer
	code := run(context.Background(), []string{"serve"}, &cliContext{Stdout: io.Discard, Stderr: &errb, Getenv: func(k string) string { return vars[k] }})
	if code != exitFailed || !strings.Contains(errb.String(), "RESETBOT_LISTEN="+vars["RESETBOT_LISTEN"]) || strings.Contains(errb.String(), `"msg":"serving"`) {
		t.Errorf("exit %d:\n%s", code, errb.String())
	}
}

// HTTPS on a single VM: serve uses RESETBOT_TLS_CERT_FILE and _KEY_FILE, and sends traces of each
// request to the OTLP endpoint when one is set, continuing the caller's trace.
func TestServeTLSAndTraces(t *testing.T) {
	var down atomic.Bool
	vars := serveVars(t, fakeSlack(t, &down).URL)
	cert, key := writeCert(t, t.TempDir(), "resetbot.example")
	vars["RESETBOT_TLS_CERT_FILE"], vars["RESETBOT_TLS_KEY_FILE"] = cert, key

	spans := make(chan []byte, 16)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/json" && r.Header.Get("Api-Key") == "k 1" {
			spans <- b
		}
	}))
	defer collector.Close()
	vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.URL
	vars["OTEL_EXPORTER_OTLP_HEADERS"] = "api-key=k%201"
	defer otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())

	_, public, _, stop := startServe(t, vars)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+public+"/healthz", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	resp.Body.Close()
	if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != "resetbot.example" {
		t.Errorf("served certificate %q", cn)
	}
	if code := stop(); code != 0 { // shutdown flushes the spans
		t.Errorf("exit %d", code)
	}
	var got otlpRequest
	select {
	case b := <-spans:
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("the collector got %s: %v", b, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no spans reached the collector")
	}
	found := false
	for _, rs := range got.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				if s.Name == "GET /healthz" && s.TraceID == "4bf92f3577b34da6a3ce929d0e0e4736" && s.ParentSpanID == "00f067aa0ba902b7" && s.Kind == 2 {
					found = true
				}
			}
		}
		if !strings.Contains(mustJSON(rs.Resource.Attributes), `"key":"service.name","value":{"stringValue":"resetbot"}`) {
			t.Errorf("resource: %s", mustJSON(rs.Resource.Attributes))
		}
	}
	if !found {
		t.Errorf("no server span for GET /healthz in the caller's trace: %s", mustJSON(got))
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// The certificate files are reloaded when they change; a pair that no longer matches is refused
// and the previous certificate kept.
func TestCertReload(t *testing.T) {
	dir := t.TempDir()
	certA, keyA := writeCert(t, dir, "a.example")
	certB, keyB := writeCert(t, dir, "b.example")
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	copyFile := func(from, to string, mod time.Time) {
		b, _ := os.ReadFile(from)
		os.WriteFile(to, b, 0o600)
		os.Chtimes(to, mod, mod)
	}
	start := time.Now().Add(-time.Hour)
	copyFile(certA, certFile, start)
	copyFile(keyA, keyFile, start)
	var log syncbuf.Buffer
	r, err := newCertReloader(certFile, keyFile, newLogger(&log, opsConfig{LogFormat: "json"}))
	if err != nil {
		t.Fatal(err)
	}
	r.every = 0
	cn := func() string {
		c, _ := r.GetCertificate(nil)
		leaf, err := parseLeaf(c)
		if err != nil {
			t.Fatal(err)
		}
		return leaf
	}
	if got := cn(); got != "a.example" {
		t.Fatalf("serving %s", got)
	}
	copyFile(certB, certFile, start.Add(time.Minute))
	copyFile(keyB, keyFile, start.Add(time.Minute))
	if got := cn(); got != "b.example" {
		t.Errorf("after renewal: serving %s, want b.example", got)
	}
	copyFile(certA, certFile, start.Add(2*time.Minute)) // the certificate renewed, the key not yet
	if got := cn(); got != "b.example" {
		t.Errorf("with a mismatched pair: serving %s, want the previous b.example", got)
	}
	if !strings.Contains(log.String(), "still serving the previous certificate") || !strings.Contains(log.String(), "is not the key of the certificate") {
		t.Errorf("log: %s", log.String())
	}

	// At start, a mismatched pair is an error that says so.
	if _, err := newCertReloader(certA, keyB, quietLog()); err == nil || !strings.Contains(err.Error(), "is not the key of the certificate in RESETBOT_TLS_CERT_FILE") {
		t.Errorf("mismatched at start: %v", err)
	}
}

func parseLeaf(c *tls.Certificate) (string, error) {
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return "", err
	}
	return leaf.Subject.CommonName, nil
}

// Slack people are linked to Entra by a sign-in unless the admin says Slack's emails are SSO's; serve
// says at start which it is, and warns of the weaker one.
func TestServeSaysHowSlackPeopleAreKnown(t *testing.T) {
	var down atomic.Bool
	vars := serveVars(t, fakeSlack(t, &down).URL)
	log, _, _, stop := startServe(t, vars)
	stop()
	if out := log.String(); !strings.Contains(out, `"msg":"agent sign-in enabled"`) || !strings.Contains(out, `"links":["slack"]`) || strings.Contains(out, "RESETBOT_SLACK_IDENTITY=email") {
		t.Errorf("linked mode at start:\n%s", out)
	}
	vars["RESETBOT_SLACK_IDENTITY"] = "email"
	log, _, _, stop = startServe(t, vars)
	stop()
	if out := log.String(); !strings.Contains(out, `"level":"WARN","msg":"RESETBOT_SLACK_IDENTITY=email: a Slack user is taken to be the Entra user their profile email names`) || strings.Contains(out, "agent sign-in enabled") {
		t.Errorf("email mode at start:\n%s", out)
	}
}
