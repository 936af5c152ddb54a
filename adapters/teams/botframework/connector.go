// Package botframework is resetbot's own client of the Bot Framework, for the Teams adapter: the
// connector REST API it sends activities through (Connector, with the ServiceURLPolicy that decides
// where the bot's token may go) and the validation of the JWT on every inbound request (Verifier).
// msbotbuilder-go's client and validator are unsafe (see Connector and Verifier for why); its
// schema types are used as they are.
//
// It knows nothing of resetbot's reset service or message model: it must not import bot, chat or
// any other adapter, only the Bot Framework's wire and its tokens.
package botframework

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/infracloudio/msbotbuilder-go/schema"
)

// Scope is the scope of the token the connector accepts (public cloud).
const Scope = "https://api.botframework.com/.default"

// Connector is a thin client for the Bot Framework connector REST API: the four calls resetbot
// makes, with timeouts, contexts and bounded 429 handling. msbotbuilder-go's client drops response
// bodies (so no activity IDs), races on its token cache and ignores contexts; this one keeps none of
// that. It is safe for concurrent use: it holds no mutable state, and azidentity's credentials
// cache and refresh tokens under their own locks.
type Connector struct {
	cred    azcore.TokenCredential
	scope   string
	http    *http.Client
	policy  ServiceURLPolicy
	maxWait time.Duration
	retries int
	sleep   func(ctx context.Context, d time.Duration) error
}

// ConnectorConfig configures a Connector.
type ConnectorConfig struct {
	// Credential gets tokens for Scope: azidentity's client secret, certificate or managed identity
	// credential with the bot's own tenant as authority, or a fake in tests.
	Credential azcore.TokenCredential
	Scope      string // default Scope
	// HTTPClient must have a timeout; the default has 15 seconds.
	HTTPClient *http.Client
	// Policy says which service URLs may receive the token.
	Policy ServiceURLPolicy
	// MaxRetryWait is the longest Retry-After the client waits out on a 429 (default 10s); a longer
	// one fails the call at once rather than hold a person's request hostage.
	MaxRetryWait time.Duration
}

// NewConnector makes a connector client.
func NewConnector(cfg ConnectorConfig) (*Connector, error) {
	if cfg.Credential == nil {
		return nil, errors.New("teams connector: no credential to get Bot Framework tokens with")
	}
	c := &Connector{cred: cfg.Credential, scope: cfg.Scope, http: cfg.HTTPClient, policy: cfg.Policy,
		maxWait: cfg.MaxRetryWait, retries: 3, sleep: sleepCtx}
	if c.scope == "" {
		c.scope = Scope
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 15 * time.Second}
	}
	if c.maxWait <= 0 {
		c.maxWait = 10 * time.Second
	}
	return c, nil
}

// Activity is what resetbot sends. msbotbuilder-go's schema.Activity would serialise dozens of empty
// fields and zero timestamps with it; this sends only what Teams reads.
type Activity struct {
	Type        string              `json:"type"`
	ID          string              `json:"id,omitempty"`
	Text        string              `json:"text,omitempty"`
	Summary     string              `json:"summary,omitempty"`
	Attachments []schema.Attachment `json:"attachments,omitempty"`
}

// conversationParameters is the body of POST /v3/conversations. schema.ConversationParameters
// would send an empty "activity" object and drop isGroup:false, which Teams wants to see.
type conversationParameters struct {
	IsGroup     bool                    `json:"isGroup"`
	Bot         schema.ChannelAccount   `json:"bot"`
	Members     []schema.ChannelAccount `json:"members"`
	TenantID    string                  `json:"tenantId,omitempty"`
	ChannelData map[string]any          `json:"channelData,omitempty"`
}

// ConnectorError is a refusal by the connector service. It carries the service's code (e.g.
// BotNotInConversationRoster) and never the token.
type ConnectorError struct {
	Op         string
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *ConnectorError) Error() string {
	s := fmt.Sprintf("teams connector: %s: HTTP %d", e.Op, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Status == http.StatusForbidden {
		s += " (is the app installed for this person or in this team?)"
	}
	return s
}

// StatusOf returns the HTTP status of a connector refusal, or 0.
func StatusOf(err error) int {
	var ce *ConnectorError
	if errors.As(err, &ce) {
		return ce.Status
	}
	return 0
}

// Send posts an activity to a conversation and returns the new activity's ID.
func (c *Connector) Send(ctx context.Context, serviceURL, conversationID string, a Activity) (string, error) {
	var res schema.ResourceResponse
	err := c.do(ctx, "send activity", http.MethodPost, serviceURL, "v3/conversations/"+url.PathEscape(conversationID)+"/activities", a, &res)
	if err != nil {
		return "", err
	}
	if res.ID == "" {
		// Some channels answer 201 with no ID; the message is sent but cannot be updated later.
		return "", &ConnectorError{Op: "send activity", Status: http.StatusOK, Message: "the service returned no activity ID"}
	}
	return res.ID, nil
}

// Update replaces an activity the bot sent.
func (c *Connector) Update(ctx context.Context, serviceURL, conversationID, activityID string, a Activity) error {
	a.ID = activityID
	return c.do(ctx, "update activity", http.MethodPut, serviceURL,
		"v3/conversations/"+url.PathEscape(conversationID)+"/activities/"+url.PathEscape(activityID), a, nil)
}

// Delete removes an activity the bot sent.
func (c *Connector) Delete(ctx context.Context, serviceURL, conversationID, activityID string) error {
	return c.do(ctx, "delete activity", http.MethodDelete, serviceURL,
		"v3/conversations/"+url.PathEscape(conversationID)+"/activities/"+url.PathEscape(activityID), nil, nil)
}

// CreateConversation opens (or finds: Teams returns the existing one) the 1:1 conversation between
// the bot and a person, and returns its ID. member is the person's Teams user ID (29:…) or their
// Entra object ID, which Teams also accepts in members[].id.
func (c *Connector) CreateConversation(ctx context.Context, serviceURL, botID, tenantID, member string) (string, error) {
	p := conversationParameters{
		Bot:         schema.ChannelAccount{ID: botID},
		Members:     []schema.ChannelAccount{{ID: member}},
		TenantID:    tenantID,
		ChannelData: map[string]any{"tenant": map[string]string{"id": tenantID}},
	}
	var res schema.ConversationResourceResponse
	if err := c.do(ctx, "create conversation", http.MethodPost, serviceURL, "v3/conversations", p, &res); err != nil {
		return "", err
	}
	if res.ID == "" {
		return "", &ConnectorError{Op: "create conversation", Status: http.StatusOK, Message: "the service returned no conversation ID"}
	}
	return res.ID, nil
}

// do makes one call, waiting out 429s up to the bound. A 429 means the service did not act, so
// retrying even a POST cannot send a message twice; other failures are never retried here.
func (c *Connector) do(ctx context.Context, op, method, serviceURL, path string, body, out any) error {
	base, err := c.policy.Check(serviceURL)
	if err != nil {
		return fmt.Errorf("teams connector: %s: %w", op, err)
	}
	endpoint := strings.TrimSuffix(base.String(), "/") + "/" + path
	var payload []byte
	if body != nil {
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("teams connector: %s: %w", op, err)
		}
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.scope}})
		if err != nil {
			return fmt.Errorf("teams connector: %s: getting a Bot Framework token: %w", op, err)
		}
		req, err := http.NewRequestWithContext(ctx, method, endpoint, bytes.NewReader(payload))
		if err != nil {
			return fmt.Errorf("teams connector: %s: %w", op, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return fmt.Errorf("teams connector: %s: %w", op, redactURLError(err))
		}
		b, readErr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if readErr != nil {
				return fmt.Errorf("teams connector: %s: reading the answer: %w", op, readErr)
			}
			if out != nil && len(bytes.TrimSpace(b)) > 0 {
				if err := json.Unmarshal(b, out); err != nil {
					return fmt.Errorf("teams connector: %s: the answer is not JSON: %w", op, err)
				}
			}
			return nil
		}
		ce := connectorError(op, resp, b)
		if resp.StatusCode != http.StatusTooManyRequests || attempt >= c.retries || ce.RetryAfter > c.maxWait {
			return ce
		}
		wait := ce.RetryAfter
		if wait <= 0 {
			wait = time.Duration(1<<attempt) * time.Second
		}
		if err := c.sleep(ctx, min(wait, c.maxWait)); err != nil {
			return ce
		}
	}
}

func connectorError(op string, resp *http.Response, body []byte) *ConnectorError {
	ce := &ConnectorError{Op: op, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		ce.Code, ce.Message = e.Error.Code, e.Error.Message
		if ce.Message == "" {
			ce.Message = e.Message
		}
	}
	if len(ce.Message) > 300 {
		ce.Message = ce.Message[:300] + "…"
	}
	return ce
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// redactURLError keeps the method and host of a transport error but drops the query string,
// which on some proxies carries more than it should.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.User = "", nil
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// ServiceURLPolicy decides which service URLs may receive the bot's token. An activity's serviceUrl
// is signed by the Bot Framework, but the token is a bearer credential for the bot's whole
// identity: it goes only to Microsoft's connector hosts, so a forged or misrouted URL never gets it.
type ServiceURLPolicy struct {
	// ExtraHosts are more host names, exact ("bots.example.com") or as a suffix ("*.example.com").
	ExtraHosts []string
	// AllowLoopback admits http and https on localhost and loopback addresses: tests, and the
	// local Teams emulator in development.
	AllowLoopback bool
}

// microsoftHosts are Teams' connector hosts: the global traffic manager and the regional and
// sovereign-cloud endpoints (smba.infra.gcc.teams.microsoft.com, smba.infra.gov.teams.microsoft.us…).
var microsoftHosts = []string{"smba.trafficmanager.net", "*.botframework.com", "*.teams.microsoft.com", "*.teams.microsoft.us", "*.botframework.us"}

// Check parses a service URL and returns it if the token may go there.
func (p ServiceURLPolicy) Check(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("service URL %q is not a plain absolute URL", Truncate(raw, 100))
	}
	host := strings.ToLower(u.Hostname())
	if p.AllowLoopback && IsLoopbackHost(host) && (u.Scheme == "http" || u.Scheme == "https") {
		return u, nil
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("refusing to send the bot's token to %s: not https", u.Host)
	}
	for _, pat := range append(append([]string(nil), microsoftHosts...), p.ExtraHosts...) {
		pat = strings.ToLower(strings.TrimSpace(pat))
		if suffix, ok := strings.CutPrefix(pat, "*"); ok {
			if strings.HasSuffix(host, suffix) && len(host) > len(suffix) {
				return u, nil
			}
		} else if host == pat {
			return u, nil
		}
	}
	return nil, fmt.Errorf("refusing to send the bot's token to %s: not a Bot Framework connector host (add it to RESETBOT_TEAMS_SERVICE_HOSTS if it is one)", u.Host)
}

// IsLoopbackHost reports whether a host name is localhost or a loopback address: the only hosts
// plain http is ever admitted for (tests, the local Teams emulator).
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Truncate shortens s to at most n bytes, on a rune boundary, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Ready gets a token (from the credential's cache when it has one), for readiness.
func (c *Connector) Ready(ctx context.Context) error {
	if _, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.scope}}); err != nil {
		return fmt.Errorf("getting a Bot Framework token: %w", err)
	}
	return nil
}
