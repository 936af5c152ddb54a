package graphsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/resetbot/resetbot/bot"
)

// graphError builds the error the SDK returns for an error answer: the body parsed into an
// ODataError, with status and headers set, exactly as kiota's adapter does.
func graphError(t *testing.T, status int, body string, headers map[string]string) error {
	t.Helper()
	node, err := jsonser.NewJsonParseNode([]byte(body))
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	v, err := node.GetObjectValue(odataerrors.CreateODataErrorFromDiscriminatorValue)
	if err != nil {
		t.Fatalf("ODataError from %s: %v", body, err)
	}
	oerr := v.(*odataerrors.ODataError)
	h := abs.NewResponseHeaders()
	for k, val := range headers {
		h.Add(k, val)
	}
	oerr.SetResponseHeaders(h)
	oerr.SetStatusCode(status)
	return oerr
}

func body(code, message, requestID string) string {
	return fmt.Sprintf(`{"error":{"code":%q,"message":%q,"innerError":{"date":"2026-11-27T10:00:00","request-id":%q,"client-request-id":"c0ffee00-0000-4000-8000-000000000000"}}}`,
		code, message, requestID)
}

// TestClassifyGraphErrors runs Graph's real error answers (graph.md §4) through Classify.
func TestClassifyGraphErrors(t *testing.T) {
	const rid = "8f3a2c1e-0000-4000-8000-000000000001"
	tests := []struct {
		name       string
		status     int
		body       string
		headers    map[string]string
		kind       bot.ErrorKind
		code       string
		retryAfter int
		remedy     string // a phrase the remedy must contain
	}{
		{"no permission or role, or target outranks", 403,
			body("Authorization_RequestDenied", "Insufficient privileges to complete the operation.", rid), nil,
			bot.ErrInsufficientPrivileges, "Authorization_RequestDenied", 0, "User-PasswordProfile.ReadWrite.All"},
		{"changePassword on another user", 403,
			body("Authorization_RequestDenied", "Access to change password operation is denied.", rid), nil,
			bot.ErrInsufficientPrivileges, "Authorization_RequestDenied", 0, "resetbot check"},
		{"user not found", 404,
			body("Request_ResourceNotFound", "Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present.", rid), nil,
			bot.ErrNotFound, "Request_ResourceNotFound", 0, "#EXT#"},
		{"complexity", 400,
			body("Request_BadRequest", "The specified password does not comply with password complexity requirements. Please provide a different password.", rid), nil,
			bot.ErrPasswordPolicy, "Request_BadRequest", 0, "password policy"},
		{"synced user", 400,
			body("Request_BadRequest", "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.", rid), nil,
			bot.ErrSyncedObject, "Request_BadRequest", 0, "writeback"},
		{"converted object", 400,
			body("Request_BadRequest", "Unable to update the specified properties for objects that have originated within an external service.", rid), nil,
			bot.ErrSyncedObject, "Request_BadRequest", 0, "on-premises"},
		{"throttled", 429,
			body("TooManyRequests", "Please retry again later.", rid), map[string]string{"Retry-After": "10"},
			bot.ErrThrottled, "TooManyRequests", 10, "Retry-After"},
		{"throttled, fractional Retry-After rounds up", 429,
			body("TooManyRequests", "Please retry again later.", rid), map[string]string{"Retry-After": "1.5"},
			bot.ErrThrottled, "TooManyRequests", 2, "Retry-After"},
		{"503", 503,
			body("serviceNotAvailable", "The service is temporarily unavailable. Please retry later.", rid), map[string]string{"Retry-After": "5"},
			bot.ErrTransient, "serviceNotAvailable", 0, "/resetpw status"},
		{"504", 504, body("GatewayTimeout", "The gateway did not receive a response in time.", rid), nil,
			bot.ErrTransient, "GatewayTimeout", 0, "nothing was changed"},
		{"500", 500, body("UnknownError", "An internal server error occurred.", rid), nil,
			bot.ErrTransient, "UnknownError", 0, "nothing was changed"},
		{"502", 502, body("BadGateway", "The server, while acting as a gateway, received an invalid response.", rid), nil,
			bot.ErrTransient, "BadGateway", 0, "nothing was changed"},
		{"empty token", 401, body("InvalidAuthenticationToken", "Access token is empty.", rid), nil,
			bot.ErrOther, "InvalidAuthenticationToken", 0, "AZURE_CLIENT_ID"},
		{"expired token", 401, body("InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.", rid), nil,
			bot.ErrOther, "InvalidAuthenticationToken", 0, "certificate has not expired"},
		{"/me app-only", 400, body("BadRequest", "/me request is only valid with delegated authentication flow.", rid), nil,
			bot.ErrOther, "BadRequest", 0, "resetbot check"},
		{"TAP off or user outside its policy", 400,
			body("badRequest", "Converged UserCredentialPolicy does not allow creating or updating the method TemporaryAccessPass for this user.", rid), nil,
			bot.ErrAccessPassDisabled, "badRequest", 0, "Authentication Policy Administrator"},
		{"TAP for an external guest", 400,
			body("badRequest", "Temporary Access Pass cannot be added to an external guest user.", rid), nil,
			bot.ErrAccessPassGuest, "badRequest", 0, "home organisation"},
		{"TAP lifetime outside the policy", 400,
			body("badRequest", "Invalid LifetimeInMinutes specified. The valid range between 60 and 480.", rid), nil,
			bot.ErrAccessPassLifetime, "badRequest", 0, "from 60 to 480 minutes"},
		{"TAP lifetime, range not given", 400,
			body("badRequest", "Invalid LifetimeInMinutes specified.", rid), nil,
			bot.ErrAccessPassLifetime, "badRequest", 0, "by default 1 to 8 hours"},
		{"request-id only in the header", 404,
			`{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist or one of its queried reference-property objects are not present."}}`,
			map[string]string{"request-id": rid},
			bot.ErrNotFound, "Request_ResourceNotFound", 0, "UPN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			de := Classify(graphError(t, tt.status, tt.body, tt.headers))
			if de.Kind != tt.kind || de.Code != tt.code || de.Status != tt.status || de.RetryAfter != tt.retryAfter {
				t.Errorf("got kind=%s code=%s status=%d retryAfter=%d, want %s %s %d %d",
					de.Kind, de.Code, de.Status, de.RetryAfter, tt.kind, tt.code, tt.status, tt.retryAfter)
			}
			if de.RequestID != rid {
				t.Errorf("request-id %q, want %q", de.RequestID, rid)
			}
			if de.Message == "" || !strings.Contains(de.Remedy, tt.remedy) {
				t.Errorf("message %q, remedy %q (want it to mention %q)", de.Message, de.Remedy, tt.remedy)
			}
		})
	}
}

func TestClassifyOtherErrors(t *testing.T) {
	noBody := &abs.ApiError{Message: "The server returned an unexpected status code with no response body: 503", ResponseStatusCode: 503, ResponseHeaders: abs.NewResponseHeaders()}
	noBody.ResponseHeaders.Add("request-id", "r-1")
	tests := []struct {
		name string
		err  error
		kind bot.ErrorKind
	}{
		{"503 without a body", noBody, bot.ErrTransient},
		{"429 without a body", &abs.ApiError{ResponseStatusCode: 429}, bot.ErrThrottled},
		{"attempt deadline", fmt.Errorf("Patch %q: %w", "http://x", context.DeadlineExceeded), bot.ErrTransient},
		{"connection refused", &url.Error{Op: "Get", URL: "https://graph.microsoft.com/v1.0/users/x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, bot.ErrTransient},
		{"connection reset mid-body", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), bot.ErrTransient},
		{"redirect", &redirectError{status: 302, location: "https://elsewhere.example/"}, bot.ErrOther},
		{"anything else", errors.New("content type text/html does not have a factory registered to be parsed"), bot.ErrOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			de := Classify(tt.err)
			if de.Kind != tt.kind {
				t.Errorf("kind %s, want %s (%+v)", de.Kind, tt.kind, de)
			}
			if de.Remedy == "" || de.Message == "" {
				t.Errorf("no message or remedy: %+v", de)
			}
		})
	}
	if Classify(nil) != nil {
		t.Error("Classify(nil) is not nil")
	}
	orig := &bot.DirectoryError{Kind: bot.ErrSyncedObject}
	if Classify(fmt.Errorf("wrapped: %w", orig)) != orig {
		t.Error("a DirectoryError is not passed through")
	}
	if de := Classify(noBody); de.RequestID != "r-1" || de.Status != 503 {
		t.Errorf("bodiless error lost status or request-id: %+v", de)
	}
}

// An error body without a message makes ODataError.Error panic (msgraph-sdk-go #434); Classify must
// not call it.
func TestClassifyErrorWithoutMessage(t *testing.T) {
	de := Classify(graphError(t, 403, `{"error":{"code":"Authorization_RequestDenied"}}`, nil))
	if de.Kind != bot.ErrInsufficientPrivileges || de.Message == "" {
		t.Errorf("got %+v", de)
	}
	de = Classify(graphError(t, 500, `{}`, nil))
	if de.Kind != bot.ErrTransient {
		t.Errorf("got %+v", de)
	}
}

// Failures that never reached Microsoft are told apart, each with its own remedy, and none
// blames the secret.
func TestClassifyUnreached(t *testing.T) {
	tests := []struct {
		name, message, remedy string
		err                   error
	}{
		{"unknown name", "could not reach Graph: the name graph.contoso.invalid does not resolve (DNS)", RemedyDNS,
			&url.Error{Op: "Get", URL: "https://graph.contoso.invalid/v1.0/users/x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Name: "graph.contoso.invalid", Err: "no such host", IsNotFound: true}}}},
		{"refused", "could not reach Graph: graph.microsoft.com refused the connection", RemedyRefused,
			&url.Error{Op: "Get", URL: "https://graph.microsoft.com/v1.0/users/x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}},
		{"token timeout", "could not sign in to Entra ID: no answer from login.microsoftonline.com within 15 s", RemedyNoAnswer,
			&tokenTimeoutError{source: "login.microsoftonline.com", after: 15 * time.Second}},
		{"managed identity timeout", "no managed identity token: no answer from the managed identity endpoint within 15 s", RemedyManagedIdentity,
			&tokenTimeoutError{source: managedIdentitySource, after: 15 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			de := Classify(tt.err)
			if de.Message != tt.message || de.Remedy != tt.remedy {
				t.Errorf("got %q / %q\nwant %q / %q", de.Message, de.Remedy, tt.message, tt.remedy)
			}
		})
	}
	for code, remedy := range map[string]string{"AADSTS7000215: Invalid client secret provided.": RemedySecretInvalid,
		"AADSTS7000222: The provided client secret keys are expired.": RemedySecretExpired, "AADSTS65001: The user or administrator has not consented": RemedyConsent,
		"AADSTS700016: Application not found": RemedyUnknownApp, "AADSTS90002: Tenant not found.": RemedyUnknownTenant, "AADSTS50000: something else": RemedyCredentials} {
		if got := signInRemedy(code); got != remedy {
			t.Errorf("%s: remedy %q, want %q", code, got, remedy)
		}
	}
}

func TestAdviceForCheckDoesNotSendToCheck(t *testing.T) {
	for _, r := range []string{RemedyCredentials, RemedyInsufficientPrivileges, RemedyOther, RemedyTransient} {
		got := AdviceForCheck(&bot.DirectoryError{Remedy: r})
		if strings.Contains(got, "resetbot check") || strings.Contains(got, "/resetpw status") || got == "" {
			t.Errorf("%q became %q", r, got)
		}
	}
}

// A Graph call that timed out may have reached Graph: its remedy still says to check the
// request's status before trying again.
func TestClassifyGraphTimeoutKeepsStatusRemedy(t *testing.T) {
	err := &url.Error{Op: "Patch", URL: "https://graph.microsoft.com/v1.0/users/x", Err: &net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}}
	if de := Classify(err); de.Kind != bot.ErrTransient || de.Remedy != RemedyTransient {
		t.Errorf("got %+v", de)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
