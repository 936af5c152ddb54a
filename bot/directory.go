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
	// (zero when Entra has no record).
	PasswordChangedAt time.Time

	// Roles are the user's active directory role assignments: direct, and those that come through a
	// role-assignable group the user is a member of.
	Roles []RoleAssignment
	// EligibleRoles are PIM-eligible assignments: not active now, but the user can activate them.
	EligibleRoles []RoleAssignment
	// Groups are the IDs of the groups the user is a transitive member of (for rules mode).
	Groups []string
	// InRoleAssignableGroup is true when the user is a member or owner of a role-assignable group,
	// active or PIM-eligible (PIM for Groups): Entra lets only a Privileged Authentication
	// Administrator or a Global Administrator reset them.
	InRoleAssignableGroup bool
	// RoleAssignableGroupOwner is true when the user owns a role-assignable group, or is eligible
	// to: an owner can add anyone, themselves included, and so take the group's roles. For wording;
	// InRoleAssignableGroup is set too.
	RoleAssignableGroupOwner bool
	// AdministrativeUnits are the IDs of the administrative units the user is a member of.
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
