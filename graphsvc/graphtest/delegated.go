package graphtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// Delegated access: a token issued for a signed-in user (an agent who ran /resetpw login) acts as
// that user. Graph then checks the user's own directory roles, by Microsoft's who-can-reset matrix,
// and the delegated permissions the token carries (scp), instead of the app's role and application
// permissions. resetPassword and its operations accept only such tokens (graph.md §1.2–1.3).

// Delegated permissions, as they appear in a token's scp claim.
const (
	ScopeAuthMethodsReadWrite = "UserAuthenticationMethod.ReadWrite.All"
	ScopeAuthMethodsRead      = "UserAuthenticationMethod.Read.All"
	ScopePasswordProfile      = "User-PasswordProfile.ReadWrite.All"
	ScopeRevokeSessions       = "User.RevokeSessions.All"
	ScopeUserRead             = "User.Read"
)

// grant is what a delegated access token stands for.
type grant struct {
	userID  string
	scopes  []string
	expires time.Time // real time: clients decide on the real clock when a token needs refreshing
}

// IssueUserToken mints a delegated access token for the user (UPN or object ID) with the given
// permissions, valid for ttl of real time. The Authority uses it; tests may call it directly.
func (s *Server) IssueUserToken(userRef string, scopes []string, ttl time.Duration) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookup(userRef)
	if u == nil {
		return "", fmt.Errorf("graphtest: no user %s", userRef)
	}
	tok := userToken(s.tenant, u, scopes, ttl)
	s.delegated[tok] = grant{userID: u.ID, scopes: slices.Clone(scopes), expires: time.Now().Add(ttl)}
	return tok, nil
}

// userToken makes a JWT-shaped delegated token: idtyp user, the user's oid and upn, scp.
func userToken(t Tenant, u *User, scopes []string, ttl time.Duration) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256"})
	claims, _ := json.Marshal(map[string]any{
		"aud": "https://graph.microsoft.com", "iss": "https://sts.windows.net/" + t.TenantID + "/",
		"tid": t.TenantID, "appid": t.AppID, "oid": u.ID, "upn": u.UPN, "idtyp": "user",
		"scp": strings.Join(scopes, " "), "exp": time.Now().Add(ttl).Unix(), "uti": newGUID(),
	})
	sig := make([]byte, 32)
	rand.Read(sig)
	return enc.EncodeToString(header) + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString(sig)
}

// SetWritebackAgentOnline says whether the on-premises writeback agent (Entra Connect or cloud
// sync) answers. With it offline, resetPassword on a synced user is accepted and its operation fails.
func (s *Server) SetWritebackAgentOnline(online bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writebackAgentDown = !online
}

// RejectOnPremises makes on-premises AD refuse the next resetPassword writebacks for the user (its
// password history, complexity, minimum age or a password filter), with detail as the operation's
// statusDetail; "" removes the rejection.
func (s *Server) RejectOnPremises(userRef, detail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookup(userRef)
	if u == nil {
		panic("graphtest: RejectOnPremises: no user " + userRef)
	}
	if detail == "" {
		delete(s.onPremReject, u.ID)
		return
	}
	s.onPremReject[u.ID] = detail
}

// The statusDetail texts of failed writeback operations. Graph documents only that a failed
// operation carries a statusDetail; these wordings are ours.
const (
	MsgWritebackAgentOffline = "The password could not be written back: the on-premises writeback agent did not respond. Check that the Microsoft Entra Connect (or cloud sync) agent is running."
	MsgOnPremisesPolicy      = "The password was rejected by the on-premises Active Directory password policy (length, complexity, history or minimum age)."
)

// msgAppOnly answers a delegated-only action called with the application token; Graph's exact
// wording is not documented (graph.md §1.3 "application not supported"), so this is ours.
const msgAppOnly = "This operation is only supported with delegated permissions on behalf of a signed-in user; application permissions are not supported."

// hasScope reports whether a delegated call carries one of the permissions.
func (c *call) hasScope(any ...string) bool {
	for _, want := range any {
		for _, have := range c.scopes {
			if strings.EqualFold(have, want) {
				return true
			}
		}
	}
	return false
}

// mayChangeCredentialsAs is Graph's check for a password or session change: with the app token,
// the app's role (mayChangeCredentials); with a delegated token, the signed-in user's own roles,
// every role of the target covered by one of them (CanReset, the who-can-reset matrix with
// administrative-unit scoping), and never the user themself.
func (s *Server) mayChangeCredentialsAs(c *call, u *User) bool {
	if c.asUser == "" {
		return s.mayChangeCredentials(u)
	}
	actor := s.users[c.asUser]
	if actor == nil || actor.ID == u.ID {
		return false
	}
	ok, _ := bot.CanReset(s.botUser(actor), s.botUser(u))
	return ok
}

// delegatedDenied checks the permissions of a delegated call; it returns nil when one of want is
// granted or the call is app-only (whose permissions are the app's, checked elsewhere).
func delegatedDenied(c *call, want ...string) *response {
	if c.asUser == "" || c.hasScope(want...) {
		return nil
	}
	r := graphError(http.StatusForbidden, "Authorization_RequestDenied", msgInsufficient)
	return &r
}

// Writes returns the requests (and $batch items) that change something, in order: everything but
// GET and HEAD, and not the $batch envelopes themselves.
func (s *Server) Writes() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || strings.HasSuffix(r.Path, "/$batch") {
			continue
		}
		out = append(out, r)
	}
	return out
}
