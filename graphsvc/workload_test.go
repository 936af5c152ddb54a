package graphsvc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// On AKS the workload identity webhook sets AZURE_FEDERATED_TOKEN_FILE (with AZURE_CLIENT_ID,
// AZURE_TENANT_ID and AZURE_AUTHORITY_HOST) and nothing else: resetbot starts with no secret and
// exchanges the service account token for Graph's, through azidentity's WorkloadIdentityCredential.
// Here against the simulator's authority, with the token in a local file.
func TestWorkloadIdentityFromTheTokenFile(t *testing.T) {
	srv := graphtest.NewServer(graphtest.Contoso())
	t.Cleanup(srv.Close)
	auth := graphtest.NewAuthority(srv)
	t.Cleanup(auth.Close)
	tenant := strings.TrimPrefix(auth.Authority(), auth.URL+"/")

	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	const saToken = "eyJhbGciOiJSUzI1NiJ9.service-account-token.signature"
	if err := os.WriteFile(tokenFile, []byte(saToken), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{EnvTenantID: tenant, EnvClientID: auth.ClientID, EnvAuthorityHost: auth.URL,
		EnvFederatedTokenFile: tokenFile, EnvGraphEndpoint: srv.URL}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	t.Setenv(EnvClientSecret, "")
	t.Setenv(EnvCertificatePath, "")
	t.Setenv(EnvGraphAuth, "")

	// ConfigFromEnv accepts it (it refused to start before workload identity was known).
	if _, err := ConfigFromEnv(env(vars)); err != nil {
		t.Fatalf("workload identity settings refused: %v", err)
	}
	// New builds the same credential from the environment, with the client that trusts the
	// local authority's certificate.
	c, err := New(Config{GraphEndpoint: srv.URL, HTTPClient: auth.Client()})
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.FindUser(context.Background(), "adele@contoso.com")
	if err != nil {
		t.Fatalf("reading a user with the workload identity token: %v", err)
	}
	if u.UPN != "adele@contoso.com" {
		t.Errorf("read %+v", u)
	}
	var sent []string
	for _, call := range auth.TokenCalls() {
		if call.GrantType == "client_credentials" {
			sent = append(sent, call.Assertion)
		}
	}
	if len(sent) == 0 || sent[0] != saToken {
		t.Errorf("the authority got client assertions %q, want the service account token from the file", sent)
	}
}

// Workload identity asked for but not set up says how to set it up; a token file that cannot be
// read is named.
func TestWorkloadIdentityMisconfigured(t *testing.T) {
	for _, c := range []struct {
		vars map[string]string
		want []string
	}{
		{map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvGraphAuth: AuthWorkloadIdentity},
			[]string{"AZURE_FEDERATED_TOKEN_FILE is not set", "azure.workload.identity/use"}},
		{map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvFederatedTokenFile: "/nonexistent/token"},
			[]string{"AZURE_FEDERATED_TOKEN_FILE", "cannot read"}},
	} {
		_, err := ConfigFromEnv(env(c.vars))
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %v, want it to say %q", c.vars, err, w)
			}
		}
	}
}

// Every Graph setting's problem is reported in one go, not one per start.
func TestConfigFromEnvReportsEveryProblem(t *testing.T) {
	_, err := ConfigFromEnv(env(map[string]string{EnvGraphEndpoint: "http://graph.example.com", EnvBatchConcurrency: "100", EnvClientID: testClient, EnvClientSecret: testSecret}))
	for _, w := range []string{"RESETBOT_GRAPH_ENDPOINT", "RESETBOT_GRAPH_BATCH_CONCURRENCY", "AZURE_TENANT_ID is not set"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("%v: want it to name %s", err, w)
		}
	}
}
