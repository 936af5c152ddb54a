package graphsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"regexp"
	"strings"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/resetbot/resetbot/bot"
)

// Remedies, in the helpdesk's words. Graph's own codes and messages are kept beside them for
// support; these say what to do next.
const (
	RemedyNotFound = "Check the spelling of the UPN, or give the user's mail address or object ID; guests are named like name_domain#EXT#@contoso.onmicrosoft.com."

	RemedyInsufficientPrivileges = "Either the target holds a role that resetbot's service principal may not reset (an admin above its Entra role in Microsoft's who-can-reset table), " +
		"or the app lacks the User-PasswordProfile.ReadWrite.All permission (with admin consent) or its Entra role (Password, Helpdesk or User Administrator; Privileged Authentication Administrator for admins). " +
		"Run `resetbot check` to see which."

	RemedyPasswordPolicy = "The tenant's password policy or banned-password list rejected the temporary password. Try again (a new one is generated), or raise the generated length in the configuration."

	RemedySyncedObject = "This user's password is mastered in on-premises Active Directory: reset the password there, or enable password writeback and reset with your own sign-in (/resetpw login)."

	RemedyThrottled = "Graph is throttling resetbot. Wait the Retry-After time and try again; nothing was changed by the throttled call."

	RemedyTransient = "Graph did not answer; nothing was changed if the reset was not confirmed — check /resetpw status before trying again."

	RemedyCredentials = "Graph rejected resetbot's sign-in: check AZURE_TENANT_ID and AZURE_CLIENT_ID, that the client secret or certificate has not expired, " +
		"and, for a sovereign cloud, that AZURE_AUTHORITY_HOST and RESETBOT_GRAPH_ENDPOINT name the same cloud. Run `resetbot check`."

	RemedyManagedIdentity = "No managed identity answered: run resetbot on an Azure host with a managed identity assigned (set AZURE_CLIENT_ID for a user-assigned one), or unset RESETBOT_GRAPH_AUTH and use a client secret or certificate."

	RemedyOther = "If this repeats, run `resetbot check` and give the request ID to whoever supports resetbot."
)

// Classify turns any error from the Graph SDK, azidentity or the network into a
// *bot.DirectoryError with a kind and a remedy, keeping Graph's code, message and request-id. It
// returns nil for nil and a *bot.DirectoryError unchanged. It never calls ODataError.Error, which
// panics on an error body without a message.
func Classify(err error) *bot.DirectoryError {
	if err == nil {
		return nil
	}
	var de *bot.DirectoryError
	if errors.As(err, &de) {
		return de
	}

	var oerr *odataerrors.ODataError
	if errors.As(err, &oerr) {
		var code, msg, reqID string
		if main := oerr.GetErrorEscaped(); main != nil {
			code, msg = deref(main.GetCode()), deref(main.GetMessage())
			if inner := main.GetInnerError(); inner != nil {
				reqID = deref(inner.GetRequestId())
			}
		}
		return fromResponse(oerr.GetStatusCode(), code, msg, reqID, oerr.GetResponseHeaders())
	}
	var aerr abs.ApiErrorable // a status without a Graph error body (kiota's *abs.ApiError)
	if errors.As(err, &aerr) {
		return fromResponse(aerr.GetStatusCode(), "", "", "", aerr.GetResponseHeaders())
	}

	var redirect *redirectError
	if errors.As(err, &redirect) {
		return &bot.DirectoryError{Kind: bot.ErrOther, Status: redirect.status, Message: redirect.Error(), Remedy: RemedyOther}
	}

	// The managed identity first: whatever went wrong (no such endpoint off Azure, a proxy
	// answering for it, an identity not assigned), the remedy is about the host, not a secret.
	var timeout *tokenTimeoutError
	managed := strings.Contains(err.Error(), "ManagedIdentityCredential") ||
		errors.As(err, &timeout) && timeout.source == managedIdentitySource
	if managed {
		why := managedIdentitySummary(err.Error())
		if timeout != nil {
			why = timeout.Error()
		} else if r, host := unreached(err); r != reachedNone {
			why = r.say(host)
		}
		return &bot.DirectoryError{Kind: bot.ErrOther, Message: "no managed identity token: " + why, Remedy: RemedyManagedIdentity}
	}
	// Then the network: a sign-in that never reached Entra says nothing about the secret.
	if timeout != nil {
		return &bot.DirectoryError{Kind: bot.ErrTransient, Message: "could not sign in to Entra ID: " + timeout.Error(), Remedy: RemedyNoAnswer}
	}
	var authErr *azidentity.AuthenticationFailedError
	signingIn := errors.As(err, &authErr)
	// A Graph call that timed out may have been applied (a reset whose answer was lost): it keeps
	// the transient remedy, which says to check the request's status. A sign-in changes nothing.
	if r, host := unreached(err); r != reachedNone && (signingIn || r != reachedNoReply) {
		prefix := "could not reach Graph: "
		if signingIn {
			prefix = "could not sign in to Entra ID: "
		}
		return &bot.DirectoryError{Kind: r.kind(), Message: prefix + r.say(host), Remedy: r.remedy()}
	}
	if signingIn {
		summary := authSummary(authErr)
		return &bot.DirectoryError{Kind: bot.ErrOther, Message: "could not sign in to Entra ID: " + summary, Remedy: signInRemedy(summary)}
	}

	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &bot.DirectoryError{Kind: bot.ErrTransient, Message: "Graph did not answer in time", Remedy: RemedyTransient}
	}
	if isNetworkError(err) {
		return &bot.DirectoryError{Kind: bot.ErrTransient, Message: "could not reach Graph: " + netSummary(err), Remedy: RemedyTransient}
	}
	return &bot.DirectoryError{Kind: bot.ErrOther, Message: firstLine(err.Error()), Remedy: RemedyOther}
}

// fromResponse classifies an HTTP error answer from Graph. Docs say to branch on code, but a
// complexity failure and a synced-object refusal are both 400 Request_BadRequest, so those two
// are told apart by message.
func fromResponse(status int, code, msg, reqID string, h *abs.ResponseHeaders) *bot.DirectoryError {
	if reqID == "" {
		reqID = header(h, "request-id")
	}
	de := &bot.DirectoryError{Status: status, Code: code, Message: msg, RequestID: reqID}
	lmsg := strings.ToLower(msg)
	switch {
	case status == 429 || code == "TooManyRequests":
		de.Kind, de.Remedy = bot.ErrThrottled, RemedyThrottled
		de.RetryAfter = retryAfterSeconds(header(h, "Retry-After"))
	case status == 404 || code == "Request_ResourceNotFound" || code == "ResourceNotFound":
		de.Kind, de.Remedy = bot.ErrNotFound, RemedyNotFound
	case status == 401:
		de.Kind, de.Remedy = bot.ErrOther, RemedyCredentials
	case strings.Contains(lmsg, "usercredentialpolicy") && strings.Contains(lmsg, "temporaryaccesspass"):
		// Reported for TAP turned off and for a user outside its policy alike (next-wave.md §1.4);
		// CreateAccessPass reads the policy to tell which.
		de.Kind, de.Remedy = bot.ErrAccessPassDisabled, RemedyAccessPassOffOrOutOfScope
	case strings.Contains(lmsg, "temporary access pass cannot be added to an external guest"):
		de.Kind, de.Remedy = bot.ErrAccessPassGuest, RemedyAccessPassGuest
	case strings.Contains(lmsg, "lifetimeinminutes"):
		de.Kind, de.Remedy = bot.ErrAccessPassLifetime, lifetimeRemedy(msg)
	case status == 403 || code == "Authorization_RequestDenied":
		de.Kind, de.Remedy = bot.ErrInsufficientPrivileges, RemedyInsufficientPrivileges
	case status == 400 && (strings.Contains(lmsg, "on-premises mastered") || strings.Contains(lmsg, "on-premise mastered") ||
		strings.Contains(lmsg, "directory sync") || strings.Contains(lmsg, "originated within an external service")):
		de.Kind, de.Remedy = bot.ErrSyncedObject, RemedySyncedObject
	case status == 400 && (strings.Contains(lmsg, "complexity") ||
		strings.Contains(lmsg, "password") && (strings.Contains(lmsg, "banned") || strings.Contains(lmsg, "policy"))):
		de.Kind, de.Remedy = bot.ErrPasswordPolicy, RemedyPasswordPolicy
	case status == 408 || status >= 500:
		de.Kind, de.Remedy = bot.ErrTransient, RemedyTransient
	default:
		de.Kind, de.Remedy = bot.ErrOther, RemedyOther
	}
	if de.Message == "" {
		de.Message = fmt.Sprintf("Graph answered %d with no error message", status)
	}
	return de
}

var lifetimeRange = regexp.MustCompile(`between (\d+) and (\d+)`)

// lifetimeRemedy names the tenant's range from Graph's "The valid range between 60 and 480." when it
// is there.
func lifetimeRemedy(msg string) string {
	if m := lifetimeRange.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("Choose a lifetime from %s to %s minutes: the tenant's Temporary Access Pass policy allows no other "+
			"(an Authentication Policy Administrator can change the range). Nothing was created.", m[1], m[2])
	}
	return "Choose a lifetime within the tenant's Temporary Access Pass policy (by default 1 to 8 hours). Nothing was created."
}

func header(h *abs.ResponseHeaders, name string) string {
	if h == nil {
		return ""
	}
	if v := h.Get(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// retryAfterSeconds reads Retry-After (seconds, possibly fractional, or an HTTP date), rounded up;
// 0 when Graph did not say.
func retryAfterSeconds(v string) int {
	d, ok := parseRetryAfterExact(v)
	if !ok || d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}

func isNetworkError(err error) bool {
	var netErr net.Error
	var urlErr *url.Error
	return errors.As(err, &netErr) || errors.As(err, &urlErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// netSummary drops url.Error's "Patch \"https://…\"" prefix: the URL says nothing new and the
// innermost error is what an operator can act on.
func netSummary(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) && urlErr.Err != nil {
		return firstLine(urlErr.Err.Error())
	}
	return firstLine(err.Error())
}

var aadsts = regexp.MustCompile(`AADSTS\d+:[^\\"\r\n]*`)

// authSummary picks Entra's AADSTS code and sentence out of azidentity's multi-line error.
func authSummary(err *azidentity.AuthenticationFailedError) string {
	s := err.Error()
	if m := aadsts.FindString(s); m != "" {
		return strings.TrimSpace(m)
	}
	return firstLine(s)
}

var (
	requestLine  = regexp.MustCompile(`(?m)^(?:GET|POST) (https?://[^/\s]+)`)
	responseLine = regexp.MustCompile(`(?m)^RESPONSE \d+: (.*)$`)
)

// managedIdentitySummary keeps, of azidentity's multi-line error, who answered and what: off
// Azure, something other than a managed identity often answers for 169.254.169.254.
func managedIdentitySummary(s string) string {
	req, resp := requestLine.FindStringSubmatch(s), responseLine.FindStringSubmatch(s)
	if req != nil && resp != nil {
		return fmt.Sprintf("%s answered %s", req[1], strings.TrimSpace(resp[1]))
	}
	return firstLine(s)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
