package slack

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultAPIURL is Slack's Web API base. RESETBOT_SLACK_API_URL replaces it for private gateways and tests.
const DefaultAPIURL = "https://slack.com/api/"

// Config is what the Slack adapter needs. The tokens and the signing secret are secrets: they are
// never logged and never put in an error (Config's String and LogValue hide them).
type Config struct {
	BotToken      string // xoxb-…: every Web API call
	AppToken      string // xapp-…: Socket Mode; when set, no public URL is needed
	SigningSecret string // verifies HTTP requests; required in HTTP mode
	APIURL        string // Web API base, ending in "/"; DefaultAPIURL when empty

	// ApprovalsChannel is the channel ID (C…) approval cards are posted to. The bot must be a member.
	ApprovalsChannel string
	// AuditChannel is the channel ID (C…) digests and their CSV go to (RESETBOT_AUDIT_CHANNEL);
	// empty means no digests in Slack. The bot must be a member.
	AuditChannel string

	// Workspaces are the team (T…) or Enterprise Grid organisation (E…) IDs whose people may use the bot.
	// Empty means the workspace or organisation the bot token belongs to (asked with auth.test), so an app
	// installed somewhere else by mistake cannot reset anyone here.
	Workspaces []string

	// IdentityTTL is how long a Slack user's profile email is trusted before users.info is asked again.
	IdentityTTL time.Duration
	// MaxListBytes is the largest CSV list taken from a DM.
	MaxListBytes int64

	// HTTPClient makes the Web API and response_url calls; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	Log        *slog.Logger
	// Go runs the work that follows an acknowledgement (resetbot serve passes its own, which graceful
	// shutdown waits for). nil runs a goroutine.
	Go func(func())
	// Acked hears how long each acknowledgement took (the ack latency metric). May be nil.
	Acked func(time.Duration)
}

// SocketMode reports whether Slack is reached over Socket Mode rather than HTTP.
func (c Config) SocketMode() bool { return c.AppToken != "" }

// String never shows a secret, so printing a Config by mistake leaks nothing.
func (c Config) String() string {
	mode := "http"
	if c.SocketMode() {
		mode = "socket"
	}
	return fmt.Sprintf("slack.Config{mode: %s, api: %s, approvals: %s, audit: %s, workspaces: %v}", mode, c.apiURL(), c.ApprovalsChannel, c.AuditChannel, c.Workspaces)
}

// LogValue implements slog.LogValuer with the same redaction.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

func (c Config) apiURL() string {
	if c.APIURL == "" {
		return DefaultAPIURL
	}
	return c.APIURL
}

// The variables resetbot serve reads for Slack.
const (
	EnvBotToken         = "SLACK_BOT_TOKEN"
	EnvAppToken         = "SLACK_APP_TOKEN"
	EnvSigningSecret    = "SLACK_SIGNING_SECRET"
	EnvAPIURL           = "RESETBOT_SLACK_API_URL"
	EnvApprovalsChannel = "RESETBOT_APPROVALS_CHANNEL"
	EnvWorkspaces       = "RESETBOT_SLACK_WORKSPACES"
	EnvAuditChannel     = "RESETBOT_AUDIT_CHANNEL"
)

var channelID = regexp.MustCompile(`^[CG][A-Z0-9]{6,}$`)
var workspaceID = regexp.MustCompile(`^[TE][A-Z0-9]{6,}$`)

// ConfigFromEnv reads the Slack settings. enabled is false, with no error, when none of Slack's own
// variables is set: the deployment does not use Slack. Every error names the variable and what it wants,
// and never repeats a secret's value.
func ConfigFromEnv(getenv func(string) string) (cfg Config, enabled bool, err error) {
	cfg = Config{
		BotToken:         strings.TrimSpace(getenv(EnvBotToken)),
		AppToken:         strings.TrimSpace(getenv(EnvAppToken)),
		SigningSecret:    strings.TrimSpace(getenv(EnvSigningSecret)),
		APIURL:           strings.TrimSpace(getenv(EnvAPIURL)),
		ApprovalsChannel: strings.TrimSpace(getenv(EnvApprovalsChannel)),
		AuditChannel:     strings.TrimSpace(getenv(EnvAuditChannel)),
	}
	if cfg.BotToken == "" && cfg.AppToken == "" && cfg.SigningSecret == "" {
		return Config{}, false, nil
	}
	var errs []string
	switch {
	case cfg.BotToken == "":
		errs = append(errs, EnvBotToken+" is not set: the bot token (xoxb-…) from OAuth & Permissions")
	case !strings.HasPrefix(cfg.BotToken, "xoxb-"):
		errs = append(errs, EnvBotToken+" does not start with xoxb-: use the Bot User OAuth Token, not a user or app-level token")
	}
	if cfg.AppToken != "" && !strings.HasPrefix(cfg.AppToken, "xapp-") {
		errs = append(errs, EnvAppToken+" does not start with xapp-: use an app-level token with connections:write (Basic Information → App-Level Tokens)")
	}
	if !cfg.SocketMode() && cfg.SigningSecret == "" {
		errs = append(errs, EnvSigningSecret+" is not set: HTTP mode needs the Signing Secret (Basic Information → App Credentials); or set "+EnvAppToken+" for Socket Mode")
	}
	if cfg.APIURL != "" {
		u, perr := url.Parse(cfg.APIURL)
		if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !strings.HasSuffix(cfg.APIURL, "/") {
			errs = append(errs, fmt.Sprintf("%s=%q: want an http(s) URL ending in /, such as %s", EnvAPIURL, cfg.APIURL, DefaultAPIURL))
		}
	}
	switch {
	case cfg.ApprovalsChannel == "":
		errs = append(errs, EnvApprovalsChannel+" is not set: the ID of the Slack channel approval cards go to (channel details → About → Channel ID, e.g. C0123ABCD)")
	case !channelID.MatchString(cfg.ApprovalsChannel):
		errs = append(errs, fmt.Sprintf("%s=%q: want a channel ID such as C0123ABCD (channel details → About), not the channel's name", EnvApprovalsChannel, cfg.ApprovalsChannel))
	}
	if cfg.AuditChannel != "" && !channelID.MatchString(cfg.AuditChannel) {
		errs = append(errs, fmt.Sprintf("%s=%q: want the audit channel's ID such as C0123ABCD (channel details → About), not its name", EnvAuditChannel, cfg.AuditChannel))
	}
	for _, w := range strings.Split(getenv(EnvWorkspaces), ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		if !workspaceID.MatchString(w) {
			errs = append(errs, fmt.Sprintf("%s: %q is not a workspace (T…) or organisation (E…) ID", EnvWorkspaces, w))
			continue
		}
		cfg.Workspaces = append(cfg.Workspaces, w)
	}
	if len(errs) > 0 {
		return Config{}, true, fmt.Errorf("configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return cfg, true, nil
}
