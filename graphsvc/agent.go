package graphsvc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/authentication"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/resetbot/resetbot/bot"
)

// Changes made as a signed-in agent, with their own delegated token (bot.AgentDirectory). Each
// call builds a request adapter around the agent's token on the Client's HTTP pipeline, so retries,
// timeouts and the no-compression rule are the same as for the bot's own calls.

var _ bot.AgentDirectory = (*Client)(nil)

// passwordMethodID is the ID of every user's password authentication method (graph.md §1.2).
const passwordMethodID = "28c10230-6103-485e-b985-444c60001490"

// Defaults for polling a resetPassword operation.
const (
	DefaultOperationTimeout = 2 * time.Minute // writeback requests expire within minutes if the agent is down
	DefaultMinPoll          = time.Second
	DefaultMaxPoll          = 10 * time.Second
)

// Remedies for resets made as the agent.
const (
	RemedyAgentRole = "Entra refused because your own Entra role may not reset this user (Microsoft's who-can-reset table: " +
		"admins need a Privileged Authentication Administrator). Ask someone whose role covers them, or see /resetpw whoami."

	RemedyAgentConsent = "Your sign-in lacks a delegated permission resetbot needs: ask an admin to grant consent for resetbot's delegated permissions, then /resetpw logout and /resetpw login."

	RemedyWritebackDisabled = "Password writeback is not enabled for the tenant, so the password cannot reach on-premises AD. Reset the password in AD, or ask an admin to enable it " +
		"(Entra Connect → Optional features → Password writeback). Nothing was changed."

	RemedyWritebackAgent = "The on-premises writeback agent did not answer, so nothing was changed in AD or Entra. Ask the AD team to check that the Entra Connect (or cloud sync) agent is running, then try again; or reset the password in AD."

	RemedyOnPremisesPolicy = "On-premises AD refused the new password (its password policy, history or minimum age). Nothing was changed. Try again (a new password is generated); " +
		"if it repeats, the AD team must check the policy or reset the password in AD."

	RemedyOperationUnknown = "Graph accepted the reset but did not report how it ended in time. Do not reset again yet: ask the user to try the temporary password in a few minutes, or check the user's audit log in Entra."

	RemedyNotSignedIn = "This reset runs with your own sign-in. Sign in with /resetpw login, then ask again."
)

// ResetPasswordWriteback resets through POST .../authentication/methods/{password}/resetPassword with
// pw as newPassword, as the agent, and polls the operation Graph answers with until it ends. It is
// never retried on 5xx (shouldRetry retries no POST on 5xx): a second call would be a second reset.
func (c *Client) ResetPasswordWriteback(ctx context.Context, as bot.TokenSource, userID string, pw bot.TempPassword) (bot.ResetResult, error) {
	if strings.TrimSpace(userID) == "" || pw.IsZero() {
		return bot.ResetResult{}, &bot.DirectoryError{Kind: bot.ErrOther, Message: "no user or password given for the reset", Remedy: RemedyOther}
	}
	adapter, err := c.agentAdapter(ctx, as)
	if err != nil {
		return bot.ResetResult{}, err
	}
	secret := pw.Reveal()
	body := users.NewItemAuthenticationMethodsItemResetPasswordPostRequestBody()
	body.SetNewPassword(&secret)
	headers := &khttp.HeadersInspectionOptions{InspectResponseHeaders: true, ResponseHeaders: abs.NewResponseHeaders()}
	_, err = users.NewUsersRequestBuilderInternal(map[string]string{"baseurl": c.baseURL}, adapter).
		ByUserId(userID).Authentication().Methods().ByAuthenticationMethodId(passwordMethodID).ResetPassword().
		Post(ctx, body, &users.ItemAuthenticationMethodsItemResetPasswordRequestBuilderPostRequestConfiguration{
			Options: []abs.RequestOption{headers}})
	if err != nil {
		return bot.ResetResult{}, redact(agentFailure(c.fail(ctx, err)), secret)
	}
	res := bot.ResetResult{GraphRequestID: header(headers.GetResponseHeaders(), "request-id")}
	location := header(headers.GetResponseHeaders(), "Location")
	if err := c.sameHost(location); err != nil {
		// Without an operation to follow, success is unknown; the token must not go elsewhere.
		return res, &bot.DirectoryError{Kind: bot.ErrTransient, Status: http.StatusAccepted, Message: err.Error(),
			Remedy: RemedyOperationUnknown, RequestID: res.GraphRequestID}
	}
	wait := c.pollDelay(header(headers.GetResponseHeaders(), "Retry-After"))
	return res, redact(c.awaitOperation(ctx, adapter, location, wait, res.GraphRequestID), secret)
}

// awaitOperation polls a resetPassword operation until it succeeds or fails, the operation timeout
// passes, or ctx ends. Polls that fail in transit are tried again: a GET changes nothing.
func (c *Client) awaitOperation(ctx context.Context, adapter abs.RequestAdapter, location string, wait time.Duration, reqID string) error {
	ctx, cancel := context.WithTimeout(ctx, c.agent.operationTimeout)
	defer cancel()
	unknown := func(msg string) error {
		return &bot.DirectoryError{Kind: bot.ErrTransient, Status: http.StatusAccepted, Message: msg, Remedy: RemedyOperationUnknown, RequestID: reqID}
	}
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return unknown("the password reset was accepted but had not finished when resetbot stopped waiting")
		case <-t.C:
		}
		headers := &khttp.HeadersInspectionOptions{InspectResponseHeaders: true, ResponseHeaders: abs.NewResponseHeaders()}
		// A builder per poll: a raw-URL builder forgets its URL after one request (kiota consumes
		// the request-raw-url path parameter), and the second poll would go to /users//….
		op := users.NewItemAuthenticationOperationsLongRunningOperationItemRequestBuilder(location, adapter)
		got, err := op.Get(ctx, &users.ItemAuthenticationOperationsLongRunningOperationItemRequestBuilderGetRequestConfiguration{
			Options: []abs.RequestOption{headers}})
		wait = c.pollDelay(header(headers.GetResponseHeaders(), "Retry-After"))
		if err != nil {
			de := Classify(err)
			if ctx.Err() == nil && (de.Kind == bot.ErrTransient || de.Kind == bot.ErrThrottled) {
				continue
			}
			if ctx.Err() != nil {
				return unknown("the password reset was accepted but had not finished when resetbot stopped waiting")
			}
			return unknown("the password reset was accepted but its progress could not be read: " + de.Message)
		}
		var status models.LongRunningOperationStatus
		if s := got.GetStatus(); s != nil {
			status = *s
		}
		switch status {
		case models.SUCCEEDED_LONGRUNNINGOPERATIONSTATUS:
			return nil
		case models.FAILED_LONGRUNNINGOPERATIONSTATUS:
			return operationFailure(deref(got.GetStatusDetail()), reqID)
		case models.NOTSTARTED_LONGRUNNINGOPERATIONSTATUS, models.RUNNING_LONGRUNNINGOPERATIONSTATUS:
		default:
			return unknown("the password reset operation reported a status resetbot does not know: " + status.String())
		}
	}
}

// operationFailure classifies a failed operation by its statusDetail. Graph documents no codes for
// it, only free text, so the words that name the cause are matched.
func operationFailure(detail, reqID string) *bot.DirectoryError {
	d := strings.ToLower(detail)
	de := &bot.DirectoryError{Kind: bot.ErrOther, Message: detail, Remedy: RemedyOther, RequestID: reqID}
	switch {
	case strings.Contains(d, "writeback") && (strings.Contains(d, "not enabled") || strings.Contains(d, "disabled") || strings.Contains(d, "not configured")):
		de.Kind, de.Remedy = bot.ErrWritebackUnavailable, RemedyWritebackDisabled
	case strings.Contains(d, "agent") || strings.Contains(d, "did not respond") || strings.Contains(d, "unreachable") ||
		strings.Contains(d, "offline") || strings.Contains(d, "timed out"):
		de.Kind, de.Remedy = bot.ErrWritebackUnavailable, RemedyWritebackAgent
	case strings.Contains(d, "policy") || strings.Contains(d, "complexity") || strings.Contains(d, "history") ||
		strings.Contains(d, "minimum age") || strings.Contains(d, "filter"):
		de.Kind, de.Remedy = bot.ErrOnPremisesPolicy, RemedyOnPremisesPolicy
	}
	if de.Message == "" {
		de.Message = "the password reset operation failed without saying why"
	}
	return de
}

// ResetPasswordAs sets a cloud user's temporary password with PATCH passwordProfile as the agent.
func (c *Client) ResetPasswordAs(ctx context.Context, as bot.TokenSource, userID string, pw bot.TempPassword, opts bot.ResetOptions) (bot.ResetResult, error) {
	adapter, err := c.agentAdapter(ctx, as)
	if err != nil {
		return bot.ResetResult{}, err
	}
	res, err := c.patchPassword(ctx, adapter, userID, pw, opts)
	return res, agentFailure(err)
}

// RevokeSessionsAs revokes the user's sessions as the agent and returns Graph's request-id.
func (c *Client) RevokeSessionsAs(ctx context.Context, as bot.TokenSource, userID string) (bot.RevokeResult, error) {
	adapter, err := c.agentAdapter(ctx, as)
	if err != nil {
		return bot.RevokeResult{}, err
	}
	res, err := c.revokeSessions(ctx, adapter, userID)
	return res, agentFailure(err)
}

// agentFailure gives a 403 on a change made as the agent the agent's remedy: it was their own role
// (or their consent) Entra checked, not the bot's.
func agentFailure(err error) error {
	var de *bot.DirectoryError
	if !errors.As(err, &de) || de.Kind != bot.ErrInsufficientPrivileges {
		return err
	}
	cp := *de
	cp.Remedy = RemedyAgentRole
	return &cp
}

// agentAdapter builds a request adapter that authenticates as the agent. The token is fetched first,
// so an agent who must sign in again hears so before anything is sent.
func (c *Client) agentAdapter(ctx context.Context, as bot.TokenSource) (*msgraphgocore.GraphRequestAdapterBase, error) {
	if as == nil {
		return nil, &bot.DirectoryError{Kind: bot.ErrSignInNeeded, Message: "no agent sign-in", Remedy: RemedyNotSignedIn}
	}
	tctx, cancel := context.WithTimeout(ctx, c.timeout)
	_, err := as.AccessToken(tctx)
	cancel()
	if err != nil {
		if errors.Is(err, bot.ErrNotSignedIn) {
			return nil, &bot.DirectoryError{Kind: bot.ErrSignInNeeded, Message: "your sign-in to resetbot has ended", Remedy: RemedyNotSignedIn}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &bot.DirectoryError{Kind: bot.ErrTransient, Message: "could not refresh your sign-in: " + firstLine(err.Error()), Remedy: RemedyTransient}
	}
	auth := authentication.NewBaseBearerTokenAuthenticationProvider(agentTokenProvider{as: as, c: c})
	registerSerializers()
	adapter, err := msgraphgocore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, graphClientOptions, nil, nil, c.hc)
	if err != nil {
		return nil, fmt.Errorf("graph request adapter: %w", err)
	}
	adapter.SetBaseUrl(c.baseURL)
	return adapter, nil
}

// agentTokenProvider hands the agent's token to requests for our Graph host only: a Location or
// nextLink pointing elsewhere gets an error, never the token.
type agentTokenProvider struct {
	as bot.TokenSource
	c  *Client
}

func (p agentTokenProvider) GetAuthorizationToken(ctx context.Context, u *url.URL, _ map[string]any) (string, error) {
	if err := p.c.sameHost(u.String()); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, p.c.timeout)
	defer cancel()
	return p.as.AccessToken(ctx)
}

func (p agentTokenProvider) GetAllowedHostsValidator() *authentication.AllowedHostsValidator {
	v, _ := authentication.NewAllowedHostsValidatorErrorCheck([]string{p.c.host})
	return v
}

// sameHost checks that raw is on our Graph endpoint (scheme and host).
func (c *Client) sameHost(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("Graph gave no usable operation address for the password reset")
	}
	if !strings.EqualFold(u.Host, c.endpointHost) || u.Scheme != c.scheme {
		return fmt.Errorf("Graph pointed the password reset at another host (%s); resetbot does not send your token there", u.Host)
	}
	return nil
}

// pollDelay is how long to wait before the next poll: Retry-After when Graph gave one, held within
// [MinPoll, MaxPoll] so a missing or absurd header neither spins nor stalls.
func (c *Client) pollDelay(retryAfter string) time.Duration {
	d, ok := parseRetryAfterExact(retryAfter)
	if !ok {
		d = c.agent.minPoll
	}
	return min(max(d, c.agent.minPoll), c.agent.maxPoll)
}
