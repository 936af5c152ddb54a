package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/digest"
	"github.com/resetbot/resetbot/graphsvc"
)

type checkCmd struct {
	User string `arg:"" help:"A user to look up with the bot's credentials, e.g. adele@contoso.com." `
}

// Run builds the Graph client exactly as the bot would, then checks what it will need. It changes
// nothing.
func (c checkCmd) Run(ctx context.Context) error {
	return checkFromEnv(ctx, os.Getenv, c.User, os.Stdout)
}

func checkFromEnv(ctx context.Context, getenv func(string) string, user string, out io.Writer) error {
	cfg, err := graphsvc.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	client, err := graphsvc.New(cfg)
	if err != nil {
		return err
	}
	return check(ctx, client, user, time.Now(), out)
}

// checkedDirectory is what check reads: a user (every reset starts there) and Entra's audit log
// (the digest's "outside resetbot" part).
type checkedDirectory interface {
	FindUser(ctx context.Context, ref string) (bot.User, error)
	PasswordResets(ctx context.Context, since, until time.Time, fn func(digest.EntraReset) error) error
}

// check reads one user with roles, groups and units, which a reset cannot do without, and then one
// page of Entra's audit log, which only the digest needs: a failure there is said but is no error.
func check(ctx context.Context, dir checkedDirectory, user string, now time.Time, out io.Writer) error {
	u, err := dir.FindUser(ctx, user)
	if err != nil {
		return withRemedy(readRefused(err, "User.Read.All, RoleManagement.Read.Directory, GroupMember.Read.All, PrivilegedEligibilitySchedule.Read.AzureADGroup and AdministrativeUnit.Read.All"))
	}
	fmt.Fprintf(out, "✓ signed in to Graph and read %s (%s)\n", u.Name(), u.UPN)
	fmt.Fprintln(out, "  with the tenant's roles, role-assignable groups and their owners, PIM eligibilities and administrative units")
	fmt.Fprintln(out, "  (User.Read.All, RoleManagement.Read.Directory, GroupMember.Read.All, PrivilegedEligibilitySchedule.Read.AzureADGroup, AdministrativeUnit.Read.All)")
	fmt.Fprintf(out, "  enabled=%v synced=%v guest=%v roles=%d eligible=%d groups=%d units=%d\n",
		u.Enabled, u.Synced, u.Guest, len(u.Roles), len(u.EligibleRoles), len(u.Groups), len(u.AdministrativeUnits))
	fmt.Fprintln(out, "  (resets themselves are not tried: check changes nothing)")

	checkAppAccess(ctx, dir, out)

	errEnough := errors.New("one entry is enough")
	err = dir.PasswordResets(ctx, now.Add(-24*time.Hour), now, func(digest.EntraReset) error { return errEnough })
	if err != nil && !errors.Is(err, errEnough) {
		fmt.Fprintf(out, "✗ could not read Entra's audit log, so digests will not list resets made outside resetbot: %v\n", withRemedy(readRefused(err, "AuditLog.Read.All")))
		checkAccessPasses(ctx, dir, out)
		return nil
	}
	fmt.Fprintln(out, "✓ read Entra's audit log (AuditLog.Read.All): digests can list resets made outside resetbot")
	checkAccessPasses(ctx, dir, out)
	return nil
}

// appAccessReader is the part of the Graph client that reads the app's own permissions and roles.
type appAccessReader interface {
	AppAccess(ctx context.Context) (graphsvc.AppAccess, error)
}

// Application permissions a reset needs, each satisfied by any of its alternatives.
var resetPermissions = []struct {
	what string
	any  []string
}{
	{"resets", []string{"User-PasswordProfile.ReadWrite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}},
	{"signing the user out everywhere", []string{"User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}},
}

// checkAppAccess tells the two reasons Graph refuses a reset with the same 403 apart: a permission
// without admin consent, and no Entra role on resetbot's app. It changes nothing.
func checkAppAccess(ctx context.Context, dir checkedDirectory, out io.Writer) {
	r, ok := dir.(appAccessReader)
	if !ok {
		return
	}
	a, err := r.AppAccess(ctx)
	if err != nil {
		fmt.Fprintf(out, "✗ could not read which permissions and role resetbot's app has: %v\n", withRemedy(err))
		return
	}
	var missing []string
	for _, p := range resetPermissions {
		if !slices.ContainsFunc(p.any, func(s string) bool { return slices.Contains(a.Permissions, s) }) {
			missing = append(missing, p.any[0]+" ("+p.what+")")
		}
	}
	if len(missing) == 0 {
		fmt.Fprintf(out, "✓ application permissions with admin consent: %s\n", strings.Join(a.Permissions, ", "))
	} else {
		fmt.Fprintf(out, "✗ no admin consent for %s, so Graph will refuse resets with \"insufficient privileges\"\n  what to do: %s\n",
			strings.Join(missing, " and "), graphsvc.RemedyConsent)
	}
	if a.RolesErr != nil {
		fmt.Fprintf(out, "✗ could not read resetbot's Entra role: %v\n", withRemedy(a.RolesErr))
		return
	}
	var resetters, others []string
	for _, id := range a.Roles {
		if slices.Contains(bot.ResetterRoles, id) {
			resetters = append(resetters, bot.RoleName(id))
		} else {
			others = append(others, bot.RoleName(id))
		}
	}
	if len(resetters) > 0 {
		fmt.Fprintf(out, "✓ resetbot's app holds the Entra role %s, directory-wide\n", strings.Join(resetters, ", "))
		return
	}
	held := ""
	if len(others) > 0 {
		held = " (it holds " + strings.Join(others, ", ") + ")"
	}
	fmt.Fprintf(out, "✗ resetbot's app holds no directory-wide Entra role that may reset passwords%s, so Graph will refuse resets with \"insufficient privileges\"\n"+
		"  what to do: in the Entra admin center, Roles & admins → Privileged Authentication Administrator (or Helpdesk, Password or User Administrator "+
		"if no target is an admin) → Add assignments → resetbot's app\n", held)
}

// checkAccessPasses reads the Temporary Access Pass policy, which only passes need: a failure is
// said but is no error.
func checkAccessPasses(ctx context.Context, dir checkedDirectory, out io.Writer) {
	passes, ok := dir.(bot.AccessPasses)
	if !ok {
		return
	}
	pol, err := passes.AccessPassPolicy(ctx)
	switch {
	case err != nil:
		fmt.Fprintf(out, "✗ could not read the Temporary Access Pass policy, which passes need (Policy.Read.AuthenticationMethod; creating them needs UserAuthMethod-TAP.ReadWrite.All): %v\n", withRemedy(readRefused(err, "Policy.Read.AuthenticationMethod")))
	case !pol.Enabled:
		fmt.Fprintln(out, "✓ read the Temporary Access Pass policy (Policy.Read.AuthenticationMethod): turned off in the tenant, so no passes")
	default:
		fmt.Fprintf(out, "✓ read the Temporary Access Pass policy (Policy.Read.AuthenticationMethod): on, %s to %s; creating passes needs UserAuthMethod-TAP.ReadWrite.All\n",
			shortDuration(pol.MinLifetime), shortDuration(pol.MaxLifetime))
	}
}

// readRefused words a refused read: check only reads, and reading needs no Entra role, so Graph's
// "insufficient privileges" here means an application permission (needs) or its consent is
// missing.
func readRefused(err error, needs string) error {
	var de *bot.DirectoryError
	if errors.As(err, &de) && de.Kind == bot.ErrInsufficientPrivileges {
		c := *de
		c.Remedy = graphsvc.RemedyConsent + " This read needs " + needs + "."
		return &c
	}
	return err
}

// withRemedy appends what to do to a classified Graph error, as check says it.
func withRemedy(err error) error {
	var de *bot.DirectoryError
	if errors.As(err, &de) && de.Remedy != "" {
		return fmt.Errorf("%w\n  what to do: %s", err, graphsvc.AdviceForCheck(de))
	}
	return err
}

// shortDuration is d as people write it: "1h", "90m", not "1h0m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
