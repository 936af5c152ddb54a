package botframework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Defaults for inbound authentication (Bot Framework "connector to bot" tokens, public cloud).
const (
	DefaultOpenIDMetadataURL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
	Issuer                   = "https://api.botframework.com"
	// clockSkew is what Microsoft's SDKs allow between their clock and ours.
	clockSkew = 5 * time.Minute
)

// ErrUnauthorized wraps every reason a request's token is refused. The reason is for the log; the
// caller only ever gets 401.
var ErrUnauthorized = errors.New("unauthorized")

// VerifierConfig configures inbound token validation.
type VerifierConfig struct {
	AppID       string // the audience every token must name; required
	MetadataURL string // OpenID metadata, default DefaultOpenIDMetadataURL (sovereign clouds and tests change it)
	Issuer      string // default Issuer
	HTTPClient  *http.Client
	Now         func() time.Time
	// RefreshInterval is the least time between two forced refreshes of the key set when a token
	// names a key we do not have (default 1 minute): keys rotate, but a stream of tokens with made-up
	// key IDs must not turn into a stream of fetches.
	RefreshInterval time.Duration
	// AllowHTTPMetadata admits http:// metadata and key set URLs on loopback, for tests.
	AllowHTTPMetadata bool
}

// Verifier validates the Bot Framework JWT on each request, itself: msbotbuilder-go's validator
// turns authentication off when the app ID is empty, panics on odd claims, fetches the metadata on
// every request and never refreshes its keys. This one checks the signature (RS256 only) against
// the key set named by the OpenID metadata (cached by jwk.Cache, refreshed when a token names an
// unknown key), the issuer, the audience, expiry with 5 minutes of skew, and hands back the
// serviceurl claim for the caller to match against the activity.
type Verifier struct {
	cfg   VerifierConfig
	cache *jwk.Cache
	stop  context.CancelFunc

	loadMu      sync.Mutex // one metadata fetch at a time
	mu          sync.Mutex // guards the fields below
	jwksURI     string
	lastRefresh time.Time
	failedAt    time.Time // the last failed first load, and why: retried at most every failRetry
	failErr     error
}

// failRetry spaces out attempts to load the metadata while it cannot be had, so a stream of
// requests during an outage does not become a stream of fetches.
const failRetry = 5 * time.Second

// Claims are what a valid token vouches for.
type Claims struct {
	ServiceURL   string
	Endorsements []string // the signing key's endorsements: the channels it may sign for
}

// NewVerifier makes a verifier. It refuses an empty app ID: with none, any token would do.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if strings.TrimSpace(cfg.AppID) == "" {
		return nil, errors.New("teams: MICROSOFT_APP_ID is empty; without it no inbound token can be checked, so the Teams endpoint will not start")
	}
	if cfg.MetadataURL == "" {
		cfg.MetadataURL = DefaultOpenIDMetadataURL
	}
	if cfg.Issuer == "" {
		cfg.Issuer = Issuer
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = time.Minute
	}
	if err := checkFetchURL(cfg.MetadataURL, cfg.AllowHTTPMetadata); err != nil {
		return nil, fmt.Errorf("teams: OpenID metadata URL: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	wl := httprc.WhitelistFunc(func(u string) bool { return checkFetchURL(u, cfg.AllowHTTPMetadata) == nil })
	cache, err := jwk.NewCache(ctx, httprc.NewClient(httprc.WithWhitelist(wl), httprc.WithHTTPClient(cfg.HTTPClient)))
	if err != nil {
		stop()
		return nil, fmt.Errorf("teams: starting the key cache: %w", err)
	}
	return &Verifier{cfg: cfg, cache: cache, stop: stop}, nil
}

// Close stops the key cache's background refresh.
func (v *Verifier) Close() error {
	err := v.cache.Shutdown(context.Background())
	v.stop()
	return err
}

// Ready fetches the metadata and key set if they are not cached yet.
func (v *Verifier) Ready(ctx context.Context) error {
	_, err := v.keySet(ctx)
	return err
}

// Verify checks an Authorization header value. Every error wraps ErrUnauthorized.
func (v *Verifier) Verify(ctx context.Context, authorization string) (Claims, error) {
	raw, ok := strings.CutPrefix(authorization, "Bearer ")
	if !ok || raw == "" {
		return Claims{}, fmt.Errorf("%w: no bearer token", ErrUnauthorized)
	}
	// Compact serialisation only: three base64url parts. jws.Parse would also take the JSON forms.
	if len(raw) > 16<<10 || strings.Count(raw, ".") != 2 {
		return Claims{}, fmt.Errorf("%w: not a compact JWT", ErrUnauthorized)
	}
	msg, err := jws.Parse([]byte(raw))
	if err != nil || len(msg.Signatures()) != 1 {
		return Claims{}, fmt.Errorf("%w: malformed token", ErrUnauthorized)
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	// The Bot Framework signs with RS256. Deciding the algorithm here, not from the token, is what
	// keeps out "none" and HMAC signed with the public key.
	if alg, ok := hdr.Algorithm(); !ok || alg != jwa.RS256() {
		return Claims{}, fmt.Errorf("%w: algorithm %v is not RS256", ErrUnauthorized, alg)
	}
	kid, _ := hdr.KeyID()
	if kid == "" {
		return Claims{}, fmt.Errorf("%w: token names no key", ErrUnauthorized)
	}
	key, err := v.key(ctx, kid)
	if err != nil {
		return Claims{}, err
	}
	tok, err := jwt.Parse([]byte(raw),
		jwt.WithKey(jwa.RS256(), key),
		jwt.WithValidate(true),
		jwt.WithIssuer(v.cfg.Issuer),
		jwt.WithAudience(v.cfg.AppID),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithAcceptableSkew(clockSkew),
		jwt.WithClock(jwt.ClockFunc(v.cfg.Now)),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	var c Claims
	if err := tok.Get("serviceurl", &c.ServiceURL); err != nil || c.ServiceURL == "" {
		return Claims{}, fmt.Errorf("%w: token has no serviceurl claim", ErrUnauthorized)
	}
	var endorsements []any
	if key.Get("endorsements", &endorsements) == nil {
		for _, e := range endorsements {
			if s, ok := e.(string); ok {
				c.Endorsements = append(c.Endorsements, s)
			}
		}
		if c.Endorsements == nil {
			c.Endorsements = []string{} // endorsed for nothing, which is not the same as unrestricted
		}
	}
	return c, nil
}

// Endorses reports whether the signing key may sign for a channel ("msteams"). A key without an
// endorsements list is unrestricted, as in Microsoft's SDKs.
func (c Claims) Endorses(channelID string) bool {
	return c.Endorsements == nil || channelID == "" || slices.Contains(c.Endorsements, channelID)
}

// key finds the signing key, refreshing the metadata and key set once (rate-limited) when the
// token names a key we have not seen: that is how a key rotation looks from here.
func (v *Verifier) key(ctx context.Context, kid string) (jwk.Key, error) {
	set, err := v.keySet(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: signing keys unavailable: %v", ErrUnauthorized, err)
	}
	if k, ok := set.LookupKeyID(kid); ok {
		return k, nil
	}
	if set, err = v.refresh(ctx); err != nil {
		return nil, fmt.Errorf("%w: unknown key %q and the key set could not be refreshed: %v", ErrUnauthorized, Truncate(kid, 64), err)
	}
	if k, ok := set.LookupKeyID(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: unknown signing key %q", ErrUnauthorized, Truncate(kid, 64))
}

// keySet returns the cached key set, reading the metadata and registering its jwks_uri first if
// that has not happened yet.
func (v *Verifier) keySet(ctx context.Context) (jwk.Set, error) {
	uri := v.currentURI()
	if uri == "" {
		v.loadMu.Lock()
		uri = v.currentURI() // another request may have loaded it while this one waited
		var err error
		if uri == "" {
			v.mu.Lock()
			recent, last := !v.failedAt.IsZero() && v.cfg.Now().Sub(v.failedAt) < failRetry, v.failErr
			v.mu.Unlock()
			if recent {
				err = last
			} else if uri, err = v.loadMetadata(ctx); err != nil {
				v.mu.Lock()
				v.failedAt, v.failErr = v.cfg.Now(), err
				v.mu.Unlock()
			}
		}
		v.loadMu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return v.cache.Lookup(ctx, uri)
}

// refresh re-reads the metadata (the key set's URL may move) and forces the key set to be fetched
// again, at most once per RefreshInterval; in between it returns the cached set.
func (v *Verifier) refresh(ctx context.Context) (jwk.Set, error) {
	v.mu.Lock()
	now := v.cfg.Now()
	if !v.lastRefresh.IsZero() && now.Sub(v.lastRefresh) < v.cfg.RefreshInterval {
		uri := v.jwksURI
		v.mu.Unlock()
		return v.cache.Lookup(ctx, uri)
	}
	v.lastRefresh = now
	v.mu.Unlock()
	v.loadMu.Lock()
	uri, err := v.loadMetadata(ctx)
	v.loadMu.Unlock()
	if err != nil {
		return nil, err
	}
	return v.cache.Refresh(ctx, uri)
}

func (v *Verifier) currentURI() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.jwksURI
}

// loadMetadata reads the OpenID metadata and makes sure its jwks_uri is registered in the cache.
// The caller holds loadMu.
func (v *Verifier) loadMetadata(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.MetadataURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("reading the OpenID metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("reading the OpenID metadata: HTTP %d", resp.StatusCode)
	}
	var md struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&md); err != nil {
		return "", fmt.Errorf("reading the OpenID metadata: %w", err)
	}
	if err := checkFetchURL(md.JWKSURI, v.cfg.AllowHTTPMetadata); err != nil {
		return "", fmt.Errorf("the OpenID metadata's jwks_uri: %w", err)
	}
	if !v.cache.IsRegistered(ctx, md.JWKSURI) {
		// Register waits for the first fetch; a failure leaves nothing registered, so the next
		// request tries again.
		if err := v.cache.Register(ctx, md.JWKSURI, jwk.WithHTTPClient(v.cfg.HTTPClient)); err != nil {
			_ = v.cache.Unregister(context.WithoutCancel(ctx), md.JWKSURI)
			return "", fmt.Errorf("reading the signing keys: %w", err)
		}
	}
	v.mu.Lock()
	v.jwksURI = md.JWKSURI
	v.mu.Unlock()
	return md.JWKSURI, nil
}

// checkFetchURL admits https URLs, and http on loopback when allowed (tests).
func checkFetchURL(raw string, allowLoopbackHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", Truncate(raw, 100))
	}
	if u.Scheme == "https" || (allowLoopbackHTTP && u.Scheme == "http" && IsLoopbackHost(u.Hostname())) {
		return nil
	}
	return fmt.Errorf("%q is not https", Truncate(raw, 100))
}
