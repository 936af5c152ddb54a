package bot

import (
	"context"
	"errors"

	"github.com/resetbot/resetbot/chat"
)

// Resets as the agent. Graph's resetPassword (the only reset that writes back to on-premises AD)
// accepts only a delegated token: the signed-in agent's own. So a synced user is reset as the agent,
// and in delegated-only mode every reset is: the bot then holds no write permission of its own and
// Entra checks the agent's roles itself, after the bot's policy has run.

// ErrNotSignedIn is what an AgentSignIn answers when the agent has no usable sign-in: never signed
// in, signed out, expired, revoked at Entra, or a stored token that no longer opens.
var ErrNotSignedIn = errors.New("the agent is not signed in to resetbot")

// TokenSource gives a current delegated access token for Graph, refreshing it silently when needed.
// It returns an error wrapping ErrNotSignedIn when the agent must sign in again.
type TokenSource interface {
	AccessToken(ctx context.Context) (string, error)
}

// AgentDirectory makes changes as a signed-in agent. graphsvc implements it.
type AgentDirectory interface {
	// ResetPasswordWriteback resets through resetPassword with pw as newPassword, which writes back to
	// on-premises AD, and waits for the operation to end. It succeeds only when the operation did.
	ResetPasswordWriteback(ctx context.Context, as TokenSource, userID string, pw TempPassword) (ResetResult, error)
	// ResetPasswordAs is Directory.ResetPassword (a cloud user's passwordProfile) as the agent.
	ResetPasswordAs(ctx context.Context, as TokenSource, userID string, pw TempPassword, opts ResetOptions) (ResetResult, error)
	// RevokeSessionsAs is Directory.RevokeSessions as the agent.
	RevokeSessionsAs(ctx context.Context, as TokenSource, userID string) (RevokeResult, error)
}

// AgentSignIn signs agents in and out and keeps their tokens. bot/signin implements it.
type AgentSignIn interface {
	// Begin starts a sign-in for actor, who is the Entra user me. The message says what to do (open
	// a link, or enter a code) and must reach the actor privately. signedIn is true when the sign-in
	// already finished (a sandbox that approves at once); the message then says so.
	Begin(ctx context.Context, actor chat.Actor, me User) (m chat.Message, signedIn bool, err error)
	// SignOut forgets the actor's tokens; false when there were none.
	SignOut(ctx context.Context, actor chat.Actor) (bool, error)
	// Session returns a token source acting as the actor, who must be the Entra user objectID, or an
	// error wrapping ErrNotSignedIn.
	Session(ctx context.Context, actor chat.Actor, objectID string) (TokenSource, error)
}

// ResetsAsAgent reports whether resetting target runs as the signed-in agent: every reset in
// delegated-only mode, and synced users (writeback) in any mode.
func (p Policy) ResetsAsAgent(target User) bool { return p.AsAgent || target.Synced }

// EventSignIn records an agent's sign-in, sign-out, or a refused sign-in callback.
const EventSignIn AuditEvent = "signin"

// EnableAgentSignIn lets agents sign in (/resetpw login) and makes the resets that must run as the
// agent possible: synced users when Policy.Writeback is on, and every reset when Policy.AsAgent is.
func (s *Service) EnableAgentSignIn(signIn AgentSignIn, agentDir AgentDirectory) {
	s.signIn, s.agentDir = signIn, agentDir
}

// TellActor sends a person a private message (a DM): the sign-in package uses it to say a device
// code sign-in has finished.
func (s *Service) TellActor(ctx context.Context, to chat.Actor, m chat.Message) error {
	pc, err := s.chat(to.Platform)
	if err != nil {
		return err
	}
	_, err = pc.DM(ctx, to, m)
	return err
}

// AuditSignIn appends a sign-in event to the trail. detail must hold no secret.
func (s *Service) AuditSignIn(ctx context.Context, actor chat.Actor, upn, outcome, detail string) {
	s.audit(ctx, &AuditRecord{Event: EventSignIn, Platform: actor.Platform, ActorKey: actor.Key(), ActorUPN: upn,
		Outcome: outcome, Detail: detail})
}

// agentSession is the requester's sign-in, or a DirectoryError of kind ErrSignInNeeded.
func (s *Service) agentSession(ctx context.Context, actor chat.Actor, objectID string) (TokenSource, error) {
	if s.signIn == nil || s.agentDir == nil {
		return nil, &DirectoryError{Kind: ErrSignInNeeded, Message: "agent sign-in is not set up for resetbot",
			Remedy: "Ask the admin who runs resetbot to set up agent sign-in (RESETBOT_ENCRYPTION_KEY and the redirect URI or device code flow)."}
	}
	ts, err := s.signIn.Session(ctx, actor, objectID)
	if errors.Is(err, ErrNotSignedIn) {
		return nil, &DirectoryError{Kind: ErrSignInNeeded, Message: "you are not signed in to resetbot",
			Remedy: "Sign in with /resetpw login, then ask again. Nothing was reset."}
	}
	if err != nil {
		s.log.Error("reading an agent's sign-in failed", "actor", actor.Key(), "err", err)
		return nil, &DirectoryError{Kind: ErrTransient, Message: "your sign-in could not be read",
			Remedy: "Nothing was reset. Try again in a minute."}
	}
	return ts, nil
}

// needsSignIn checks, before a reset that runs as the agent is accepted, that the agent can act.
// ok is false with the message to show when not.
func (s *Service) needsSignIn(ctx context.Context, actor chat.Actor, me, target User) (chat.Message, bool) {
	_, err := s.agentSession(ctx, actor, me.ID)
	if err == nil {
		return chat.Message{}, true
	}
	de := asDirectoryError(err)
	v := s.words(actor.Platform)
	why := "Resets in " + v.App + " run with your own sign-in"
	if target.Synced {
		why = target.Name() + " is synchronised from on-premises Active Directory, so the reset must run with your own sign-in (it writes the password back to AD)"
	}
	if de.Kind != ErrSignInNeeded {
		return chat.Message{Title: "⚠️ " + why + ", and " + de.Message + ".", Text: de.Remedy}, false
	}
	return chat.Message{Title: "🔑 " + why + ", and you are not signed in.",
		Text: "Sign in with `" + command(v, "login") + "` (I send you " + s.signInSends() + ", privately), then ask again. Nothing was reset."}, false
}

// signInSends says what a sign-in sends the person, as the sign-in in use says it (a link to open,
// or a code to enter), or in words true of both.
func (s *Service) signInSends() string {
	if d, ok := s.signIn.(interface{ Sends() string }); ok {
		return d.Sends()
	}
	return "a link to open or a code to enter"
}

// login starts an agent's sign-in; the link or code goes to them by DM, never to a channel.
func (s *Service) login(ctx context.Context, in chat.Incoming, me User) error {
	if s.signIn == nil {
		return in.Reply.Reply(ctx, chat.Message{Title: "resetbot resets with its own permission here, so there is nothing to sign in to.",
			Text: "Agent sign-in is needed only for users synchronised from on-premises AD (with password writeback) or in delegated-only mode; an admin turns it on."})
	}
	m, signedIn, err := s.signIn.Begin(ctx, in.Actor, me)
	if err != nil {
		s.log.Error("starting an agent sign-in failed", "actor", in.Actor.Key(), "err", err)
		return in.Reply.Reply(ctx, chat.Message{Title: "⚠️ I could not start your sign-in. Try again in a minute; if it repeats, ask an admin to check the logs."})
	}
	if err := s.TellActor(ctx, in.Actor, m); err != nil {
		s.log.Error("sending the sign-in message failed", "actor", in.Actor.Key(), "err", err)
		return in.Reply.Reply(ctx, chat.Message{Title: "⚠️ I could not DM you the sign-in, and I only send it privately. Open a direct message with me and try again."})
	}
	s.AuditSignIn(ctx, in.Actor, me.UPN, "started", "")
	if signedIn { // the demo's sandbox approves at once
		return in.Reply.Reply(ctx, chat.Message{Title: "✅ You are signed in as " + me.UPN + "; the details are in your DM."})
	}
	return in.Reply.Reply(ctx, chat.Message{Title: "🔑 I sent you " + s.signInSends() + " " + s.words(in.Actor.Platform).ByDM + ".",
		Text: "Sign in as " + me.UPN + "; it works once and only for you."})
}

// logout forgets the agent's tokens.
func (s *Service) logout(ctx context.Context, in chat.Incoming, me User) error {
	if s.signIn == nil {
		return in.Reply.Reply(ctx, chat.Message{Title: "You are not signed in: agent sign-in is not turned on for resetbot."})
	}
	had, err := s.signIn.SignOut(ctx, in.Actor)
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	if !had {
		return in.Reply.Reply(ctx, chat.Message{Title: "You were not signed in; nothing to forget."})
	}
	s.AuditSignIn(ctx, in.Actor, me.UPN, "signed_out", "")
	return in.Reply.Reply(ctx, chat.Message{Title: "👋 Signed out. resetbot no longer holds a token for you.",
		Text: "Resets that need your own sign-in will ask you to /resetpw login again."})
}

// listDecision is the policy's verdict for a row of a list. Lists are reset in Graph batches with
// the bot's own permission, so a target that must be reset as the agent (a synced user, or any user
// in delegated-only mode) is refused there and reset one at a time instead.
func (s *Service) listDecision(c Credential, me, target User) Decision {
	d := s.cfg.Policy.DecideFor(c, me, target)
	if c == CredentialAccessPass || d.Verdict == Deny || !s.cfg.Policy.ResetsAsAgent(target) {
		return d
	}
	return Decision{Verdict: Deny,
		Reason: target.Name() + "'s reset must run with your own sign-in, which lists do not use.",
		Remedy: "Reset them on their own: /resetpw " + target.UPN + "."}
}
