package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/resetbot/resetbot/chat"
)

// methods shows an agent the sign-in methods a user has registered, and which caller verifications
// can work for them, so the agent picks one the user can complete. Only someone who may reset the
// user (or give them a pass) sees it; phone numbers and addresses are masked by the directory.
func (s *Service) methods(ctx context.Context, in chat.Incoming, me User, ref string) error {
	target, err := s.dir.FindUser(ctx, ref)
	if KindOf(err) == ErrNotFound {
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("🔎 There is no user %s in Entra.", ref)})
	}
	if err != nil {
		s.lookupFailed(ctx, by(in.Actor, me.UPN, "", EventRefused, "", ""), "look up "+ref, err)
		return s.directoryTrouble(ctx, in, "look up "+ref, err)
	}
	d := s.cfg.Policy.Decide(me, target)
	if d.Verdict == Deny && s.cfg.Policy.DecideAccessPass(me, target).Verdict == Deny {
		s.audit(ctx, by(in.Actor, me.UPN, "", EventRefused, "not_permitted", "methods of a user they may not reset").on(&Target{ID: target.ID, UPN: target.UPN}))
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ Only someone who may reset " + target.Name() + " sees their sign-in methods. " + d.Reason, Text: d.Remedy})
	}
	ap, ok := s.dir.(AccessPasses)
	if !ok {
		return in.Reply.Reply(ctx, chat.Message{Title: "⚠️ This directory does not list sign-in methods."})
	}
	ms, err := ap.AuthenticationMethods(ctx, target.ID)
	if err != nil {
		s.lookupFailed(ctx, by(in.Actor, me.UPN, "", EventRefused, "", ""), "list "+target.UPN+"'s sign-in methods", err)
		return s.directoryTrouble(ctx, in, "list "+target.Name()+"'s sign-in methods", err)
	}
	var lines []string
	for _, m := range ms {
		line := "• " + methodName(m.Kind)
		if m.Detail != "" {
			line += " — " + m.Detail
		}
		if !m.Created.IsZero() {
			line += " (registered " + m.Created.In(s.cfg.Location).Format("2 Jan 2006") + ")"
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = append(lines, "• none registered")
	}
	var ways []string
	if acct, _, err := s.reach(ctx, in.Actor.Platform, target); err != nil {
		ways = append(ways, "Numbers in their chat: no ("+unreachableWords(target, err)+").")
	} else if !s.vouched(ctx, acct, target.ID) {
		ways = append(ways, "Numbers in their chat: no (their "+platformName(acct.Platform)+" account is not linked to Entra).")
	} else {
		ways = append(ways, "Numbers in their chat: yes, in "+platformName(acct.Platform)+" (`--verify chat`).")
	}
	if mgr, err := s.managerOf(ctx, &Request{RequesterID: me.ID}, target); err != nil {
		ways = append(ways, "Their manager: no ("+err.Error()+").")
	} else {
		ways = append(ways, "Their manager: "+mgr.Name()+" (`--verify manager`).")
	}
	s.audit(ctx, by(in.Actor, me.UPN, "", EventVerify, "methods_shown", fmt.Sprintf("%d sign-in methods listed", len(ms))).on(&Target{ID: target.ID, UPN: target.UPN}))
	return in.Reply.Reply(ctx, chat.Message{
		Title: fmt.Sprintf("📋 %s's sign-in methods", target.Name()),
		Text:  strings.Join(lines, "\n") + "\n\nTo check a caller is " + target.Name() + ":\n" + strings.Join(ways, "\n"),
	})
}

// methodName is how people call a kind of sign-in method.
func methodName(kind string) string {
	switch kind {
	case AuthPassword:
		return "Password"
	case AuthPhone:
		return "Phone"
	case AuthEmail:
		return "Email"
	case AuthAuthenticator:
		return "Microsoft Authenticator"
	case AuthFIDO2:
		return "Security key or passkey"
	case AuthWindowsHello:
		return "Windows Hello for Business"
	case AuthPlatformCredential:
		return "Platform credential"
	case AuthSoftwareOATH:
		return "Authenticator app code (OATH)"
	case AuthAccessPass:
		return "Temporary Access Pass"
	}
	return "Other method"
}
