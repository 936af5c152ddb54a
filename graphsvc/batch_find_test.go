package graphsvc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// findSim is the Contoso simulator made harder for lookups: Tier0 Operators holds roles (so users
// get roles through a group, and its PIM-eligible member is eligible for them), a second
// role-assignable group shares members with it and has an eligible owner and eligible roles, a
// restricted management unit, a user is in 120 groups (more than one page), and there are bulk
// users to fill several batches.
func findSim(t *testing.T, tweak func(*Config)) (*graphtest.Server, *Client, []string) {
	t.Helper()
	srv, c, bulk, _ := bulkSim(t, 45, tweak)
	srv.AddGroup(graphtest.Group{ID: graphtest.Tier0OperatorsID, DisplayName: "Tier0 Operators", IsAssignableToRole: true,
		Roles:  []bot.RoleAssignment{{TemplateID: bot.RoleUserAdmin, Scope: "/"}, {TemplateID: bot.RoleHelpdeskAdmin, Scope: "/administrativeUnits/" + graphtest.ParisOfficeID}},
		Owners: []string{graphtest.MiriamID}, EligibleMembers: []string{graphtest.HenriettaID}})
	const opsID = "20000000-0000-4000-8000-0000000000aa"
	srv.AddGroup(graphtest.Group{ID: opsID, DisplayName: "Ops", IsAssignableToRole: true,
		Roles:          []bot.RoleAssignment{{TemplateID: bot.RoleUserAdmin, Scope: "/"}, {TemplateID: bot.RolePasswordAdmin, Scope: "/"}},
		EligibleRoles:  []bot.RoleAssignment{{TemplateID: bot.RoleGlobalAdmin, Scope: "/"}},
		EligibleOwners: []string{graphtest.AdeleID}})
	const lockedID = "30000000-0000-4000-8000-0000000000aa"
	srv.AddAdministrativeUnit(graphtest.AdministrativeUnit{ID: lockedID, DisplayName: "Locked", IsMemberManagementRestricted: true})
	srv.AddAdministrativeUnit(graphtest.AdministrativeUnit{ID: "30000000-0000-4000-8000-0000000000bb", DisplayName: "Plain"})
	srv.AddUser(graphtest.User{ID: "10000000-0000-4000-8000-0000000000a3", UPN: "vault@contoso.com", Mail: "vault@contoso.com",
		DisplayName: "Vault Keeper", AccountEnabled: true,
		AdministrativeUnits: []string{lockedID, graphtest.ParisOfficeID, "30000000-0000-4000-8000-0000000000bb"}})
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
		"johanna@contoso.com", graphtest.GuestUPN, "breakglass@contoso.com", "isaiah@contoso.com", "miriam@contoso.com",
		"henrietta@contoso.com", "vault@contoso.com",
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

// interestModes are the two ways a Client reads groups: each user's own (no groups of interest
// configured), or only the groups of interest, from the group side.
var interestModes = []struct {
	name   string
	groups []string
}{{"own groups", nil}, {"groups of interest", []string{graphtest.HelpdeskTeamID, "20000000-0000-4000-8000-0000000000ff"}}}

// FindUsers must answer every ref exactly as FindUser does.
func TestFindUsersMatchesFindUser(t *testing.T) {
	for _, mode := range interestModes {
		t.Run(mode.name, func(t *testing.T) {
			srv, c, refs := findSim(t, func(cfg *Config) { cfg.GroupsOfInterest = mode.groups })
			ctx := context.Background()
			got, errs := c.FindUsers(ctx, refs)
			if len(got) != len(refs) || len(errs) != len(refs) {
				t.Fatalf("%d users and %d errors for %d refs", len(got), len(errs), len(refs))
			}
			// The users were read in batches. Reads of users of their own are the mail round (one
			// filter: a round of no more reads than batches in flight goes as plain GETs, as does this
			// small tenant's privileged set) and, when each user's groups are read, the second page of
			// joiner@'s 120 groups, which the SDK's page iterator follows.
			var single []string
			batches, items := 0, 0
			for _, r := range srv.Requests() {
				switch {
				case r.BatchItem != "":
					items++
				case strings.HasSuffix(r.Path, "/$batch"):
					batches++
				case strings.HasPrefix(r.Path, "/v1.0/users"):
					single = append(single, r.Path)
				}
			}
			want := []string{"/v1.0/users"}
			if mode.groups == nil {
				want = append(want, "/v1.0/users/10000000-0000-4000-8000-0000000000a2/transitiveMemberOf/microsoft.graph.group")
			}
			if !slices.Equal(single, want) {
				t.Errorf("calls outside $batch: %q", single)
			}
			n := len(srv.Requests())
			for i, ref := range refs {
				want, wantErr := c.FindUser(ctx, ref)
				sameLookup(t, ref, got[i], errs[i], want, wantErr)
			}
			t.Logf("%d refs: FindUsers sent %d reads in %d $batch requests and %d of its own; FindUser sent %d requests",
				len(refs), items, batches, len(single), len(srv.Requests())-n)
		})
	}
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

// Every seeded user, by object ID, UPN and mail: FindUsers and FindUser agree on every field, and
// both build what the simulator says a correct client builds from what it serves.
func TestFindUsersEverySeededUser(t *testing.T) {
	for _, mode := range interestModes {
		t.Run(mode.name, func(t *testing.T) {
			srv, c, _ := findSim(t, func(cfg *Config) { cfg.GroupsOfInterest = mode.groups })
			var refs, ids []string
			for _, u := range graphtest.Contoso().Users {
				refs = append(refs, u.ID, u.UPN, u.Mail)
				ids = append(ids, u.ID, u.ID, u.ID)
			}
			got, errs := c.FindUsers(context.Background(), refs)
			for i, ref := range refs {
				if errs[i] != nil {
					t.Fatalf("%s: %v", ref, errs[i])
				}
				single, err := c.FindUser(context.Background(), ref)
				sameLookup(t, ref, got[i], nil, single, err)
				want, _ := srv.BotUserSeen(ids[i], graphtest.Interest{Groups: mode.groups})
				if d := userDiff(got[i], want); d != "" {
					t.Errorf("%s: %s\ngot  %+v\nwant %+v", ref, d, got[i], want)
				}
			}
		})
	}
}

// userDiff names the first field in which got differs from want, lists compared as sets.
func userDiff(got, want bot.User) string {
	set := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	switch {
	case got.ID != want.ID || got.UPN != want.UPN || got.Mail != want.Mail || got.DisplayName != want.DisplayName:
		return "identity"
	case got.Enabled != want.Enabled || got.Synced != want.Synced || got.Guest != want.Guest || got.ManagerID != want.ManagerID:
		return "account"
	case !slices.Equal(sortedRoles(got.Roles), sortedRoles(want.Roles)):
		return "Roles"
	case !slices.Equal(sortedRoles(got.EligibleRoles), sortedRoles(want.EligibleRoles)):
		return "EligibleRoles"
	case !slices.Equal(set(got.Groups), set(want.Groups)):
		return "Groups"
	case !slices.Equal(set(got.AdministrativeUnits), set(want.AdministrativeUnits)):
		return "AdministrativeUnits"
	case got.InRoleAssignableGroup != want.InRoleAssignableGroup || got.RoleAssignableGroupOwner != want.RoleAssignableGroupOwner ||
		got.InRestrictedAU != want.InRestrictedAU:
		return "flags"
	}
	return ""
}

// Reads throttled or failed inside a batch are retried; the answers stay the same.
func TestFindUsersRetriesItemFaults(t *testing.T) {
	// Few reads take all the faults: give them the retries to outlast them.
	srv, c, refs := findSim(t, func(cfg *Config) { cfg.MaxRetries = 10; cfg.GroupsOfInterest = []string{graphtest.HelpdeskTeamID} })
	ctx := context.Background()
	want := make([]bot.User, len(refs))
	wantErrs := make([]error, len(refs))
	for i, ref := range refs {
		want[i], wantErrs[i] = c.FindUser(ctx, ref)
	}
	// One read may meet every fault in turn: two 503s cost it 1 s and 2 s of backoff.
	srv.ThrottleNext(5, 0)
	srv.FailNext(2, http.StatusServiceUnavailable)
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
	srv, c, refs := findSim(t, nil)
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
