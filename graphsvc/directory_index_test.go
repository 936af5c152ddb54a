package graphsvc

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// graphCost counts what Graph was asked since request n: each $batch item and each call of its own
// counts as one; the $batch envelopes are counted apart.
func graphCost(srv *graphtest.Server, n int) (requests, envelopes int, paths []string) {
	for _, r := range srv.Requests()[n:] {
		if r.BatchItem == "" && strings.HasSuffix(r.Path, "/$batch") {
			envelopes++
			continue
		}
		requests++
		paths = append(paths, r.Path+"?"+r.RawQuery)
	}
	return requests, envelopes, paths
}

// requestsTo counts the requests (and batch items) whose path ends with suffix.
func requestsTo(srv *graphtest.Server, suffix string) int {
	n := 0
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}

// perUserRead reports whether a request reads one user's memberships: what a list must not cost.
func perUserRead(pathAndQuery string) bool {
	return strings.Contains(pathAndQuery, "/memberOf") || strings.Contains(pathAndQuery, "/transitiveMemberOf") ||
		strings.Contains(pathAndQuery, "principalId eq") || strings.Contains(pathAndQuery, "principalId%20eq") ||
		strings.Contains(pathAndQuery, "/ownedObjects")
}

// A list's lookups stay well under one Graph request per user: FindUsers on 1,000 users costs at
// most 0.2 requests per user (each $batch item counted), privileged set included, with no read of
// any one user's memberships. A second lookup of the list within the TTL costs the user reads only.
func TestFindUsersCostPerUser(t *testing.T) {
	const n = 1000
	srv, c, users, _ := bulkSim(t, n, func(cfg *Config) { cfg.GroupsOfInterest = []string{graphtest.HelpdeskTeamID} })
	refs := make([]string, n)
	for i, u := range users {
		refs[i] = u.UPN
	}
	refs[0], refs[1], refs[2] = "miriam@contoso.com", graphtest.HenriettaID, "guest@fabrikam.com" // by UPN, ID and mail
	for round := 1; round <= 2; round++ {
		start := len(srv.Requests())
		found, errs := c.FindUsers(context.Background(), refs)
		for i := range refs {
			if errs[i] != nil || found[i].ID == "" {
				t.Fatalf("%s: %v", refs[i], errs[i])
			}
		}
		if !found[0].RoleAssignableGroupOwner || !found[1].InRoleAssignableGroup || !found[2].Guest {
			t.Errorf("miriam %+v, henrietta %+v, guest %+v", found[0], found[1], found[2])
		}
		requests, envelopes, paths := graphCost(srv, start)
		perUser := float64(requests) / n
		t.Logf("round %d: %d requests (%.3f per user) in %d $batch envelopes", round, requests, perUser, envelopes)
		if perUser > 0.2 {
			t.Errorf("round %d: %.3f Graph requests per user, want at most 0.2", round, perUser)
		}
		for _, p := range paths {
			if perUserRead(p) {
				t.Errorf("round %d read one user's memberships: %s", round, p)
			}
		}
		// One object ID, 999 UPNs (the guest's mail among them) in filters of 15 values, and one
		// more filter for the mail fallback.
		if userReads := 1 + (n-1+maxInValues-1)/maxInValues + 1; round == 2 && requests != userReads {
			t.Errorf("round 2 (privileged set cached): %d requests, want the %d user reads", requests, userReads)
		}
	}
}

// Concurrent lookups share one read of the privileged set; it serves lookups for the TTL, and is read
// again after it. A change in the directory shows once the TTL has passed.
func TestDirectoryIndexSharedAndCached(t *testing.T) {
	const ttl = 300 * time.Millisecond
	srv, c := newSimulator(t, func(cfg *Config) { cfg.DirectoryCacheTTL = ttl; cfg.GroupsOfInterest = []string{} })
	srv.SetLatency(20 * time.Millisecond)
	indexReads := func() int { return requestsTo(srv, "/roleManagement/directory/roleAssignments") }
	var wg sync.WaitGroup
	for _, ref := range []string{"adele@contoso.com", "megan@contoso.com", "lee@contoso.com", "miriam@contoso.com", graphtest.HenriettaID, "pat@contoso.com"} {
		wg.Go(func() {
			if _, err := c.FindUser(context.Background(), ref); err != nil {
				t.Errorf("%s: %v", ref, err)
			}
		})
	}
	wg.Wait()
	if n := indexReads(); n != 1 {
		t.Errorf("6 concurrent lookups read the role assignments %d times, want once", n)
	}
	// Adele becomes a Global Administrator: within the TTL the cached set still says she is not.
	adele, _ := srv.User(graphtest.AdeleID)
	adele.Roles = []bot.RoleAssignment{{TemplateID: bot.RoleGlobalAdmin, Scope: "/"}}
	srv.AddUser(adele)
	if u, err := c.FindUser(context.Background(), graphtest.AdeleID); err != nil || len(u.Roles) != 0 || indexReads() != 1 {
		t.Errorf("within the TTL: %+v, %v, %d reads", u.Roles, err, indexReads())
	}
	time.Sleep(ttl)
	u, err := c.FindUser(context.Background(), graphtest.AdeleID)
	if err != nil || len(u.Roles) != 1 || u.Roles[0].TemplateID != bot.RoleGlobalAdmin || indexReads() != 2 {
		t.Errorf("after the TTL: %+v, %v, %d reads", u.Roles, err, indexReads())
	}
}

// A lookup that asks for data read after a moment (bot.FreshAfter: the checks that decide a write)
// never gets a cached set read before it: a role granted a moment ago is seen. Lookups that ask for
// the same moment at once still share one read.
func TestDirectoryIndexFreshAfter(t *testing.T) {
	srv, c := newSimulator(t, func(cfg *Config) { cfg.DirectoryCacheTTL = time.Hour; cfg.GroupsOfInterest = []string{} })
	indexReads := func() int { return requestsTo(srv, "/roleManagement/directory/roleAssignments") }
	if _, err := c.FindUser(context.Background(), "adele@contoso.com"); err != nil {
		t.Fatal(err)
	}
	adele, _ := srv.User(graphtest.AdeleID)
	adele.Roles = []bot.RoleAssignment{{TemplateID: bot.RoleGlobalAdmin, Scope: "/"}}
	srv.AddUser(adele)
	if u, _ := c.FindUser(context.Background(), graphtest.AdeleID); len(u.Roles) != 0 {
		t.Fatalf("the cache was not used: %+v", u.Roles)
	}
	fresh := bot.FreshAfter(context.Background(), time.Now())
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			u, err := c.FindUser(fresh, graphtest.AdeleID)
			if err != nil || len(u.Roles) != 1 || u.Roles[0].TemplateID != bot.RoleGlobalAdmin {
				t.Errorf("a fresh lookup saw %+v, %v", u.Roles, err)
			}
		})
	}
	wg.Wait()
	if n := indexReads(); n != 2 {
		t.Errorf("the privileged set was read %d times, want 2 (the first, and one shared fresh read)", n)
	}
	// That fresh read serves plain lookups from then on.
	if u, _ := c.FindUser(context.Background(), graphtest.AdeleID); len(u.Roles) != 1 || indexReads() != 2 {
		t.Errorf("after the fresh read: %+v, %d reads", u.Roles, indexReads())
	}
}

// With a negative TTL every lookup reads the privileged set.
func TestDirectoryIndexUncached(t *testing.T) {
	srv, c := newSimulator(t, func(cfg *Config) { cfg.DirectoryCacheTTL = -1; cfg.GroupsOfInterest = []string{} })
	for range 3 {
		if _, err := c.FindUser(context.Background(), "adele@contoso.com"); err != nil {
			t.Fatal(err)
		}
	}
	if n := requestsTo(srv, "/groups"); n != 3 {
		t.Errorf("3 lookups listed the role-assignable groups %d times", n)
	}
}

// A failed read fails its lookups and is not kept: the next lookup reads again. A caller giving up
// does not fail the read others wait for.
func TestDirectoryIndexFailureAndCancellation(t *testing.T) {
	srv, c := newSimulator(t, func(cfg *Config) { cfg.MaxRetries = -1; cfg.GroupsOfInterest = []string{} })
	srv.FailNext(1, http.StatusInternalServerError)
	// The user GET and the first round of the privileged set go out together; whichever draws the
	// 500, the lookup fails.
	if _, err := c.FindUser(context.Background(), "megan@contoso.com"); bot.KindOf(err) != bot.ErrTransient {
		t.Fatalf("got %v", err)
	}
	u, err := c.FindUser(context.Background(), "megan@contoso.com")
	if err != nil || len(u.Roles) != 1 {
		t.Fatalf("the next lookup: %+v, %v", u, err)
	}

	srv2, c2 := newSimulator(t, func(cfg *Config) { cfg.GroupsOfInterest = []string{} })
	srv2.SetLatency(30 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := c2.FindUser(ctx, "adele@contoso.com"); err == nil {
		t.Fatal("a lookup outlived its deadline")
	}
	if _, err := c2.FindUser(context.Background(), "megan@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if reads := requestsTo(srv2, "/roleManagement/directory/roleAssignments"); reads != 1 {
		t.Errorf("the privileged set was read %d times: the read the first caller started was not shared", reads)
	}
}

// The groups and units a policy names are what a Client reads beyond the privileged set: a rules
// mode agent's group and a target unit show in the lookups; a role among the audit readers is not
// read as a group.
func TestPolicyInterestReachesLookups(t *testing.T) {
	const plainID = "30000000-0000-4000-8000-0000000000bb"
	policy := bot.Policy{Mode: bot.ModeRules,
		Rules: []bot.Rule{{Name: "desk", Agents: []string{graphtest.HelpdeskTeamID},
			Targets: bot.Selector{Groups: []string{graphtest.Tier0OperatorsID}, AdministrativeUnits: []string{plainID}}}},
		AuditReaders: []string{bot.RoleSecurityReader, "40000000-0000-4000-8000-000000000001"}}
	groups, units := policy.GroupsOfInterest(), policy.UnitsOfInterest()
	if !slices.Equal(groups, []string{graphtest.HelpdeskTeamID, graphtest.Tier0OperatorsID, "40000000-0000-4000-8000-000000000001"}) ||
		!slices.Equal(units, []string{plainID}) {
		t.Fatalf("groups %v, units %v", groups, units)
	}
	if g := (bot.Policy{}).GroupsOfInterest(); g == nil || len(g) != 0 {
		t.Errorf("entra mode: %#v, want an empty list that is not nil", g)
	}
	srv, c := newSimulator(t, func(cfg *Config) { cfg.GroupsOfInterest, cfg.UnitsOfInterest = groups, units })
	srv.AddAdministrativeUnit(graphtest.AdministrativeUnit{ID: plainID, DisplayName: "Plain"})
	nestor, _ := srv.User(graphtest.NestorID)
	nestor.AdministrativeUnits = append(nestor.AdministrativeUnits, plainID)
	srv.AddUser(nestor)
	helpdesk, err := c.FindUser(context.Background(), "helpdesk@contoso.com")
	if err != nil || !slices.Equal(helpdesk.Groups, []string{graphtest.HelpdeskTeamID}) {
		t.Errorf("helpdesk: %v, %v", helpdesk.Groups, err)
	}
	got, err := c.FindUser(context.Background(), graphtest.NestorID)
	if err != nil || !slices.Equal(got.AdministrativeUnits, []string{graphtest.ParisOfficeID, plainID}) {
		t.Errorf("nestor: %v, %v", got.AdministrativeUnits, err)
	}
	for _, r := range srv.Requests() {
		if strings.Contains(r.Path, bot.RoleSecurityReader) {
			t.Errorf("a role was read as a group: %s", r.Path)
		}
	}
}

// A single lookup in a small tenant reads Graph with GETs only, as plain requests: no $batch
// envelope, which a reader of Graph's logs (or a test of "changes nothing") would take for a write.
// A round of more reads than batches in flight goes in $batch.
func TestFewReadsGoAsPlainGETs(t *testing.T) {
	srv, c := newSimulator(t, nil)
	if _, err := c.FindUser(context.Background(), "miriam@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if w := srv.Writes(); len(w) != 0 {
		t.Errorf("a lookup wrote: %+v", w)
	}
	for _, r := range srv.Requests() {
		if r.Method != http.MethodGet || r.BatchItem != "" {
			t.Errorf("%s %s (batch item %q)", r.Method, r.Path, r.BatchItem)
		}
	}
	// Five groups of interest make the first round nine reads: more than 4 in flight.
	srv2, c2 := newSimulator(t, func(cfg *Config) {
		cfg.GroupsOfInterest = []string{"a1", "a2", "a3", "a4", graphtest.HelpdeskTeamID}
	})
	u, err := c2.FindUser(context.Background(), "helpdesk@contoso.com")
	if err != nil || !slices.Equal(u.Groups, []string{graphtest.HelpdeskTeamID}) {
		t.Fatalf("%v, %v", u.Groups, err)
	}
	items := 0
	for _, r := range srv2.Requests() {
		if r.BatchItem != "" {
			items++
		}
	}
	if items != 9 {
		t.Errorf("%d reads in $batch, want the 9 of the first round", items)
	}
}
