// Package signin signs helpdesk agents in to resetbot with their own Entra account, so resets that
// Graph allows only with a delegated token (resetPassword, which writes back to on-premises AD) or
// that the deployment wants made as the agent (delegated-only mode) run as them.
//
// Two flows, both through MSAL Go's public client: the authorization code flow with PKCE when the
// bot has a public URL (the link goes to the agent by DM; Entra sends the browser back to
// GET /oauth/callback), and the device code flow when it has none (Slack Socket Mode).
//
// The store only ever sees sealed bytes (AES-256-GCM, key from RESETBOT_ENCRYPTION_KEY): MSAL's token
// cache for each agent, and each pending sign-in's PKCE verifier. A sign-in is kept only when the
// Entra user who signed in is the one the chat identity maps to. Tokens are refreshed silently
// through MSAL, forgotten on /resetpw logout, and kept no longer than the session lifetime.
//
// It imports bot and chat of resetbot's, and MSAL; it must not import an adapter, graphsvc or a
// store engine: it reaches them through bot's interfaces.
package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

// CallbackPath is where Entra sends the browser back after sign-in, on the bot's public URL.
const CallbackPath = "/oauth/callback"

// Scopes are the delegated permissions an agent consents to: resetPassword's, and User.Read for
// the sign-in itself. Delegated-only mode adds ScopesAsAgent.
var (
	Scopes        = []string{"UserAuthenticationMethod.ReadWrite.All", "User.Read"}
	ScopesAsAgent = []string{"User-PasswordProfile.ReadWrite.All", "User.RevokeSessions.All"}
)

// Config says how agents sign in.
type Config struct {
	ClientID  string // resetbot's app registration (Application (client) ID)
	Authority string // https://login.microsoftonline.com/{tenant ID}
	// PublicURL is the bot's public https origin; the redirect URI is PublicURL + CallbackPath. Empty
	// means the device code flow.
	PublicURL string
	Scopes    []string // full delegated scopes, e.g. https://graph.microsoft.com/User.Read
	Key       []byte   // 32 bytes, from RESETBOT_ENCRYPTION_KEY
	Store     bot.SignIns
	// HTTPClient carries MSAL's requests (proxy, test TLS roots); nil is a client with Timeout.
	HTTPClient *http.Client
	// LinkTTL is how long a sign-in link or device code may be used, default 10 minutes.
	LinkTTL time.Duration
	// SessionTTL is how long an agent stays signed in, default 12 hours (a shift). Entra's refresh
	// token may end sooner (revoked, password changed, policy): then the agent signs in again.
	SessionTTL time.Duration
	// Timeout bounds each call to Entra, default 15 s.
	Timeout time.Duration
	// DeviceWait is how long Begin waits for a device code sign-in to finish before answering, so a
	// sign-in approved at once (the demo's sandbox) is done when the agent types the next command.
	// Zero (production) answers at once.
	DeviceWait time.Duration
	Now        func() time.Time
	Log        *slog.Logger
	// Tell sends a person a private message (bot.Service.TellActor): the end of a device code sign-in.
	Tell func(ctx context.Context, to chat.Actor, m chat.Message) error
	// Audit records sign-in events in the trail (bot.Service.AuditSignIn); no secrets in detail.
	Audit func(ctx context.Context, actor chat.Actor, upn, outcome, detail string)
	// Linked, when set, hears every sign-in completed as the expected person
	// (bot.Service.Link): the chat account is then linked to that Entra account.
	Linked func(ctx context.Context, actor chat.Actor, objectID, upn string)
	// Words is how each platform names the app and its commands (bot.Service.Words); nil: Slack's.
	Words func(chat.Platform) chat.Vocabulary
}

// Manager implements bot.AgentSignIn and serves the callback.
type Manager struct {
	cfg    Config
	seal   *sealer
	base   context.Context // device code waits run under it; Close ends them
	stop   context.CancelFunc
	wg     sync.WaitGroup
	public bool // authorization code flow (else device code)
}

var _ bot.AgentSignIn = (*Manager)(nil)

// New checks the configuration and makes a Manager. A missing or short key is an error here, so a
// misconfigured deployment fails at startup, not at the first sign-in.
func New(cfg Config) (*Manager, error) {
	s, err := newSealer(cfg.Key)
	if err != nil {
		return nil, err
	}
	if cfg.ClientID == "" || cfg.Authority == "" || cfg.Store == nil || len(cfg.Scopes) == 0 {
		return nil, errors.New("signin: ClientID, Authority, Scopes and Store are required")
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("the public URL %q must be an https origin such as https://resetbot.contoso.com", cfg.PublicURL)
		}
		cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	}
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = 10 * time.Minute
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	base, stop := context.WithCancel(context.Background())
	return &Manager{cfg: cfg, seal: s, base: base, stop: stop, public: cfg.PublicURL != ""}, nil
}

// Close ends device code sign-ins still waiting and waits for them.
func (m *Manager) Close() {
	m.stop()
	m.wg.Wait()
}

// RedirectURI is the callback's full URL, to register on the app registration.
func (m *Manager) RedirectURI() string { return m.cfg.PublicURL + CallbackPath }

// Sends says what a sign-in sends the person, for the service's words: a link to open where the
// bot has a public address, else a code to enter on Microsoft's device sign-in page.
func (m *Manager) Sends() string {
	if m.public {
		return "a link to open"
	}
	return "a code to enter on Microsoft's sign-in page"
}

// pending is what a sign-in link needs at the callback, sealed in the store.
type pending struct {
	Verifier string     `json:"verifier"`
	Redirect string     `json:"redirect"`
	Actor    chat.Actor `json:"actor"`
	UPN      string     `json:"upn"`
}

// Begin implements bot.AgentSignIn.
func (m *Manager) Begin(ctx context.Context, actor chat.Actor, me bot.User) (chat.Message, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	if !m.public {
		return m.beginDevice(ctx, actor, me)
	}
	msg, err := m.beginLink(ctx, actor, me)
	return msg, false, err
}

// beginLink makes a sign-in link: the authorization code flow with PKCE, back to the callback.
func (m *Manager) beginLink(ctx context.Context, actor chat.Actor, me bot.User) (chat.Message, error) {
	state, verifier := randomToken(32), randomToken(64)
	p := pending{Verifier: verifier, Redirect: m.RedirectURI(), Actor: actor, UPN: me.UPN}
	plain, _ := json.Marshal(p)
	sealed, err := m.seal.seal(plain, "pending", state, actor.Key())
	if err != nil {
		return chat.Message{}, err
	}
	client, err := m.client(&rowCache{})
	if err != nil {
		return chat.Message{}, err
	}
	// MSAL resolves the authorize endpoint from the authority's metadata; it has no option for
	// state or PKCE's challenge on this call, so they are added to its URL.
	link, err := client.AuthCodeURL(ctx, m.cfg.ClientID, p.Redirect, m.cfg.Scopes, public.WithLoginHint(me.UPN))
	if err != nil {
		return chat.Message{}, fmt.Errorf("building the sign-in link: %w", err)
	}
	u, err := url.Parse(link)
	if err != nil {
		return chat.Message{}, err
	}
	q := u.Query()
	q.Set("state", state)
	q.Set("code_challenge", challenge(verifier))
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()
	now := m.cfg.Now()
	if err := m.cfg.Store.PutSignIn(ctx, bot.PendingSignIn{State: state, ActorKey: actor.Key(), ObjectID: me.ID,
		Sealed: sealed, ExpiresAt: now.Add(m.cfg.LinkTTL)}); err != nil {
		return chat.Message{}, fmt.Errorf("keeping the pending sign-in: %w", err)
	}
	return chat.Message{
		Title: "🔑 Sign in as " + me.UPN,
		Text: "Press Sign in and sign in with your own Entra account. The link works once, for you only (another account is refused), until " +
			m.clock(now.Add(m.cfg.LinkTTL)) + ".",
		Buttons: []chat.Button{{Label: "Sign in", URL: u.String(), Primary: true}},
		Footer:  fmt.Sprintf("You stay signed in for up to %s; logout ends it sooner.", hours(m.cfg.SessionTTL)),
	}, nil
}

// beginDevice starts a device code sign-in and waits for it in the background.
// signedIn is true when the sign-in finished while Begin waited (DeviceWait).
func (m *Manager) beginDevice(ctx context.Context, actor chat.Actor, me bot.User) (_ chat.Message, signedIn bool, _ error) {
	rc := &rowCache{}
	client, err := m.client(rc)
	if err != nil {
		return chat.Message{}, false, err
	}
	dc, err := client.AcquireTokenByDeviceCode(ctx, m.cfg.Scopes)
	if err != nil {
		return chat.Message{}, false, fmt.Errorf("starting a device code sign-in: %s", entraSummary(err))
	}
	expires := dc.Result.ExpiresOn
	if limit := time.Now().Add(m.cfg.LinkTTL); limit.Before(expires) {
		expires = limit
	}
	// handoff: while Begin still waits (DeviceWait, the demo's sandbox approving at once), the
	// finished sign-in is handed to it, so the agent reads one message in order rather than "signed
	// in" before "how to sign in".
	type ended struct {
		dm chat.Message
		ok bool
	}
	handoff := make(chan ended)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		wait, cancel := context.WithDeadline(m.base, expires)
		defer cancel()
		res, err := dc.AuthenticationResult(wait)
		if m.base.Err() != nil {
			return // shutting down: nobody failed to sign in
		}
		ctx, cancel2 := context.WithTimeout(context.WithoutCancel(m.base), m.cfg.Timeout)
		defer cancel2()
		var e ended
		if err != nil {
			m.cfg.Log.Warn("device code sign-in did not complete", "actor", actor.Key(), "why", entraSummary(err))
			v := m.words(actor.Platform)
			e.dm = chat.Message{Title: "⌛ Your " + v.App + " sign-in was not completed in time. Run " + v.Command + "login again."}
		} else {
			e.ok, _, e.dm = m.finish(ctx, actor, me.ID, me.UPN, res, rc)
		}
		select {
		case handoff <- e:
		default:
			m.tell(ctx, actor, e.dm)
		}
	}()
	if m.cfg.DeviceWait > 0 {
		t := time.NewTimer(m.cfg.DeviceWait)
		defer t.Stop()
		select {
		case e := <-handoff:
			e.dm.Footer = "Code " + dc.Result.UserCode + " was approved at " + dc.Result.VerificationURL + " at once."
			return e.dm, e.ok, nil
		case <-t.C:
		case <-ctx.Done():
		}
	}
	// The code is shown in a block of its own, which platforms make easy to copy; it is a sign-in
	// for this person only, so it travels as a secret: in their direct messages and nowhere else.
	return chat.Message{
		Title: "🔑 Sign in as " + me.UPN,
		Text: "Copy the code below, press Open the sign-in page, paste it and sign in with your own Entra account. The code works until " +
			m.clock(expires) + "; another account is refused.",
		Secret:  chat.NewSecret(dc.Result.UserCode),
		Buttons: []chat.Button{{Label: "Open the sign-in page", URL: dc.Result.VerificationURL, Primary: true}},
		Footer:  fmt.Sprintf("You stay signed in for up to %s; logout ends it sooner.", hours(m.cfg.SessionTTL)),
	}, false, nil
}

// finish keeps a completed sign-in if it is the expected person. It returns the words for the
// sign-in page and the DM that tells the agent in the chat; the caller sends the DM.
func (m *Manager) finish(ctx context.Context, actor chat.Actor, wantOID, wantUPN string, res public.AuthResult, rc *rowCache) (ok bool, words string, dm chat.Message) {
	got := res.IDToken.Oid
	if got == "" || !strings.EqualFold(got, wantOID) {
		who := res.IDToken.PreferredUsername
		if who == "" {
			who = "another account"
		}
		m.cfg.Log.Warn("sign-in refused: the Entra account is not the agent's", "actor", actor.Key(), "expected_oid", wantOID, "signed_in_oid", got)
		m.audit(ctx, actor, wantUPN, "refused", "signed in as a different Entra user ("+who+")")
		words = "You signed in as " + who + ", but your chat account belongs to " + wantUPN + ". Nothing was kept: run /resetpw login again and sign in as " + wantUPN + "."
		return false, words, chat.Message{Title: "⛔ " + words}
	}
	now := m.cfg.Now()
	blob, _ := json.Marshal(tokenRow{Cache: rc.data, HomeAccountID: res.Account.HomeAccountID, UPN: res.IDToken.PreferredUsername})
	sealed, err := m.seal.seal(blob, "token", actor.Key(), wantOID)
	if err == nil {
		err = m.cfg.Store.PutAgentToken(ctx, bot.AgentToken{ActorKey: actor.Key(), ObjectID: wantOID, Sealed: sealed,
			ExpiresAt: now.Add(m.cfg.SessionTTL), UpdatedAt: now})
	}
	if err != nil {
		m.cfg.Log.Error("keeping an agent's sign-in failed", "actor", actor.Key(), "err", err)
		words = "You signed in, but resetbot could not keep the sign-in. Try /resetpw login again in a minute."
		return false, words, chat.Message{Title: "⚠️ " + words}
	}
	m.cfg.Log.Info("agent signed in", "actor", actor.Key(), "oid", wantOID)
	m.audit(ctx, actor, wantUPN, "signed_in", "")
	if m.cfg.Linked != nil {
		m.cfg.Linked(ctx, actor, wantOID, wantUPN)
	}
	words = "Signed in as " + wantUPN + " until " + m.clock(now.Add(m.cfg.SessionTTL)) + ". You can close this page and go back to the chat."
	v := m.words(actor.Platform)
	return true, words, chat.Message{Title: "✅ Signed in to " + v.App + " as " + wantUPN + ".",
		Text: "Resets that need your own sign-in now run as you, until " + m.clock(now.Add(m.cfg.SessionTTL)) + ". " + v.Command + "logout ends it."}
}

// tokenRow is what an agent's sealed row holds: MSAL's cache for that agent alone (refresh token
// included) and which account in it is theirs.
type tokenRow struct {
	Cache         []byte `json:"cache"`
	HomeAccountID string `json:"homeAccountId"`
	UPN           string `json:"upn"`
}

// ServeHTTP is GET /oauth/callback: Entra's redirect with a code and the state of the link.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), m.cfg.Timeout)
	defer cancel()
	q := r.URL.Query()
	state := q.Get("state")
	refuse := func(status int, why, logWhy string, attrs ...any) {
		m.cfg.Log.Warn("sign-in callback refused", append([]any{"why", logWhy}, attrs...)...)
		page(w, status, "Sign-in refused", why)
	}
	if state == "" {
		refuse(http.StatusBadRequest, "This page only finishes a sign-in started with /resetpw login in the chat.", "no state")
		return
	}
	// Taken first, whatever follows: a state is good for one callback only.
	p, ok, err := m.cfg.Store.TakeSignIn(ctx, state, m.cfg.Now())
	if err != nil {
		m.cfg.Log.Error("reading a pending sign-in failed", "err", err)
		page(w, http.StatusServiceUnavailable, "Try again", "resetbot could not finish the sign-in just now. Run /resetpw login again in a minute.")
		return
	}
	if !ok {
		refuse(http.StatusBadRequest, "This sign-in link was already used, has expired, or is not one resetbot made. Run /resetpw login in the chat for a new one.",
			"unknown, used or expired state")
		return
	}
	plain, err := m.seal.open(p.Sealed, "pending", state, p.ActorKey)
	var pd pending
	if err == nil {
		err = json.Unmarshal(plain, &pd)
	}
	if err != nil {
		refuse(http.StatusBadRequest, "This sign-in could not be verified. Run /resetpw login in the chat for a new link.",
			"pending sign-in does not open", "actor", p.ActorKey)
		return
	}
	if e := q.Get("error"); e != "" {
		m.audit(ctx, pd.Actor, pd.UPN, "refused", "Entra answered "+clipWord(e))
		refuse(http.StatusBadRequest, "Entra did not complete the sign-in ("+clipWord(e)+"). Run /resetpw login in the chat to try again.",
			"entra error", "actor", p.ActorKey, "error", clipWord(e))
		return
	}
	code := q.Get("code")
	if code == "" {
		refuse(http.StatusBadRequest, "The sign-in came back without a code. Run /resetpw login in the chat to try again.", "no code", "actor", p.ActorKey)
		return
	}
	rc := &rowCache{}
	client, err := m.client(rc)
	if err != nil {
		refuse(http.StatusInternalServerError, "resetbot could not finish the sign-in.", "msal client", "err", err)
		return
	}
	res, err := client.AcquireTokenByAuthCode(ctx, code, pd.Redirect, m.cfg.Scopes, public.WithChallenge(pd.Verifier))
	if err != nil {
		m.audit(ctx, pd.Actor, pd.UPN, "refused", "Entra refused the code: "+entraSummary(err))
		refuse(http.StatusBadRequest, "Entra did not accept this sign-in. Run /resetpw login in the chat for a new link.",
			"code redemption failed", "actor", p.ActorKey, "entra", entraSummary(err))
		return
	}
	ok, words, dm := m.finish(ctx, pd.Actor, p.ObjectID, pd.UPN, res, rc)
	m.tell(ctx, pd.Actor, dm)
	if !ok {
		page(w, http.StatusForbidden, "Sign-in refused", words)
		return
	}
	page(w, http.StatusOK, "Signed in", words)
}

// SignOut implements bot.AgentSignIn.
func (m *Manager) SignOut(ctx context.Context, actor chat.Actor) (bool, error) {
	return m.cfg.Store.DeleteAgentToken(ctx, actor.Key())
}

// Session implements bot.AgentSignIn: the agent's sealed row is read and opened now, so a missing,
// expired, moved or tampered row is ErrNotSignedIn before any reset starts.
func (m *Manager) Session(ctx context.Context, actor chat.Actor, objectID string) (bot.TokenSource, error) {
	row, ok, err := m.cfg.Store.GetAgentToken(ctx, actor.Key(), m.cfg.Now())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, bot.ErrNotSignedIn
	}
	if !strings.EqualFold(row.ObjectID, objectID) {
		// The chat identity now maps to someone else: the old sign-in is not theirs.
		m.cfg.Log.Warn("stored sign-in is for another Entra user; forgetting it", "actor", actor.Key())
		_, _ = m.cfg.Store.DeleteAgentToken(ctx, actor.Key())
		return nil, bot.ErrNotSignedIn
	}
	plain, err := m.seal.open(row.Sealed, "token", actor.Key(), row.ObjectID)
	var tr tokenRow
	if err == nil {
		err = json.Unmarshal(plain, &tr)
	}
	if err != nil {
		m.cfg.Log.Error("stored sign-in does not open (tampered, moved or another key); forgetting it", "actor", actor.Key())
		_, _ = m.cfg.Store.DeleteAgentToken(ctx, actor.Key())
		return nil, fmt.Errorf("%w: the stored sign-in could not be opened", bot.ErrNotSignedIn)
	}
	return &session{m: m, actor: actor, row: row, tr: tr}, nil
}

// session is one agent's token source for the length of a request.
type session struct {
	m     *Manager
	actor chat.Actor
	row   bot.AgentToken

	mu      sync.Mutex
	tr      tokenRow
	token   string
	expires time.Time
}

// AccessToken implements bot.TokenSource: MSAL answers from the agent's cache, refreshing with the
// refresh token when the access token is near its end; a changed cache is sealed and kept again.
func (s *session) AccessToken(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && time.Until(s.expires) > time.Minute {
		return s.token, nil
	}
	m := s.m
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	rc := &rowCache{data: s.tr.Cache}
	client, err := m.client(rc)
	if err != nil {
		return "", err
	}
	accounts, err := client.Accounts(ctx)
	if err != nil {
		return "", err
	}
	var account *public.Account
	for i := range accounts {
		if accounts[i].HomeAccountID == s.tr.HomeAccountID {
			account = &accounts[i]
		}
	}
	if account == nil {
		return "", s.forget(ctx, "no account in the stored sign-in")
	}
	res, err := client.AcquireTokenSilent(ctx, m.cfg.Scopes, public.WithSilentAccount(*account))
	if err != nil {
		if refused(err) {
			return "", s.forget(ctx, "Entra refused the refresh token: "+entraSummary(err))
		}
		return "", fmt.Errorf("refreshing the agent's token: %s", entraSummary(err))
	}
	if rc.dirty {
		s.tr.Cache = rc.data
		blob, _ := json.Marshal(s.tr)
		sealed, err := m.seal.seal(blob, "token", s.actor.Key(), s.row.ObjectID)
		if err == nil {
			s.row.Sealed, s.row.UpdatedAt = sealed, m.cfg.Now()
			err = m.cfg.Store.PutAgentToken(ctx, s.row)
		}
		if err != nil {
			// The token in hand still works; the next request refreshes again.
			m.cfg.Log.Error("keeping a refreshed agent token failed", "actor", s.actor.Key(), "err", err)
		}
	}
	s.token, s.expires = res.AccessToken, res.ExpiresOn
	return s.token, nil
}

// forget drops a sign-in that can no longer give tokens, so the agent is told to sign in again.
func (s *session) forget(ctx context.Context, why string) error {
	s.m.cfg.Log.Warn("agent sign-in ended", "actor", s.actor.Key(), "why", why)
	_, _ = s.m.cfg.Store.DeleteAgentToken(context.WithoutCancel(ctx), s.actor.Key())
	return fmt.Errorf("%w: %s", bot.ErrNotSignedIn, why)
}

// refused reports whether Entra answered a token request with an OAuth refusal (invalid_grant and
// the like: expired, revoked, consent withdrawn), as opposed to not answering.
func refused(err error) bool {
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil {
		return ce.Resp.StatusCode == http.StatusBadRequest || ce.Resp.StatusCode == http.StatusUnauthorized
	}
	// MSAL says so in words when the cache holds no refresh token for the account.
	return strings.Contains(err.Error(), "no token found") || strings.Contains(err.Error(), "refresh token")
}

// client makes an MSAL public client on the agent's own cache. Instance discovery is off: it would
// ask login.microsoftonline.com about sovereign and private authorities it does not know.
func (m *Manager) client(c cache.ExportReplace) (public.Client, error) {
	return public.New(m.cfg.ClientID, public.WithAuthority(m.cfg.Authority), public.WithCache(c),
		public.WithHTTPClient(m.cfg.HTTPClient), public.WithInstanceDiscovery(false))
}

// rowCache is MSAL's cache for one agent, held in memory for one operation.
type rowCache struct {
	data  []byte
	dirty bool
}

func (c *rowCache) Replace(_ context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	if len(c.data) == 0 {
		return nil
	}
	return u.Unmarshal(c.data)
}

func (c *rowCache) Export(_ context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	c.data, c.dirty = b, true
	return nil
}

func (m *Manager) tell(ctx context.Context, to chat.Actor, msg chat.Message) {
	if m.cfg.Tell == nil {
		return
	}
	if err := m.cfg.Tell(ctx, to, msg); err != nil {
		m.cfg.Log.Error("telling an agent about their sign-in failed", "actor", to.Key(), "err", err)
	}
}

func (m *Manager) audit(ctx context.Context, actor chat.Actor, upn, outcome, detail string) {
	if m.cfg.Audit != nil {
		m.cfg.Audit(ctx, actor, upn, outcome, detail)
	}
}

func (m *Manager) clock(t time.Time) string { return t.Format("15:04 MST") }

func hours(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return d.String()
}

var aadsts = regexp.MustCompile(`AADSTS\d+`)

// entraSummary names an MSAL failure without its text, which can quote request parameters: the
// AADSTS code when there is one, else the OAuth error word, else a generic phrase.
func entraSummary(err error) string {
	s := err.Error()
	if c := aadsts.FindString(s); c != "" {
		return c
	}
	for _, word := range []string{"invalid_grant", "authorization_declined", "expired_token", "invalid_client", "unauthorized_client", "context deadline exceeded"} {
		if strings.Contains(s, word) {
			return word
		}
	}
	return "the token request failed"
}

// clipWord keeps an error word from the query safe to log and show: letters, digits, _ only.
func clipWord(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 40 {
			break
		}
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>resetbot · {{.Title}}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;line-height:1.5">
<h1 style="font-size:1.4em">{{.Title}}</h1><p>{{.Text}}</p></body></html>
`))

// page answers the browser in plain words. The code and state stay out of it, and no-store keeps
// the page (and its URL's code) out of caches.
func page(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, struct{ Title, Text string }{title, text})
}

// words is how the agent's platform names the app and its commands.
func (m *Manager) words(p chat.Platform) chat.Vocabulary {
	if m.cfg.Words != nil {
		return m.cfg.Words(p)
	}
	return chat.Vocabulary{App: "resetbot", Reset: "/resetpw", Command: "/resetpw "}
}
