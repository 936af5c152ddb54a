package teams

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/adapters/teams/botframework/botframeworktest"
)

// Every forged, stale or misdirected request is refused with nothing acted on: the handler never
// hears of it and the connector gets no call.
func TestForgedRequestsAreRefused(t *testing.T) {
	rec := &recordingHandler{}
	h := newHarness(t, harnessOpts{handler: rec})
	alice := person{aad: "10000000-0000-4000-8000-0000000000aa", name: "Alice"}
	good := h.message(alice, "resetpw adele@contoso.com")
	su := h.conn.ServiceURL()
	body := func(act map[string]any) []byte {
		b, _ := json.Marshal(act)
		return b
	}
	with := func(change func(map[string]any)) []byte {
		act := h.message(alice, "resetpw adele@contoso.com")
		change(act)
		return body(act)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	claims := func() string {
		c, _ := json.Marshal(map[string]any{"iss": botframework.Issuer, "aud": testAppID, "serviceurl": su,
			"exp": time.Now().Add(time.Hour).Unix(), "nbf": time.Now().Add(-time.Minute).Unix()})
		return b64(c)
	}
	hs256 := func() string {
		tok, _ := jwt.NewBuilder().Issuer(botframework.Issuer).Audience([]string{testAppID}).
			Expiration(time.Now().Add(time.Hour)).Claim("serviceurl", su).Build()
		// Classic algorithm confusion: the public key, used as an HMAC secret.
		signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), h.bf.PublicPEM(t)))
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(string(signed), ".")
		hdr, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT", "kid": botframeworktest.SigningKey})
		return b64(hdr) + "." + parts[1] + "." + parts[2]
	}
	for _, c := range []struct {
		name string
		body []byte
		auth string
		want int
	}{
		{"no Authorization header", body(good), "", 401},
		{"not a bearer token", body(good), "Basic dXNlcjpwYXNz", 401},
		{"malformed token", body(good), "Bearer not-a-jwt", 401},
		{"JSON-serialised JWS", body(good), `Bearer {"payload":"e30","signatures":[]}`, 401},
		{"alg none", body(good), "Bearer " + b64([]byte(`{"alg":"none","typ":"JWT","kid":"key-1"}`)) + "." + claims() + ".", 401},
		{"HS256 signed with the public key", body(good), "Bearer " + hs256(), 401},
		{"wrong audience", body(good), "Bearer " + h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: su, Audience: "00000000-0000-0000-0000-00000000beef"}), 401},
		{"wrong issuer", body(good), "Bearer " + h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: su, Issuer: "https://sts.windows.net/evil/"}), 401},
		{"expired beyond the skew", body(good), "Bearer " + h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: su, Exp: time.Now().Add(-6 * time.Minute), NBF: time.Now().Add(-time.Hour)}), 401},
		{"not yet valid", body(good), "Bearer " + h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: su, NBF: time.Now().Add(10 * time.Minute)}), 401},
		{"unknown signing key, even after a refresh", body(good), "Bearer " + h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: su, KeyID: botframeworktest.UnknownKey}), 401},
		{"no serviceurl claim", body(good), "Bearer " + h.bf.Token(t, botframeworktest.TokenSpec{NoService: true}), 401},
		{"serviceurl claim differs from the activity", body(good), "Bearer " + h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: "https://smba.trafficmanager.net/emea/"}), 401},
		{"key not endorsed for the channel", with(func(a map[string]any) { a["channelId"] = "slack" }), "Bearer " + h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: su}), 401},
		{"another tenant", with(func(a map[string]any) {
			a["conversation"].(map[string]any)["tenantId"] = "99999999-0000-4000-8000-000000000000"
			a["channelData"] = map[string]any{"tenant": map[string]any{"id": "99999999-0000-4000-8000-000000000000"}}
		}), "Bearer " + h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: su}), 403},
		{"tenants that disagree", with(func(a map[string]any) {
			a["channelData"] = map[string]any{"tenant": map[string]any{"id": "99999999-0000-4000-8000-000000000000"}}
		}), "Bearer " + h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: su}), 403},
		{"no tenant at all", with(func(a map[string]any) {
			delete(a["conversation"].(map[string]any), "tenantId")
			delete(a, "channelData")
		}), "Bearer " + h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: su}), 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := h.conn.Count()
			st, _ := h.post(c.body, c.auth)
			h.wait()
			if st != c.want {
				t.Errorf("status %d, want %d", st, c.want)
			}
			if n := len(rec.got()); n != 0 {
				t.Errorf("the bot acted on it: %d commands reached the service", n)
			}
			if n := h.conn.Count() - before; n != 0 {
				t.Errorf("the connector got %d calls", n)
			}
		})
	}
	// The genuine article, for contrast.
	if st, _ := h.post(body(good), "Bearer "+h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: su})); st != 200 {
		t.Fatalf("a valid activity got %d", st)
	}
	h.wait()
	if n := len(rec.got()); n != 1 {
		t.Fatalf("%d commands reached the service, want 1", n)
	}
}

// A signed activity whose serviceUrl is not a Bot Framework connector is refused: acting on it
// would mean sending the bot's token there.
func TestForeignServiceURLGetsNoToken(t *testing.T) {
	rec := &recordingHandler{}
	h := newHarness(t, harnessOpts{handler: rec})
	act := h.message(person{aad: "a1", name: "A"}, "help")
	act["serviceUrl"] = "https://evil.example.com/"
	if st, _ := h.send(act); st != http.StatusForbidden {
		t.Fatalf("status %d, want 403", st)
	}
	h.wait()
	if len(rec.got()) != 0 || h.conn.Count() != 0 {
		t.Fatal("the activity was acted on")
	}
	// And the connector refuses such a URL whatever the caller.
	if _, err := h.adapter.conn.Send(t.Context(), "https://evil.example.com/", "a:1", botframework.Activity{Type: "message"}); err == nil ||
		!strings.Contains(err.Error(), "refusing to send the bot's token") || strings.Contains(err.Error(), botframeworktest.Token) {
		t.Fatalf("Send to a foreign host: %v", err)
	}
}

// A key added to the key set after the cache was filled (a rotation) is picked up by the refresh
// an unknown key ID triggers; made-up key IDs do not trigger a fetch each.
func TestKeyRotationAndRefreshLimit(t *testing.T) {
	rec := &recordingHandler{}
	h := newHarness(t, harnessOpts{handler: rec})
	su := h.conn.ServiceURL()
	act, _ := json.Marshal(h.message(person{aad: "a1", name: "A"}, "help"))
	if st, _ := h.post(act, "Bearer "+h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: su})); st != 200 {
		t.Fatalf("status %d", st)
	}
	fetches := h.bf.JWKSHits.Load()
	h.bf.Publish(botframeworktest.RotatedKey)
	if st, _ := h.post(act, "Bearer "+h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: su, KeyID: botframeworktest.RotatedKey})); st != 200 {
		t.Fatalf("a token signed with the rotated-in key got %d", st)
	}
	if got := h.bf.JWKSHits.Load(); got != fetches+1 {
		t.Errorf("key set fetched %d more times for the rotation, want 1", got-fetches)
	}
	fetches = h.bf.JWKSHits.Load()
	for range 5 {
		if st, _ := h.post(act, "Bearer "+h.bf.Token(t, botframeworktest.TokenSpec{ServiceURL: su, KeyID: botframeworktest.UnknownKey})); st != 401 {
			t.Fatalf("unknown key got %d", st)
		}
	}
	if got := h.bf.JWKSHits.Load(); got != fetches {
		t.Errorf("unknown key IDs caused %d key set fetches within the refresh interval, want 0", got-fetches)
	}
	h.wait()
}

func TestRefusesToStartWithoutAppIDOrTenant(t *testing.T) {
	for _, cfg := range []Config{
		{TenantID: testTenant, Credential: &botframeworktest.Credential{}, Handler: &recordingHandler{}},
		{AppID: testAppID, Credential: &botframeworktest.Credential{}, Handler: &recordingHandler{}},
		{AppID: "  ", TenantID: testTenant, Credential: &botframeworktest.Credential{}, Handler: &recordingHandler{}},
	} {
		if a, err := New(cfg); err == nil {
			a.Close()
			t.Errorf("New(%+v) started", cfg)
		}
	}
}

// The development switch admits token-less activities only from loopback, with a loopback
// service URL, and no proxy in between; it is off unless asked for.
func TestInsecureLoopback(t *testing.T) {
	off := newHarness(t, harnessOpts{})
	act, _ := json.Marshal(off.message(person{aad: "a1", name: "A"}, "help"))
	if st, _ := off.post(act, ""); st != 401 {
		t.Fatalf("without the switch an unauthenticated activity got %d", st)
	}

	rec := &recordingHandler{}
	on := newHarness(t, harnessOpts{handler: rec, tweak: func(c *Config) { c.InsecureLoopback = true }})
	local := on.message(person{aad: "a1", name: "A"}, "help")
	b, _ := json.Marshal(local)
	if st, _ := on.post(b, ""); st != 200 {
		t.Fatalf("a loopback activity got %d", st)
	}
	if st, _ := on.post(b, "", "X-Forwarded-For", "203.0.113.9"); st != 401 {
		t.Fatalf("a proxied activity got %d", st)
	}
	local["serviceUrl"] = "https://smba.trafficmanager.net/emea/"
	b, _ = json.Marshal(local)
	if st, _ := on.post(b, ""); st != 401 {
		t.Fatalf("an unauthenticated activity naming a real connector got %d", st)
	}
	on.wait()
	if n := len(rec.got()); n != 1 {
		t.Fatalf("%d commands reached the service, want 1", n)
	}
}
