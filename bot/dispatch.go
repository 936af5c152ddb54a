package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/chat"
)

// Handle is the service's one door: every adapter hands it everything a person says, clicks or sends.
// It answers the person through in.Reply and never returns their mistakes as errors; the error is
// for failures the adapter should log.
func (s *Service) Handle(ctx context.Context, in chat.Incoming) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	// Whatever decides this command is read from Entra after it arrived, never from a cache older.
	ctx = FreshAfter(ctx, time.Now())
	s.obs.Command(in.Actor.Platform)
	in.Reply = s.privately(in)
	if in.IdempotencyKey != "" {
		fresh, err := s.store.Claim(ctx, in.IdempotencyKey, s.now())
		if err != nil {
			return s.unavailable(ctx, in, err)
		}
		if !fresh {
			s.log.Info("duplicate delivery ignored", "key", in.IdempotencyKey, "actor", in.Actor.Key())
			return nil
		}
	}
	cmd, err := ParseCommand(in.Text)
	if in.File != nil {
		switch {
		case err != nil || cmd.Kind == CmdHelp || cmd.Kind == CmdBulk:
			// A file is a list whatever words come with it ("resetpw bulk", nothing, a greeting);
			// only --reason is read from them.
			cmd, err = Command{Kind: CmdBulk, Reason: cmd.Reason}, nil
		default:
			return in.Reply.Reply(ctx, chat.Message{Title: "🤔 I read a file only as a list of users to reset: send it with `" + command(s.words(in.Actor.Platform), "bulk") + "`.",
				Text: "Nothing was done."})
		}
	}
	if err != nil {
		var ue *UsageError
		if errors.As(err, &ue) {
			// The text is not kept: a password pasted by mistake must not reach the trail.
			s.audit(ctx, by(in.Actor, "", "", EventRefused, "bad_input", "the command was not understood; nothing was done"))
			return in.Reply.Reply(ctx, chat.Message{Title: "🤔 " + ue.Msg, Footer: "Type " + command(s.words(in.Actor.Platform), "help") + " for the commands."})
		}
		return err
	}
	if cmd.Kind == CmdHelp {
		return in.Reply.Reply(ctx, helpMessage(s.words(in.Actor.Platform)))
	}
	if cmd.Kind == CmdBulk && in.File == nil {
		return in.Reply.Reply(ctx, bulkHowTo(s.words(in.Actor.Platform)))
	}
	var rows []UserRow
	var problems []RowProblem
	if cmd.Kind == CmdBulk {
		// The file is read before anyone is looked up: a file that is no list costs nothing.
		if rows, problems, err = ParseUserCSV(bytes.NewReader(in.File.Data), s.cfg.MaxListRows); err != nil {
			s.audit(ctx, by(in.Actor, "", "", EventRefused, "bad_input", "a list file was refused: "+err.Error()))
			return in.Reply.Reply(ctx, chat.Message{Title: "⚠️ I can't use " + clip(in.File.Name) + ": " + err.Error() + ".",
				Text: "Nothing was reset. " + listFormatHelp})
		}
	}
	switch cmd.Kind {
	case CmdPick:
		// Answered by the chat account the numbers went to, whoever Entra says it is: see pick.
		return s.pick(ctx, in, cmd)
	case CmdWasntMe:
		return s.wasntMe(ctx, in, cmd)
	}
	me, err := s.resolveActor(ctx, in)
	if err != nil || me == nil {
		return err
	}
	switch cmd.Kind {
	case CmdWhoami:
		return in.Reply.Reply(ctx, s.whoami(*me))
	case CmdLogin:
		return s.login(ctx, in, *me)
	case CmdLogout:
		return s.logout(ctx, in, *me)
	case CmdStatus:
		return s.status(ctx, in, *me, cmd.RequestID)
	case CmdApprove, CmdDeny:
		return s.decide(ctx, in, *me, cmd)
	case CmdBulkRun, CmdBulkCancel:
		return s.goAhead(ctx, in, *me, cmd)
	case CmdAudit:
		return s.auditSummary(ctx, in, *me, cmd)
	case CmdBulk:
		return s.askList(ctx, in, *me, in.File.Name, cmd.Reason, s.credential(cmd), rows, problems)
	case CmdReset:
		return s.askTyped(ctx, in, *me, cmd)
	case CmdMethods:
		return s.methods(ctx, in, *me, cmd.Targets[0])
	case CmdVerify:
		return s.verify(ctx, in, *me, cmd)
	case CmdConfirm, CmdDispute:
		return s.vouch(ctx, in, *me, cmd)
	}
	return nil
}

// privately is where answers go. In a conversation others read (a channel, a group chat), an answer
// meant for one person goes to their direct messages, with one pointer in the conversation, so
// nobody else reads who reset whom and why.
func (s *Service) privately(in chat.Incoming) chat.Replier {
	if !in.Shared || in.Reply == nil {
		return in.Reply
	}
	return &privateReplier{s: s, in: in}
}

// privateReplier answers in the person's direct messages, pointing there once from the shared
// conversation; its answers can be revised in place (chat.Reviser) as the DM can be updated.
type privateReplier struct {
	s  *Service
	in chat.Incoming

	mu      sync.Mutex
	pointed bool
}

func (p *privateReplier) Reply(ctx context.Context, m chat.Message) error {
	_, err := p.ReplyRevisable(ctx, m)
	return err
}

// ReplyRevisable implements chat.Reviser.
func (p *privateReplier) ReplyRevisable(ctx context.Context, m chat.Message) (func(context.Context, chat.Message) error, error) {
	pc, err := p.s.chat(p.in.Actor.Platform)
	var ref chat.MessageRef
	if err == nil {
		m.Secret = chat.Secret{} // a reply never carries a secret, even redirected to a DM
		ref, err = pc.DM(ctx, p.in.Actor, m)
	}
	if err != nil {
		return nil, p.in.Reply.Reply(ctx, chat.Message{Title: "⚠️ I answer this only in our 1:1 chat, and I could not write to you there. Open a chat with me and ask again."})
	}
	p.mu.Lock()
	first := !p.pointed
	p.pointed = true
	p.mu.Unlock()
	if first {
		err = p.in.Reply.Reply(ctx, chat.Message{Title: "📬 I answered you in our 1:1 chat."})
	}
	return func(ctx context.Context, m chat.Message) error {
		m.Secret = chat.Secret{}
		return pc.Update(ctx, ref, m)
	}, err
}

// resolveActor maps the chat identity to an Entra user. A nil user with a nil error means the person
// was told why not.
func (s *Service) resolveActor(ctx context.Context, in chat.Incoming) (*User, error) {
	ref := in.Actor.DirectoryRef()
	refused := func(outcome string, graphRequestID string) {
		r := by(in.Actor, ref, "", EventRefused, outcome, "the requester could not be matched to an enabled Entra user")
		r.GraphRequestID = graphRequestID
		s.audit(ctx, r)
	}
	if ref == "" {
		refused("unknown_actor", "")
		return nil, in.Reply.Reply(ctx, chat.Message{Title: "⛔ I can't tell who you are in Entra.",
			Text: "Your chat profile has no email address I can match to a directory user. Ask your chat admin to show email addresses to apps, or use Teams."})
	}
	u, err := s.dir.FindUser(ctx, ref)
	if KindOf(err) == ErrNotFound {
		refused("unknown_actor", asDirectoryError(err).RequestID)
		return nil, in.Reply.Reply(ctx, chat.Message{Title: "⛔ I can't find you in Entra.",
			Text: fmt.Sprintf("No directory user matches %s, the address your chat profile gives. Ask an admin to make your chat email match your UPN.", ref)})
	}
	if err != nil {
		s.lookupFailed(ctx, by(in.Actor, ref, "", EventRefused, "", ""), "look up the requester", err)
		return nil, s.directoryTrouble(ctx, in, "look you up", err)
	}
	if !u.Enabled {
		refused("actor_disabled", "")
		if _, err := s.store.DeleteLink(ctx, in.Actor.Key()); err != nil {
			s.log.Error("dropping a disabled person's link failed", "actor", in.Actor.Key(), "err", err)
		}
		return nil, in.Reply.Reply(ctx, chat.Message{Title: "⛔ Your own account is disabled in Entra, so I won't act for it."})
	}
	if ok, err := s.linked(ctx, in, u); err != nil || !ok {
		return nil, err
	}
	return &u, nil
}

// linked checks, on a platform that does not vouch for a person's Entra identity, that this chat
// account was linked to this Entra account by a sign-in, and not too long ago. When it was not, the
// person is sent a sign-in by DM and nothing else happens: ok is false.
func (s *Service) linked(ctx context.Context, in chat.Incoming, me User) (ok bool, err error) {
	if in.Actor.ObjectID != "" || !slices.Contains(s.cfg.LinkedIdentity, in.Actor.Platform) {
		return true, nil
	}
	l, found, err := s.store.GetLink(ctx, in.Actor.Key())
	if err != nil {
		return false, s.unavailable(ctx, in, err)
	}
	why := ""
	switch {
	case !found:
		why = "this chat account is not linked to an Entra account yet"
	case !strings.EqualFold(l.ObjectID, me.ID):
		why = "this chat account was linked to another Entra account than the one its email now names"
	case s.now().Sub(l.VerifiedAt) > s.cfg.LinkLifetime:
		why = "the link of this chat account to Entra is more than " + humanDuration(s.cfg.LinkLifetime) + " old"
	default:
		return true, nil
	}
	s.audit(ctx, by(in.Actor, me.UPN, "", EventRefused, "not_linked", why+"; a sign-in was offered"))
	if s.signIn == nil {
		return false, in.Reply.Reply(ctx, chat.Message{Title: "⛔ I act for people in " + string(in.Actor.Platform) + " only once they have signed in to Entra here, and sign-in is not set up.",
			Text: "Ask the admin who runs resetbot to set up agent sign-in (see the README, \"Verified chat identity\")."})
	}
	m, signedIn, err := s.signIn.Begin(ctx, in.Actor, me)
	if err != nil {
		s.log.Error("starting a link sign-in failed", "actor", in.Actor.Key(), "err", err)
		return false, in.Reply.Reply(ctx, chat.Message{Title: "⚠️ I could not start your sign-in. Try again in a minute."})
	}
	if err := s.TellActor(ctx, in.Actor, m); err != nil {
		return false, in.Reply.Reply(ctx, chat.Message{Title: "⚠️ I could not DM you the sign-in, and I send it only privately. Open a direct message with me and try again."})
	}
	if signedIn {
		// A sandbox that approves at once: the link is made; the command goes on.
		if l, found, err := s.store.GetLink(ctx, in.Actor.Key()); err == nil && found && strings.EqualFold(l.ObjectID, me.ID) {
			return true, nil
		}
	}
	return false, in.Reply.Reply(ctx, chat.Message{Title: "🔗 Before I act for you here, link your chat account to Entra: I sent you a sign-in by direct message.",
		Text: "Sign in as " + me.UPN + ", then ask again. Nothing was done. (This happens once, and again every " + humanDuration(s.cfg.LinkLifetime) + ".)"})
}

// Link records that a chat account's owner signed in to Entra as objectID: the sign-in package calls
// it when a sign-in started for that account completes as the expected person.
func (s *Service) Link(ctx context.Context, actor chat.Actor, objectID, upn string) {
	now := s.now()
	l, found, err := s.store.GetLink(ctx, actor.Key())
	if err != nil {
		s.log.Error("reading a link failed", "actor", actor.Key(), "err", err)
	}
	linkedAt := now
	if found && strings.EqualFold(l.ObjectID, objectID) {
		linkedAt = l.LinkedAt
	}
	if err := s.store.PutLink(ctx, IdentityLink{ActorKey: actor.Key(), ObjectID: objectID, LinkedAt: linkedAt, VerifiedAt: now}); err != nil {
		s.log.Error("keeping a link failed", "actor", actor.Key(), "err", err)
		return
	}
	s.audit(ctx, by(actor, upn, "", EventSignIn, "linked", "the chat account is linked to this Entra account until "+now.Add(s.cfg.LinkLifetime).UTC().Format("2006-01-02")))
}

// directoryTrouble tells the person Graph failed, with the classified remedy.
func (s *Service) directoryTrouble(ctx context.Context, in chat.Incoming, doing string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	de := asDirectoryError(err)
	s.log.Error("directory call failed", "doing", doing, "kind", de.Kind, "code", de.Code, "graph_request_id", de.RequestID)
	return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⚠️ I could not %s: %s", doing, failureWords(de)), Text: de.Remedy})
}

// unavailable answers when the store fails: nothing half-done, try again later.
func (s *Service) unavailable(ctx context.Context, in chat.Incoming, err error) error {
	s.log.Error("store unavailable", "err", err)
	_ = in.Reply.Reply(ctx, chat.Message{Title: "⚠️ " + s.words(in.Actor.Platform).App + " is temporarily unavailable; nothing was changed. Try again in a minute."})
	return err
}
