package graphsvc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	azruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/resetbot/resetbot/bot"
)

// Why a sign-in or a Graph call failed before Entra or Graph could say anything, each with what to
// do about it. azidentity flattens the network error into its message (AuthenticationFailedError
// does not unwrap to it), so these are read from the error chain where it has them and from the
// text where it does not.

// Remedies for failures that never reached Microsoft. None mentions the client secret: a sign-in
// that did not get through says nothing about it.
const (
	RemedyDNS = "This host cannot resolve that name: check its DNS servers, HTTPS_PROXY if it must go through a proxy, " +
		"and AZURE_AUTHORITY_HOST and RESETBOT_GRAPH_ENDPOINT for a typo (unset, they are login.microsoftonline.com and graph.microsoft.com). " +
		"Nothing reached Microsoft, so nothing was changed."

	RemedyRefused = "Nothing accepts connections there from this host: check that the firewall lets it reach the address over HTTPS (port 443), " +
		"or set HTTPS_PROXY if it must go through a proxy. Nothing reached Microsoft, so nothing was changed."

	RemedyNoAnswer = "Check that this host may reach it over HTTPS (port 443): a firewall that drops packets looks like this. " +
		"Set HTTPS_PROXY if it must go through a proxy."

	RemedyTLS = "This host does not trust the certificate it was shown, usually because a proxy inspects TLS: add the proxy's root certificate " +
		"to the host's trust store (or point SSL_CERT_FILE at a bundle that has it). Check the host's clock too: a wrong date makes a valid certificate look expired."

	RemedySecretInvalid = "AZURE_CLIENT_SECRET is not a current secret of resetbot's app registration: copy the secret's Value (shown once, when it is created), " +
		"not its Secret ID, or create a new one under Certificates & secrets."

	RemedySecretExpired = "The client secret has expired: create a new one under Certificates & secrets of resetbot's app registration and put its Value in AZURE_CLIENT_SECRET."

	RemedyCertificate = "The certificate in AZURE_CLIENT_CERTIFICATE_PATH is not one of resetbot's app registration's certificates, or it has expired: " +
		"upload its public part under Certificates & secrets."

	RemedyUnknownApp = "AZURE_CLIENT_ID is not an application in the tenant AZURE_TENANT_ID names: check both against the overview page of resetbot's app registration."

	RemedyUnknownTenant = "AZURE_TENANT_ID names no tenant in this cloud: use the Directory (tenant) ID from the Entra admin center's overview page " +
		"(for a sovereign cloud, set AZURE_AUTHORITY_HOST to its sign-in host)."

	RemedyConsent = "An administrator has not consented to resetbot's application permissions: in the Entra admin center, App registrations → resetbot → " +
		"API permissions, add the missing ones as Application permissions and choose Grant admin consent."
)

// managedIdentitySource is boundedCredential's source for a managed identity.
const managedIdentitySource = "the managed identity endpoint"

// tokenTimeoutError is a token request that got no answer within the per-call timeout.
type tokenTimeoutError struct {
	source string
	after  time.Duration
}

func (e *tokenTimeoutError) Error() string {
	return fmt.Sprintf("no answer from %s within %s", e.source, roundedSeconds(e.after))
}

func roundedSeconds(d time.Duration) string {
	if d < time.Second {
		return d.String()
	}
	return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
}

// reached says how far a request got before it failed.
type reached int

const (
	reachedNone    reached = iota // it reached the other side, or the error says nothing about it
	reachedNoName                 // the host name did not resolve
	reachedRefused                // the address refused the connection, or no route to it
	reachedNoTLS                  // the TLS handshake failed: a certificate not trusted
	reachedNoReply                // the connection timed out
)

func (r reached) say(host string) string {
	if host == "" {
		host = "the server"
	}
	switch r {
	case reachedNoName:
		return fmt.Sprintf("the name %s does not resolve (DNS)", host)
	case reachedRefused:
		return fmt.Sprintf("%s refused the connection", host)
	case reachedNoTLS:
		return fmt.Sprintf("the certificate %s presented is not trusted", host)
	default:
		return fmt.Sprintf("no answer from %s", host)
	}
}

func (r reached) remedy() string {
	switch r {
	case reachedNoName:
		return RemedyDNS
	case reachedRefused:
		return RemedyRefused
	case reachedNoTLS:
		return RemedyTLS
	default:
		return RemedyNoAnswer
	}
}

func (r reached) kind() bot.ErrorKind {
	if r == reachedNoTLS {
		return bot.ErrOther
	}
	return bot.ErrTransient
}

var (
	lookupHost = regexp.MustCompile(`lookup ([^\s:]+)`)
	quotedURL  = regexp.MustCompile(`"(https?://[^"\s]+)"`)
	dialAddr   = regexp.MustCompile(`dial tcp ([^\s:]+|\[[^\]]+\]):\d+`)
)

// unreached reads how far err got, and the host it was trying to reach when the error names it.
func unreached(err error) (reached, string) {
	text := err.Error()
	host := ""
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		if u, perr := url.Parse(urlErr.URL); perr == nil {
			host = u.Hostname()
		}
	} else if m := quotedURL.FindStringSubmatch(text); m != nil {
		if u, perr := url.Parse(m[1]); perr == nil {
			host = u.Hostname()
		}
	} else if m := dialAddr.FindStringSubmatch(text); m != nil {
		host = strings.Trim(m[1], "[]")
	}

	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &dnsErr):
		if dnsErr.Name != "" {
			host = dnsErr.Name
		}
		if dnsErr.IsNotFound {
			return reachedNoName, host
		}
		return reachedNoReply, host
	case strings.Contains(text, "no such host"):
		if m := lookupHost.FindStringSubmatch(text); m != nil {
			host = m[1]
		}
		return reachedNoName, host
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		strings.Contains(text, "connection refused"), strings.Contains(text, "no route to host"), strings.Contains(text, "network is unreachable"):
		return reachedRefused, host
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &invalid),
		strings.Contains(text, "x509: "), strings.Contains(text, "tls: failed to verify certificate"):
		return reachedNoTLS, host
	case strings.Contains(text, "i/o timeout"), strings.Contains(text, "TLS handshake timeout"):
		return reachedNoReply, host
	}
	return reachedNone, host
}

// final reports a transport error that trying again within seconds will not change: an unknown
// name, a refused connection, an untrusted certificate. Token requests fail on it at once
// instead of after azcore's retries.
func final(err error) bool {
	r, _ := unreached(err)
	return r == reachedNoName || r == reachedRefused || r == reachedNoTLS
}

// retryUnlessFinal is azcore's retry decision with final transport errors left out: statuses are
// retried as azcore would (the IMDS list for a managed identity), other transport errors too.
func retryUnlessFinal(statuses []int) func(*http.Response, error) bool {
	return func(resp *http.Response, err error) bool {
		if err != nil {
			return !final(err)
		}
		return azruntime.HasStatusCode(resp, statuses...)
	}
}

// azcore's defaults (policy.RetryOptions), which ShouldRetry replaces.
var (
	retriedStatuses = []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
	// azidentity's list for IMDS, which recommends retrying 404 and 410 as well.
	retriedManagedIdentityStatuses = append(slices.Clone(retriedStatuses), http.StatusNotFound, http.StatusGone,
		http.StatusNotImplemented, http.StatusHTTPVersionNotSupported, http.StatusVariantAlsoNegotiates,
		http.StatusInsufficientStorage, http.StatusLoopDetected, http.StatusNotExtended, http.StatusNetworkAuthenticationRequired)
)

func failFast(o *policy.RetryOptions, managedIdentity bool) {
	if managedIdentity {
		o.ShouldRetry = retryUnlessFinal(retriedManagedIdentityStatuses)
		return
	}
	o.ShouldRetry = retryUnlessFinal(retriedStatuses)
}

var aadstsNumber = regexp.MustCompile(`AADSTS(\d+)`)

// signInRemedy picks the remedy for Entra's refusal by its AADSTS code.
func signInRemedy(summary string) string {
	m := aadstsNumber.FindStringSubmatch(summary)
	if m == nil {
		return RemedyCredentials
	}
	switch m[1] {
	case "7000215", "7000216":
		return RemedySecretInvalid
	case "7000222":
		return RemedySecretExpired
	case "700027", "700024", "7000274", "700023":
		return RemedyCertificate
	case "700016":
		return RemedyUnknownApp
	case "90002", "900023", "90023":
		return RemedyUnknownTenant
	case "65001", "650057", "500011":
		return RemedyConsent
	}
	return RemedyCredentials
}

// checkSentence is how remedies send the reader to `resetbot check`, which reads oddly in its
// own output.
var checkSentence = regexp.MustCompile("(?i)[^.]*`resetbot check`[^.]*\\.\\s*")

// AdviceForCheck is de's remedy as `resetbot check` says it: without sending the reader to run
// `resetbot check`.
func AdviceForCheck(de *bot.DirectoryError) string {
	if de.Remedy == RemedyTransient {
		// "check /resetpw status" is about a reset in flight; check makes none.
		return RemedyNoAnswer + " If this host reaches Graph otherwise, Graph itself may be having trouble: try again in a few minutes."
	}
	advice := strings.TrimSpace(checkSentence.ReplaceAllString(de.Remedy, ""))
	if advice == "" {
		return "If this repeats, give this message to whoever supports resetbot."
	}
	return advice
}
