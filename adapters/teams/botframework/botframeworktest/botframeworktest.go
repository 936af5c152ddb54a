// Package botframeworktest is the Bot Framework on loopback, for tests: its token side (OpenID
// metadata and a key set whose RSA keys sign test tokens, with keys that can be rotated in), its
// connector service (records what the bot sends, issues activity and conversation IDs, throttles or
// fails when told), and a credential that hands out a fixed token whose travels tests can check.
//
// It stands in for Microsoft's services only: it must not import resetbot's service, message model
// or adapters, only botframework.
package botframeworktest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/infracloudio/msbotbuilder-go/schema"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/resetbot/resetbot/adapters/teams/botframework"
)

const (
	// Token is what Credential hands out; tests check where it travels.
	Token = "bf-token-SECRET-4f1d"
	// SigningKey signs tokens and is published from the start; RotatedKey is published only when a
	// test rotates it in; UnknownKey is never published.
	SigningKey  = "key-1"
	RotatedKey  = "key-2"
	UnknownKey  = "rogue"
	EndorsedFor = "msteams" // the channel the published keys are endorsed for
)

// Authority is the Bot Framework's token side: OpenID metadata and a key set with RSA keys it signs
// tokens with. Keys can be added (a rotation) while it runs.
type Authority struct {
	srv   *httptest.Server
	appID string

	mu        sync.Mutex
	published map[string]*rsa.PrivateKey // kid → key, as served in the JWKS
	private   map[string]*rsa.PrivateKey // every key a test may sign with, published or not

	JWKSHits atomic.Int32 // key set fetches
	MetaHits atomic.Int32 // metadata fetches
}

// NewAuthority starts an Authority whose tokens name appID as their audience unless told otherwise.
func NewAuthority(t testing.TB, appID string) *Authority {
	a := &Authority{appID: appID, published: map[string]*rsa.PrivateKey{}, private: map[string]*rsa.PrivateKey{}}
	for _, kid := range []string{SigningKey, RotatedKey, UnknownKey} {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		a.private[kid] = k
	}
	a.published[SigningKey] = a.private[SigningKey]
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", func(w http.ResponseWriter, r *http.Request) {
		a.MetaHits.Add(1)
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"https://invalid.example/","jwks_uri":%q,"id_token_signing_alg_values_supported":["RS256"]}`,
			botframework.Issuer, a.srv.URL+"/v1/.well-known/keys")
	})
	mux.HandleFunc("GET /v1/.well-known/keys", func(w http.ResponseWriter, r *http.Request) {
		a.JWKSHits.Add(1)
		a.mu.Lock()
		defer a.mu.Unlock()
		var keys []json.RawMessage
		for kid, k := range a.published {
			pub, err := jwk.Import(&k.PublicKey)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			_ = pub.Set(jwk.KeyIDKey, kid)
			_ = pub.Set(jwk.KeyUsageKey, "sig")
			_ = pub.Set("endorsements", []string{EndorsedFor, "skype"})
			b, _ := json.Marshal(pub)
			keys = append(keys, b)
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

// MetadataURL is where the Authority serves its OpenID metadata.
func (a *Authority) MetadataURL() string {
	return a.srv.URL + "/v1/.well-known/openidconfiguration"
}

// Publish adds a key to the key set, as a rotation would.
func (a *Authority) Publish(kid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.published[kid] = a.private[kid]
}

// TokenSpec is what a test token says; the zero value is a valid token for ServiceURL.
type TokenSpec struct {
	KeyID      string
	Issuer     string
	Audience   string
	ServiceURL string
	NoService  bool
	Exp, NBF   time.Time
}

// Token signs a token as the spec says.
func (a *Authority) Token(t testing.TB, s TokenSpec) string {
	t.Helper()
	if s.KeyID == "" {
		s.KeyID = SigningKey
	}
	if s.Issuer == "" {
		s.Issuer = botframework.Issuer
	}
	if s.Audience == "" {
		s.Audience = a.appID
	}
	now := time.Now()
	if s.Exp.IsZero() {
		s.Exp = now.Add(time.Hour)
	}
	if s.NBF.IsZero() {
		s.NBF = now.Add(-time.Minute)
	}
	b := jwt.NewBuilder().Issuer(s.Issuer).Audience([]string{s.Audience}).Expiration(s.Exp).NotBefore(s.NBF).IssuedAt(now)
	if !s.NoService {
		b = b.Claim("serviceurl", s.ServiceURL)
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.Import(a.private[s.KeyID])
	if err != nil {
		t.Fatal(err)
	}
	_ = key.Set(jwk.KeyIDKey, s.KeyID)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256(), key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// PublicPEM is the signing key's public half as PEM: what an alg-confusion attacker would use as
// an HMAC secret.
func (a *Authority) PublicPEM(t testing.TB) []byte {
	der, err := x509.MarshalPKIXPublicKey(&a.private[SigningKey].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Credential hands out Token for the Bot Framework scope and counts requests for it.
type Credential struct{ Calls atomic.Int32 }

// GetToken implements azcore.TokenCredential.
func (c *Credential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.Calls.Add(1)
	if len(o.Scopes) != 1 || o.Scopes[0] != botframework.Scope {
		return azcore.AccessToken{}, fmt.Errorf("unexpected scopes %v", o.Scopes)
	}
	return azcore.AccessToken{Token: Token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// Call is one request the Connector received.
type Call struct {
	Method     string // CREATE (a 1:1 conversation), POST, PUT or DELETE
	Conv       string // conversation ID (unescaped)
	ActivityID string // the ID it issued (POST) or was asked to change (PUT, DELETE)
	Member     string // CREATE: the member the 1:1 chat is with
	Raw        string // the whole body
	Auth       string
}

// Connector is the Bot Framework connector service: it records what the bot sends, issues
// activity and conversation IDs, and can be told to throttle or fail.
type Connector struct {
	srv *httptest.Server

	mu       sync.Mutex
	calls    []Call
	next     int
	throttle int
	fail     map[string]int // "PUT" → status for the next call of that method
}

// NewConnector starts a Connector; it stops when the test ends.
func NewConnector(t testing.TB) *Connector {
	f := &Connector{fail: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/conversations", func(w http.ResponseWriter, r *http.Request) {
		// The parameters as Teams reads them.
		var p struct {
			IsGroup     bool                    `json:"isGroup"`
			Bot         schema.ChannelAccount   `json:"bot"`
			Members     []schema.ChannelAccount `json:"members"`
			ChannelData map[string]any          `json:"channelData"`
		}
		body, ok := f.admit(w, r, &p)
		if !ok {
			return
		}
		if len(p.Members) != 1 || p.IsGroup || p.ChannelData["tenant"] == nil || !strings.HasPrefix(p.Bot.ID, "28:") {
			http.Error(w, `{"error":{"code":"BadArgument","message":"bad conversation parameters"}}`, 400)
			return
		}
		conv := "a:dm-" + p.Members[0].ID // Teams returns the same 1:1 chat every time
		f.record(Call{Method: "CREATE", Conv: conv, Member: p.Members[0].ID, Raw: body, Auth: r.Header.Get("Authorization")})
		json.NewEncoder(w).Encode(map[string]string{"id": conv})
	})
	mux.HandleFunc("POST /v3/conversations/{conv}/activities", func(w http.ResponseWriter, r *http.Request) {
		body, ok := f.admit(w, r, &struct{}{})
		if !ok {
			return
		}
		f.mu.Lock()
		f.next++
		id := fmt.Sprintf("1:act-%d", f.next)
		f.mu.Unlock()
		f.record(Call{Method: "POST", Conv: r.PathValue("conv"), ActivityID: id, Raw: body, Auth: r.Header.Get("Authorization")})
		json.NewEncoder(w).Encode(map[string]string{"id": id})
	})
	mux.HandleFunc("PUT /v3/conversations/{conv}/activities/{id}", func(w http.ResponseWriter, r *http.Request) {
		body, ok := f.admit(w, r, &struct{}{})
		if !ok {
			return
		}
		f.record(Call{Method: "PUT", Conv: r.PathValue("conv"), ActivityID: r.PathValue("id"), Raw: body, Auth: r.Header.Get("Authorization")})
		json.NewEncoder(w).Encode(map[string]string{"id": r.PathValue("id")})
	})
	mux.HandleFunc("DELETE /v3/conversations/{conv}/activities/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.admit(w, r, nil); !ok {
			return
		}
		f.record(Call{Method: "DELETE", Conv: r.PathValue("conv"), ActivityID: r.PathValue("id"), Auth: r.Header.Get("Authorization")})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// ServiceURL is the fake's URL as Teams gives service URLs: with a trailing slash.
func (f *Connector) ServiceURL() string { return f.srv.URL + "/" }

func (f *Connector) admit(w http.ResponseWriter, r *http.Request, into any) (string, bool) {
	if r.Header.Get("Authorization") != "Bearer "+Token {
		http.Error(w, `{"error":{"code":"Unauthorized","message":"no token"}}`, 401)
		return "", false
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	if f.throttle > 0 {
		f.throttle--
		f.mu.Unlock()
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"error":{"code":"TooManyRequests","message":"slow down"}}`, 429)
		return "", false
	}
	if st := f.fail[r.Method]; st != 0 {
		delete(f.fail, r.Method)
		f.mu.Unlock()
		http.Error(w, `{"error":{"code":"Failed","message":"injected"}}`, st)
		return "", false
	}
	f.mu.Unlock()
	if into != nil && json.Unmarshal(body, into) != nil {
		http.Error(w, `{"error":{"code":"BadArgument","message":"not JSON"}}`, 400)
		return "", false
	}
	return string(body), true
}

// Throttle answers the next n calls with 429.
func (f *Connector) Throttle(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle = n
}

// FailNext answers the next call with method (POST, PUT, DELETE) with status.
func (f *Connector) FailNext(method string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = status
}

func (f *Connector) record(c Call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

// Since returns the calls after the first n.
func (f *Connector) Since(n int) []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls[n:]...)
}

// Count is how many calls were recorded.
func (f *Connector) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}
