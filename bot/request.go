package bot

import (
	"context"
	"errors"
	"time"

	"github.com/resetbot/resetbot/chat"
)

// State is where a request is in its life. Transitions are compare-and-swap in the store:
//
//	pending ─approve→ approved ─→ resetting ─→ done | failed
//	pending ─deny→ denied;  pending ─(expiry)→ expired
//
// Requests the policy allows outright are created as approved.
type State string

const (
	StatePending   State = "pending"
	StateApproved  State = "approved"
	StateResetting State = "resetting"
	StateDone      State = "done"
	StateFailed    State = "failed"
	StateDenied    State = "denied"
	StateExpired   State = "expired"
)

// Terminal reports whether nothing more can happen to a request in this state.
func (s State) Terminal() bool {
	switch s {
	case StateDone, StateFailed, StateDenied, StateExpired:
		return true
	}
	return false
}

// Request is one password reset of one target, asked for by one person. It is persisted from the
// moment the policy lets it go ahead (outright or subject to approval) and never holds the password.
type Request struct {
	ID    string // short opaque ID shown to people, e.g. R-7F3K9Q; the only thing a button carries
	State State
	// BatchID is the list (bulk run) the request belongs to, e.g. B-7F3K9Q; empty for single resets.
	BatchID string

	Requester      chat.Actor
	RequesterID    string // Entra object ID
	RequesterUPN   string
	RequesterName  string
	RequesterRoles []string // role template IDs active at request time (for the approval card)

	TargetID    string
	TargetUPN   string
	TargetName  string
	TargetRoles []string // role template IDs, active and eligible, for the approval card

	Reason         string // the requester's reason (--reason)
	ApprovalReason string // why a second person is needed; empty when allowed outright

	ApproverKey  string // Actor.Key of whoever approved or denied
	ApproverUPN  string
	ApproverName string

	Outcome string // plain words on how it ended, for status and the card

	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time // approval deadline; zero when no approval is needed

	Card chat.MessageRef // the approval card, so it can be updated in place
}

// Change is what a compare-and-swap transition writes besides the new state.
type Change struct {
	ApproverKey  string
	ApproverUPN  string
	ApproverName string
	Outcome      string
	Card         *chat.MessageRef
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
}

// Delivery is a sent DM that must be withdrawn later (the temporary password), kept in the store so
// a restart still withdraws it.
type Delivery struct {
	ID        int64
	RequestID string
	Ref       chat.MessageRef
	DueAt     time.Time
}

// Store is what the bot keeps. SQLite by default; PostgreSQL for several replicas. Every method is
// safe for concurrent use by several processes on one database.
type Store interface {
	// CreateRequest persists a new request. The ID must be unused.
	CreateRequest(ctx context.Context, r *Request) error
	// GetRequest returns ErrNoSuchRequest for an unknown ID.
	GetRequest(ctx context.Context, id string) (*Request, error)
	// Transition moves a request from one state to another only if it is still in from, writing the
	// change with it. ok is false, with no error, when the request was not in from: someone else
	// moved it first.
	Transition(ctx context.Context, id string, from, to State, ch Change, at time.Time) (ok bool, err error)
	// ExpiredPending lists pending requests whose approval deadline is before now.
	ExpiredPending(ctx context.Context, now time.Time) ([]*Request, error)
	// BatchRequests lists the requests of a list, oldest first.
	BatchRequests(ctx context.Context, batchID string) ([]*Request, error)
	// UnfinishedBatches lists the lists that still have requests approved or resetting: runs a
	// stop interrupted.
	UnfinishedBatches(ctx context.Context) ([]string, error)
	// CountRequests counts the requests a requester (Actor.Key) made since a time, for rate limits.
	CountRequests(ctx context.Context, requesterKey string, since time.Time) (int, error)

	// AppendAudit appends a record, setting its Seq, PrevHash and Hash (see AuditRecord.ChainHash).
	AppendAudit(ctx context.Context, rec *AuditRecord) error
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

	// Ping reports whether the database answers (for /readyz).
	Ping(ctx context.Context) error

	Close() error
}
