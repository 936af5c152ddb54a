package graphtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Authority is a local Microsoft Entra sign-in service for the simulated tenant: enough of the
// v2.0 OAuth endpoints (OpenID metadata, authorize, token with PKCE, refresh tokens, device codes)
// for MSAL Go to sign an agent in against it. The access tokens it issues are delegated tokens the
// Server accepts for that user.
//
// MSAL only talks to an https authority, so the Authority serves TLS on 127.0.0.1 with a
// certificate made at start; Client returns an HTTP client that trusts it (give it to MSAL with
// public.WithHTTPClient). Nobody types a password: SignInAs chooses who the next authorization signs
// in as, ApproveDevice approves a device code, and AutoApprove does both for one person (the demo).
//
// ID tokens carry the claims MSAL reads (oid, tid, preferred_username, client_info) and an
// unverifiable signature: MSAL, like any OpenID client that receives the ID token straight from
// the token endpoint over TLS, does not check it.
type Authority struct {
	// URL is the authority's origin, "https://127.0.0.1:PORT".
	URL string
	// ClientID is the app registration the authority serves: the simulated tenant's AppID.
	ClientID string
	// ClientSecret, when set, is the app's only valid client secret: any other is refused as Entra
	// refuses a wrong one. Unset, any secret is taken.
	ClientSecret string

	graph  *Server
	http   *http.Server
	client *http.Client

	mu          sync.Mutex
	closed      bool
	signInAs    string // user ID the next authorization signs in as
	autoApprove func() string
	codes       map[string]authCode
	refresh     map[string]refreshGrant
	devices     map[string]*deviceGrant // by device_code
	accessTTL   time.Duration
	refreshTTL  time.Duration
	calls       []TokenCall
	issued      []string
}

// TokenCall is one request to the token endpoint, as the Authority saw it.
type TokenCall struct {
	GrantType string // authorization_code, refresh_token, device_code or client_credentials
	UserID    string // who it was for, when known
	Error     string // the OAuth error answered, "" on success
	// Assertion is the client assertion of an app's client_credentials request (workload
	// identity sends its service account token there).
	Assertion string
}

type authCode struct {
	userID, clientID, redirectURI, challenge string
	scopes                                   []string
	expires                                  time.Time
}

type refreshGrant struct {
	userID  string
	scopes  []string
	expires time.Time
}

type deviceGrant struct {
	userCode string
	scopes   []string
	userID   string // set when approved
	declined bool
	expires  time.Time
}

// NewAuthority starts a local authority for the simulator's tenant. Close it when done.
func NewAuthority(graph *Server) *Authority {
	cert, pool, err := selfSignedCert()
	if err != nil {
		panic("graphtest: authority certificate: " + err.Error())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("graphtest: listen on loopback: %v", err))
	}
	a := &Authority{
		URL: "https://" + ln.Addr().String(), ClientID: graph.tenant.AppID, graph: graph,
		codes: map[string]authCode{}, refresh: map[string]refreshGrant{}, devices: map[string]*deviceGrant{},
		accessTTL: time.Hour, refreshTTL: 24 * time.Hour,
		client: &http.Client{Timeout: 10 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}},
	}
	mux := http.NewServeMux()
	t := "/" + graph.tenant.TenantID
	mux.HandleFunc("GET "+t+"/v2.0/.well-known/openid-configuration", a.metadata)
	mux.HandleFunc("GET "+t+"/oauth2/v2.0/authorize", a.authorize)
	mux.HandleFunc("POST "+t+"/oauth2/v2.0/token", a.token)
	mux.HandleFunc("POST "+t+"/oauth2/v2.0/devicecode", a.deviceCode)
	a.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go a.http.ServeTLS(ln, "", "") //nolint:errcheck // returns ErrServerClosed on Close
	return a
}

// Close stops the authority.
func (a *Authority) Close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.closed = true
	a.mu.Unlock()
	a.http.Close()
}

// Authority is the authority URL MSAL takes: the origin and the tenant ID.
func (a *Authority) Authority() string { return a.URL + "/" + a.graph.tenant.TenantID }

// Client is an HTTP client that trusts the authority's certificate and does not follow redirects,
// so a test sees where the authorize endpoint sends the browser.
func (a *Authority) Client() *http.Client {
	c := *a.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// SignInAs makes later authorizations sign in as the user (UPN or object ID), as if that person
// had typed their password at Entra's sign-in page.
func (a *Authority) SignInAs(userRef string) {
	id := a.userID(userRef)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.signInAs = id
}

// AutoApprove makes every authorization and device code sign in as whoever who names at that moment
// (a UPN or object ID), with no one at a browser: the demo's persona. nil turns it off.
func (a *Authority) AutoApprove(who func() string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.autoApprove = who
}

// ApproveDevice completes the device code sign-in with this user code as the user.
func (a *Authority) ApproveDevice(userCode, userRef string) error {
	id := a.userID(userRef)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range a.devices {
		if d.userCode == userCode {
			d.userID = id
			return nil
		}
	}
	return fmt.Errorf("graphtest: no device code %s", userCode)
}

// SetTokenLifetimes sets how long new access and refresh tokens last (real time). MSAL refreshes an
// access token that expires within five minutes, so an access lifetime under that makes every use
// refresh it.
func (a *Authority) SetTokenLifetimes(access, refresh time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.accessTTL, a.refreshTTL = access, refresh
}

// RevokeRefreshTokens invalidates every refresh token of the user, as an admin revoking their
// sessions would: their next refresh fails with invalid_grant.
func (a *Authority) RevokeRefreshTokens(userRef string) {
	id := a.userID(userRef)
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, g := range a.refresh {
		if g.userID == id {
			delete(a.refresh, k)
		}
	}
}

// TokenCalls returns the token endpoint's requests so far.
func (a *Authority) TokenCalls() []TokenCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

func (a *Authority) userID(ref string) string {
	a.graph.mu.Lock()
	defer a.graph.mu.Unlock()
	u := a.graph.lookup(ref)
	if u == nil {
		panic("graphtest: authority: no user " + ref)
	}
	return u.ID
}

func (a *Authority) metadata(w http.ResponseWriter, _ *http.Request) {
	base := a.Authority()
	authJSON(w, http.StatusOK, map[string]any{
		"issuer":                           base + "/v2.0",
		"authorization_endpoint":           base + "/oauth2/v2.0/authorize",
		"token_endpoint":                   base + "/oauth2/v2.0/token",
		"device_authorization_endpoint":    base + "/oauth2/v2.0/devicecode",
		"response_types_supported":         []string{"code"},
		"code_challenge_methods_supported": []string{"S256"},
		"tenant_region_scope":              "EU",
	})
}

// authorize is the browser's stop at Entra: it signs in as the chosen user and redirects back to
// redirect_uri with a code bound to the client, the redirect URI and the PKCE challenge.
func (a *Authority) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<p>Sorry, but we're having trouble signing you in.</p><p>%s</p>", html.EscapeString(msg))
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("client_id") != a.ClientID:
		fail("AADSTS700016: Application with identifier '" + q.Get("client_id") + "' was not found in the directory.")
		return
	case err != nil || redirect.Host == "":
		fail("AADSTS50011: The redirect URI specified in the request does not match the redirect URIs configured for the application.")
		return
	case q.Get("response_type") != "code":
		fail("AADSTS900144: The request body must contain the following parameter: 'response_type'.")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		// Entra accepts plain too; resetbot must always send S256, so anything else is a bug here.
		fail("AADSTS50148: The code_challenge_method must be S256.")
		return
	}
	a.mu.Lock()
	user := a.signInAs
	auto := a.autoApprove
	a.mu.Unlock()
	if auto != nil {
		user = a.userID(auto())
	}
	if user == "" {
		fail("No test user is signed in at the local authority: call SignInAs first.")
		return
	}
	code := randomString(32)
	a.mu.Lock()
	a.codes[code] = authCode{userID: user, clientID: a.ClientID, redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), scopes: strings.Fields(q.Get("scope")), expires: time.Now().Add(10 * time.Minute)}
	a.mu.Unlock()
	back := redirect.Query()
	back.Set("code", code)
	if s := q.Get("state"); s != "" {
		back.Set("state", s)
	}
	back.Set("session_state", newGUID())
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// deviceCode starts a device code sign-in.
func (a *Authority) deviceCode(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != a.ClientID {
		oauthError(w, "unauthorized_client", "AADSTS700016: Application was not found in the directory.")
		return
	}
	dc, uc := randomString(32), strings.ToUpper(randomString(6))
	g := &deviceGrant{userCode: uc, scopes: strings.Fields(r.PostForm.Get("scope")), expires: time.Now().Add(15 * time.Minute)}
	a.mu.Lock()
	auto := a.autoApprove
	a.mu.Unlock()
	if auto != nil {
		g.userID = a.userID(auto())
	}
	a.mu.Lock()
	a.devices[dc] = g
	a.mu.Unlock()
	verify := a.URL + "/devicelogin"
	authJSON(w, http.StatusOK, map[string]any{
		"device_code": dc, "user_code": uc, "verification_uri": verify, "expires_in": 900, "interval": 1,
		"message": "To sign in, use a web browser to open the page " + verify + " and enter the code " + uc + " to authenticate.",
	})
}

// token redeems a code (checking PKCE), a refresh token or an approved device code, and gives the
// app its own token for a client secret or assertion.
func (a *Authority) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", "AADSTS900144: The request body is not a form.")
		return
	}
	f := r.PostForm
	grantType := f.Get("grant_type")
	call := TokenCall{GrantType: strings.TrimPrefix(grantType, "urn:ietf:params:oauth:grant-type:")}
	deny := func(code, desc string) {
		call.Error = code
		a.record(call)
		oauthError(w, code, desc)
	}
	if f.Get("client_id") != a.ClientID {
		deny("unauthorized_client", "AADSTS700016: Application with identifier '"+f.Get("client_id")+"' was not found in the directory.")
		return
	}
	if grantType == "client_credentials" {
		// The app's own token, as a client secret or a client assertion (workload identity's
		// federated token) would get: the one app-only token the Graph simulator accepts.
		call.Assertion = f.Get("client_assertion")
		if call.Assertion == "" && f.Get("client_secret") == "" {
			deny("invalid_client", "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
			return
		}
		if call.Assertion == "" && a.ClientSecret != "" && f.Get("client_secret") != a.ClientSecret {
			deny("invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+a.ClientID+"'.")
			return
		}
		if call.Assertion != "" && f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			deny("invalid_request", "AADSTS50027: Invalid client_assertion_type.")
			return
		}
		a.record(call)
		authJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600,
			"access_token": a.graph.Token})
		return
	}
	now := time.Now()
	var userID string
	var scopes []string
	a.mu.Lock()
	switch grantType {
	case "authorization_code":
		c, ok := a.codes[f.Get("code")]
		delete(a.codes, f.Get("code")) // a code is redeemed once, whatever happens
		a.mu.Unlock()
		switch {
		case !ok:
			deny("invalid_grant", "AADSTS54005: OAuth2 Authorization code was already redeemed or is not valid.")
			return
		case !now.Before(c.expires):
			deny("invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired.")
			return
		case f.Get("redirect_uri") != c.redirectURI:
			deny("invalid_grant", "AADSTS50011: The redirect URI does not match the one the code was issued for.")
			return
		case s256(f.Get("code_verifier")) != c.challenge:
			deny("invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.")
			return
		}
		userID, scopes = c.userID, c.scopes
	case "refresh_token":
		g, ok := a.refresh[f.Get("refresh_token")]
		delete(a.refresh, f.Get("refresh_token")) // rotated: each refresh token is used once
		a.mu.Unlock()
		if !ok || !now.Before(g.expires) {
			deny("invalid_grant", "AADSTS700082: The refresh token has expired or was revoked. The user must sign in again.")
			return
		}
		userID, scopes = g.userID, g.scopes
		if s := strings.Fields(f.Get("scope")); len(s) > 0 {
			scopes = s
		}
	case "urn:ietf:params:oauth:grant-type:device_code", "device_code": // Entra takes both; MSAL Go sends the short one
		g, ok := a.devices[f.Get("device_code")]
		switch {
		case !ok:
			a.mu.Unlock()
			deny("invalid_grant", "AADSTS70000: The device code is not valid.")
			return
		case !now.Before(g.expires):
			delete(a.devices, f.Get("device_code"))
			a.mu.Unlock()
			deny("expired_token", "AADSTS70020: The device code has expired.")
			return
		case g.userID == "":
			a.mu.Unlock()
			deny("authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
			return
		}
		delete(a.devices, f.Get("device_code"))
		a.mu.Unlock()
		userID, scopes = g.userID, g.scopes
	default:
		a.mu.Unlock()
		deny("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type '"+grantType+"'.")
		return
	}
	call.UserID = userID
	a.record(call)
	a.issue(w, userID, scopes)
}

// issue answers a token request with an access token the Graph simulator honours, a rotated refresh
// token and an ID token.
func (a *Authority) issue(w http.ResponseWriter, userID string, scopes []string) {
	a.mu.Lock()
	accessTTL, refreshTTL := a.accessTTL, a.refreshTTL
	a.mu.Unlock()
	var graphScopes []string
	for _, s := range scopes {
		switch strings.ToLower(s) {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		graphScopes = append(graphScopes, s)
	}
	// The access token's scp holds the permission names; the requested form may carry Graph's
	// resource prefix (https://graph.microsoft.com/User.Read).
	scp := make([]string, len(graphScopes))
	for i, s := range graphScopes {
		scp[i] = s[strings.LastIndexByte(s, '/')+1:]
	}
	access, err := a.graph.IssueUserToken(userID, scp, accessTTL)
	if err != nil {
		oauthError(w, "invalid_grant", "AADSTS50034: The user account does not exist in the directory.")
		return
	}
	rt := randomString(48)
	a.mu.Lock()
	a.refresh[rt] = refreshGrant{userID: userID, scopes: scopes, expires: time.Now().Add(refreshTTL)}
	a.issued = append(a.issued, access, rt)
	a.mu.Unlock()

	a.graph.mu.Lock()
	u := a.graph.users[userID]
	name, upn := u.DisplayName, u.UPN
	tenant := a.graph.tenant.TenantID
	a.graph.mu.Unlock()
	now := time.Now()
	id := jwtShaped(map[string]any{
		"aud": a.ClientID, "iss": a.Authority() + "/v2.0", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "oid": userID, "sub": randomString(16), "tid": tenant,
		"preferred_username": upn, "name": name, "ver": "2.0",
	})
	info, _ := json.Marshal(map[string]string{"uid": userID, "utid": tenant})
	authJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "scope": strings.Join(graphScopes, " "),
		"expires_in": int(accessTTL.Seconds()), "ext_expires_in": int(accessTTL.Seconds()),
		"access_token": access, "refresh_token": rt, "id_token": id,
		"client_info": base64.RawURLEncoding.EncodeToString(info),
	})
}

func (a *Authority) record(c TokenCall) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, c)
}

func oauthError(w http.ResponseWriter, code, desc string) {
	authJSON(w, http.StatusBadRequest, map[string]any{
		"error": code, "error_description": desc, "error_codes": []int{}, "timestamp": time.Now().UTC().Format(time.DateTime),
		"trace_id": newGUID(), "correlation_id": newGUID(),
	})
}

func authJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func jwtShaped(claims map[string]any) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": "graphtest"})
	body, _ := json.Marshal(claims)
	sig := make([]byte, 32)
	rand.Read(sig)
	return enc.EncodeToString(header) + "." + enc.EncodeToString(body) + "." + enc.EncodeToString(sig)
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// selfSignedCert makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSignedCert() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "graphtest local authority"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(7 * 24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

// IssuedTokens returns every access and refresh token the authority has issued, so a test can
// search logs, stores and messages for them.
func (a *Authority) IssuedTokens() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.issued)
}
