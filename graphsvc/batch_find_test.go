package graphsvc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// findSim is the Contoso simulator made harder for lookups: Tier0 Operators holds roles (so users
// get roles through a group), a second role-assignable group shares members with it, a user is in
// 120 groups (more than one page), and there are bulk users to fill several batches.
func findSim(t *testing.T) (*graphtest.Server, *Client, []string) {
	t.Helper()
	srv, c, bulk, _ := bulkSim(t, 45, nil)
	srv.AddGroup(graphtest.Group{ID: graphtest.Tier0OperatorsID, DisplayName: "Tier0 Operators", IsAssignableToRole: true,
		Roles: []bot.RoleAssignment{{TemplateID: bot.RoleUserAdmin, Scope: "/"}, {TemplateID: bot.RoleHelpdeskAdmin, Scope: "/administrativeUnits/" + graphtest.ParisOfficeID}}})
	const opsID = "20000000-0000-4000-8000-0000000000aa"
	srv.AddGroup(graphtest.Group{ID: opsID, DisplayName: "Ops", IsAssignableToRole: true,
		Roles: []bot.RoleAssignment{{TemplateID: bot.RoleUserAdmin, Scope: "/"}, {TemplateID: bot.RolePasswordAdmin, Scope: "/"}}})
	var many []string
	for i := range 120 {
		id := fmt.Sprintf("21000000-0000-4000-8000-%012d", i)
		srv.AddGroup(graphtest.Group{ID: id, DisplayName: fmt.Sprintf("Group %d", i)})
		many = append(many, id)
	}
	srv.AddUser(graphtest.User{ID: "10000000-0000-4000-8000-0000000000a1", UPN: "tier0b@contoso.com", Mail: "tier0b@contoso.com",
		DisplayName: "Tier Zero B", AccountEnabled: true, Groups: []string{graphtest.Tier0OperatorsID, opsID},
		Roles: []bot.RoleAssignment{{TemplateID: bot.RoleUserAdmin, Scope: "/"}}})
	srv.AddUser(graphtest.User{ID: "10000000-0000-4000-8000-0000000000a2", UPN: "joiner@contoso.com", Mail: "joiner.mail@contoso.com",
		DisplayName: "Joins Everything", AccountEnabled: true, Groups: many, AdministrativeUnits: []string{graphtest.ParisOfficeID}})
	// Two users share a mail address: looking up by it is ambiguous.
	srv.AddUser(graphtest.User{UPN: "twin1@contoso.com", Mail: "twins@contoso.com", AccountEnabled: true})
	srv.AddUser(graphtest.User{UPN: "twin2@contoso.com", Mail: "twins@contoso.com", AccountEnabled: true})

	refs := []string{
		"adele@contoso.com", "helpdesk@contoso.com", "megan@contoso.com", "ceo@contoso.com", "pat@contoso.com",
		"sam@contoso.com", "pwadmin@contoso.com", "authadmin@contoso.com", "useradmin@contoso.com",
		"groupsadmin@contoso.com", "reader@contoso.com", "reports@contoso.com", "pra@contoso.com", "lee@contoso.com",
		"parishelp@contoso.com", "nestor@contoso.com", "lynne@contoso.com", "alex@contoso.com", "diego@contoso.com",
		"johanna@contoso.com", graphtest.GuestUPN, "breakglass@contoso.com", "isaiah@contoso.com",
		// by object ID, by mail, other spellings
		graphtest.AdeleID, graphtest.LeeID, graphtest.IsaiahID, "guest@fabrikam.com", " ADELE@contoso.com ",
		"tier0b@contoso.com", "joiner.mail@contoso.com", "10000000-0000-4000-8000-0000000000a2",
		// unknown or malformed
		"nobody@contoso.com", "10000000-0000-4000-8000-0000000000ff", "nobody", "", "o'brien@contoso.com", "twins@contoso.com",
		// the same ref twice
		"adele@contoso.com",
	}
	for _, u := range bulk {
		refs = append(refs, u.UPN)
	}
	return srv, c, refs
}

// FindUsers must answer every ref exactly as FindUser does.
func TestFindUsersMatchesFindUser(t *testing.T) {
	srv, c, refs := findSim(t)
	ctx := context.Background()
	got, errs := c.FindUsers(ctx, refs)
	if len(got) != len(refs) || len(errs) != len(refs) {
		t.Fatalf("%d users and %d errors for %d refs", len(got), len(errs), len(refs))
	}
	// The lookups went in batches; the only call of its own is the second page of joiner@'s 120
	// groups, which the SDK's page iterator follows.
	var single []string
	batches, items := 0, 0
	for _, r := range srv.Requests() {
		switch {
		case r.BatchItem != "":
			items++
		case strings.HasSuffix(r.Path, "/$batch"):
			batches++
		default:
			single = append(single, r.Path)
		}
	}
	if len(single) != 1 || !strings.Contains(single[0], "0000000000a2/transitiveMemberOf/microsoft.graph.group") {
		t.Errorf("calls outside $batch: %q", single)
	}
	if batches > (items+maxBatchItems-1)/maxBatchItems+4 { // each of the 4 stages may end with a partial batch
		t.Errorf("%d batches for %d reads", batches, items)
	}
	n := len(srv.Requests())
	for i, ref := range refs {
		want, wantErr := c.FindUser(ctx, ref)
		sameLookup(t, ref, got[i], errs[i], want, wantErr)
	}
	t.Logf("%d refs: FindUsers sent %d reads in %d $batch requests and 1 of its own; FindUser sent %d requests",
		len(refs), items, batches, len(srv.Requests())-n)
}

func sameLookup(t *testing.T, ref string, got bot.User, gotErr error, want bot.User, wantErr error) {
	t.Helper()
	if (gotErr == nil) != (wantErr == nil) {
		t.Errorf("%q: FindUsers %v, FindUser %v", ref, gotErr, wantErr)
		return
	}
	if wantErr != nil {
		g, w := asDirectoryError(t, gotErr), asDirectoryError(t, wantErr)
		if g.Kind != w.Kind || g.Status != w.Status || g.Code != w.Code || g.Message != w.Message || g.Remedy != w.Remedy || g.RetryAfter != w.RetryAfter {
			t.Errorf("%q: FindUsers %+v, FindUser %+v", ref, g, w)
		}
		if w.Status != 0 && g.RequestID == "" {
			t.Errorf("%q: no request-id in %+v", ref, g)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%q:\nFindUsers %+v\nFindUser  %+v", ref, got, want)
	}
}

// The seeded users, and what the simulator says a correct client builds for them.
func TestFindUsersEverySeededUser(t *testing.T) {
	srv, c, _, _ := bulkSim(t, 0, nil)
	var refs []string
	for _, u := range graphtest.Contoso().Users {
		refs = append(refs, u.ID)
	}
	got, errs := c.FindUsers(context.Background(), refs)
	for i, ref := range refs {
		if errs[i] != nil {
			t.Fatalf("%s: %v", ref, errs[i])
		}
		want, _ := srv.BotUser(ref)
		if got[i].ID != want.ID || got[i].UPN != want.UPN || got[i].Synced != want.Synced || got[i].Guest != want.Guest ||
			got[i].InRoleAssignableGroup != want.InRoleAssignableGroup || got[i].InRestrictedAU != want.InRestrictedAU ||
			!reflect.DeepEqual(sortedRoles(got[i].Roles), sortedRoles(want.Roles)) ||
			!reflect.DeepEqual(sortedRoles(got[i].EligibleRoles), sortedRoles(want.EligibleRoles)) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", ref, got[i], want)
		}
	}
}

// Reads throttled or failed inside a batch are retried; the answers stay the same.
func TestFindUsersRetriesItemFaults(t *testing.T) {
	srv, c, refs := findSim(t)
	ctx := context.Background()
	want := make([]bot.User, len(refs))
	wantErrs := make([]error, len(refs))
	for i, ref := range refs {
		want[i], wantErrs[i] = c.FindUser(ctx, ref)
	}
	srv.ThrottleNext(5, 0)
	srv.FailNext(3, http.StatusServiceUnavailable)
	srv.ThrottleNext(2, 0)
	got, errs := c.FindUsers(ctx, refs)
	for i, ref := range refs {
		sameLookup(t, ref, got[i], errs[i], want[i], wantErrs[i])
	}
}

// A read that keeps failing fails its user's lookup (never a user without roles), and only that one.
func TestFindUsersFailsClosed(t *testing.T) {
	srv, c, _, _ := bulkSim(t, 0, func(cfg *Config) { cfg.MaxRetries = -1 })
	srv.FailNext(1, http.StatusInternalServerError) // the first read: one user's GET
	got, errs := c.FindUsers(context.Background(), []string{"megan@contoso.com"})
	if de := asDirectoryError(t, errs[0]); de.Kind != bot.ErrTransient || got[0].ID != "" {
		t.Errorf("%+v %+v", got[0], de)
	}
	refs := []string{"megan@contoso.com", "adele@contoso.com"}
	got, errs = c.FindUsers(context.Background(), refs)
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("%v %v", errs[0], errs[1])
	}
	srv.FailNext(3, http.StatusInternalServerError) // two user GETs, then the first membership read
	got, errs = c.FindUsers(context.Background(), refs)
	failed := 0
	for i := range refs {
		if errs[i] != nil {
			failed++
			if got[i].ID != "" {
				t.Errorf("%s: a user came back with an error", refs[i])
			}
		}
	}
	if failed == 0 {
		t.Errorf("the failed reads did not fail any lookup: %+v", got)
	}
}

func TestFindUsersCancelled(t *testing.T) {
	srv, c, refs := findSim(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := len(srv.Requests())
	_, errs := c.FindUsers(ctx, refs)
	for i, err := range errs {
		if refs[i] == "nobody" || refs[i] == "" {
			continue // refused without asking Graph
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%q: %v", refs[i], err)
		}
	}
	if len(srv.Requests()) != n {
		t.Error("requests were sent after cancellation")
	}

	srv.SetLatency(20 * time.Millisecond)
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	users, errs := c.FindUsers(ctx, refs)
	for i, err := range errs {
		if err == nil && users[i].ID == "" {
			t.Errorf("%q: neither a user nor an error", refs[i])
		}
		// A deadline reached before an item was asked is the context's error; one reached while Graph
		// was answering is classified, as any timeout, as transient.
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && bot.KindOf(err) != bot.ErrNotFound &&
			bot.KindOf(err) != bot.ErrTransient {
			t.Errorf("%q: %v", refs[i], err)
		}
	}
}
