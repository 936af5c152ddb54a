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

	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/bot"
)

// The environment `resetbot serve` reads for Teams. The MICROSOFT_APP_* names are the Bot Framework
// SDKs' own; the MicrosoftApp* names (AzureNames) are those Azure's Bot Service templates write into
// app settings, accepted beside them so an Azure Bot's settings carry over as they are.
const (
	EnvAppID           = "MICROSOFT_APP_ID"
	EnvAppTenantID     = "MICROSOFT_APP_TENANT_ID"
	EnvAppType         = "MICROSOFT_APP_TYPE" // SingleTenant (default), UserAssignedMSI, MultiTenant
	EnvAppPassword     = "MICROSOFT_APP_PASSWORD"
	EnvAppCertPath     = "MICROSOFT_APP_CERTIFICATE_PATH"
	EnvAppCertPassword = "MICROSOFT_APP_CERTIFICATE_PASSWORD"
	EnvAuthorityHost   = "AZURE_AUTHORITY_HOST"
	// EnvFederatedTokenFile is workload identity's service account token (AKS): with no secret or
	// certificate, the bot's token comes from exchanging it.
	EnvFederatedTokenFile = "AZURE_FEDERATED_TOKEN_FILE"

	EnvApprovals        = "RESETBOT_TEAMS_APPROVALS_CONVERSATION"
	EnvApprovalsName    = "RESETBOT_TEAMS_APPROVALS_NAME"
	EnvAudit            = "RESETBOT_TEAMS_AUDIT_CONVERSATION"
	EnvServiceURL       = "RESETBOT_TEAMS_SERVICE_URL"
	EnvMetadataURL      = "RESETBOT_TEAMS_OPENID_METADATA"
	EnvIssuer           = "RESETBOT_TEAMS_TOKEN_ISSUER"
	EnvScope            = "RESETBOT_TEAMS_TOKEN_SCOPE"
	EnvServiceHosts     = "RESETBOT_TEAMS_SERVICE_HOSTS"
	EnvInsecureLoopback = "RESETBOT_TEAMS_INSECURE_LOOPBACK"
)

// AzureNames maps each setting to the name Azure's Bot Service templates give it.
var AzureNames = map[string]string{
	EnvAppID:       "MicrosoftAppId",
	EnvAppTenantID: "MicrosoftAppTenantId",
	EnvAppType:     "MicrosoftAppType",
	EnvAppPassword: "MicrosoftAppPassword",
}

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
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	// A setting may come under its own name or Azure's; both set to different values is a mistake
	// worth stopping for (which one would win is not obvious to whoever set them).
	get := func(k string) string {
		v := strings.TrimSpace(getenv(k))
		if alias, ok := AzureNames[k]; ok {
			if av := strings.TrimSpace(getenv(alias)); av != "" {
				if v != "" && v != av {
					fail("%s and %s are both set, to different values: keep one", k, alias)
				}
				if v == "" {
					v = av
				}
			}
		}
		return v
	}
	cfg.AppID = get(EnvAppID)
	if cfg.AppID == "" {
		return Config{}, false, nil
	}
	if !bot.IsGUID(cfg.AppID) {
		fail("%s %q is not a GUID: use the Azure Bot's Microsoft App ID", EnvAppID, botframework.Truncate(cfg.AppID, 60))
	}
	cfg.TenantID = get(EnvAppTenantID)
	if !bot.IsGUID(cfg.TenantID) {
		fail("%s must be your Entra tenant ID (a GUID): only activities from that tenant are acted on", EnvAppTenantID)
	}
	cfg.ApprovalsConversation = get(EnvApprovals)
	if cfg.ApprovalsConversation != "" && !strings.HasPrefix(cfg.ApprovalsConversation, "19:") {
		fail("%s %q is not a Teams channel ID: it looks like 19:…@thread.tacv2 (Teams: the channel's ⋯ → Get link to channel; the ID is in the link, URL-encoded)", EnvApprovals, botframework.Truncate(cfg.ApprovalsConversation, 80))
	}
	cfg.ApprovalsName = get(EnvApprovalsName)
	cfg.AuditConversation = get(EnvAudit)
	if cfg.AuditConversation != "" && !strings.HasPrefix(cfg.AuditConversation, "19:") {
		fail("%s %q is not a Teams channel ID: it looks like 19:…@thread.tacv2 (Teams: the channel's ⋯ → Get link to channel; the ID is in the link, URL-encoded)", EnvAudit, botframework.Truncate(cfg.AuditConversation, 80))
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
		if path := get(EnvFederatedTokenFile); path != "" {
			// On AKS the managed identity is reached through workload identity: its federated
			// credential trusts the pod's service account.
			return workloadCredential(opts, appID, tenantID, path, noDiscovery)
		}
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
	if path := get(EnvFederatedTokenFile); path != "" && authority == tenantID {
		return workloadCredential(opts, appID, tenantID, path, noDiscovery)
	}
	return nil, fmt.Errorf("%s or %s is not set: the Azure Bot's client secret or certificate (or set %s=%s on an Azure host, or use workload identity on AKS: %s)", EnvAppPassword, EnvAppCertPath, EnvAppType, AppTypeUserAssignedMSI, EnvFederatedTokenFile)
}

// workloadCredential exchanges the pod's service account token (AKS workload identity) for the
// bot's token, as the app or managed identity appID whose federated credential trusts it.
func workloadCredential(opts policy.ClientOptions, appID, tenantID, path string, noDiscovery bool) (azcore.TokenCredential, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: cannot read the service account token for workload identity: %v", EnvFederatedTokenFile, err)
	}
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions: opts, ClientID: appID, TenantID: tenantID, TokenFilePath: path, DisableInstanceDiscovery: noDiscovery})
	if err != nil {
		return nil, fmt.Errorf("workload identity (%s): %v", EnvFederatedTokenFile, err)
	}
	return cred, nil
}

// LogValue shows the configuration without its credential.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("app_id", c.AppID), slog.String("tenant", c.TenantID),
		slog.String("approvals", c.ApprovalsConversation), slog.String("audit", c.AuditConversation), slog.String("service_url", c.ServiceURL),
		slog.Bool("insecure_loopback", c.InsecureLoopback))
}
