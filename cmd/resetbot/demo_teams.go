package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/resetbot/resetbot/adapters/teams"
	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// demoApprovalsChannel is the approvals channel of the playground's "IT" team
// (manifest/teams/playground/.m365agentsplayground.yml).
const demoApprovalsChannel = "19:approvals@thread.tacv2"

// teamsDemo is what `resetbot demo --teams` needs from demo.go.
type teamsDemo struct {
	Service *bot.Service
	Advance func(time.Duration) // moves the demo clock, for "/wait 16m"
	Listen  string              // loopback address, default 127.0.0.1:3978
	Log     io.Writer           // the bot's log; the unauthenticated-mode warning always goes to Out
	Out     io.Writer           // instructions for the person running the demo
}

const teamsDemoIntro = `resetbot demo --teams: sandbox tenant contoso.com, Teams endpoint on http://%[1]s/api/messages
(loopback only, and without Bot Framework tokens: Microsoft 365 Agents Playground sends none).

In another terminal (Node.js 18 or later):
  cd manifest/teams/playground
  TEAMSAPPTESTER_BROWSER=none npx --yes @microsoft/m365agentsplayground -e http://%[1]s/api/messages -c msteams
then open http://localhost:%[2]d. You are Pat Admin (pat@contoso.com), a Privileged Authentication Administrator.
In the personal chat with ResetPW, try:
  resetpw adele@contoso.com --reason "locked out"   reset; the temporary password comes in a separate card
  resetpw megan@contoso.com --reason "lost phone"   needs approval: a card in IT › approvals
  whoami · help · /wait 16m                         /wait moves the demo clock: password cards expire
In IT › approvals, Approve → "Yes, approve" tells you that you can't approve your own request. A second
person approves through the playground's API: this terminal prints the command when a card is posted.
Ctrl-C stops.
`

// playgroundPort is where Agents Playground listens by default.
const playgroundPort = 56150

// runTeamsDemo serves the Teams adapter for the playground on loopback until ctx ends. demo.go
// builds the sandbox (Graph simulator, store, service with the demo clock) and calls it instead of
// the terminal chat when --teams is given.
func runTeamsDemo(ctx context.Context, d teamsDemo) error {
	if d.Listen == "" {
		d.Listen = "127.0.0.1:3978"
	}
	host, _, err := net.SplitHostPort(d.Listen)
	if err != nil {
		return fmt.Errorf("--teams-listen %q: %w", d.Listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--teams-listen %q: the Teams demo accepts activities without tokens, so it listens on loopback only", d.Listen)
	}
	if d.Log == nil {
		d.Log = io.Discard
	}
	log := slog.New(slog.NewTextHandler(d.Log, nil))
	ln, err := net.Listen("tcp", d.Listen)
	if err != nil {
		return fmt.Errorf("the Teams demo cannot listen on %s: %w (is another resetbot running?)", d.Listen, err)
	}
	a, err := teams.New(teams.Config{
		AppID:                 graphtest.ResetbotAppID,
		TenantID:              graphtest.ContosoTenantID,
		Credential:            demoCredential{},
		Handler:               demoTeamsHandler{svc: d.Service, advance: d.Advance},
		ApprovalsConversation: demoApprovalsChannel,
		ApprovalsName:         "IT › approvals", // the playground's team and channel
		InsecureLoopback:      true,
		Log:                   slog.New(slog.NewTextHandler(io.MultiWriter(d.Log, warnOnly{d.Out}), nil)),
		// The playground answers at once; a long wait would only hide a stuck demo.
		InvokeTimeout: 10 * time.Second,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer a.Close()
	d.Service.Attach(chat.PlatformTeams, demoTeamsChat{Adapter: a, out: d.Out})

	mux := http.NewServeMux()
	mux.Handle("POST /api/messages", a)
	// The playground checks the endpoint is up with HEAD before it sends anything.
	mux.HandleFunc("HEAD /api/messages", func(http.ResponseWriter, *http.Request) {})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	jobs, stop := context.WithCancel(ctx)
	defer stop()
	go d.Service.Run(jobs, 2*time.Second) // approval expiry and DM withdrawal, as serve does

	fmt.Fprintf(d.Out, teamsDemoIntro, ln.Addr().String(), playgroundPort)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("teams demo stopped")
	return nil
}

// demoTeamsHandler is the service, plus the demo's "/wait 16m", so expiry can be seen in the
// playground without waiting a quarter of an hour.
type demoTeamsHandler struct {
	svc     *bot.Service
	advance func(time.Duration)
}

func (h demoTeamsHandler) Handle(ctx context.Context, in chat.Incoming) error {
	if f := strings.Fields(in.Text); len(f) > 0 && strings.EqualFold(f[0], "/wait") && h.advance != nil {
		dur, err := time.ParseDuration(strings.Join(f[1:], ""))
		if err != nil || dur <= 0 {
			return in.Reply.Reply(ctx, chat.Message{Title: "usage: /wait 16m"})
		}
		h.advance(dur)
		if err := in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⏩ (%s later)", dur)}); err != nil {
			return err
		}
		h.svc.Tick(ctx)
		return nil
	}
	return h.svc.Handle(ctx, in)
}

// demoTeamsChat is the adapter, plus a hint in the terminal whenever an approval card is posted:
// the playground's browser acts as one person only, so the second person's click is sent through
// the playground's own invoke API, which delivers it to the bot exactly as the browser would.
type demoTeamsChat struct {
	*teams.Adapter
	out io.Writer
}

func (c demoTeamsChat) PostApproval(ctx context.Context, m chat.Message) (chat.MessageRef, error) {
	ref, err := c.Adapter.PostApproval(ctx, m)
	if err != nil || len(m.Buttons) == 0 || c.out == nil {
		return ref, err
	}
	id := m.Buttons[0].RequestID
	fmt.Fprintf(c.out, `
Approval card for %[1]s posted in IT › approvals. To approve it as Sam Security (sam@contoso.com), run:
  curl -s localhost:%[4]d/_conversation/v1/invoke -H 'Content-Type: application/json' -d '{"name":"adaptiveCard/action","from":{"id":"29:sam"},"conversation":{"id":"%[2]s;messageid=%[3]s"},"replyToId":"%[3]s","value":{"action":{"type":"Action.Execute","verb":"approve","data":{"requestId":"%[1]s"}}}}'
(verb "deny" denies it; "29:helpdesk" or "29:megan" instead of "29:sam" shows who may not approve).

`, id, ref.Channel, ref.ID, playgroundPort)
	return ref, err
}

// demoCredential stands in for azidentity: the playground's connector takes any token, and the
// adapter sends tokens only to loopback in this mode.
type demoCredential struct{}

func (demoCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "resetbot-demo", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// warnOnly passes on the log lines at WARN or above, so the unauthenticated-mode warning reaches
// the terminal even when the log is discarded.
type warnOnly struct{ w io.Writer }

func (o warnOnly) Write(p []byte) (int, error) {
	if o.w != nil && (strings.Contains(string(p), "level=WARN") || strings.Contains(string(p), "level=ERROR")) {
		if _, err := o.w.Write(p); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
