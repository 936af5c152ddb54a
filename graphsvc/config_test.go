package graphsvc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

const (
	testTenant = "c0a7e5e0-0000-4000-8000-000000000000"
	testClient = "4e5e7b07-0000-4000-8000-000000000001"
	testSecret = "Sup3r~Secret.Value_never-shown"
	testCertPW = "cert-password-never-shown"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigFromEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want []string // every one must be in the error
	}{
		{"no tenant", map[string]string{EnvClientID: testClient, EnvClientSecret: testSecret},
			[]string{"AZURE_TENANT_ID is not set", "tenant ID (a GUID)"}},
		{"bad tenant", map[string]string{EnvTenantID: "contoso tenant", EnvClientID: testClient, EnvClientSecret: testSecret},
			[]string{"AZURE_TENANT_ID", "Directory (tenant) ID"}},
		{"no client", map[string]string{EnvTenantID: testTenant, EnvClientSecret: testSecret},
			[]string{"AZURE_CLIENT_ID is not set", "Application (client) ID"}},
		{"client not a GUID", map[string]string{EnvTenantID: testTenant, EnvClientID: "resetbot", EnvClientSecret: testSecret},
			[]string{"AZURE_CLIENT_ID", "not a GUID"}},
		{"no secret or certificate", map[string]string{EnvTenantID: testTenant, EnvClientID: testClient},
			[]string{"AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH is not set", "RESETBOT_GRAPH_AUTH=managed-identity"}},
		{"unknown auth mode", map[string]string{EnvGraphAuth: "magic", EnvClientSecret: testSecret},
			[]string{"RESETBOT_GRAPH_AUTH", "magic", "managed-identity"}},
		{"certificate missing", map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvCertificatePath: "/nonexistent/resetbot.pem", EnvCertificatePassword: testCertPW},
			[]string{"AZURE_CLIENT_CERTIFICATE_PATH", "cannot read"}},
		{"endpoint over plain http", map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvClientSecret: testSecret, EnvGraphEndpoint: "http://graph.example.com"},
			[]string{"RESETBOT_GRAPH_ENDPOINT", "https"}},
		{"authority over plain http", map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvClientSecret: testSecret, EnvAuthorityHost: "http://login.example.com/"},
			[]string{"AZURE_AUTHORITY_HOST", "https"}},
		{"batch concurrency out of range", map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvClientSecret: testSecret, EnvBatchConcurrency: "100"},
			[]string{"RESETBOT_GRAPH_BATCH_CONCURRENCY", "1 to 32"}},
		{"batch concurrency not a number", map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvClientSecret: testSecret, EnvBatchConcurrency: "lots"},
			[]string{"RESETBOT_GRAPH_BATCH_CONCURRENCY", "whole number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConfigFromEnv(env(tt.vars))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), testCertPW) {
				t.Errorf("error leaks a secret: %q", err)
			}
		})
	}
}

func TestConfigFromEnvGarbageCertificate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resetbot.pfx")
	if err := os.WriteFile(path, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ConfigFromEnv(env(map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvCertificatePath: path, EnvCertificatePassword: testCertPW}))
	if err == nil || !strings.Contains(err.Error(), EnvCertificatePath) || !strings.Contains(err.Error(), EnvCertificatePassword) || strings.Contains(err.Error(), testCertPW) {
		t.Errorf("got %v", err)
	}
}

func TestConfigFromEnvCredentials(t *testing.T) {
	certPath := writeTestCertificate(t)
	tests := []struct {
		name string
		vars map[string]string
	}{
		{"client secret", map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvClientSecret: testSecret}},
		{"tenant as domain", map[string]string{EnvTenantID: "contoso.onmicrosoft.com", EnvClientID: testClient, EnvClientSecret: testSecret}},
		{"certificate", map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvCertificatePath: certPath, EnvSendCertChain: "true"}},
		{"system-assigned managed identity", map[string]string{EnvGraphAuth: AuthManagedIdentity}},
		{"user-assigned managed identity", map[string]string{EnvGraphAuth: AuthManagedIdentity, EnvClientID: testClient}},
		{"sovereign cloud", map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvClientSecret: testSecret,
			EnvAuthorityHost: "https://login.microsoftonline.us/", EnvGraphEndpoint: "https://graph.microsoft.us"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ConfigFromEnv(env(tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Credential == nil || cfg.TenantID != tt.vars[EnvTenantID] || cfg.ClientID != tt.vars[EnvClientID] || cfg.GraphEndpoint != tt.vars[EnvGraphEndpoint] {
				t.Errorf("config %+v", cfg)
			}
			if _, err := New(cfg); err != nil {
				t.Errorf("New: %v", err)
			}
		})
	}
}

func writeTestCertificate(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048) // Entra takes RSA certificates only
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "resetbot"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	path := filepath.Join(t.TempDir(), "resetbot.pem")
	if err := os.WriteFile(path, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A private (non-public) authority host: the client secret credential must sign in there without
// asking login.microsoftonline.com for instance discovery, and its token must reach Graph on a
// host that is not graph.microsoft.com. New builds the credential from the environment here
// (Config.Credential nil), with the Config's HTTPClient as transport.
func TestSecretCredentialWithPrivateAuthority(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	var base string
	srv := httptest.NewTLSServer(batchAware(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/" + testTenant + "/v2.0/.well-known/openid-configuration":
			writeJSON(w, 200, map[string]any{
				"issuer":                 base + "/" + testTenant + "/v2.0",
				"token_endpoint":         base + "/" + testTenant + "/oauth2/v2.0/token",
				"authorization_endpoint": base + "/" + testTenant + "/oauth2/v2.0/authorize",
			})
		case "/" + testTenant + "/oauth2/v2.0/token":
			_ = r.ParseForm()
			// MSAL adds the OpenID scopes to ours.
			if r.PostForm.Get("client_secret") != testSecret || !strings.HasPrefix(r.PostForm.Get("scope"), base+"/.default") {
				writeJSON(w, 401, map[string]any{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
				return
			}
			writeJSON(w, 200, map[string]any{"token_type": "Bearer", "access_token": "token-from-private-authority", "expires_in": 3600})
		case "/v1.0/roleManagement/directory/roleAssignments", "/v1.0/roleManagement/directory/roleEligibilitySchedules",
			"/v1.0/groups", "/v1.0/directory/administrativeUnits", "/v1.0/users/u1/transitiveMemberOf/microsoft.graph.group":
			writeJSON(w, 200, map[string]any{"value": []any{}})
		case "/v1.0/users/u1@contoso.com":
			if r.Header.Get("Authorization") != "Bearer token-from-private-authority" {
				writeGraphError(w, 401, "InvalidAuthenticationToken", "Access token is empty.")
				return
			}
			writeJSON(w, 200, map[string]any{"id": "u1", "userPrincipalName": "u1@contoso.com", "accountEnabled": true})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	base = srv.URL

	for k, v := range map[string]string{EnvClientSecret: testSecret, EnvCertificatePath: "", EnvGraphAuth: "", EnvAuthorityHost: "", EnvTenantID: "", EnvClientID: ""} {
		t.Setenv(k, v)
	}
	c, err := New(Config{TenantID: testTenant, ClientID: testClient, AuthorityHost: srv.URL, GraphEndpoint: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.FindUser(context.Background(), "u1@contoso.com")
	if err != nil {
		t.Fatalf("%v (requests: %v)", err, paths)
	}
	if u.ID != "u1" {
		t.Errorf("user %+v", u)
	}
	for _, p := range paths {
		if strings.Contains(p, "discovery/instance") {
			t.Errorf("instance discovery was attempted: %s", p)
		}
	}

	// A wrong secret: ErrOther with the wrong-secret remedy, Entra's AADSTS code, and no secret.
	t.Setenv(EnvClientSecret, "wrong-"+testSecret)
	c, err = New(Config{TenantID: testTenant, ClientID: testClient, AuthorityHost: srv.URL, GraphEndpoint: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.FindUser(context.Background(), "u1@contoso.com")
	de, ok := err.(*bot.DirectoryError)
	if !ok || de.Kind != bot.ErrOther || !strings.Contains(de.Message, "AADSTS7000215") || de.Remedy != RemedySecretInvalid {
		t.Errorf("got %v (%+v)", err, de)
	}
	if b, _ := json.Marshal(de); strings.Contains(string(b), testSecret) {
		t.Errorf("secret in error: %s", b)
	}
}

func TestConfigFromEnvBatchConcurrency(t *testing.T) {
	cfg, err := ConfigFromEnv(env(map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvClientSecret: testSecret,
		EnvBatchConcurrency: "16"}))
	if err != nil || cfg.BatchConcurrency != 16 {
		t.Fatalf("RESETBOT_GRAPH_BATCH_CONCURRENCY=16: %d, %v", cfg.BatchConcurrency, err)
	}
	cfg, err = ConfigFromEnv(env(map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvClientSecret: testSecret}))
	if err != nil || cfg.BatchConcurrency != 0 {
		t.Fatalf("unset: %d (0 means the default), %v", cfg.BatchConcurrency, err)
	}
}
