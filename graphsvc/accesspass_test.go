package graphsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// tapRequests returns the requests to the user's temporaryAccessPassMethods since request n.
func tapRequests(srv *graphtest.Server, n int) []graphtest.Request {
	var out []graphtest.Request
	for _, r := range srv.Requests()[n:] {
		if strings.HasSuffix(r.Path, "/authentication/temporaryAccessPassMethods") {
			out = append(out, r)
		}
	}
	return out
}

// A pass is read back from the 201 of its creation, as a secret; Graph hears the lifetime and
// one-time flag asked for; a second pass says it replaced the first.
func TestCreateAccessPass(t *testing.T) {
	srv, c := newSimulator(t, nil)
	ctx := context.Background()
	pass, err := c.CreateAccessPass(ctx, graphtest.AdeleID, bot.AccessPassOptions{Lifetime: 90 * time.Minute, UsableOnce: true})
	if err != nil {
		t.Fatal(err)
	}
	issued := srv.AccessPasses(graphtest.AdeleID)
	reqs := tapRequests(srv, 0)
	if len(issued) != 1 || pass.Code.Reveal() != issued[0].Code || len(reqs) != 2 || reqs[0].Method != "GET" || reqs[1].Method != "POST" {
		t.Fatalf("issued %+v; requests %+v", issued, reqs)
	}
	var body map[string]any
	if err := json.Unmarshal(reqs[1].Body, &body); err != nil || body["lifetimeInMinutes"] != float64(90) || body["isUsableOnce"] != true {
		t.Errorf("Graph received %s (%v)", reqs[1].Body, err)
	}
	if !pass.UsableOnce || pass.ReplacedExisting || pass.GraphRequestID != reqs[1].RequestID ||
		pass.ExpiresAt.Sub(pass.StartsAt) != 90*time.Minute || !pass.StartsAt.Equal(issued[0].Start) {
		t.Errorf("pass %+v, issued %+v", pass, issued[0])
	}
	if s := fmt.Sprintf("%v %+v %#v", pass, pass, pass); strings.Contains(s, issued[0].Code) {
		t.Errorf("the code shows when the pass is printed: %s", s)
	}

	n := len(srv.Requests())
	again, err := c.CreateAccessPass(ctx, graphtest.AdeleID, bot.AccessPassOptions{})
	if err != nil {
		t.Fatal(err)
	}
	issued = srv.AccessPasses(graphtest.AdeleID)
	reqs = tapRequests(srv, n)
	if !again.ReplacedExisting || again.UsableOnce || again.Code.Reveal() != issued[1].Code || again.ExpiresAt.Sub(again.StartsAt) != time.Hour {
		t.Errorf("second pass %+v", again)
	}
	body = nil
	if err := json.Unmarshal(reqs[1].Body, &body); err != nil || body["lifetimeInMinutes"] != nil || body["isUsableOnce"] != false {
		t.Errorf("a default lifetime must be left to the policy; Graph received %s", reqs[1].Body)
	}
}

// unpacedReports lifts the reports budget, which /authentication/… calls share (5 per 10 s), for
// tests that make more calls than it allows.
func unpacedReports(cfg *Config) { cfg.ReportsBudget, cfg.ReportsWindow = 1000, time.Second }

func TestCreateAccessPassRefused(t *testing.T) {
	srv, c := newSimulator(t, unpacedReports)
	ctx := context.Background()
	check := func(name, user string, opts bot.AccessPassOptions, kind bot.ErrorKind, remedy string) {
		t.Helper()
		n := len(srv.Requests())
		_, err := c.CreateAccessPass(ctx, user, opts)
		de := asDirectoryError(t, err)
		if de.Kind != kind || !strings.Contains(de.Remedy, remedy) {
			t.Errorf("%s: %+v", name, de)
		}
		if sent := len(srv.Requests()) - n; de.Status == 0 && sent != 0 {
			t.Errorf("%s: refused before Graph, yet %d requests were sent", name, sent)
		}
	}
	check("lifetime below Graph's 10 minutes", graphtest.AdeleID, bot.AccessPassOptions{Lifetime: 5 * time.Minute}, bot.ErrAccessPassLifetime, "whole minutes")
	check("lifetime not in whole minutes", graphtest.AdeleID, bot.AccessPassOptions{Lifetime: 90 * time.Second}, bot.ErrAccessPassLifetime, "whole minutes")
	check("lifetime outside the policy", graphtest.AdeleID, bot.AccessPassOptions{Lifetime: 30 * time.Minute}, bot.ErrAccessPassLifetime, "from 60 to 480 minutes")
	check("external guest", graphtest.GuestID, bot.AccessPassOptions{}, bot.ErrAccessPassGuest, "home organisation")
	pol := graphtest.DefaultAccessPassPolicy()
	pol.IncludeGroups = []string{graphtest.HelpdeskTeamID}
	srv.SetAccessPassPolicy(pol)
	check("outside the policy", graphtest.AdeleID, bot.AccessPassOptions{}, bot.ErrAccessPassNotInPolicy, "include them")
	srv.SetAccessPassEnabled(false)
	check("turned off", graphtest.HelpdeskID, bot.AccessPassOptions{}, bot.ErrAccessPassDisabled, "turn it on")
	if _, err := c.CreateAccessPass(ctx, " ", bot.AccessPassOptions{}); bot.KindOf(err) != bot.ErrOther {
		t.Errorf("no user: %v", err)
	}
	for _, u := range []string{graphtest.AdeleID, graphtest.GuestID, graphtest.HelpdeskID} {
		if n := len(srv.AccessPasses(u)); n != 0 {
			t.Errorf("%s: %d passes created by refused calls", u, n)
		}
	}
}

// How refusals read when Graph gives them; the converged-policy refusal is told apart by the policy,
// or stays "off or out of scope" when the policy cannot be read. A 5xx on the POST is not retried.
func TestAccessPassErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		status       int
		code, msg    string
		policyStatus int // the policy read's answer: 200 enabled, 201 disabled, else an error
		kind         bot.ErrorKind
		remedy       string
	}{
		{400, "badRequest", "Converged UserCredentialPolicy does not allow creating or updating the method TemporaryAccessPass.", 200, bot.ErrAccessPassNotInPolicy, RemedyAccessPassNotInPolicy},
		{403, "Forbidden", "Converged UserCredentialPolicy does not allow TemporaryAccessPass for this user", 201, bot.ErrAccessPassDisabled, RemedyAccessPassDisabled},
		{400, "badRequest", "Converged UserCredentialPolicy does not allow creating TemporaryAccessPass", 403, bot.ErrAccessPassDisabled, RemedyAccessPassOffOrOutOfScope},
		{400, "badRequest", "Temporary Access Pass cannot be added to an external guest user.", 200, bot.ErrAccessPassGuest, RemedyAccessPassGuest},
		{400, "badRequest", "Invalid LifetimeInMinutes specified. The valid range between 59 and 59.", 200, bot.ErrAccessPassLifetime, "from 59 to 59 minutes"},
		{403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", 200, bot.ErrInsufficientPrivileges, "UserAuthMethod-TAP.ReadWrite.All"},
		{503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.", 200, bot.ErrTransient, RemedyTransient},
	} {
		posts := 0
		f := newFakeGraph(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/temporaryAccessPassMethods"):
				writeJSON(w, 200, map[string]any{"value": []any{}})
			case r.Method == "POST":
				posts++
				writeGraphError(w, tc.status, tc.code, tc.msg)
			case strings.HasSuffix(r.URL.Path, "/TemporaryAccessPass") && tc.policyStatus < 300:
				state := map[int]string{200: "enabled", 201: "disabled"}[tc.policyStatus]
				writeJSON(w, 200, map[string]any{"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration", "state": state})
			default:
				writeGraphError(w, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
			}
		})
		c := newTestClient(t, f.URL, nil)
		_, err := c.CreateAccessPass(context.Background(), "u1", bot.AccessPassOptions{})
		de := asDirectoryError(t, err)
		if de.Kind != tc.kind || !strings.Contains(de.Remedy, tc.remedy) || de.Status != tc.status || de.Code != tc.code {
			t.Errorf("%d %q: %+v", tc.status, tc.msg, de)
		}
		if posts != 1 {
			t.Errorf("%d %q: the pass was asked for %d times", tc.status, tc.msg, posts)
		}
	}
}

func TestAccessPassPolicy(t *testing.T) {
	srv, c := newSimulator(t, func(cfg *Config) {
		cfg.GroupsOfInterest = []string{graphtest.HelpdeskTeamID, graphtest.Tier0OperatorsID}
	})
	ctx := context.Background()
	pol, err := c.AccessPassPolicy(ctx)
	want := bot.AccessPassPolicy{Enabled: true, MinLifetime: time.Hour, MaxLifetime: 8 * time.Hour, DefaultLifetime: time.Hour, AllUsers: true}
	if err != nil || fmt.Sprint(pol) != fmt.Sprint(want) {
		t.Fatalf("default: %+v, %v", pol, err)
	}
	srv.SetAccessPassPolicy(graphtest.AccessPassPolicy{Enabled: true, MinimumMinutes: 10, MaximumMinutes: 120, DefaultMinutes: 30,
		UsableOnce: true, IncludeGroups: []string{graphtest.HelpdeskTeamID}, ExcludeGroups: []string{graphtest.Tier0OperatorsID}})
	pol, err = c.AccessPassPolicy(ctx)
	want = bot.AccessPassPolicy{Enabled: true, MinLifetime: 10 * time.Minute, MaxLifetime: 2 * time.Hour, DefaultLifetime: 30 * time.Minute,
		UsableOnceForced: true, IncludeGroups: []string{graphtest.HelpdeskTeamID}, ExcludeGroups: []string{graphtest.Tier0OperatorsID}}
	if err != nil || fmt.Sprint(pol) != fmt.Sprint(want) {
		t.Fatalf("scoped: %+v, %v", pol, err)
	}
	// Who it covers, with the policy's groups read as groups of interest.
	lee, _ := srv.User("lee@contoso.com")
	lee.Groups = append(lee.Groups, graphtest.HelpdeskTeamID)
	srv.AddUser(lee)
	for ref, covered := range map[string]bool{"helpdesk@contoso.com": true, "adele@contoso.com": false, "lee@contoso.com": false} {
		u, err := c.FindUser(ctx, ref)
		if err != nil || pol.Covers(u) != covered {
			t.Errorf("%s: covered %v, want %v (%v)", ref, pol.Covers(u), covered, err)
		}
	}
	srv.SetAccessPassEnabled(false)
	if pol, err = c.AccessPassPolicy(ctx); err != nil || pol.Enabled {
		t.Errorf("turned off: %+v, %v", pol, err)
	}
}

// An agent sees the kinds of method a user has, and never a full phone number or mail address.
func TestAuthenticationMethods(t *testing.T) {
	srv, c := newSimulator(t, unpacedReports)
	ctx := context.Background()
	got, err := c.AuthenticationMethods(ctx, graphtest.AdeleID)
	if err != nil {
		t.Fatal(err)
	}
	seeded := time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC)
	want := []bot.AuthMethod{{Kind: bot.AuthPassword}, {Kind: bot.AuthPhone, Detail: "•••• •• 34 (mobile)"},
		{Kind: bot.AuthAuthenticator, Created: seeded}, {Kind: bot.AuthEmail, Detail: "a•••@outlook.com"}}
	if !slices.Equal(got, want) {
		t.Errorf("adele:\ngot  %+v\nwant %+v", got, want)
	}
	if s := fmt.Sprintf("%+v", got); strings.Contains(s, "4255550134") || strings.Contains(s, "adele.vance") || strings.Contains(s, "iPhone") {
		t.Errorf("unmasked: %s", s)
	}
	megan, err := c.AuthenticationMethods(ctx, graphtest.MeganID)
	if err != nil || len(megan) != 3 || megan[1] != (bot.AuthMethod{Kind: bot.AuthFIDO2, Detail: "YubiKey 5 NFC", Created: seeded}) ||
		megan[2].Kind != bot.AuthWindowsHello || megan[2].Detail != "" {
		t.Errorf("megan: %+v, %v", megan, err)
	}
	if only, err := c.AuthenticationMethods(ctx, graphtest.HelpdeskID); err != nil || len(only) != 1 || only[0].Kind != bot.AuthPassword {
		t.Errorf("helpdesk: %+v, %v", only, err)
	}
	if _, err := c.CreateAccessPass(ctx, graphtest.HelpdeskID, bot.AccessPassOptions{UsableOnce: true}); err != nil {
		t.Fatal(err)
	}
	pass := srv.AccessPasses(graphtest.HelpdeskID)[0]
	withPass, err := c.AuthenticationMethods(ctx, graphtest.HelpdeskID)
	until := pass.Start.Add(time.Hour).Format("2006-01-02 15:04 UTC")
	if err != nil || len(withPass) != 2 || withPass[1].Kind != bot.AuthAccessPass || withPass[1].Detail != "until "+until+", usable once" ||
		strings.Contains(fmt.Sprint(withPass), pass.Code) {
		t.Errorf("with a pass: %+v, %v", withPass, err)
	}
	if _, err := c.AuthenticationMethods(ctx, "nobody@contoso.com"); bot.KindOf(err) != bot.ErrNotFound {
		t.Errorf("unknown user: %v", err)
	}
}

// A method type this SDK does not know is "other", named by its type; a 403 names the permission.
func TestAuthenticationMethodsUnknownAndForbidden(t *testing.T) {
	f := newFakeGraph(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1.0/users/u1/") {
			writeJSON(w, 200, map[string]any{"value": []any{
				map[string]any{"@odata.type": "#microsoft.graph.externalAuthenticationMethod", "id": "x1", "displayName": "Partner MFA"},
				map[string]any{"@odata.type": "#microsoft.graph.platformCredentialAuthenticationMethod", "id": "x2", "platform": "macOS",
					"displayName": "Jordan's MacBook", "createdDateTime": "2026-01-02T03:04:05Z"},
			}})
			return
		}
		writeGraphError(w, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	})
	c := newTestClient(t, f.URL, nil)
	got, err := c.AuthenticationMethods(context.Background(), "u1")
	want := []bot.AuthMethod{{Kind: bot.AuthOther, Detail: "externalAuthenticationMethod"},
		{Kind: bot.AuthPlatformCredential, Detail: "macOS", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %+v, %v", got, err)
	}
	_, err = c.AuthenticationMethods(context.Background(), "u2")
	if de := asDirectoryError(t, err); de.Kind != bot.ErrInsufficientPrivileges || de.Remedy != RemedyAuthMethodsPermission {
		t.Errorf("forbidden: %+v", de)
	}
	_, err = c.AccessPassPolicy(context.Background())
	if de := asDirectoryError(t, err); de.Kind != bot.ErrInsufficientPrivileges || de.Remedy != RemedyAccessPassPolicyPermission {
		t.Errorf("policy forbidden: %+v", de)
	}
}

func TestMasks(t *testing.T) {
	for in, want := range map[string]string{"+1 4255550134": "•••• •• 34", "+44 20 7946 0958x12": "•••• •• 12", "7": "•••• ••", "": "•••• ••"} {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"adele.vance@outlook.com": "a•••@outlook.com", "élise@contoso.fr": "é•••@contoso.fr",
		"@nobody": "•••", "no-at-sign": "•••"} {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

// Calls to /authentication/… are paced inside the reports budget.
func TestAccessPassCallsArePaced(t *testing.T) {
	const window = 300 * time.Millisecond
	_, c := newSimulator(t, func(cfg *Config) { cfg.ReportsBudget, cfg.ReportsWindow = 1, window })
	start := time.Now()
	if _, err := c.CreateAccessPass(context.Background(), graphtest.AdeleID, bot.AccessPassOptions{}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < window {
		t.Errorf("two calls at one per %v took %v", window, took)
	}
}
