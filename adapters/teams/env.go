package teams

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/resetbot/resetbot/bot"
)

// The environment `resetbot serve` reads for Teams. The MICROSOFT_APP_* names are the Bot Framework
// SDKs' own, so an Azure Bot's settings carry over as they are.
const (
	EnvAppID           = "MICROSOFT_APP_ID"
	EnvAppTenantID     = "MICROSOFT_APP_TENANT_ID"
	EnvAppType         = "MICROSOFT_APP_TYPE" // SingleTenant (default), UserAssignedMSI, MultiTenant
	EnvAppPassword     = "MICROSOFT_APP_PASSWORD"
	EnvAppCertPath     = "MICROSOFT_APP_CERTIFICATE_PATH"
	EnvAppCertPassword = "MICROSOFT_APP_CERTIFICATE_PASSWORD"
	EnvAuthorityHost   = "AZURE_AUTHORITY_HOST"

	EnvApprovals        = "RESETBOT_TEAMS_APPROVALS_CONVERSATION"
	EnvAudit            = "RESETBOT_TEAMS_AUDIT_CONVERSATION"
	EnvServiceURL       = "RESETBOT_TEAMS_SERVICE_URL"
	EnvMetadataURL      = "RESETBOT_TEAMS_OPENID_METADATA"
	EnvIssuer           = "RESETBOT_TEAMS_TOKEN_ISSUER"
	EnvScope            = "RESETBOT_TEAMS_TOKEN_SCOPE"
	EnvServiceHosts     = "RESETBOT_TEAMS_SERVICE_HOSTS"
	EnvInsecureLoopback = "RESETBOT_TEAMS_INSECURE_LOOPBACK"
)

// App types, as the Azure Bot resource names them.
const (
	AppTypeSingleTenant    = "SingleTenant"
	AppTypeUserAssignedMSI = "UserAssignedMSI"
	AppTypeMultiTenant     = "MultiTenant"
)

// ConfigFromEnv reads the Teams settings. enabled is false when MICROSOFT_APP_ID is unset. The
// Handler, Go, Acked and Log fields are left for the caller. Every error names the variable and what
// it takes.
func ConfigFromEnv(getenv func(string) string) (cfg Config, enabled bool, err error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg.AppID = get(EnvAppID)
	if cfg.AppID == "" {
		return Config{}, false, nil
	}
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if !bot.IsGUID(cfg.AppID) {
		fail("%s %q is not a GUID: use the Azure Bot's Microsoft App ID", EnvAppID, truncate(cfg.AppID, 60))
	}
	cfg.TenantID = get(EnvAppTenantID)
	if !bot.IsGUID(cfg.TenantID) {
		fail("%s must be your Entra tenant ID (a GUID): only activities from that tenant are acted on", EnvAppTenantID)
	}
	cfg.ApprovalsConversation = get(EnvApprovals)
	if cfg.ApprovalsConversation != "" && !strings.HasPrefix(cfg.ApprovalsConversation, "19:") {
		fail("%s %q is not a Teams channel ID: it looks like 19:…@thread.tacv2 (Teams: the channel's ⋯ → Get link to channel; the ID is in the link, URL-encoded)", EnvApprovals, truncate(cfg.ApprovalsConversation, 80))
	}
	cfg.AuditConversation = get(EnvAudit)
	if cfg.AuditConversation != "" && !strings.HasPrefix(cfg.AuditConversation, "19:") {
		fail("%s %q is not a Teams channel ID: it looks like 19:…@thread.tacv2 (Teams: the channel's ⋯ → Get link to channel; the ID is in the link, URL-encoded)", EnvAudit, truncate(cfg.AuditConversation, 80))
	}
	cfg.ServiceURL = get(EnvServiceURL)
	cfg.MetadataURL = get(EnvMetadataURL)
	cfg.Issuer = get(EnvIssuer)
	cfg.TokenScope = get(EnvScope)
	for _, h := range strings.Split(get(EnvServiceHosts), ",") {
		if h = strings.TrimSpace(h); h != "" {
			cfg.ServiceHosts = append(cfg.ServiceHosts, h)
		}
	}
	switch v := strings.ToLower(get(EnvInsecureLoopback)); v {
	case "", "0", "false":
	case "1", "true":
		cfg.InsecureLoopback = true
	default:
		fail("%s=%q: set 1 to accept unauthenticated activities from loopback (development only), or leave it unset", EnvInsecureLoopback, v)
	}
	if len(errs) == 0 {
		cred, err := credentialFromEnv(get, cfg.AppID, cfg.TenantID)
		if err != nil {
			fail("%v", err)
		}
		cfg.Credential = cred
	}
	if len(errs) > 0 {
		return Config{}, true, fmt.Errorf("teams configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return cfg, true, nil
}

// credentialFromEnv builds the credential for Bot Framework tokens. The authority is the bot's own
// tenant (single-tenant bots, the only kind Azure creates since July 2025), "botframework.com" for
// a legacy multi-tenant registration, or a user-assigned managed identity whose client ID is the
// app ID.
func credentialFromEnv(get func(string) string, appID, tenantID string) (azcore.TokenCredential, error) {
	opts := policy.ClientOptions{}
	noDiscovery := false
	if host := get(EnvAuthorityHost); host != "" {
		if !strings.HasPrefix(strings.ToLower(host), "https://") {
			return nil, fmt.Errorf("%s %q must be an https URL such as https://login.microsoftonline.us/", EnvAuthorityHost, host)
		}
		opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: strings.TrimRight(host, "/") + "/"}
		noDiscovery = opts.Cloud.ActiveDirectoryAuthorityHost != cloud.AzurePublic.ActiveDirectoryAuthorityHost
	}
	authority := tenantID
	switch t := get(EnvAppType); {
	case t == "" || strings.EqualFold(t, AppTypeSingleTenant):
	case strings.EqualFold(t, AppTypeMultiTenant):
		authority = "botframework.com"
	case strings.EqualFold(t, AppTypeUserAssignedMSI):
		cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
			ClientOptions: opts, ID: azidentity.ClientID(appID)})
		if err != nil {
			return nil, fmt.Errorf("%s=%s: managed identity credential: %v", EnvAppType, AppTypeUserAssignedMSI, err)
		}
		return cred, nil
	default:
		return nil, fmt.Errorf("%s=%q: use %s (default), %s or %s", EnvAppType, t, AppTypeSingleTenant, AppTypeUserAssignedMSI, AppTypeMultiTenant)
	}
	if secret := get(EnvAppPassword); secret != "" {
		cred, err := azidentity.NewClientSecretCredential(authority, appID, secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
		if err != nil {
			return nil, fmt.Errorf("%s: client secret credential: %v", EnvAppPassword, err)
		}
		return cred, nil
	}
	if path := get(EnvAppCertPath); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot read the certificate: %v", EnvAppCertPath, err)
		}
		certs, key, err := azidentity.ParseCertificates(data, []byte(get(EnvAppCertPassword)))
		if err != nil {
			return nil, fmt.Errorf("%s: %s is not a PEM or PKCS#12 file with a certificate and its key (set %s if the key is protected): %v", EnvAppCertPath, path, EnvAppCertPassword, err)
		}
		cred, err := azidentity.NewClientCertificateCredential(authority, appID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
		if err != nil {
			return nil, fmt.Errorf("%s: %v", EnvAppCertPath, err)
		}
		return cred, nil
	}
	return nil, fmt.Errorf("%s or %s is not set: the Azure Bot's client secret or certificate (or set %s=%s on an Azure host)", EnvAppPassword, EnvAppCertPath, EnvAppType, AppTypeUserAssignedMSI)
}

// LogValue shows the configuration without its credential.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("app_id", c.AppID), slog.String("tenant", c.TenantID),
		slog.String("approvals", c.ApprovalsConversation), slog.String("audit", c.AuditConversation), slog.String("service_url", c.ServiceURL),
		slog.Bool("insecure_loopback", c.InsecureLoopback))
}
