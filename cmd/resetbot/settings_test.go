package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	slackadapter "github.com/resetbot/resetbot/adapters/slack"
	"github.com/resetbot/resetbot/adapters/teams"
	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/graphsvc"
)

const (
	testTenant = "c0a7e5e0-0000-4000-8000-000000000000"
	testApp    = "4e5e7b07-0000-4000-8000-000000000001"
)

// writeCert writes a self-signed certificate and its key as PEM files, named for the subject.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name}, DNSNames: []string{name, "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// recorder is a getenv that remembers every name asked for.
type recorder struct {
	mu   sync.Mutex
	vars map[string]string
	read map[string]bool
}

func (r *recorder) getenv(k string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.read[k] = true
	return r.vars[k]
}

// Every variable serve reads is a line of the settings table, and every line is read by something:
// what `serve --help` and `config` show is exactly what there is. Several environments are loaded
// so every branch (secret, certificate, workload identity; sign-in; TLS) is taken.
func TestEverySettingReadIsDeclared(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "resetbot.example")
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("sa-token"), 0o600)
	rules := filepath.Join(dir, "rules.json")
	os.WriteFile(rules, []byte(`[{"name":"desk","agents":["g1"],"targets":{"domains":["contoso.com"]}}]`), 0o600)
	base := map[string]string{
		"AZURE_TENANT_ID": testTenant, "AZURE_CLIENT_ID": testApp,
		"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "RESETBOT_APPROVALS_CHANNEL": "C0123ABCD",
		"MICROSOFT_APP_ID": testApp, "MICROSOFT_APP_TENANT_ID": testTenant,
		"RESETBOT_PASSWORD_WRITEBACK": "true", "RESETBOT_ENCRYPTION_KEY": "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=",
		"RESETBOT_PUBLIC_URL": "https://resetbot.contoso.com", "RESETBOT_POLICY_MODE": "rules", "RESETBOT_RULES_FILE": rules,
		"RESETBOT_TLS_CERT_FILE": cert, "RESETBOT_TLS_KEY_FILE": key,
		"RESETBOT_STORE": "postgres://resetbot@db.example:5432/resetbot", "RESETBOT_POSTGRES_AUTH": "azure",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
	}
	variants := []map[string]string{
		{},
		{"AZURE_CLIENT_SECRET": "x", "MICROSOFT_APP_PASSWORD": "x"},
		{"AZURE_CLIENT_CERTIFICATE_PATH": cert + ".pem", "MICROSOFT_APP_CERTIFICATE_PATH": cert + ".pem"},
		{"AZURE_FEDERATED_TOKEN_FILE": token, "MICROSOFT_APP_TYPE": "UserAssignedMSI"},
	}
	// A certificate file with its key, as the credential loaders want it.
	certPEM, _ := os.ReadFile(cert)
	keyPEM, _ := os.ReadFile(key)
	os.WriteFile(cert+".pem", append(certPEM, keyPEM...), 0o600)

	read := map[string]bool{}
	for _, v := range variants {
		vars := map[string]string{}
		for k, val := range base {
			vars[k] = val
		}
		for k, val := range v {
			vars[k] = val
		}
		r := &recorder{vars: vars, read: map[string]bool{}}
		loadAll(r.getenv, nil)
		openStore(context.Background(), "sqlite::memory:", r.getenv, nil)
		tracingFromEnv(r.getenv)
		for k := range r.read {
			read[k] = true
		}
	}
	declared := map[string]setting{}
	for _, sec := range settingsTable {
		for _, s := range sec.Settings {
			if _, dup := declared[s.Name]; dup {
				t.Errorf("%s is declared twice", s.Name)
			}
			declared[s.Name] = s
			for _, a := range s.Aliases {
				declared[a] = s
			}
		}
	}
	var undeclared, unread []string
	for k := range read {
		if _, ok := declared[k]; !ok {
			undeclared = append(undeclared, k)
		}
	}
	for name, s := range declared {
		if !read[name] && !(s.External && externalOK(name)) {
			unread = append(unread, name)
		}
	}
	sort.Strings(undeclared)
	sort.Strings(unread)
	if len(undeclared) > 0 {
		t.Errorf("read but not in settingsTable (add one line each in settings.go): %v", undeclared)
	}
	if len(unread) > 0 {
		t.Errorf("in settingsTable but read by nothing: %v", unread)
	}
}

// externalOK lists the OpenTelemetry variables the SDK reads itself.
func externalOK(name string) bool {
	switch name {
	case "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER":
		return true
	}
	return false
}

// Each Default in the table is what the code does when the variable is unset: setting the variable
// to its documented default changes nothing.
func TestDefaultsAreTheDefaults(t *testing.T) {
	// Settings whose default lives in another package, checked against that package's constant.
	elsewhere := map[string]string{
		"RESETBOT_GRAPH_ENDPOINT":             graphsvc.DefaultGraphEndpoint,
		"RESETBOT_GRAPH_BATCH_CONCURRENCY":    strconv.Itoa(graphsvc.DefaultBatchConcurrency),
		"RESETBOT_SLACK_API_URL":              slackadapter.DefaultAPIURL,
		"MICROSOFT_APP_TYPE":                  teams.AppTypeSingleTenant,
		"AZURE_CLIENT_SEND_CERTIFICATE_CHAIN": "false",
	}
	type loaded struct {
		Serve  serveConfig
		Ops    opsConfig
		Digest digestSettings
	}
	load := func(vars map[string]string) loaded {
		get := func(k string) string { return vars[k] }
		var l loaded
		l.Serve, _ = loadServeConfig(get)
		l.Ops, _ = loadOpsConfig(get, l.Serve.Listen, l.Serve.Store)
		l.Digest, _ = loadDigestSettings(get)
		// What the policy does with an empty list or role: its defaults.
		p := &l.Serve.Service.Policy
		if len(p.AuditReaders) == 0 {
			p.AuditReaders = bot.DefaultAuditReaderRoles
		}
		if p.BotRole == "" {
			p.BotRole = bot.RolePrivilegedAuthAdmin
		}
		return l
	}
	unset := load(nil)
	for _, sec := range settingsTable {
		for _, s := range sec.Settings {
			if s.Default == "" || s.External {
				continue
			}
			if want, ok := elsewhere[s.Name]; ok {
				if s.Default != want {
					t.Errorf("%s: the table says %q, the code's default is %q", s.Name, s.Default, want)
				}
				continue
			}
			set := load(map[string]string{s.Name: s.Default})
			if !reflect.DeepEqual(set, unset) {
				t.Errorf("%s=%q is not the same as leaving it unset:\n set:   %+v\n unset: %+v", s.Name, s.Default, set, unset)
			}
		}
	}
}

// `resetbot serve --help` lists every setting, with its default.
func TestServeHelpListsEverySetting(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "--help"}, &cliContext{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	help := out.String()
	for _, sec := range settingsTable {
		for _, s := range sec.Settings {
			if !strings.Contains(help, s.Name) {
				t.Errorf("serve --help does not list %s", s.Name)
			}
		}
	}
	for _, want := range []string{"RESETBOT_DM_TTL", "Default: 15m.", "MICROSOFT_APP_ID (or MicrosoftAppId)", "Default: 0 8 * * 1-5."} {
		if !strings.Contains(help, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
}
