// Package teams is resetbot's Microsoft Teams adapter: the Bot Framework endpoint (POST
// /api/messages), Adaptive Card rendering, and chat.Chat over the Bot Framework connector.
//
// It owns everything Teams-specific and holds no policy: it verifies each request (the Bot
// Framework JWT, the tenant), turns typed commands and card clicks into chat.Incoming, and renders
// what the service says. It uses msbotbuilder-go only for its schema types; the token validation and
// the connector client are its own, in botframework, and so are the invoke responses. What it must
// remember to reach a conversation later (ConversationRef) it encodes itself, into a route the store
// keeps without reading.
//
// Of resetbot's packages it imports chat, bot (the store's interface for those routes), its own
// botframework and manifest/teams; it must not import graphsvc, a store engine or another adapter.
package teams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/chat"
)

// Handler is the part of the bot the adapter talks to: bot.Service.
type Handler interface {
	Handle(ctx context.Context, in chat.Incoming) error
}

// Config is everything the adapter needs. AppID, TenantID, Credential and Handler are required.
type Config struct {
	AppID      string                 // the bot's Entra app ID (MICROSOFT_APP_ID): token audience, and the bot's "28:" ID
	TenantID   string                 // the only tenant whose activities are acted on (MICROSOFT_APP_TENANT_ID)
	Credential azcore.TokenCredential // gets Bot Framework tokens for outbound calls
	Handler    Handler

	// ApprovalsConversation is the Teams channel approval cards go to ("19:…@thread.tacv2").
	ApprovalsConversation string
	// ApprovalsName is the approvals channel as people see it, team › channel ("IT › approvals");
	// default: learned from the channel's own activities, else "the approvals channel".
	ApprovalsName string
	// AppName is the app's name as the Teams manifest gives it (default "ResetPW").
	AppName string
	// AuditConversation is the Teams channel digests go to ("19:…@thread.tacv2"); empty means no
	// digests in Teams.
	AuditConversation string
	// ServiceURL is the connector for proactive messages before any activity has shown which one
	// serves the tenant (e.g. https://smba.trafficmanager.net/emea/). Learned otherwise.
	ServiceURL string
	// Refs remembers conversation references across restarts (default: in memory).
	Refs ConversationRefs

	MetadataURL  string   // OpenID metadata for inbound tokens (default botframework.DefaultOpenIDMetadataURL)
	Issuer       string   // inbound token issuer (default botframework.Issuer)
	TokenScope   string   // outbound token scope (default botframework.Scope)
	ServiceHosts []string // more connector hosts that may receive the token (sovereign clouds)
	// FileHosts are more hosts a file a person sends may be downloaded from, besides SharePoint's
	// (a private cloud); "*.example" matches subdomains.
	FileHosts []string

	// InsecureLoopback accepts activities without a token when the request comes from loopback with
	// no proxy headers AND names a loopback service URL: for Microsoft 365 Agents Playground, which
	// sends no tokens. Off by default; never for a bot reachable from outside.
	InsecureLoopback bool
	// AllowLoopbackServiceURL lets the token go to loopback service URLs and the metadata be read over
	// http on loopback: tests. InsecureLoopback implies the first.
	AllowLoopbackServiceURL bool

	// Go runs work after the request is acknowledged; the server's graceful shutdown waits for it.
	// Default: a plain goroutine.
	Go func(func())
	// Acked is told how long each acknowledgement took (metrics).
	Acked func(time.Duration)
	Log   *slog.Logger

	HTTPClient         *http.Client     // outbound and metadata calls; must have a timeout (default 15s)
	Now                func() time.Time // the clock tokens are checked against (default time.Now)
	KeyRefreshInterval time.Duration    // least time between forced key set refreshes (default 1m)
	// InvokeTimeout is how long a card click may take before its invoke is answered with "working
	// on it" (default 10s: Teams gives up on the answer after about 15).
	InvokeTimeout time.Duration
	MaxBody       int64 // request body limit (default 256 KiB)
	MaxRetryWait  time.Duration
}

// Adapter is the Teams endpoint and chat.Chat for Teams.
type Adapter struct {
	cfg      Config
	log      *slog.Logger
	verifier *botframework.Verifier
	conn     *botframework.Connector
	urls     botframework.ServiceURLPolicy // where the connector may send the bot's token
	refs     routes

	mu      sync.Mutex
	watches map[string][]*invoke // card activity ID → invokes waiting to answer with it
	// approvalsName is the approvals channel's team › channel name, learned from its activities.
	approvalsName string
	// welcomed are the conversations welcomed lately: Teams announces one install with both an
	// installationUpdate and a conversationUpdate.
	welcomed map[string]time.Time
}

// New checks the configuration and builds the adapter. It refuses to start without an app ID or a
// tenant: with no app ID any token would pass, with no tenant any organisation could use the bot.
func New(cfg Config) (*Adapter, error) {
	var missing []string
	if strings.TrimSpace(cfg.AppID) == "" {
		missing = append(missing, "MICROSOFT_APP_ID (the bot's app ID)")
	}
	if strings.TrimSpace(cfg.TenantID) == "" {
		missing = append(missing, "MICROSOFT_APP_TENANT_ID (your tenant: activities from any other are refused)")
	}
	if cfg.Credential == nil {
		missing = append(missing, "a credential (MICROSOFT_APP_PASSWORD, MICROSOFT_APP_CERTIFICATE_PATH, or MICROSOFT_APP_TYPE=UserAssignedMSI)")
	}
	if cfg.Handler == nil {
		missing = append(missing, "the bot service")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("teams: missing %s", strings.Join(missing, "; "))
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Go == nil {
		cfg.Go = func(f func()) { go f() }
	}
	if cfg.Acked == nil {
		cfg.Acked = func(time.Duration) {}
	}
	if cfg.Refs == nil {
		cfg.Refs = NewMemoryRefs()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.InvokeTimeout <= 0 {
		cfg.InvokeTimeout = 10 * time.Second
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 256 << 10
	}
	if cfg.InsecureLoopback {
		cfg.AllowLoopbackServiceURL = true
		cfg.Log.Warn("⚠️  RESETBOT_TEAMS_INSECURE_LOOPBACK is on: activities from loopback that name a loopback service URL are accepted WITHOUT a Bot Framework token. " +
			"This is for Microsoft 365 Agents Playground on a development machine only; never run it behind a tunnel or proxy, or with a real tenant.")
	}
	v, err := botframework.NewVerifier(botframework.VerifierConfig{AppID: cfg.AppID, MetadataURL: cfg.MetadataURL, Issuer: cfg.Issuer,
		HTTPClient: cfg.HTTPClient, Now: cfg.Now, RefreshInterval: cfg.KeyRefreshInterval,
		AllowHTTPMetadata: cfg.AllowLoopbackServiceURL})
	if err != nil {
		return nil, err
	}
	policy := botframework.ServiceURLPolicy{ExtraHosts: cfg.ServiceHosts, AllowLoopback: cfg.AllowLoopbackServiceURL}
	conn, err := botframework.NewConnector(botframework.ConnectorConfig{Credential: cfg.Credential, Scope: cfg.TokenScope,
		HTTPClient: cfg.HTTPClient, Policy: policy, MaxRetryWait: cfg.MaxRetryWait})
	if err != nil {
		v.Close()
		return nil, err
	}
	if cfg.ServiceURL != "" {
		if _, err := policy.Check(cfg.ServiceURL); err != nil {
			v.Close()
			return nil, fmt.Errorf("teams: RESETBOT_TEAMS_SERVICE_URL: %w", err)
		}
	}
	return &Adapter{cfg: cfg, log: cfg.Log, verifier: v, conn: conn, urls: policy, refs: routes{cfg.Refs}, watches: map[string][]*invoke{}}, nil
}

// Close stops the key cache.
func (a *Adapter) Close() error { return a.verifier.Close() }

// Ready reports whether inbound tokens can be checked (the signing keys are loaded) and outbound
// calls can be authorised (a token can be had): /readyz.
func (a *Adapter) Ready(ctx context.Context) error {
	var errs []error
	if !a.cfg.InsecureLoopback {
		if err := a.verifier.Ready(ctx); err != nil {
			errs = append(errs, fmt.Errorf("signing keys: %w", err))
		}
	}
	if err := a.conn.Ready(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
