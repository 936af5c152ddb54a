// Package slack is resetbot's Slack adapter: the /resetpw slash command, Approve/Deny buttons, the
// password DM and lists sent as CSV files, over HTTP (signed requests) or Socket Mode.
//
// Everything Slack sends takes one path whichever way it arrives: it is verified (HTTP signature, or the
// Socket Mode connection's app token), parsed, acknowledged at once with a "checking" note, and the
// work runs after the acknowledgement, because Slack gives up after 3 seconds and Graph alone can take
// longer. The outcome reaches the person through response_url. The adapter holds no policy: it maps
// the Slack user to an email address and hands the command to bot.Service. Slack's markup (<mailto:…>
// links, escaped &, < and >) is removed here (unformat), so the service reads plain text.
//
// Of resetbot's packages it imports chat only: the service is a chat.Handler to it. It must not
// import bot's internals, graphsvc, a store or another adapter.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/chat"
)

// Handler is the part of the bot the adapter hands commands to; *bot.Service is one.
type Handler = chat.Handler

// Limits and timeouts. Slack's own limits are quoted where they apply.
const (
	maxRequestBytes   = 1 << 20          // a signed request body; Slack's are a few KiB
	webAPITimeout     = 10 * time.Second // one Web API or response_url call
	workTimeout       = 3 * time.Minute  // everything done after one acknowledgement
	defaultIdentity   = 10 * time.Minute
	defaultMaxList    = chat.MaxFileBytes
	maxCachedPeople   = 10000
	slackCommandLimit = 4000                   // the longest text a slash command carries
	ackQuiet          = 10 * time.Millisecond  // no acknowledgement for this long: a burst is over
	maxWorkDelay      = 100 * time.Millisecond // the longest work waits for acknowledgements to go out
)

// Adapter is resetbot on Slack. It serves Slack's requests (Mount, RunSocketMode) and is the chat.Chat
// the service uses to DM people and post and update approval cards.
type Adapter struct {
	cfg    Config
	api    *slackgo.Client
	svc    Handler
	log    *slog.Logger
	apiURL *url.URL
	hooks  *http.Client // response_url posts
	people *people

	homeMu sync.Mutex
	home   *slackgo.AuthTestResponse // the bot's own workspace and user, from auth.test

	// inflight counts acknowledged work not yet finished, so tests (and anyone else) can wait for it.
	inflight sync.WaitGroup
	// gate holds work back while acknowledgements are being sent.
	gate *ackGate
	// socketUp is true while a Socket Mode connection is open.
	socketUp atomic.Bool
}

// New makes the adapter. It does not call Slack: Check does (readiness), and the first command learns
// the bot's own workspace.
func New(cfg Config, svc Handler) (*Adapter, error) {
	if cfg.BotToken == "" {
		return nil, errors.New("slack: no bot token (" + EnvBotToken + ")")
	}
	if !cfg.SocketMode() && cfg.SigningSecret == "" {
		return nil, errors.New("slack: HTTP mode needs the signing secret (" + EnvSigningSecret + ")")
	}
	if cfg.ApprovalsChannel == "" {
		return nil, errors.New("slack: no approvals channel (" + EnvApprovalsChannel + ")")
	}
	apiURL, err := url.Parse(cfg.apiURL())
	if err != nil || apiURL.Host == "" {
		return nil, fmt.Errorf("slack: %s is not a URL", EnvAPIURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: webAPITimeout}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Go == nil {
		cfg.Go = func(f func()) { go f() }
	}
	if cfg.IdentityTTL <= 0 {
		cfg.IdentityTTL = defaultIdentity
	}
	if cfg.MaxListBytes <= 0 {
		cfg.MaxListBytes = defaultMaxList
	}
	opts := []slackgo.Option{
		slackgo.OptionAPIURL(apiURL.String()),
		slackgo.OptionHTTPClient(cfg.HTTPClient),
		// Only 429s are retried (slack-go's default handler): Slack did not act on those, so a post is
		// never sent twice.
		slackgo.OptionRetry(2),
	}
	if cfg.SocketMode() {
		opts = append(opts, slackgo.OptionAppLevelToken(cfg.AppToken))
	}
	log := cfg.Log.With("platform", "slack")
	return &Adapter{
		cfg:    cfg,
		api:    slackgo.New(cfg.BotToken, opts...),
		svc:    svc,
		log:    log,
		apiURL: apiURL,
		hooks:  cfg.HTTPClient,
		people: newPeople(cfg.IdentityTTL, maxCachedPeople),
		gate:   newAckGate(ackQuiet, maxWorkDelay),
	}, nil
}

// Wait blocks until all acknowledged work has finished.
func (a *Adapter) Wait() { a.inflight.Wait() }

// Check asks Slack whether the bot token works (auth.test), for /readyz; in Socket Mode the
// connection must be up as well, since nothing reaches the bot otherwise.
func (a *Adapter) Check(ctx context.Context) error {
	if a.cfg.SocketMode() && !a.socketUp.Load() {
		return errors.New("the Socket Mode connection is not open")
	}
	ctx, cancel := context.WithTimeout(ctx, webAPITimeout)
	defer cancel()
	_, err := a.api.AuthTestContext(ctx)
	return err
}

// delivery is one thing Slack sent, verified and parsed: the acknowledgement to answer with now, and the
// work to do after it.
type delivery struct {
	ack  any                       // the acknowledgement's JSON payload; nil for an empty 200
	work func(ctx context.Context) // nil when there is nothing to do
}

// hold registers the delivery's work before the acknowledgement goes out, so whoever waits for in-flight
// work (graceful shutdown, tests) cannot miss it; start runs it once the acknowledgement is sent.
func (a *Adapter) hold(d delivery) (start func()) {
	if d.work == nil {
		return func() {}
	}
	a.inflight.Add(1)
	return func() {
		a.cfg.Go(func() {
			defer a.inflight.Done()
			// Not the request's context: that ends with the acknowledgement, and the work has only begun.
			ctx, cancel := context.WithTimeout(context.Background(), workTimeout)
			defer cancel()
			a.gate.wait(ctx)
			defer func() {
				if p := recover(); p != nil {
					a.log.Error("the work after an acknowledgement panicked", "panic", fmt.Sprint(p))
				}
			}()
			d.work(ctx)
		})
	}
}

func (a *Adapter) acked(since time.Time) {
	if a.cfg.Acked != nil {
		a.cfg.Acked(time.Since(since))
	}
}
