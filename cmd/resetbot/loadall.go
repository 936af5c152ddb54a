package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	slackadapter "github.com/resetbot/resetbot/adapters/slack"
	"github.com/resetbot/resetbot/adapters/teams"
	"github.com/resetbot/resetbot/bot/store"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc"
)

// opsConfig is how serve runs: logging, the ops port, TLS, shutdown, and how it signs in to
// PostgreSQL.
type opsConfig struct {
	LogLevel        slog.Level
	LogFormat       string // json or text
	OpsListen       string // "" means the ops endpoints are on the public listener
	TLSCert, TLSKey string // both or neither
	DrainDelay      time.Duration
	ShutdownTimeout time.Duration
	PostgresAuth    string // password or azure
	PostgresScope   string
}

const (
	postgresAuthPassword = "password"
	postgresAuthAzure    = "azure"
	// DefaultPostgresScope is Azure Database for PostgreSQL's token scope in Azure's public cloud.
	DefaultPostgresScope = "https://ossrdbms-aad.database.windows.net/.default"
)

// loadOpsConfig reads the Server and Operations settings; store is RESETBOT_STORE as already read.
func loadOpsConfig(getenv func(string) string, listen, store string) (opsConfig, error) {
	c := opsConfig{LogLevel: slog.LevelInfo, LogFormat: "json", ShutdownTimeout: 60 * time.Second,
		PostgresAuth: postgresAuthPassword, PostgresScope: DefaultPostgresScope}
	e := envReader{getenv: getenv}
	if v := getenv("RESETBOT_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			e.fail("RESETBOT_LOG_LEVEL", v, "debug, info, warn or error")
		}
	}
	switch v := strings.ToLower(getenv("RESETBOT_LOG_FORMAT")); v {
	case "":
	case "json", "text":
		c.LogFormat = v
	default:
		e.fail("RESETBOT_LOG_FORMAT", v, "json or text")
	}
	e.str("RESETBOT_OPS_LISTEN", &c.OpsListen)
	if _, port, _ := net.SplitHostPort(c.OpsListen); c.OpsListen != "" && c.OpsListen == listen && port != "0" {
		e.errs = append(e.errs, fmt.Sprintf("RESETBOT_OPS_LISTEN=%q is RESETBOT_LISTEN's address too: give the ops endpoints a port of their own (e.g. :9090), or leave it unset to serve them on the public port", c.OpsListen))
	}
	e.duration("RESETBOT_DRAIN_DELAY", &c.DrainDelay, 0, 5*time.Minute)
	e.duration("RESETBOT_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout, time.Second, 30*time.Minute)

	e.str("RESETBOT_TLS_CERT_FILE", &c.TLSCert)
	e.str("RESETBOT_TLS_KEY_FILE", &c.TLSKey)
	switch {
	case c.TLSCert == "" && c.TLSKey == "":
	case c.TLSCert == "":
		e.errs = append(e.errs, "RESETBOT_TLS_KEY_FILE is set but RESETBOT_TLS_CERT_FILE is not: HTTPS needs both, the certificate and its key")
	case c.TLSKey == "":
		e.errs = append(e.errs, "RESETBOT_TLS_CERT_FILE is set but RESETBOT_TLS_KEY_FILE is not: HTTPS needs both, the certificate and its key")
	default:
		if _, err := loadKeyPair(c.TLSCert, c.TLSKey); err != nil {
			e.errs = append(e.errs, err.Error())
		}
	}

	switch v := strings.ToLower(getenv("RESETBOT_POSTGRES_AUTH")); v {
	case "", postgresAuthPassword:
	case postgresAuthAzure:
		c.PostgresAuth = postgresAuthAzure
		if !strings.HasPrefix(store, "postgres://") && !strings.HasPrefix(store, "postgresql://") {
			e.errs = append(e.errs, fmt.Sprintf("RESETBOT_POSTGRES_AUTH=azure signs in to PostgreSQL, but RESETBOT_STORE is %s: set RESETBOT_STORE=postgres://IDENTITY@SERVER.postgres.database.azure.com:5432/DATABASE?sslmode=require", storeKind(store)))
		} else if dsnHasPassword(store) {
			e.errs = append(e.errs, "RESETBOT_STORE carries a password, but RESETBOT_POSTGRES_AUTH=azure signs in with an Entra token instead: remove the password from RESETBOT_STORE, or unset RESETBOT_POSTGRES_AUTH")
		}
	default:
		e.fail("RESETBOT_POSTGRES_AUTH", v, "password or azure")
	}
	e.str("RESETBOT_POSTGRES_TOKEN_SCOPE", &c.PostgresScope)
	if len(e.errs) > 0 {
		return c, fmt.Errorf("configuration:\n  %s", strings.Join(e.errs, "\n  "))
	}
	return c, nil
}

func storeKind(dsn string) string {
	if strings.HasPrefix(dsn, "sqlite:") {
		return "SQLite (" + dsn + ")"
	}
	return "not a PostgreSQL URL"
}

// dsnHasPassword reports whether a postgres:// URL names a password, in its user info or as a
// parameter.
func dsnHasPassword(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil {
		return false
	}
	if _, ok := u.User.Password(); ok {
		return true
	}
	return u.Query().Get("password") != ""
}

// loadKeyPair reads the TLS certificate and key, saying which file is wrong and how.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("RESETBOT_TLS_CERT_FILE: %v", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("RESETBOT_TLS_KEY_FILE: %v", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	switch {
	case err == nil:
		return cert, nil
	case strings.Contains(err.Error(), "does not match"):
		return tls.Certificate{}, fmt.Errorf("RESETBOT_TLS_KEY_FILE %s is not the key of the certificate in RESETBOT_TLS_CERT_FILE %s: give the key the certificate was issued for", keyFile, certFile)
	case strings.Contains(err.Error(), "certificate"):
		return tls.Certificate{}, fmt.Errorf("RESETBOT_TLS_CERT_FILE %s holds no PEM certificate (%v)", certFile, err)
	default:
		return tls.Certificate{}, fmt.Errorf("RESETBOT_TLS_KEY_FILE %s holds no PEM private key (%v)", keyFile, err)
	}
}

// allConfig is everything `resetbot serve` reads from the environment.
type allConfig struct {
	Serve  serveConfig
	Ops    opsConfig
	Digest digestSettings
	Graph  graphsvc.Config
	Slack  *slackadapter.Config // nil: Slack is not configured
	Teams  *teams.Config        // nil: Teams is not configured
	// Unknown are variables that look like resetbot's but are none of its settings (typos):
	// config check reports them as problems, serve logs them as warnings.
	Unknown []string
}

// problem is one thing wrong in the settings, under the settings table's section it belongs to.
type problem struct{ Section, Text string }

// configError lists every problem found, so a deployment is fixed in one round.
type configError struct{ problems []problem }

func (e *configError) Error() string {
	var b strings.Builder
	if len(e.problems) == 1 {
		b.WriteString("the configuration has 1 problem:")
	} else {
		fmt.Fprintf(&b, "the configuration has %d problems:", len(e.problems))
	}
	for _, p := range e.problems {
		fmt.Fprintf(&b, "\n  %s: %s", p.Section, p.Text)
	}
	b.WriteString("\n(resetbot serve --help lists every setting; resetbot config check checks them without starting)")
	return b.String()
}

// loadAll reads every setting, collecting every problem rather than stopping at the first. environ
// (the process's variables) is used to spot variables that look like resetbot's but are none of
// its settings: typos.
func loadAll(getenv func(string) string, environ []string) (allConfig, error) {
	var c allConfig
	var probs []problem
	add := func(section string, err error) {
		for _, line := range problemLines(err) {
			probs = append(probs, problem{section, line})
		}
	}
	var err error
	c.Serve, err = loadServeConfig(getenv)
	add(secPolicy, err)
	c.Ops, err = loadOpsConfig(getenv, c.Serve.Listen, c.Serve.Store)
	add(secServer, err)
	c.Digest, err = loadDigestSettings(getenv)
	add(secDigest, err)
	c.Graph, err = graphsvc.ConfigFromEnv(getenv)
	add(secGraph, err)
	if sc, on, err := slackadapter.ConfigFromEnv(getenv); on {
		add(secSlack, err)
		c.Slack = &sc
	}
	if tc, on, err := teams.ConfigFromEnv(getenv); on {
		add(secTeams, err)
		c.Teams = &tc
	}
	// The dev switch stays a dev switch: unauthenticated activities from loopback are safe only when
	// nothing but loopback can reach the listener.
	if c.Teams != nil && c.Teams.InsecureLoopback && !loopbackOnly(c.Serve.Listen) {
		probs = append(probs, problem{secTeams, fmt.Sprintf("%s=1 accepts activities without a Bot Framework token, but RESETBOT_LISTEN=%q listens beyond loopback: use it only for development with RESETBOT_LISTEN=127.0.0.1:3978, and unset it anywhere else", teams.EnvInsecureLoopback, c.Serve.Listen)})
	}
	if c.Serve.Store == store.MemoryDSN || c.Serve.Store == "sqlite:" {
		probs = append(probs, problem{secServer, fmt.Sprintf("RESETBOT_STORE=%s keeps nothing past a restart, the audit trail and passwords waiting for delivery included: give it a file (sqlite:/data/resetbot.db) or PostgreSQL; the demo is where a throwaway store belongs", c.Serve.Store)})
	}
	// Slack people are acted for once they linked their chat account by signing in to Entra, which
	// needs sign-in (the device code flow when there is no public URL).
	if c.Slack != nil && slices.Contains(c.Serve.Service.LinkedIdentity, chat.PlatformSlack) {
		c.Serve.SignIn.Enabled = true
	}
	if c.Slack == nil && c.Teams == nil {
		probs = append(probs, problem{"Chat platforms", "none is configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN) for Slack, or MICROSOFT_APP_ID (MicrosoftAppId) for Teams; try `resetbot demo` to see it work without either"})
	}
	c.Unknown = unknownSettings(environ)
	if len(probs) > 0 {
		return c, &configError{probs}
	}
	return c, nil
}

// loopbackOnly reports whether a listen address can be reached from this host only.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// problemLines splits a loader's error into its problems: the loaders write a heading line ending
// in ":" followed by one indented line per problem, or join errors one per line.
func problemLines(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		if i == 0 && len(lines) > 1 && strings.HasSuffix(l, ":") {
			continue // "configuration:", "teams configuration:"
		}
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
