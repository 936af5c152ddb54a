package teams

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// Azure's Bot Service templates write MicrosoftAppId, MicrosoftAppPassword, MicrosoftAppType and
// MicrosoftAppTenantId into app settings; resetbot takes them as they are.
func TestConfigFromEnvTakesAzureNames(t *testing.T) {
	vars := map[string]string{"MicrosoftAppId": testAppID, "MicrosoftAppTenantId": testTenant,
		"MicrosoftAppType": "SingleTenant", "MicrosoftAppPassword": "s3cret-value"}
	cfg, enabled, err := ConfigFromEnv(func(k string) string { return vars[k] })
	if err != nil || !enabled || cfg.AppID != testAppID || cfg.TenantID != testTenant || cfg.Credential == nil {
		t.Fatalf("Azure's names: enabled %v, %+v, %v", enabled, cfg, err)
	}

	// The same value under both names is fine; different values are a mistake to stop for.
	vars[EnvAppID] = testAppID
	if _, _, err := ConfigFromEnv(func(k string) string { return vars[k] }); err != nil {
		t.Errorf("the same app ID under both names: %v", err)
	}
	vars[EnvAppTenantID] = "11111111-2222-4333-8444-555555555555"
	_, _, err = ConfigFromEnv(func(k string) string { return vars[k] })
	if err == nil || !strings.Contains(err.Error(), "MICROSOFT_APP_TENANT_ID and MicrosoftAppTenantId are both set, to different values") {
		t.Errorf("two tenants: %v", err)
	}
}

// On AKS with workload identity the bot needs no secret: its token comes from exchanging the pod's
// service account token, as a single-tenant app or as the user-assigned managed identity.
func TestConfigFromEnvWorkloadIdentity(t *testing.T) {
	srv := graphtest.NewServer(graphtest.Contoso())
	t.Cleanup(srv.Close)
	auth := graphtest.NewAuthority(srv)
	t.Cleanup(auth.Close)
	tenant := strings.TrimPrefix(auth.Authority(), auth.URL+"/")
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	if err := os.WriteFile(tokenFile, []byte("service-account-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, appType := range []string{"SingleTenant", "UserAssignedMSI"} {
		vars := map[string]string{EnvAppID: auth.ClientID, EnvAppTenantID: tenant, EnvAppType: appType,
			EnvFederatedTokenFile: tokenFile, EnvAuthorityHost: auth.URL}
		cfg, _, err := ConfigFromEnv(func(k string) string { return vars[k] })
		if err != nil {
			t.Fatalf("%s with workload identity: %v", appType, err)
		}
		// The credential's transport must trust the local authority: swap in its client.
		cred, err := workloadCredential(policy.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: auth.URL + "/"}, Transport: auth.Client()}, auth.ClientID, tenant, tokenFile, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{botframework.Scope}}); err != nil {
			t.Fatalf("%s: token: %v", appType, err)
		}
		if _, ok := cfg.Credential.(*azidentity.WorkloadIdentityCredential); !ok {
			t.Errorf("%s: the credential is a %T, want workload identity", appType, cfg.Credential)
		}
	}
	var got []string
	for _, c := range auth.TokenCalls() {
		got = append(got, c.Assertion)
	}
	if len(got) == 0 || got[0] != "service-account-token" {
		t.Errorf("assertions sent: %q", got)
	}
	vars := map[string]string{EnvAppID: testAppID, EnvAppTenantID: testTenant, EnvFederatedTokenFile: "/nonexistent/token"}
	if _, _, err := ConfigFromEnv(func(k string) string { return vars[k] }); err == nil || !strings.Contains(err.Error(), EnvFederatedTokenFile) {
		t.Errorf("an unreadable token file: %v", err)
	}
}
