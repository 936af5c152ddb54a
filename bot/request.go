package bot

import (
	"context"
	"errors"
	"time"

	"github.com/resetbot/resetbot/chat"
)

// Request is what one person asked for: the reset of one target or of a list. Typed commands, CSV
// files and button clicks all become requests, and every request, of one target or five thousand,
// goes through the one state machine in lifecycle.go. A request never holds a password in clear: a
// target's temporary password is kept sealed (see Sealer) only between the moment it is set in Entra
// and the moment it reaches the requester.
type Request struct {
	ID    string // short opaque ID shown to people: R-7F3K9Q for one target, B-7F3K9Q for a list
	State State
	// Source names where the targets came from: the file's name for a CSV, "" for a typed command.
	Source string

	Requester      chat.Actor
	RequesterID    string // Entra object ID
	RequesterUPN   string
	RequesterName  string
	RequesterRoles []string // role template IDs active at request time (for the approval card)

	Reason         string // the requester's reason (--reason); a CSV row's own reason is on its target
	ApprovalReason string // why a second person is needed; empty when allowed outright
	// ApproverRole, when set, is what the approver must be besides entitled to reset every target:
	// "audit_reader" when the tenant-wide brake holds resets for security (see Limits).
	ApproverRole string

	ApproverKey  string // chat.Actor.Key of whoever approved or denied
	ApproverID   string // their Entra object ID
	ApproverUPN  string
	ApproverName string

	Outcome string // plain words on how it ended, for status and the card

	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time // when a preview or an approval stops waiting; zero when nothing waits

	Card     chat.MessageRef // the approval card, updated in place
	Progress chat.MessageRef // the requester's progress message for a list, updated in place

	// Seal authenticates what authorises the request (requester and targets), and ApprovalSeal the
	// approval, with a key the database never sees: a row written into the store by anyone but
	// resetbot resets nobody (see Keys).
	Seal         string
	ApprovalSeal string

	// LeaseOwner and LeaseUntil say which process is working the request; after LeaseUntil another
	// may take it over.
	LeaseOwner string
	LeaseUntil time.Time

	// Caller is the caller's verification and the credential the request gives (caller.go).
	Caller Caller

	Targets []Target
}

// Single reports whether the request is the reset of one user asked by name: it has no preview and
// answers in the conversation it was asked in.
func (r *Request) Single() bool { return len(r.Targets) == 1 && r.Source == "" }

// Target is one user of a request and where their reset stands.
type Target struct {
	N    int    // position in the request, from 0
	Line int    // the line of the CSV file it came from; 0 for a typed name
	Ref  string // what was asked for: a UPN, mail address or object ID, as given

	ID    string // Entra object ID; empty when the ref matched nobody
	UPN   string
	Name  string
	Roles []string // role template IDs, active and eligible, when asked (for cards)

	Reason string // the row's reason, else the request's
	Step   Step
	// Outcome says in plain words why a target was refused, failed or is unknown, or how it ended.
	Outcome string

	// Sealed is the temporary password, sealed (see Sealer), from just before the directory write to
	// the moment it is delivered; nil before and after.
	Sealed []byte
	// AttemptAt is when the directory write was sent; PasswordChangedBefore is Entra's
	// lastPasswordChangeDateTime read just before it. A later change means the write was applied.
	AttemptAt             time.Time
	PasswordChangedBefore time.Time
	Attempts              int    // directory writes sent (the same password each time)
	Revoke                string // "done", "failed: …", "off"; empty until the step is taken
	GraphRequestID        string // of the reset
	UpdatedAt             time.Time
	// Notice is what became of telling the user (notice.go).
	Notice Notice
}

// Change is what a request's compare-and-swap transition writes besides the new state. Zero values
// leave a column as it is.
type Change struct {
	ApproverKey  string
	ApproverID   string
	ApproverUPN  string
	ApproverName string
	ApprovalSeal string
	Outcome      string
	ExpiresAt    time.Time
	// ApprovalReason and ApproverRole are set when a previewed list comes to need an approval.
	ApprovalReason string
	ApproverRole   string
	Card           *chat.MessageRef
	Progress       *chat.MessageRef
	// Caller, when set, replaces the request's caller record (a verification asked or answered).
	Caller *Caller
}

// TargetMove moves one target from one step to another, if it is still in From, writing Change.
type TargetMove struct {
	N        int
	From, To Step
	Change   TargetChange
}

// TargetChange is what a step writes besides the step. Zero values leave a column as it is, but
// EraseSealed clears the sealed password.
type TargetChange struct {
	Sealed                []byte
	EraseSealed           bool
	AttemptAt             time.Time
	PasswordChangedBefore time.Time
	Attempts              int
	Revoke                string
	GraphRequestID        string
	Outcome               string
}

// NoticeDue is a target whose user must still be told of their reset.
type NoticeDue struct {
	RequestID string
	N         int
	State     string // the notice's state now: "" or NoticeSending
}

// ErrNoSuchRequest is returned for an unknown request ID.
var ErrNoSuchRequest = errors.New("no such request")

// AuditEvent names a step of the lifecycle.
type AuditEvent string

const (
	EventRequested AuditEvent = "requested" // a command asked for a reset
	EventDecision  AuditEvent = "decision"  // the policy's verdict
	EventApproval  AuditEvent = "approval"  // an approve or deny click, accepted or refused
	EventReset     AuditEvent = "reset"     // the directory call and its outcome
	EventRevoke    AuditEvent = "revoke"    // sign-in sessions revoked
	EventDelivery  AuditEvent = "delivery"  // the temporary password DM sent, or withdrawn
	EventExpired   AuditEvent = "expired"   // an approval timed out
	EventRefused   AuditEvent = "refused"   // bad input or an unknown user: nothing done
	EventAlert     AuditEvent = "alert"     // something security must look at (a forged row, the brake, "this wasn't me")
	EventVerify    AuditEvent = "verify"    // the caller's verification: asked, passed, failed, skipped, stated by the agent
	EventNotice    AuditEvent = "notice"    // the user told of their reset, or could not be
)

// AuditRecord is one append-only entry of the trail. It never holds a password. Seq, PrevHash and
// Hash are set by the store when the record is appended, inside the same transaction, so the chain
// has no gaps.
type AuditRecord struct {
	Seq            int64
	At             time.Time
	RequestID      string
	Event          AuditEvent
	Platform       chat.Platform
	ActorKey       string
	ActorUPN       string
	TargetID       string
	TargetUPN      string
	Outcome        string // allow, needs_approval, deny, approved, denied, done, failed, sent, withdrawn, …
	Detail         string // the reason or error, in plain words
	GraphRequestID string
	DurationMS     int64
	PrevHash       string
	Hash           string
	// Line is the line of the CSV file the target came from; 0 when it was typed.
	Line int
	// MAC authenticates Hash with RESETBOT_AUDIT_KEY (see TrailKey); set by the store when appended,
	// empty for records written without the key.
	MAC string
	// Assurance is how the caller was verified, on the records of a reset (requested, decision,
	// reset, notice): empty on others and on records written before it existed.
	Assurance Assurance
}

// Delivery is a sent DM that must be withdrawn later (the temporary password), kept in the store so
// a restart still withdraws it.
type Delivery struct {
	ID        int64
	RequestID string
	Ref       chat.MessageRef
	DueAt     time.Time
}

// QuotaAsk asks to count n more resets for an agent, atomically with the checks against the limits,
// so that no burst of concurrent requests slips past either.
type QuotaAsk struct {
	ActorKey  string
	RequestID string
	N         int
	At        time.Time
	Since     time.Time // the window's start
	// PerActor is the most resets one agent may ask for in the window; 0 means no limit. An ask over
	// it is not counted.
	PerActor int
}

// QuotaUse is what was counted in the window before the ask, and whether the ask was counted.
type QuotaUse struct {
	Actor   int // resets the agent asked for in the window, before this ask
	Tenant  int // resets everyone asked for in the window, before this ask
	Counted bool
	// ActorOldest is when the oldest of the agent's asks in the window was made (zero when none):
	// its resets leave the count, and free some of the limit, one window after it.
	ActorOldest time.Time
}

// Store is what the bot keeps. SQLite by default; PostgreSQL for several replicas. Every method is
// safe for concurrent use by several processes on one database.
type Store interface {
	// CreateRequest persists a new request with its targets, in one transaction. The ID must be unused.
	CreateRequest(ctx context.Context, r *Request) error
	// GetRequest returns the request with its targets, or ErrNoSuchRequest.
	GetRequest(ctx context.Context, id string) (*Request, error)
	// Transition moves a request from one state to another only if it is still in from, writing the
	// change with it. ok is false, with no error, when the request was not in from: someone else
	// moved it first.
	Transition(ctx context.Context, id string, from, to State, ch Change, at time.Time) (ok bool, err error)
	// StepTargets applies the moves to a request's targets in one transaction, each only if its target
	// is still in the move's From, and adds withdraw (when not nil) to the DMs to withdraw in the same
	// transaction. moved[i] says whether moves[i] applied.
	StepTargets(ctx context.Context, id string, moves []TargetMove, withdraw *Delivery, at time.Time) (moved []bool, err error)
	// InState lists up to limit requests in a state, with their targets, oldest first.
	InState(ctx context.Context, state State, limit int) ([]*Request, error)
	// ExpiredWaiting lists previews, verifications and pending approvals whose deadline is before now.
	ExpiredWaiting(ctx context.Context, now time.Time) ([]*Request, error)
	// Runnable lists the requests approved or resetting that no process holds (no lease, or one that
	// lapsed before now): interrupted work to finish.
	Runnable(ctx context.Context, now time.Time) ([]string, error)
	// Lease takes a request for owner until until when nobody holds it (no lease, or one that lapsed
	// before now), or renews it when owner holds it. ok is false when another process holds it.
	Lease(ctx context.Context, id, owner string, now, until time.Time) (ok bool, err error)
	// Release gives the request up if owner holds it.
	Release(ctx context.Context, id, owner string) error
	// Reserve counts an ask against the limits (see QuotaAsk) in one transaction.
	Reserve(ctx context.Context, q QuotaAsk) (QuotaUse, error)
	// SetNotice moves a target's notice from the state from to next (see Notice), only if it is
	// still in from; at is when, so a notice left "sending" by a process that stopped can be taken
	// over once it is old.
	SetNotice(ctx context.Context, id string, n int, from string, next Notice, at time.Time) (bool, error)
	// NoticesDue lists the targets whose user must still be told: reset (their step delivered or
	// undelivered) and their notice not yet sent, or left sending before staleBefore. At most limit.
	NoticesDue(ctx context.Context, staleBefore time.Time, limit int) ([]NoticeDue, error)
	// Busy says which of the users (by object ID) are targets of another request than except that
	// is not finished, in one of the steps given (all unfinished steps when none is), with that
	// request's ID: one person is never in two resets at once. A preview counts only when it is
	// requester's own (a list sent twice): another's preview reserves nobody.
	Busy(ctx context.Context, targetIDs []string, except, requester string, steps ...Step) (map[string]string, error)

	// AppendAudit appends records in one transaction, setting each one's Seq, PrevHash and Hash (see
	// AuditRecord.ChainHash).
	AppendAudit(ctx context.Context, recs ...*AuditRecord) error
	// AuditSince streams records with Seq > afterSeq in order; fn returning an error stops it.
	AuditSince(ctx context.Context, afterSeq int64, fn func(AuditRecord) error) error
	// AuditAfter is where to start AuditSince to see every record at or after t without reading the
	// trail from its beginning: one less than the lowest Seq of such a record, or the last Seq when
	// there is none. Records appended by replicas with slightly different clocks are not in strict
	// time order, so readers still check each record's time.
	AuditAfter(ctx context.Context, t time.Time) (afterSeq int64, err error)

	// Claim records an idempotency key; claimed is false when the key was seen before, so a
	// duplicate delivery does nothing.
	Claim(ctx context.Context, key string, at time.Time) (claimed bool, err error)

	// AddDelivery remembers a DM to withdraw at DueAt.
	AddDelivery(ctx context.Context, d Delivery) error
	// DueDeliveries lists deliveries due at or before now.
	DueDeliveries(ctx context.Context, now time.Time) ([]Delivery, error)
	// LeaseDelivery takes a due delivery for one process: it moves DueAt to until when DueAt is
	// still at or before now, and reports false when another process moved it first. A process that
	// dies after the lease leaves it due again at until.
	LeaseDelivery(ctx context.Context, id int64, now, until time.Time) (bool, error)
	// RemoveDelivery forgets a withdrawn delivery; it reports false when another process removed it.
	RemoveDelivery(ctx context.Context, id int64) (bool, error)

	ConversationRefs
	JobRuns
	SignIns
	IdentityLinks

	// Ping reports whether the database answers (for /readyz).
	Ping(ctx context.Context) error

	Close() error
}
