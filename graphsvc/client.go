package graphsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	formser "github.com/microsoft/kiota-serialization-form-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	textser "github.com/microsoft/kiota-serialization-text-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	graphauth "github.com/microsoftgraph/msgraph-sdk-go-core/authentication"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/resetbot/resetbot/bot"
)

// Client is resetbot's Graph client. It implements bot.Directory and is safe for concurrent use.
type Client struct {
	// token is the app's own credential, bounded, and the scope it asks for: AppAccess reads the
	// permissions Entra put in the token.
	token        boundedCredential
	scope        string
	adapter      *msgraphgocore.GraphRequestAdapterBase
	baseURL      string // endpoint + "/v1.0"
	maxRetries   int
	maxRetryWait time.Duration
	batch        *batchState // FindUsers and ResetPasswords: concurrency and write pacing (batch.go)

	// Lookups: the shared privileged set (directory_index.go) and what the policy reads beyond it.
	index            *indexCache
	groupsOfInterest []string // nil: read each user's own groups
	unitsOfInterest  []string

	// For calls made as a signed-in agent (agent.go): the same HTTP pipeline, and where a token
	// may go.
	hc           *http.Client
	timeout      time.Duration
	host         string // the endpoint's host name, for the SDK's allowed-hosts check
	endpointHost string // host[:port]
	scheme       string
	agent        agentSettings

	// The digest's reads of auditLogs (audits.go).
	audits        auditPace
	reportsBudget int
	reportsWindow time.Duration
}

type agentSettings struct {
	operationTimeout, minPoll, maxPoll time.Duration
}

var _ bot.Directory = (*Client)(nil)

// graphClientOptions names the SDK in the SdkVersion telemetry header, as the root package would.
var graphClientOptions = msgraphgocore.GraphClientOptions{GraphServiceLibraryVersion: "1.89.0"}

// retryBaseDelay is the first backoff step when Graph gives no Retry-After (kiota doubles it per
// attempt and adds up to a second of jitter): 1 s, 2 s, 4 s.
const retryBaseDelay = 1

// registerSerializers does once what the root msgraph-sdk-go package does in its constructor, which
// we do not import: without a JSON factory every response fails with "content type
// application/json does not have a factory registered to be parsed".
var registerSerializers = sync.OnceFunc(func() {
	abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return jsonser.NewJsonSerializationWriterFactory() })
	abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return textser.NewTextSerializationWriterFactory() })
	abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return formser.NewFormSerializationWriterFactory() })
	abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return jsonser.NewJsonParseNodeFactory() })
	abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return textser.NewTextParseNodeFactory() })
	abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return formser.NewFormParseNodeFactory() })
	// Errors on later pages of a collection are parsed as Graph errors too (the page iterator looks
	// its error mapping up here; the root package never registers one). An error means someone
	// else already registered it, which is as good.
	_ = msgraphgocore.RegisterError(msgraphgocore.PageIteratorErrorRegistryKey, abs.ErrorMappings{
		"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue,
	})
})

// New builds a Client. It does not call Graph; `resetbot check` does that through FindUser.
func New(cfg Config) (*Client, error) {
	endpoint := cfg.GraphEndpoint
	if endpoint == "" {
		endpoint = DefaultGraphEndpoint
	}
	ep, err := normalizeEndpoint(endpoint)
	if err != nil {
		return nil, fmt.Errorf("graph endpoint: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	case cfg.MaxRetries > 10:
		cfg.MaxRetries = 10 // kiota's own ceiling
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = DefaultMaxRetryWait
	}
	cred := cfg.Credential
	if cred == nil {
		cred, err = credentialFromEnv(os.Getenv, firstSet(cfg.TenantID, os.Getenv(EnvTenantID)),
			firstSet(cfg.ClientID, os.Getenv(EnvClientID)), firstSet(cfg.AuthorityHost, os.Getenv(EnvAuthorityHost)), cfg.HTTPClient)
		if err != nil {
			return nil, err
		}
	}
	scope := cfg.Scope
	if scope == "" {
		scope = ep.Scheme + "://" + ep.Host + "/.default"
	}

	// The SDK only attaches the token for hosts on this list, and silently sends the request
	// without Authorization for any other (graph.md §8). Listing exactly our endpoint's host also
	// keeps the token from following a nextLink to anywhere else.
	bounded := boundedCredential{cred, cfg.Timeout, signInHost(cred, cfg.AuthorityHost)}
	auth, err := graphauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(
		bounded, []string{scope}, []string{ep.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("graph auth provider: %w", err)
	}

	c := &Client{
		token:           bounded,
		scope:           scope,
		baseURL:         ep.String() + "/v1.0",
		maxRetries:      cfg.MaxRetries,
		maxRetryWait:    cfg.MaxRetryWait,
		reportsBudget:   cfg.ReportsBudget,
		reportsWindow:   positive(cfg.ReportsWindow, ReportsWindow),
		batch:           newBatchState(cfg),
		index:           newIndexCache(cfg.DirectoryCacheTTL),
		unitsOfInterest: slices.Clone(cfg.UnitsOfInterest),
		timeout:         cfg.Timeout,
		host:            ep.Hostname(),
		endpointHost:    ep.Host,
		scheme:          ep.Scheme,
		agent: agentSettings{
			operationTimeout: positive(cfg.OperationTimeout, DefaultOperationTimeout),
			minPoll:          positive(cfg.MinPoll, DefaultMinPoll),
			maxPoll:          positive(cfg.MaxPoll, DefaultMaxPoll),
		},
	}
	c.agent.maxPoll = max(c.agent.maxPoll, c.agent.minPoll)
	if cfg.GroupsOfInterest != nil {
		c.groupsOfInterest = make([]string, 0, len(cfg.GroupsOfInterest))
		for _, g := range cfg.GroupsOfInterest {
			if g = strings.TrimSpace(g); g != "" && !containsFold(c.groupsOfInterest, g) {
				c.groupsOfInterest = append(c.groupsOfInterest, g)
			}
		}
	}
	registerSerializers()
	c.hc = c.httpClient(cfg)
	adapter, err := msgraphgocore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, graphClientOptions, nil, nil, c.hc)
	if err != nil {
		return nil, fmt.Errorf("graph request adapter: %w", err)
	}
	adapter.SetBaseUrl(c.baseURL)
	c.adapter = adapter
	return c, nil
}

func positive(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func firstSet(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// httpClient assembles the SDK's default Graph middleware minus the compression handler: with it,
// a request retried after a 429 goes out again uncompressed but still labelled
// Content-Encoding: gzip, and Graph answers 400 — a throttled reset would fail instead of
// completing (kiota-http-go #183, present in v1.5.4).
func (c *Client) httpClient(cfg Config) *http.Client {
	var hc http.Client
	var parent http.RoundTripper
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
		parent = cfg.HTTPClient.Transport
	}
	if parent == nil {
		parent = khttp.GetDefaultTransport()
	}
	// Redirects are not followed, by net/http or by middleware: a redirected PATCH that came back
	// 3xx would otherwise read as success. attemptHandler turns any 3xx into an error.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	retry := khttp.NewRetryHandlerWithOptions(khttp.RetryHandlerOptions{
		ShouldRetry:  c.shouldRetry,
		MaxRetries:   max(c.maxRetries, 1), // kiota reads 0 as "default"; shouldRetry enforces the real number
		DelaySeconds: retryBaseDelay,
	})
	hc.Transport = khttp.NewCustomTransportWithParentTransport(parent,
		msgraphgocore.NewGraphTelemetryHandler(&graphClientOptions),
		khttp.NewUrlReplaceHandler(true, msgraphgocore.ReplacementPairs),
		replayableBody{},
		// Outside the retry handler, so it records the headers of the answer we act on, not of
		// every throttled attempt.
		khttp.NewHeadersInspectionHandler(),
		retry,
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		attemptHandler{timeout: cfg.Timeout, observe: cfg.Observe},
	)
	return &hc
}

// shouldRetry is the RetryHandler's policy. kiota only asks about 429, 503 and 504.
//   - 429: Graph did not process the request, so any method may be sent again.
//   - 503/504: Graph may have done the work before failing, so only calls that can be repeated
//     without a second effect are retried: GET, PATCH (its fixed body sets the same password
//     again) and the POST revokeSignInSessions (revoking twice is revoking once). No other POST
//     is retried on 5xx: resetPassword twice would be a second reset, and a Temporary Access Pass
//     created twice a second pass.
//
// No wait longer than MaxRetryWait or past the caller's deadline is started: the call fails with
// Graph's own answer (ErrThrottled carrying Retry-After) so the caller can decide.
func (c *Client) shouldRetry(_ time.Duration, executionCount int, req *http.Request, resp *http.Response) bool {
	if executionCount >= c.maxRetries {
		return false
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
	case http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if !repeatable(req) {
			return false
		}
	default:
		return false
	}
	wait := nextRetryDelay(resp, executionCount+1)
	if wait > c.maxRetryWait {
		return false
	}
	if deadline, ok := req.Context().Deadline(); ok && time.Until(deadline) < wait {
		return false
	}
	// kiota drops the failed response without closing it; close it here so the connection is
	// reused and the attempt's context is released.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return true
}

// repeatable reports whether sending req twice leaves Graph as sending it once.
func repeatable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPatch:
		return true
	case http.MethodPost:
		return strings.HasSuffix(strings.ToLower(req.URL.Path), "/revokesigninsessions")
	}
	return false
}

// nextRetryDelay is the longest wait kiota's RetryHandler (v1.5.4) will choose for this attempt:
// Retry-After in whole seconds (it truncates) or as an HTTP date, else the doubled base delay plus
// up to one second of jitter.
func nextRetryDelay(resp *http.Response, attempt int) time.Duration {
	if d, ok := parseRetryAfterExact(resp.Header.Get("Retry-After")); ok {
		return d.Truncate(time.Second)
	}
	return time.Duration(retryBaseDelay<<(attempt-1))*time.Second + time.Second
}

// parseRetryAfterExact reads Retry-After as seconds (Graph may send a fraction) or an HTTP date.
func parseRetryAfterExact(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(f * float64(time.Second)), true
	}
	if t, err := time.Parse(time.RFC1123, v); err == nil {
		return time.Until(t), true
	}
	return 0, false
}

// replayableBody reads the request body once and gives the request a GetBody, so each attempt
// can send a fresh copy. kiota's retry handler rewinds the one body it has, which races with a
// transport still writing the previous attempt.
type replayableBody struct{}

func (replayableBody) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody != nil {
		return p.Next(req, i)
	}
	b, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.ContentLength = int64(len(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.Body, _ = r.GetBody()
	return p.Next(r, i)
}

// attemptHandler is the innermost middleware: every attempt gets its own request copy, a fresh
// body and its own Timeout, so a hung connection fails the attempt without eating the time a
// Retry-After wait needs.
type attemptHandler struct {
	timeout time.Duration
	observe func(method string, status int, took time.Duration)
}

func (h attemptHandler) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	if h.observe != nil {
		start := time.Now()
		status := 0
		defer func() { h.observe(req.Method, status, time.Since(start)) }()
		resp, err := h.attempt(p, i, req)
		if resp != nil {
			status = resp.StatusCode
		}
		return resp, err
	}
	return h.attempt(p, i, req)
}

func (h attemptHandler) attempt(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), h.timeout)
	r := req.Clone(ctx)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			cancel()
			return nil, err
		}
		r.Body = body
	}
	resp, err := p.Next(r, i)
	if err != nil || resp == nil {
		cancel()
		if err == nil {
			err = errors.New("no response")
		}
		return nil, err
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		_ = resp.Body.Close()
		cancel()
		return nil, &redirectError{status: resp.StatusCode, location: resp.Header.Get("Location")}
	}
	// The body is read after we return; release the timer when the SDK closes it.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// redirectError reports a 3xx answer, which Graph does not give for the calls we make.
type redirectError struct {
	status   int
	location string
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("graph answered %d redirecting to %q; redirects are not followed", e.status, e.location)
}

// boundedCredential gives each token request the per-call Timeout, so a hung token endpoint fails
// like a hung Graph instead of holding the call until the caller gives up.
type boundedCredential struct {
	cred    azcore.TokenCredential
	timeout time.Duration
	source  string // where tokens come from, for tokenTimeoutError
}

func (b boundedCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	bounded, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	tok, err := b.cred.GetToken(bounded, opts)
	// Our own bound ran out, not the caller's: say which endpoint stayed silent, so the admin
	// looks at the network to it rather than at the secret.
	if err != nil && ctx.Err() == nil && errors.Is(bounded.Err(), context.DeadlineExceeded) {
		return tok, &tokenTimeoutError{source: b.source, after: b.timeout}
	}
	return tok, err
}

// signInHost names where cred asks for tokens, in the words tokenTimeoutError uses.
func signInHost(cred azcore.TokenCredential, authorityHost string) string {
	if _, ok := cred.(*azidentity.ManagedIdentityCredential); ok {
		return managedIdentitySource
	}
	if authorityHost == "" {
		authorityHost = os.Getenv(EnvAuthorityHost)
	}
	if u, err := url.Parse(authorityHost); err == nil && u.Host != "" {
		return u.Host
	}
	return "login.microsoftonline.com"
}

// users roots the request builders at our base URL. The *Internal constructor takes the path
// parameters; the raw-URL one would pin every request to that exact URL.
func (c *Client) users() *users.UsersRequestBuilder {
	return users.NewUsersRequestBuilderInternal(map[string]string{"baseurl": c.baseURL}, c.adapter)
}

// fail turns an SDK error into what callers of bot.Directory may see: the caller's own context
// error when their context ended (they cancelled; nothing to classify), else a *bot.DirectoryError.
func (c *Client) fail(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return Classify(err)
}
