// Package graphsvc is the only part of resetbot that speaks Microsoft Graph. It implements
// bot.Directory with msgraph-sdk-go (subpackages only: the root package doubles build time and
// quadruples the binary) and azidentity, and turns every Graph failure into a *bot.DirectoryError
// that says what to do next.
//
// It imports bot (the interfaces it implements and their vocabulary) and bot/digest (the entries of
// Entra's log it reads for the digest); it must not import chat, an adapter or a store.
package graphsvc

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/resetbot/resetbot/bot"
)

// Defaults for the zero values of Config.
const (
	DefaultGraphEndpoint = "https://graph.microsoft.com"
	DefaultTimeout       = 15 * time.Second
	DefaultMaxRetries    = 3
	DefaultMaxRetryWait  = 30 * time.Second

	// DefaultBatchConcurrency is how many $batch requests a Client has in flight at once.
	DefaultBatchConcurrency = 4
	// DefaultWriteBudget writes per DefaultWriteWindow is Graph's documented write limit per app
	// and tenant (identity and access service limits: 3,000 writes per 2 min 30 s).
	DefaultWriteBudget = 3000
	DefaultWriteWindow = 150 * time.Second
)

// Environment variables read by ConfigFromEnv. The AZURE_* names are azidentity's own, so a
// deployment that already configures an Azure SDK credential needs nothing new.
const (
	EnvTenantID            = "AZURE_TENANT_ID"
	EnvClientID            = "AZURE_CLIENT_ID"
	EnvClientSecret        = "AZURE_CLIENT_SECRET"
	EnvCertificatePath     = "AZURE_CLIENT_CERTIFICATE_PATH"
	EnvCertificatePassword = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
	EnvSendCertChain       = "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"
	EnvAuthorityHost       = "AZURE_AUTHORITY_HOST"
	// EnvFederatedTokenFile is the service account token workload identity exchanges for an Entra
	// token (AKS's webhook sets it, with AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_AUTHORITY_HOST).
	EnvFederatedTokenFile = "AZURE_FEDERATED_TOKEN_FILE"
	EnvGraphEndpoint      = "RESETBOT_GRAPH_ENDPOINT"
	EnvGraphAuth          = "RESETBOT_GRAPH_AUTH"
	EnvGraphScope         = "RESETBOT_GRAPH_SCOPE"
	// EnvBatchConcurrency is how many $batch requests a list run keeps in flight (1–32, default 4).
	EnvBatchConcurrency = "RESETBOT_GRAPH_BATCH_CONCURRENCY"
)

// RESETBOT_GRAPH_AUTH values: the host's managed identity, or workload identity required (it is
// also used, unasked, when AZURE_FEDERATED_TOKEN_FILE is set and no secret or certificate is).
const (
	AuthManagedIdentity  = "managed-identity"
	AuthWorkloadIdentity = "workload-identity"
)

// Config says how to reach Graph and as whom.
type Config struct {
	TenantID string
	ClientID string
	// Credential signs requests. nil: New builds one with azidentity from the process environment
	// (the same variables as ConfigFromEnv), using TenantID, ClientID and AuthorityHost when set.
	Credential azcore.TokenCredential
	// GraphEndpoint is the Graph origin, default https://graph.microsoft.com. Sovereign clouds use
	// their own (https://graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn, …); tests use
	// the simulator's http://127.0.0.1:port. "/v1.0" is appended by New.
	GraphEndpoint string
	// Scope is the token scope, default GraphEndpoint+"/.default". Set it only when GraphEndpoint is
	// a private host (a proxy) in front of a Graph whose tokens have another audience.
	Scope string
	// AuthorityHost is the Entra login host, default https://login.microsoftonline.com/.
	AuthorityHost string
	// Timeout bounds each HTTP attempt to Graph (and each token request), default 15s. A retry
	// gets a fresh Timeout: a throttled call may take up to (MaxRetries+1)·Timeout plus the waits;
	// the caller's context bounds the whole.
	Timeout time.Duration
	// MaxRetries is how often a throttled or (idempotent) unavailable call is tried again, default
	// 3, at most 10; negative means never.
	MaxRetries int
	// MaxRetryWait caps one Retry-After wait, default 30s. When Graph asks for longer, the call
	// fails at once with ErrThrottled and RetryAfter instead of sleeping.
	MaxRetryWait time.Duration
	// ReportsBudget and ReportsWindow pace the reports APIs (auditLogs/directoryAudits for the
	// digest): at most ReportsBudget requests in any ReportsWindow, default Graph's 5 per 10 s.
	ReportsBudget int
	ReportsWindow time.Duration
	// HTTPClient supplies the transport (proxy, TLS) and, if set, an overall Timeout. Its
	// redirect policy is replaced: Graph calls never follow redirects. nil: a client on a clone of
	// http.DefaultTransport, which trusts the system certificate pool.
	HTTPClient *http.Client
	// Observe, when set, hears every attempt: method, HTTP status (0 when none came back) and how
	// long it took. It is for metrics: no URL, no body.
	Observe func(method string, status int, took time.Duration)

	// BatchConcurrency bounds the $batch requests (of up to 20 items each) this Client has in
	// flight at once, across all FindUsers and ResetPasswords calls; default 4.
	BatchConcurrency int
	// WriteBudget and WriteWindow pace ResetPasswords: at most WriteBudget password writes in any
	// WriteWindow, shared by every call of this Client, so a large run stays inside Graph's write
	// limit instead of discovering it through 429s. Defaults: 3,000 per 150 s, Graph's limit per
	// app and tenant. A negative WriteBudget turns pacing off. The budget is per process: replicas
	// sharing one app registration should split it between them.
	WriteBudget int
	WriteWindow time.Duration

	// DirectoryCacheTTL is how long one read of the tenant's privileged set serves lookups: role
	// assignments (active and eligible), role-assignable groups with their members, owners and PIM
	// for Groups eligibilities, the administrative units that matter with their members, and the
	// members of the groups of interest. Default 30 s: a role granted or removed shows in lookups
	// within that time. Concurrent lookups share one read. A negative value reads it for every
	// lookup (concurrent ones still share).
	DirectoryCacheTTL time.Duration
	// GroupsOfInterest are the groups the policy reads membership of beyond the role-assignable
	// ones: in rules mode the rules' agent and target groups, the audit readers' groups, the
	// Temporary Access Pass policy's groups. The caller sets them (bot.Policy.GroupsOfInterest).
	// User.Groups then lists only these and the role-assignable groups the user is in, all read
	// from the group side once per DirectoryCacheTTL. nil means not configured: each lookup reads
	// the user's own transitive groups (one more request per user) so that groups named anywhere
	// still match; an empty, non-nil list reads none.
	GroupsOfInterest []string
	// UnitsOfInterest are administrative units the policy selects targets by (rules mode). Units
	// that matter to Entra's own rules — restricted management units and units a role is scoped
	// to — are always read; User.AdministrativeUnits lists no others.
	UnitsOfInterest []string

	// OperationTimeout bounds the wait for a resetPassword operation (a synced user's reset, made
	// as the agent) to end, default 2 minutes. MinPoll and MaxPoll bound the wait between polls
	// (Graph's Retry-After is honoured within them), default 1 s and 10 s.
	OperationTimeout time.Duration
	MinPoll          time.Duration
	MaxPoll          time.Duration
}

// ConfigFromEnv reads the Graph configuration from the environment through getenv (os.Getenv in
// production) and builds the credential: a client secret (AZURE_CLIENT_SECRET), a certificate
// (AZURE_CLIENT_CERTIFICATE_PATH, optional AZURE_CLIENT_CERTIFICATE_PASSWORD), workload identity
// (AZURE_FEDERATED_TOKEN_FILE, when neither of those is set), or, with
// RESETBOT_GRAPH_AUTH=managed-identity, the host's managed identity (AZURE_CLIENT_ID selects a
// user-assigned one). AZURE_AUTHORITY_HOST and RESETBOT_GRAPH_ENDPOINT point at a sovereign cloud or
// a private host. Errors name the variable and say what to put in it; they never contain a secret.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := Config{
		TenantID:      get(EnvTenantID),
		ClientID:      get(EnvClientID),
		GraphEndpoint: get(EnvGraphEndpoint),
		AuthorityHost: get(EnvAuthorityHost),
		Scope:         get(EnvGraphScope),
	}
	// Every problem at once, one per line, so a deployment is fixed in one go.
	var errs []error
	if cfg.GraphEndpoint != "" {
		if _, err := normalizeEndpoint(cfg.GraphEndpoint); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvGraphEndpoint, err))
		}
	}
	if v := get(EnvBatchConcurrency); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 32 {
			errs = append(errs, fmt.Errorf("%s=%q: use a whole number from 1 to 32 ($batch requests of 20 in flight at once; default %d)", EnvBatchConcurrency, v, DefaultBatchConcurrency))
		}
		cfg.BatchConcurrency = n
	}
	cred, err := credentialFromEnv(getenv, cfg.TenantID, cfg.ClientID, cfg.AuthorityHost, nil)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	cfg.Credential = cred
	return cfg, nil
}

// credentialFromEnv builds the azidentity credential the environment asks for. Secrets are read
// here and handed straight to azidentity: they never sit in Config, where a %+v could print them.
func credentialFromEnv(getenv func(string) string, tenantID, clientID, authorityHost string, hc *http.Client) (azcore.TokenCredential, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	if clientID != "" && !bot.IsGUID(clientID) {
		return nil, fmt.Errorf("%s %q is not a GUID: use the Application (client) ID from the overview page of resetbot's app registration (or of the user-assigned managed identity)", EnvClientID, clientID)
	}
	opts := azcore.ClientOptions{}
	if hc != nil {
		opts.Transport = hc
	}

	switch mode := get(EnvGraphAuth); mode {
	case AuthManagedIdentity:
		failFast(&opts.Retry, true)
		mi := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if clientID != "" {
			mi.ID = azidentity.ClientID(clientID)
		}
		cred, err := azidentity.NewManagedIdentityCredential(mi)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %v", EnvGraphAuth, AuthManagedIdentity, err)
		}
		return cred, nil
	case "", AuthWorkloadIdentity:
	default:
		return nil, fmt.Errorf("%s=%q is not understood: leave it unset to sign in with %s, %s or workload identity (%s), or set it to %s to use the managed identity of the Azure host", EnvGraphAuth, mode, EnvClientSecret, EnvCertificatePath, EnvFederatedTokenFile, AuthManagedIdentity)
	}
	workload := get(EnvGraphAuth) == AuthWorkloadIdentity
	if workload && get(EnvFederatedTokenFile) == "" {
		return nil, fmt.Errorf("%s=%s but %s is not set: on AKS, label the pod azure.workload.identity/use=true and annotate its service account with azure.workload.identity/client-id, so the webhook mounts the token", EnvGraphAuth, AuthWorkloadIdentity, EnvFederatedTokenFile)
	}

	if tenantID == "" {
		return nil, fmt.Errorf("%s is not set: the Entra tenant ID (a GUID) of the tenant resetbot resets passwords in", EnvTenantID)
	}
	if !validTenant(tenantID) {
		return nil, fmt.Errorf("%s %q is not a tenant ID: use the Directory (tenant) ID, a GUID, from the Entra admin center's overview page", EnvTenantID, tenantID)
	}
	if clientID == "" {
		return nil, fmt.Errorf("%s is not set: the Application (client) ID (a GUID) of resetbot's app registration", EnvClientID)
	}
	authority, err := normalizeAuthority(authorityHost)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvAuthorityHost, err)
	}
	opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: authority}
	// An unknown host name or a refused connection is failed on at once, not after azcore's
	// retries: `resetbot check` then says so in a second instead of ten.
	failFast(&opts.Retry, false)
	// Instance discovery asks login.microsoftonline.com about the authority; a private or test
	// authority host is unknown there and the sign-in would fail.
	noDiscovery := authority != cloud.AzurePublic.ActiveDirectoryAuthorityHost

	// Workload identity (AKS): the pod's service account token, exchanged for an Entra token of
	// AZURE_CLIENT_ID's app or managed identity through a federated credential. azidentity re-reads
	// the file as Kubernetes rotates it.
	if workload || (get(EnvFederatedTokenFile) != "" && getenv(EnvClientSecret) == "" && get(EnvCertificatePath) == "") {
		path := get(EnvFederatedTokenFile)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s: cannot read the service account token for workload identity: %v", EnvFederatedTokenFile, err)
		}
		cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, ClientID: clientID, TenantID: tenantID, TokenFilePath: path, DisableInstanceDiscovery: noDiscovery})
		if err != nil {
			return nil, fmt.Errorf("workload identity (%s): %v", EnvFederatedTokenFile, err)
		}
		return cred, nil
	}

	// The secret wins when both are set, as in azidentity's EnvironmentCredential.
	if secret := getenv(EnvClientSecret); secret != "" {
		cred, err := azidentity.NewClientSecretCredential(tenantID, clientID, secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
		if err != nil {
			return nil, fmt.Errorf("client secret credential: %v", err)
		}
		return cred, nil
	}
	if path := get(EnvCertificatePath); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot read the certificate: %v", EnvCertificatePath, err)
		}
		certs, key, err := azidentity.ParseCertificates(data, []byte(getenv(EnvCertificatePassword)))
		if err != nil {
			return nil, fmt.Errorf("%s: %s is not a PEM or PKCS#12 file with a certificate and its private key (if the key is password-protected, set %s): %v", EnvCertificatePath, path, EnvCertificatePassword, err)
		}
		sendChain := get(EnvSendCertChain) == "1" || strings.EqualFold(get(EnvSendCertChain), "true")
		cred, err := azidentity.NewClientCertificateCredential(tenantID, clientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery, SendCertificateChain: sendChain})
		if err != nil {
			return nil, fmt.Errorf("%s: %s cannot be used: %v", EnvCertificatePath, path, err)
		}
		return cred, nil
	}
	return nil, fmt.Errorf("%s or %s is not set: the client secret of resetbot's app registration, or the path of its certificate (PEM or PKCS#12); on an Azure host set %s=%s instead, or use workload identity on AKS (%s)", EnvClientSecret, EnvCertificatePath, EnvGraphAuth, AuthManagedIdentity, EnvFederatedTokenFile)
}

// normalizeEndpoint checks a Graph origin and returns it without a trailing slash or "/v1.0".
// Plain http is accepted only on loopback, as the SDK's token provider does: a token must never
// cross a network unencrypted.
func normalizeEndpoint(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%q is not a URL: give the Graph origin, e.g. https://graph.microsoft.us", raw)
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/v1.0")
	u.RawQuery, u.Fragment = "", ""
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("%q must be an https URL (plain http only on localhost)", raw)
	}
	return u, nil
}

func normalizeAuthority(raw string) (string, error) {
	if raw == "" {
		return cloud.AzurePublic.ActiveDirectoryAuthorityHost, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme != "https" {
		return "", fmt.Errorf("%q must be an https URL such as https://login.microsoftonline.us/", raw)
	}
	return strings.TrimRight(u.String(), "/") + "/", nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validTenant accepts a GUID or a verified domain name (contoso.onmicrosoft.com), which azidentity
// also takes.
func validTenant(s string) bool {
	if bot.IsGUID(s) {
		return true
	}
	if !strings.Contains(s, ".") {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
