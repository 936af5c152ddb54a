package teams

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

func TestConfigFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	if _, enabled, err := ConfigFromEnv(env()); enabled || err != nil {
		t.Fatalf("without MICROSOFT_APP_ID: enabled %v, %v", enabled, err)
	}
	cfg, enabled, err := ConfigFromEnv(env(EnvAppID, testAppID, EnvAppTenantID, testTenant, EnvAppPassword, "s3cret-value",
		EnvApprovals, approvalsConv, EnvServiceHosts, "a.example.com, *.b.example.com"))
	if err != nil || !enabled {
		t.Fatalf("enabled %v, %v", enabled, err)
	}
	if cfg.AppID != testAppID || cfg.TenantID != testTenant || cfg.Credential == nil || cfg.ApprovalsConversation != approvalsConv ||
		len(cfg.ServiceHosts) != 2 || cfg.InsecureLoopback {
		t.Fatalf("cfg %+v", cfg)
	}
	cfg, _, err = ConfigFromEnv(env(EnvAppID, testAppID, EnvAppTenantID, testTenant, EnvAppType, "UserAssignedMSI"))
	if err != nil || cfg.Credential == nil {
		t.Fatalf("managed identity: %v", err)
	}
	for name, e := range map[string]func(string) string{
		"no tenant":         env(EnvAppID, testAppID, EnvAppPassword, "x"),
		"app ID not a GUID": env(EnvAppID, "resetbot", EnvAppTenantID, testTenant, EnvAppPassword, "x"),
		"no credential":     env(EnvAppID, testAppID, EnvAppTenantID, testTenant),
		"unknown app type":  env(EnvAppID, testAppID, EnvAppTenantID, testTenant, EnvAppType, "Whatever", EnvAppPassword, "x"),
		"bad approvals":     env(EnvAppID, testAppID, EnvAppTenantID, testTenant, EnvAppPassword, "x", EnvApprovals, "general"),
		"bad switch":        env(EnvAppID, testAppID, EnvAppTenantID, testTenant, EnvAppPassword, "x", EnvInsecureLoopback, "yes please"),
		"missing cert":      env(EnvAppID, testAppID, EnvAppTenantID, testTenant, EnvAppCertPath, "/nonexistent.pem"),
	} {
		_, enabled, err := ConfigFromEnv(e)
		if err == nil || !enabled {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the secret", name)
		}
	}
	// The configuration logs without its credential.
	cfg, _, _ = ConfigFromEnv(env(EnvAppID, testAppID, EnvAppTenantID, testTenant, EnvAppPassword, "s3cret-value"))
	if s := cfg.LogValue().String(); strings.Contains(s, "s3cret") || !strings.Contains(s, testAppID) {
		t.Errorf("LogValue %s", s)
	}
}

// The playground's configuration describes the sandbox tenant: its tenant ID and, for every person,
// the object ID the bot finds them by.
func TestPlaygroundConfigMatchesTheSandbox(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "manifest", "teams", "playground", ".m365agentsplayground.yml"))
	if err != nil {
		t.Fatal(err)
	}
	srv := graphtest.NewServer(graphtest.Contoso())
	defer srv.Close()
	var upn string
	people := 0
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "- ")), ": ")
		if !ok {
			continue
		}
		switch k {
		case "tenantId":
			if v != graphtest.ContosoTenantID {
				t.Errorf("tenantId %s, want %s", v, graphtest.ContosoTenantID)
			}
		case "userPrincipleName": // sic: the playground's spelling
			upn = v
		case "aadObjectId":
			u, ok := srv.User(v)
			if !ok || !strings.EqualFold(u.UPN, upn) {
				t.Errorf("aadObjectId %s is not %s in the sandbox", v, upn)
			}
			people++
		}
	}
	if people < 6 || !strings.Contains(string(b), "id: 19:approvals@thread.tacv2") {
		t.Errorf("the playground config has %d people or no approvals channel", people)
	}
}
