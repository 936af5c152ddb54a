package bot

import (
	"context"
	"time"
)

// This file holds what the store keeps beyond requests and the trail: conversation references,
// scheduled-job runs and agent sign-ins. Several replicas share them through one database, so each
// operation that decides "who acts" is a single conditional write.

// ConversationRef is what a platform's adapter must remember to write to someone who is not talking
// to the bot (Teams: the regional service that serves them, the 1:1 conversation opened with them,
// their Teams user ID). It is no secret. Like chat.MessageRef.Route, Route is opaque to everyone but
// the adapter that wrote it: the service and the store keep it as it is and never read it.
type ConversationRef struct {
	Route     string
	UpdatedAt time.Time
}

// ConversationRefs keeps conversation references by a key the adapter chooses.
type ConversationRefs interface {
	GetConversationRef(ctx context.Context, key string) (ConversationRef, bool, error)
	PutConversationRef(ctx context.Context, key string, ref ConversationRef) error
}

// JobRun is one run of a scheduled job (a digest, say) for one slot of its schedule. The slot is the
// time the schedule named, not when the run happened, so every replica names the same run.
type JobRun struct {
	Job        string
	Slot       time.Time
	Owner      string    // the replica running it
	LeaseUntil time.Time // after this, with no FinishedAt, another replica may take it over
	FinishedAt time.Time // zero while unfinished
	Claims     int       // times claimed, the first included
}

// JobRuns lets replicas agree on who runs a scheduled job, with no leader: whoever claims a slot
// runs it; a claim lapses at its lease, so a replica dying mid-run hands the run over.
type JobRuns interface {
	// ClaimJob takes (job, slot) for owner until leaseUntil when nobody has it, or when its
	// last claim lapsed before now without finishing. claimed is false when another replica holds
	// it or it is finished.
	ClaimJob(ctx context.Context, job string, slot time.Time, owner string, now, leaseUntil time.Time) (claimed bool, err error)
	// FinishJob marks the run finished; it reports false when owner no longer holds the claim (it
	// lapsed and another replica took it).
	FinishJob(ctx context.Context, job string, slot time.Time, owner string, at time.Time) (bool, error)
	// LastFinishedJob is the run with the latest slot that finished, ok false when none has.
	LastFinishedJob(ctx context.Context, job string) (run JobRun, ok bool, err error)
	// LapsedJobs lists unfinished runs of any job whose lease ended before now.
	LapsedJobs(ctx context.Context, now time.Time) ([]JobRun, error)
}

// PendingSignIn is an agent's sign-in between the link and the callback. The state is the
// opaque, single-use value in the link; the verifier is PKCE's secret half, sealed by the caller.
type PendingSignIn struct {
	State     string
	ActorKey  string // the chat identity that asked (Actor.Key)
	ObjectID  string // the Entra object ID that identity maps to: the sign-in must be the same person
	Sealed    []byte // sealed by the caller (PKCE verifier, redirect): the store never sees it plain
	ExpiresAt time.Time
}

// AgentToken is an agent's delegated token set, sealed by the caller with RESETBOT_ENCRYPTION_KEY.
type AgentToken struct {
	ActorKey  string
	ObjectID  string
	Sealed    []byte
	ExpiresAt time.Time // the refresh token's lifetime: after it, the agent signs in again
	UpdatedAt time.Time
}

// SignIns keeps agents' sign-ins.
type SignIns interface {
	PutSignIn(ctx context.Context, p PendingSignIn) error
	// TakeSignIn returns and deletes a pending sign-in in one step, so a state is usable once; ok
	// is false for an unknown, used or expired (before now) state.
	TakeSignIn(ctx context.Context, state string, now time.Time) (p PendingSignIn, ok bool, err error)
	PutAgentToken(ctx context.Context, t AgentToken) error
	// GetAgentToken returns ok false for none or one expired before now.
	GetAgentToken(ctx context.Context, actorKey string, now time.Time) (t AgentToken, ok bool, err error)
	// DeleteAgentToken reports whether there was one.
	DeleteAgentToken(ctx context.Context, actorKey string) (bool, error)
}

// IdentityLink binds a chat account to the Entra account its owner signed in as.
type IdentityLink struct {
	ActorKey   string // chat.Actor.Key
	ObjectID   string // the Entra object ID they signed in as
	LinkedAt   time.Time
	VerifiedAt time.Time // the last sign-in that confirmed it
}

// IdentityLinks keeps the links of chat accounts to Entra accounts.
type IdentityLinks interface {
	// GetLink returns ok false when the account was never linked, or the link was dropped.
	GetLink(ctx context.Context, actorKey string) (l IdentityLink, ok bool, err error)
	PutLink(ctx context.Context, l IdentityLink) error
	// DeleteLink reports whether there was one.
	DeleteLink(ctx context.Context, actorKey string) (bool, error)
}
