package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/digest"
	"github.com/resetbot/resetbot/graphsvc"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

func checkClient(t *testing.T) (*graphtest.Server, *graphsvc.Client) {
	srv := graphtest.NewServer(graphtest.Contoso())
	t.Cleanup(srv.Close)
	c, err := graphsvc.New(graphsvc.Config{Credential: srv.Credential(), GraphEndpoint: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// auditsRefused is the client with Graph refusing the audit log read, as without AuditLog.Read.All.
type auditsRefused struct {
	*graphsvc.Client
	srv *graphtest.Server
}

func (a auditsRefused) PasswordResets(ctx context.Context, since, until time.Time, fn func(digest.EntraReset) error) error {
	a.srv.FailNext(1, 403)
	return a.Client.PasswordResets(ctx, since, until, fn)
}

func TestCheckSaysWhatWorks(t *testing.T) {
	srv, c := checkClient(t)
	var out bytes.Buffer
	if err := check(context.Background(), c, "helpdesk@contoso.com", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"✓ signed in to Graph and read", "helpdesk@contoso.com", "GroupMember.Read.All", "✓ read Entra's audit log",
		"✓ read the Temporary Access Pass policy (Policy.Read.AuthenticationMethod): on, 1h to 8h"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, r := range srv.Requests() {
		if r.Method != "GET" {
			t.Errorf("check sent %s %s; it must change nothing", r.Method, r.Path)
		}
	}

	out.Reset()
	if err := check(context.Background(), auditsRefused{c, srv}, "helpdesk@contoso.com", time.Now(), &out); err != nil {
		t.Fatalf("a refused audit log read is no error for check (only digests need it): %v", err)
	}
	if !strings.Contains(out.String(), "✗ could not read Entra's audit log") ||
		!strings.Contains(out.String(), "what to do: An administrator has not consented to resetbot's application permissions") ||
		!strings.Contains(out.String(), "This read needs AuditLog.Read.All.") {
		t.Errorf("the refusal is not explained as a missing permission:\n%s", out.String())
	}

	// Reading a user needs no Entra role: refused, it is a permission not consented to.
	srv.FailNext(1, 403)
	err := check(context.Background(), c, "helpdesk@contoso.com", time.Now(), &out)
	if err == nil || !strings.Contains(err.Error(), "what to do: An administrator has not consented") ||
		!strings.Contains(err.Error(), "This read needs User.Read.All") || strings.Contains(err.Error(), "resetbot check") {
		t.Errorf("a refused read of the user: %v", err)
	}

	err = check(context.Background(), c, "nobody@contoso.com", time.Now(), &out)
	if err == nil || !strings.Contains(err.Error(), "what to do:") {
		t.Errorf("an unknown user: %v, want the classified error with what to do", err)
	}
}

// closedPort is a loopback address nothing listens on: connecting to it is refused at once.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

const checkSecret = "Xq8~not-a-real-secret-0123456789"

func checkEnv(extra map[string]string) func(string) string {
	env := map[string]string{
		"AZURE_TENANT_ID":     "00000000-0000-0000-0000-00000000000a",
		"AZURE_CLIENT_ID":     "00000000-0000-0000-0000-00000000000b",
		"AZURE_CLIENT_SECRET": checkSecret,
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// Without a network, check says which host could not be reached and how, not that the secret is
// wrong, and it says so at once: an unknown name or a refused connection is not retried.
func TestCheckWithoutNetwork(t *testing.T) {
	refused := closedPort(t)
	tests := []struct {
		name        string
		env         map[string]string
		say, advice string
	}{
		{"unknown sign-in host", map[string]string{"AZURE_AUTHORITY_HOST": "https://login.contoso.invalid/", "RESETBOT_GRAPH_ENDPOINT": "https://graph.contoso.invalid"},
			"could not sign in to Entra ID: the name login.contoso.invalid does not resolve (DNS)", "This host cannot resolve that name"},
		{"sign-in host refuses", map[string]string{"AZURE_AUTHORITY_HOST": "https://" + refused + "/", "RESETBOT_GRAPH_ENDPOINT": "http://" + refused},
			"could not sign in to Entra ID: 127.0.0.1 refused the connection", "Nothing accepts connections there from this host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := checkFromEnv(context.Background(), checkEnv(tt.env), "adele@contoso.com", &out)
			if err == nil {
				t.Fatalf("check passed without a network:\n%s", out.String())
			}
			said := err.Error()
			if !strings.Contains(said, tt.say) || !strings.Contains(said, "what to do: "+tt.advice) {
				t.Errorf("check said:\n%s\nwant %q and the advice %q", said, tt.say, tt.advice)
			}
			for _, never := range []string{"client secret", "AZURE_CLIENT_SECRET", checkSecret, "Run `resetbot check`"} {
				if strings.Contains(said, never) {
					t.Errorf("check said %q, which a sign-in that never reached Entra must not:\n%s", never, said)
				}
			}
		})
	}

	// Signed in, but Graph's own name does not resolve.
	srv := graphtest.NewServer(graphtest.Contoso())
	t.Cleanup(srv.Close)
	c, err := graphsvc.New(graphsvc.Config{Credential: srv.Credential(), GraphEndpoint: "https://graph.contoso.invalid", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = check(context.Background(), c, "adele@contoso.com", time.Now(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "could not reach Graph: the name graph.contoso.invalid does not resolve (DNS)") ||
		!strings.Contains(err.Error(), "what to do: This host cannot resolve that name") {
		t.Errorf("Graph's name unknown: %v", err)
	}
}

// With RESETBOT_GRAPH_AUTH=managed-identity on a host where no managed identity answers, check
// says so, and does not send the admin after a client secret that is not in use.
func TestCheckManagedIdentityOffAzure(t *testing.T) {
	// App Service's variables point azidentity at a managed identity endpoint; here nothing
	// listens there.
	t.Setenv("IDENTITY_ENDPOINT", "http://"+closedPort(t)+"/msi/token")
	t.Setenv("IDENTITY_HEADER", "x")
	var out bytes.Buffer
	err := checkFromEnv(context.Background(), checkEnv(map[string]string{"RESETBOT_GRAPH_AUTH": "managed-identity", "AZURE_CLIENT_SECRET": ""}), "adele@contoso.com", &out)
	if err == nil {
		t.Fatalf("check passed without a managed identity:\n%s", out.String())
	}
	said := err.Error()
	for _, want := range []string{"no managed identity token: 127.0.0.1 refused the connection",
		"what to do: No managed identity answered: run resetbot on an Azure host with a managed identity assigned"} {
		if !strings.Contains(said, want) {
			t.Errorf("check said:\n%s\nwant %q", said, want)
		}
	}
	for _, never := range []string{"client secret or certificate has not expired", "Run `resetbot check`"} {
		if strings.Contains(said, never) {
			t.Errorf("check said %q to a managed identity:\n%s", never, said)
		}
	}
}

// Entra answering: a wrong secret is named as such, and a certificate this host does not trust
// (a proxy inspecting TLS) is not taken for one.
func TestCheckSignInRefused(t *testing.T) {
	srv := graphtest.NewServer(graphtest.Contoso())
	t.Cleanup(srv.Close)
	auth := graphtest.NewAuthority(srv)
	t.Cleanup(auth.Close)
	auth.ClientSecret = "the-right-secret"
	t.Setenv("AZURE_CLIENT_SECRET", checkSecret)
	cfg := graphsvc.Config{TenantID: strings.TrimPrefix(auth.Authority(), auth.URL+"/"), ClientID: auth.ClientID,
		AuthorityHost: auth.URL, GraphEndpoint: srv.URL, Timeout: 5 * time.Second}

	tests := []struct {
		name        string
		client      *http.Client
		say, advice string
	}{
		{"wrong secret", auth.Client(), "AADSTS7000215: Invalid client secret provided",
			"AZURE_CLIENT_SECRET is not a current secret of resetbot's app registration: copy the secret's Value"},
		{"untrusted certificate", nil, "could not sign in to Entra ID: the certificate 127.0.0.1 presented is not trusted",
			"This host does not trust the certificate it was shown, usually because a proxy inspects TLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfg
			cfg.HTTPClient = tt.client
			said := checkFails(t, cfg)
			if !strings.Contains(said, tt.say) || !strings.Contains(said, "what to do: "+tt.advice) {
				t.Errorf("check said:\n%s\nwant %q and the advice %q", said, tt.say, tt.advice)
			}
			if strings.Contains(said, checkSecret) || strings.Contains(said, "Run `resetbot check`") {
				t.Errorf("check said:\n%s", said)
			}
		})
	}
}

// A sign-in host that takes the connection and never answers (a firewall or proxy swallowing it)
// is named as silent once the timeout runs out; the secret is not blamed.
func TestCheckSilentSignInHost(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 16) // taken, held open, never answered
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(held)
				return
			}
			held <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for c := range held {
			c.Close()
		}
	})
	t.Setenv("AZURE_CLIENT_SECRET", checkSecret)
	said := checkFails(t, graphsvc.Config{TenantID: "00000000-0000-0000-0000-00000000000a", ClientID: "00000000-0000-0000-0000-00000000000b",
		AuthorityHost: "https://" + l.Addr().String() + "/", GraphEndpoint: "http://" + closedPort(t), Timeout: 300 * time.Millisecond})
	if !strings.Contains(said, "could not sign in to Entra ID: no answer from "+l.Addr().String()+" within 300ms") ||
		!strings.Contains(said, "what to do: Check that this host may reach it over HTTPS (port 443)") {
		t.Errorf("check said:\n%s", said)
	}
	if strings.Contains(said, "secret") || strings.Contains(said, checkSecret) {
		t.Errorf("check blamed the secret:\n%s", said)
	}
}

// consentMissing is the client with an admin consent withheld from the token's permissions.
type consentMissing struct{ *graphsvc.Client }

func (c consentMissing) AppAccess(ctx context.Context) (graphsvc.AppAccess, error) {
	a, err := c.Client.AppAccess(ctx)
	a.Permissions = slices.DeleteFunc(a.Permissions, func(p string) bool { return p == "User-PasswordProfile.ReadWrite.All" })
	return a, err
}

// Graph refuses a reset with the same 403 for a permission without consent and for a missing
// Entra role: check reads both and says which is missing, without trying a reset.
func TestCheckTellsConsentFromRole(t *testing.T) {
	tenant := graphtest.Contoso()
	srv := graphtest.NewServer(tenant)
	t.Cleanup(srv.Close)
	c, err := graphsvc.New(graphsvc.Config{Credential: srv.Credential(), GraphEndpoint: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := check(context.Background(), c, "adele@contoso.com", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"✓ application permissions with admin consent: ", "User-PasswordProfile.ReadWrite.All",
		"✗ resetbot's app holds no directory-wide Entra role that may reset passwords, so Graph will refuse resets with \"insufficient privileges\"",
		"what to do: in the Entra admin center, Roles & admins → Privileged Authentication Administrator"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no role: output lacks %q:\n%s", want, out.String())
		}
	}

	tenant.AppRoles = []bot.RoleAssignment{{TemplateID: bot.RolePrivilegedAuthAdmin, Scope: "/"}}
	srv2 := graphtest.NewServer(tenant)
	t.Cleanup(srv2.Close)
	c2, err := graphsvc.New(graphsvc.Config{Credential: srv2.Credential(), GraphEndpoint: srv2.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := check(context.Background(), c2, "adele@contoso.com", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "✓ resetbot's app holds the Entra role Privileged Authentication Administrator, directory-wide") ||
		strings.Contains(out.String(), "✗") {
		t.Errorf("with the role:\n%s", out.String())
	}

	out.Reset()
	if err := check(context.Background(), consentMissing{c2}, "adele@contoso.com", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "✗ no admin consent for User-PasswordProfile.ReadWrite.All (resets), so Graph will refuse resets") ||
		!strings.Contains(out.String(), "what to do: An administrator has not consented") {
		t.Errorf("without consent:\n%s", out.String())
	}
	for _, r := range srv2.Requests() {
		if r.Method != "GET" {
			t.Errorf("check sent %s %s; it must change nothing", r.Method, r.Path)
		}
	}
}

// checkFails runs check against the Graph cfg reaches and returns what it said, failing the test
// if check passed.
func checkFails(t *testing.T, cfg graphsvc.Config) string {
	t.Helper()
	c, err := graphsvc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = check(context.Background(), c, "adele@contoso.com", time.Now(), io.Discard)
	if err == nil {
		t.Fatal("check passed")
	}
	return err.Error()
}
