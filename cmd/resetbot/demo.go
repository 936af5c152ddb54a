package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/resetbot/resetbot/adapters/shell"
	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/keys"
	"github.com/resetbot/resetbot/bot/signin"
	"github.com/resetbot/resetbot/bot/store"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

type demoCmd struct {
	As      string        `help:"The persona you act as: a UPN of the sandbox tenant." default:"helpdesk@contoso.com"`
	Store   string        `help:"Where the demo keeps its state (default: a new SQLite file in a temporary folder)." placeholder:"sqlite:PATH"`
	Latency time.Duration `help:"Extra latency the sandbox Graph adds to every call." default:"0s"`
	Verbose bool          `help:"Print the bot's log to stderr."`
	Teams   bool          `help:"Serve the Teams endpoint on loopback for Microsoft 365 Agents Playground instead of the terminal chat."`
	Verify  string        `help:"Caller verification: off, offer (the agent may ask for it) or require (no reset until the caller is verified)." enum:"off,offer,require" default:"offer" env:"RESETBOT_VERIFY"`

	TeamsListen string `name:"teams-listen" help:"Loopback address of the Teams endpoint with --teams." default:"127.0.0.1:3978"`
}

const demoIntro = `resetbot demo — sandbox tenant contoso.com, SQLite, terminal chat. Type /help for the terminal's
commands and /resetpw help for the bot's. Personas to try: helpdesk@ (Helpdesk and Authentication
Administrator), pat@ and sam@ (Privileged Authentication Administrators), megan@ and ceo@ (Global
Administrators), adele@ and lynne@ (no roles), alex@ (synchronised from AD: /resetpw login first),
parishelp@ (helpdesk for the Paris office). Adele's manager is megan@; lynne@ and nestor@ have no chat
account, so they can't be told of a reset or verified in chat. Try /resetpw adele@contoso.com --tap, or
--verify chat, then /as adele@contoso.com and pick the number.
`

// demoUsersCSV is the list `/bulk` sends when no file is named, so the README's steps run on a
// fresh clone: people the helpdesk may reset, one who needs approval, one refused.
//
//go:embed demo-users.csv
var demoUsersCSV []byte

// demoWithoutChat are the sandbox's people with no chat account: the bot can't tell them of a
// reset, nor send them numbers to pick.
var demoWithoutChat = map[string]bool{"lynne@contoso.com": true, "nestor@contoso.com": true}

// demoTenant is the seeded tenant, with the helpdesk persona also an Authentication Administrator,
// as agents who give Temporary Access Passes are.
func demoTenant() *graphtest.Tenant {
	t := graphtest.Contoso()
	for i := range t.Users {
		if t.Users[i].ID == graphtest.HelpdeskID {
			t.Users[i].Roles = append(t.Users[i].Roles, bot.RoleAssignment{TemplateID: bot.RoleAuthAdmin, Scope: "/"})
		}
	}
	return t
}

func (d demoCmd) Run(ctx context.Context, cc *cliContext) error {
	srv := graphtest.NewServer(demoTenant())
	defer srv.Close()
	srv.SetLatency(d.Latency)
	// The sandbox is a hybrid tenant with password writeback, and its own sign-in service: the
	// persona signs in with /resetpw login (approved at once, nobody types a password), then can
	// reset alex@, who is synchronised from AD.
	srv.SetWriteback(true)
	auth := graphtest.NewAuthority(srv)
	defer auth.Close()

	dir, err := graphsvc.New(graphsvc.Config{Credential: srv.Credential(), GraphEndpoint: srv.URL,
		MinPoll: 100 * time.Millisecond, MaxPoll: time.Second})
	if err != nil {
		return err
	}
	dsn := d.Store
	if dsn == "" {
		tmp, err := os.MkdirTemp("", "resetbot-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dsn = "sqlite:" + filepath.Join(tmp, "resetbot.db")
	}
	// The sandbox makes its own keys; a real install keeps them in RESETBOT_ENCRYPTION_KEY and
	// RESETBOT_AUDIT_KEY.
	encryptionKey, auditKey := keys.Random(), keys.Random()
	trailKey, err := bot.NewTrailKey(auditKey)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, dsn, store.WithAuditMAC(trailKey.Sign))
	if err != nil {
		return err
	}
	defer st.Close()

	logOut := io.Discard
	if d.Verbose {
		logOut = cc.Stderr
	}
	clock := &demoClock{}
	cfg := bot.Defaults()
	cfg.Policy.Protected = []string{"breakglass@contoso.com"}
	cfg.Policy.Writeback = true
	cfg.EncryptionKey, cfg.AuditKey = encryptionKey, auditKey
	cfg.Verify = bot.VerifyMode(d.Verify)
	key := encryptionKey
	log := slog.New(slog.NewTextHandler(logOut, nil))
	svc := bot.NewService(dir, st, cfg, log)
	svc.SetClock(clock.Now)
	// Device code flow: the demo has no public URL for a callback.
	signIn, err := signin.New(signin.Config{ClientID: auth.ClientID, Authority: auth.Authority(), Scopes: signin.Scopes,
		Key: key, Store: st, HTTPClient: auth.Client(), Now: clock.Now, Log: log, Tell: svc.TellActor, Audit: svc.AuditSignIn, Linked: svc.Link, Words: svc.Words,
		DeviceWait: 5 * time.Second})
	if err != nil {
		return err
	}
	defer signIn.Close()
	svc.EnableAgentSignIn(signIn, dir)
	if d.Teams {
		return runTeamsDemo(ctx, teamsDemo{Service: svc, Advance: clock.Advance, Listen: d.TeamsListen, Log: logOut, Out: cc.Stdout})
	}

	term := shell.New(cc.Stdout, d.As)
	term.Advance = clock.Advance
	term.WithoutChat = demoWithoutChat
	term.SampleList = &chat.File{Name: "users.csv", Data: demoUsersCSV}
	auth.AutoApprove(func() string { return term.Actor().UserID })
	svc.Attach(chat.PlatformShell, term)
	term.Digest = demoDigest(st, dir, srv, clock.Now, log, term)

	in := cc.stdin()
	f, ok := in.(*os.File)
	interactive := ok && isTerminal(f)
	if interactive {
		fmt.Fprint(cc.Stdout, demoIntro)
	}
	return term.Run(ctx, svc, in, interactive)
}

// demoClock is the real time plus whatever /wait added, so expiry can be shown without waiting.
type demoClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *demoClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
