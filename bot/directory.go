package bot

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// User is a directory user as the bot needs to see it: who they are, whether they can sign in, where
// their password is mastered, and what they hold that decides who may reset them.
type User struct {
	ID          string // Entra object ID (immutable)
	UPN         string
	Mail        string
	DisplayName string
	Enabled     bool // accountEnabled
	Synced      bool // onPremisesSyncEnabled == true: mastered in on-premises AD
	Guest       bool // userType == "Guest"
	ManagerID   string
	// PasswordChangedAt is Entra's lastPasswordChangeDateTime: the last password change or reset
	// (zero when Entra has no record). Read just before a write and again after a write nobody
	// answered, it tells whether the write was applied.
	PasswordChangedAt time.Time

	// Roles are the user's active directory role assignments: direct, and those that come through a
	// role-assignable group the user is a member of.
	Roles []RoleAssignment
	// EligibleRoles are PIM-eligible assignments: not active now, but the user can activate them.
	EligibleRoles []RoleAssignment
	// Groups are IDs of groups the user is a transitive member of — not all of them: only the
	// groups the policy reads (Policy.GroupsOfInterest: rules mode's agents and targets, audit
	// readers) and the role-assignable groups the user is a member of. A directory configured with
	// no groups of interest lists them all.
	Groups []string
	// InRoleAssignableGroup is true when the user is a member or owner of a role-assignable group,
	// active or PIM-eligible (PIM for Groups): Entra lets only a Privileged Authentication
	// Administrator or a Global Administrator reset them.
	InRoleAssignableGroup bool
	// RoleAssignableGroupOwner is true when the user owns a role-assignable group, or is eligible
	// to: an owner can add anyone, themselves included, and so take the group's roles. For wording;
	// InRoleAssignableGroup is set too.
	RoleAssignableGroupOwner bool
	// AdministrativeUnits are IDs of administrative units the user is a direct member of — only
	// those that matter to the policy: restricted management units, units a role (active or
	// eligible) is scoped to, and the units rules select by (Policy.UnitsOfInterest).
	AdministrativeUnits []string
	// InRestrictedAU is true when one of those units is a restricted management administrative unit.
	InRestrictedAU bool
}

// Name is how messages refer to the user.
func (u User) Name() string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.UPN
}

// RoleAssignment is one directory role held by a user, and where it applies.
type RoleAssignment struct {
	TemplateID string // role template ID (= roleDefinitionId for built-in roles)
	// Scope is "/" for the whole tenant, or "/administrativeUnits/{id}" for one administrative unit.
	Scope string
	// UnitName is the display name of the administrative unit Scope names, when the directory
	// read it: for messages only, never to decide (names are neither unique nor stable).
	UnitName string
}

// UnitWords names the administrative unit an AU-scoped assignment applies to, as people read it:
// administrative unit “Paris office”, or its ID when the directory gave no name. "" when the
// assignment is tenant-wide.
func (r RoleAssignment) UnitWords() string {
	u := r.AdministrativeUnit()
	switch {
	case u == "":
		return ""
	case r.UnitName != "":
		return "administrative unit “" + r.UnitName + "”"
	}
	return "administrative unit " + u
}

// TenantWide reports whether the assignment applies to the whole tenant.
func (r RoleAssignment) TenantWide() bool { return r.Scope == "" || r.Scope == "/" }

// AdministrativeUnit returns the unit ID an AU-scoped assignment applies to, or "".
func (r RoleAssignment) AdministrativeUnit() string {
	const prefix = "/administrativeUnits/"
	if len(r.Scope) > len(prefix) && r.Scope[:len(prefix)] == prefix {
		return r.Scope[len(prefix):]
	}
	return ""
}

// ResetOptions says how a cloud reset is done.
type ResetOptions struct {
	// RequireMFA sets forceChangePasswordNextSignInWithMfa: the user must pass MFA before choosing
	// their new password.
	RequireMFA bool
}

// ResetResult is what the directory tells us about a reset that succeeded.
type ResetResult struct {
	GraphRequestID string // Graph's request-id, kept in the audit trail to match Entra's own logs
}

// RevokeResult is what the directory tells us about a session revocation that succeeded.
type RevokeResult struct {
	GraphRequestID string // Graph's request-id, kept in the audit trail to match Entra's own logs
}

// Directory is the bot's view of Microsoft Entra ID. graphsvc implements it on Microsoft Graph.
type Directory interface {
	// FindUser looks a user up by UPN, mail or object ID, with their roles, groups and units.
	// An unknown user is a *DirectoryError of kind ErrNotFound.
	FindUser(ctx context.Context, ref string) (User, error)
	// ResetPassword sets a temporary password on a cloud user and forces a change at next sign-in.
	// It must never be called for a synced user.
	ResetPassword(ctx context.Context, userID string, pw TempPassword, opts ResetOptions) (ResetResult, error)
	// RevokeSessions invalidates the user's refresh tokens and session cookies.
	RevokeSessions(ctx context.Context, userID string) (RevokeResult, error)
}

// ErrorKind classifies what went wrong in the directory, so the bot can tell the agent what to do.
type ErrorKind string

const (
	ErrNotFound               ErrorKind = "not_found"
	ErrInsufficientPrivileges ErrorKind = "insufficient_privileges"
	ErrPasswordPolicy         ErrorKind = "password_policy"
	ErrSyncedObject           ErrorKind = "synced_object"
	ErrThrottled              ErrorKind = "throttled"
	ErrTransient              ErrorKind = "transient"
	ErrOther                  ErrorKind = "other"
	// ErrWritebackUnavailable: a synced user's reset could not reach on-premises AD (writeback is
	// not enabled for the tenant, or the writeback agent did not answer). Nothing changed.
	ErrWritebackUnavailable ErrorKind = "writeback_unavailable"
	// ErrOnPremisesPolicy: on-premises AD refused the password (its policy, history, minimum age).
	ErrOnPremisesPolicy ErrorKind = "onprem_policy"
	// ErrSignInNeeded: the reset must run as the agent, and the agent has no usable sign-in.
	ErrSignInNeeded ErrorKind = "not_signed_in"
	// ErrAccessPassDisabled: Temporary Access Pass is turned off in the tenant's authentication
	// methods policy. Nothing was created.
	ErrAccessPassDisabled ErrorKind = "access_pass_disabled"
	// ErrAccessPassNotInPolicy: the user is outside the Temporary Access Pass policy's scope (not in
	// an included group, or in an excluded one). Nothing was created.
	ErrAccessPassNotInPolicy ErrorKind = "access_pass_not_in_policy"
	// ErrAccessPassGuest: a Temporary Access Pass cannot be given to an external guest.
	ErrAccessPassGuest ErrorKind = "access_pass_guest"
	// ErrAccessPassLifetime: the lifetime asked for is outside what the tenant's policy allows.
	ErrAccessPassLifetime ErrorKind = "access_pass_lifetime"
)

// DirectoryError is a classified directory failure with a remedy an agent can act on.
type DirectoryError struct {
	Kind       ErrorKind
	Status     int    // HTTP status, 0 when no response came back
	Code       string // Graph error code, e.g. Authorization_RequestDenied
	Message    string // Graph's message; never contains a password
	Remedy     string // what to do next, in plain words
	RequestID  string // Graph request-id, for support and the audit trail
	RetryAfter int    // seconds, for ErrThrottled
}

func (e *DirectoryError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = string(e.Kind)
	}
	if e.Code != "" {
		return fmt.Sprintf("graph: %s (%s)", msg, e.Code)
	}
	return "graph: " + msg
}

// FreshAfter asks the directory for data read at or after t (wall-clock time): nothing it cached
// before t may decide. The service asks it of every lookup that decides a write — at the ask, at an
// approval, just before the write — so a role removed a second ago is seen.
func FreshAfter(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, freshKey{}, t)
}

// FreshnessOf is the time FreshAfter set on ctx, or zero: any cached answer will do.
func FreshnessOf(ctx context.Context) time.Time {
	t, _ := ctx.Value(freshKey{}).(time.Time)
	return t
}

type freshKey struct{}

// KindOf returns the kind of a directory error, ErrOther for anything unclassified.
func KindOf(err error) ErrorKind {
	var de *DirectoryError
	if errors.As(err, &de) {
		return de.Kind
	}
	return ErrOther
}

// PasswordReset is one reset of a batch.
type PasswordReset struct {
	UserID   string
	Password TempPassword
	Options  ResetOptions
}

// ResetOutcome is what became of one reset of a batch: Err is nil when Graph confirmed it, else a
// *DirectoryError (ErrTransient when no answer came, so it is not known whether it happened).
type ResetOutcome struct {
	UserID         string
	GraphRequestID string
	Err            error
}

// RevokeOutcome is what became of one session revocation of a batch: Err is nil when Graph confirmed
// it, else a *DirectoryError.
type RevokeOutcome struct {
	UserID         string
	GraphRequestID string
	Err            error
}

// BatchDirectory is what lists of users need beyond Directory: many lookups and many resets at once,
// batched and paced to stay inside Graph's throttling budget. graphsvc implements it.
type BatchDirectory interface {
	Directory
	// FindUsers looks many users up; users[i] and errs[i] answer refs[i].
	FindUsers(ctx context.Context, refs []string) (users []User, errs []error)
	// ResetPasswords sets many passwords, each at most once per call; outcomes[i] answers resets[i].
	// progress, when not nil, is called as outcomes arrive (in any order).
	ResetPasswords(ctx context.Context, resets []PasswordReset, progress func(ResetOutcome)) (outcomes []ResetOutcome)
	// RevokeSessionsMany revokes the sessions of many users, paced inside the same write budget as
	// ResetPasswords; outcomes[i] answers userIDs[i]. Revocation is idempotent: an attempt that
	// failed in transit may be sent again. progress, when not nil, is called once per entry as
	// outcomes arrive (in any order).
	RevokeSessionsMany(ctx context.Context, userIDs []string, progress func(RevokeOutcome)) (outcomes []RevokeOutcome)
	// PasswordChangedAt is when the user's password last changed (zero when Entra has no record).
	PasswordChangedAt(ctx context.Context, userID string) (time.Time, error)
}

// GroupsOfInterest are the groups whose membership the policy reads: rules mode's agent and target
// groups, and the audit readers that are groups rather than roles. A directory that reads
// memberships from the group side once for all lookups (graphsvc.Config.GroupsOfInterest) needs
// them, and then lists in User.Groups only these and the role-assignable groups. Add any other group
// the bot matches users against (the Temporary Access Pass policy's include and exclude groups).
// Never nil: a policy that names no group needs none.
func (p Policy) GroupsOfInterest() []string {
	out := []string{}
	add := func(ids ...string) {
		for _, id := range ids {
			if _, isRole := roleNames[id]; id != "" && !isRole && !containsFold(out, id) {
				out = append(out, id)
			}
		}
	}
	for _, r := range p.Rules {
		add(r.Agents...)
		add(r.Targets.Groups...)
	}
	add(p.AuditReaders...)
	return out
}

// UnitsOfInterest are the administrative units rules mode selects targets by. Units that Entra's
// own rules depend on (restricted management units, units a role is scoped to) need not be listed:
// a directory reads those anyway. Never nil.
func (p Policy) UnitsOfInterest() []string {
	out := []string{}
	for _, r := range p.Rules {
		for _, id := range r.Targets.AdministrativeUnits {
			if id != "" && !containsFold(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// AccessPassOptions says how a Temporary Access Pass is made.
type AccessPassOptions struct {
	// Lifetime is how long the pass stays valid from now, in whole minutes: at least 10 minutes, at
	// most 30 days, and within the tenant policy's range. Zero means the policy's default.
	Lifetime time.Duration
	// UsableOnce makes the pass good for one sign-in. The tenant policy may force it on.
	UsableOnce bool
}

// AccessPass is a Temporary Access Pass the directory created. Code is a secret, delivered like a
// temporary password (by DM only, withdrawn on schedule, never logged or stored): Entra shows it
// this once and never again.
type AccessPass struct {
	Code                TempPassword
	StartsAt, ExpiresAt time.Time
	UsableOnce          bool
	// ReplacedExisting is true when the user already had a pass: Entra keeps one per user, so the
	// earlier one no longer works.
	ReplacedExisting bool
	GraphRequestID   string // Graph's request-id of the creation, for the audit trail
}

// AccessPassPolicy is the tenant's Temporary Access Pass policy (its authentication methods policy).
type AccessPassPolicy struct {
	Enabled                                   bool
	MinLifetime, MaxLifetime, DefaultLifetime time.Duration
	// UsableOnceForced: every pass is good for one sign-in, whatever is asked.
	UsableOnceForced bool
	// Who the policy covers: all users, or the members of IncludeGroups; never the members of
	// ExcludeGroups.
	AllUsers                     bool
	IncludeGroups, ExcludeGroups []string
}

// Covers reports whether u could sign in with a pass: the policy is on, includes u and does not
// exclude u. Entra creates a pass for anyone, but only users in scope can use it. u.Groups must be
// read with the policy's groups among the groups of interest, or membership of them is not seen.
func (p AccessPassPolicy) Covers(u User) bool {
	if !p.Enabled || intersectsFold(p.ExcludeGroups, u.Groups) {
		return false
	}
	return p.AllUsers || intersectsFold(p.IncludeGroups, u.Groups)
}

// Kinds of authentication method (AuthMethod.Kind).
const (
	AuthPassword           = "password"
	AuthPhone              = "phone"
	AuthEmail              = "email"
	AuthAuthenticator      = "authenticator" // Microsoft Authenticator
	AuthFIDO2              = "fido2"         // a security key or passkey
	AuthWindowsHello       = "windowsHello"
	AuthPlatformCredential = "platformCredential"
	AuthSoftwareOATH       = "softwareOath"
	AuthAccessPass         = "temporaryAccessPass"
	AuthOther              = "other" // a method this version does not know
)

// AuthMethod is one authentication method a user has registered, as much of it as an agent needs
// to pick a way to verify the caller. Detail never holds a full phone number or mail address:
// phones show their last two digits ("•••• •• 34 (mobile)"), mail addresses their first letter and
// domain ("a•••@contoso.com"); device names, which often carry a person's name, are left out.
type AuthMethod struct {
	Kind    string
	Detail  string
	Created time.Time // zero when Entra does not say
}

// AccessPasses is what a directory that can issue Temporary Access Passes offers beyond Directory;
// the bot finds it by type assertion. graphsvc implements it.
type AccessPasses interface {
	// CreateAccessPass gives the user a new Temporary Access Pass, replacing any earlier one. It
	// changes nothing else: the password stays as it is. Errors are *DirectoryError, with
	// ErrAccessPassDisabled, ErrAccessPassNotInPolicy, ErrAccessPassGuest or ErrAccessPassLifetime
	// where the tenant's policy or the user's kind refused it; the code is in none of them.
	CreateAccessPass(ctx context.Context, userID string, opts AccessPassOptions) (AccessPass, error)
	// AccessPassPolicy reads the tenant's Temporary Access Pass policy.
	AccessPassPolicy(ctx context.Context) (AccessPassPolicy, error)
	// AuthenticationMethods lists the user's registered methods, masked.
	AuthenticationMethods(ctx context.Context, userID string) ([]AuthMethod, error)
}
