package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

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
		"✓ read the Temporary Access Pass policy (Policy.Read.AuthenticationMethod): on, 1h0m0s to 8h0m0s"} {
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
	if !strings.Contains(out.String(), "✗ could not read Entra's audit log") || !strings.Contains(out.String(), "what to do:") {
		t.Errorf("the refusal is not explained:\n%s", out.String())
	}

	err := check(context.Background(), c, "nobody@contoso.com", time.Now(), &out)
	if err == nil || !strings.Contains(err.Error(), "what to do:") {
		t.Errorf("an unknown user: %v, want the classified error with what to do", err)
	}
}
