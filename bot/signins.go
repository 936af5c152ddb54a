package bot

import (
	"context"
	"time"
)

// What the store keeps for agents' sign-ins: a sign-in between its link and its callback, the
// agent's sealed token set, and the link of a chat account to the Entra account its owner signed in
// as. Several replicas share them through one database, so taking a pending sign-in is a single
// conditional write.

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
