package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/resetbot/resetbot/chat"
)

// The limits, counted in targets (a list of 40 counts 40, typed or from a file) and counted
// atomically with the check, so no burst of concurrent commands slips past them:
//   - an agent may ask for Config.RateLimit resets per Config.RateWindow; past it, refused;
//   - everyone together may ask for Config.TenantLimit per window; past it, new resets wait for an
//     approver from the audit readers, and the audit channels are told once;
//   - a list needs a second person when the targets its agent asked for within the window, the
//     list included, are more than Config.ListApprovalAbove.

// approverAuditReader is Request.ApproverRole when the tenant-wide brake holds a request: its
// approver must also be one who may read the audit trail.
const approverAuditReader = "audit_reader"

// reserve counts n resets asked by actor (n = 0 only reads the counts).
func (s *Service) reserve(ctx context.Context, actor chat.Actor, requestID string, n int) (QuotaUse, error) {
	now := s.now()
	return s.store.Reserve(ctx, QuotaAsk{ActorKey: actor.Key(), RequestID: requestID, N: n, At: now,
		Since: now.Add(-s.cfg.RateWindow), PerActor: s.cfg.RateLimit})
}

// applyLimits turns what the store counted into the decision: refused past the agent's limit, held
// for an audit reader past the tenant's. brake reports the latter.
func (s *Service) applyLimits(ctx context.Context, req *Request, use QuotaUse, n int, d Decision) (_ Decision, brake bool) {
	if s.cfg.RateLimit > 0 && !use.Counted {
		window := humanDuration(s.cfg.RateWindow)
		// Said once for the whole ask, with when it changes: the oldest counted reset leaves the
		// window then. A list larger than the limit never fits, whenever it is sent.
		var reason, frees string
		at := ""
		if !use.ActorOldest.IsZero() {
			at = s.clock(use.ActorOldest.Add(s.cfg.RateWindow))
		}
		switch {
		case n > s.cfg.RateLimit:
			reason = fmt.Sprintf("This list has %s, more than the %s you may ask for per %s.", count(n, "user"), count(s.cfg.RateLimit, "reset"), window)
		case n > 1:
			reason = fmt.Sprintf("This list has %s, and you may ask for %d more now (the limit is %d per %s).", count(n, "user"), max(s.cfg.RateLimit-use.Actor, 0), s.cfg.RateLimit, window)
			if at != "" {
				frees = "More frees up at " + at + ", when your oldest reset of the last " + window + " leaves the count."
			}
		default:
			reason = fmt.Sprintf("You have asked for %s in the last %s, and the limit is %d.", count(use.Actor, "reset"), window, s.cfg.RateLimit)
			if at != "" {
				frees = "You may ask again at " + at + ", when your oldest reset of the last " + window + " leaves the count."
			}
		}
		return Decision{Verdict: Deny, Reason: strings.TrimSpace(reason + " " + frees),
			Remedy: "Ask a colleague if it can't wait. A burst like this is reported to security." + listLimitHint(n)}, false
	}
	if s.cfg.TenantLimit > 0 && use.Tenant+n > s.cfg.TenantLimit {
		if use.Tenant <= s.cfg.TenantLimit { // this ask crosses the line: say so once
			s.alert(ctx, req, fmt.Sprintf("🚨 The tenant-wide brake is on: %s asked for in the last %s, more than the %d allowed. New resets wait for an approver who may read the audit trail.",
				count(use.Tenant+n, "reset"), humanDuration(s.cfg.RateWindow), s.cfg.TenantLimit))
		}
		return Decision{Verdict: NeedsApproval,
			Reason: fmt.Sprintf("Resets across the organisation have passed %d in the last %s, so this needs approval from security.", s.cfg.TenantLimit, humanDuration(s.cfg.RateWindow)),
			Remedy: "Someone who may read the audit trail and may reset them must approve it."}, true
	}
	return d, false
}

func listLimitHint(n int) string {
	if n <= 1 {
		return ""
	}
	return " For a list this large, ask the resetbot admin to raise RESETBOT_RATE_LIMIT for the day, or split it."
}

func listApprovalReason(before, n, above int, window time.Duration) string {
	if before == 0 {
		return fmt.Sprintf("a list of %s is more than %d", count(n, "user"), above)
	}
	return fmt.Sprintf("%s with the %d you asked for in the last %s is more than %d", count(n, "user"), before, humanDuration(window), above)
}

// alert tells the audit channels at once and records it in the trail.
func (s *Service) alert(ctx context.Context, req *Request, words string) {
	rec := &AuditRecord{Event: EventAlert, Outcome: "alert", Detail: words}
	if req != nil {
		rec = about(req, nil, EventAlert, "alert", words)
	}
	s.audit(ctx, rec)
	s.mu.RLock()
	posters := append([]chat.AuditPoster(nil), s.alerts...)
	s.mu.RUnlock()
	for _, p := range posters {
		if err := p.PostDigest(ctx, chat.Message{Title: words}, nil); err != nil {
			s.log.Error("posting an alert to an audit channel failed", "err", err)
		}
	}
}

// Seals. A request's seal covers who asked for whom; its go-ahead seal covers who let it run (the
// requester, for a reset that needs no approval, or the approver) and when. Both are made with
// RESETBOT_AUDIT_KEY, which the database never sees, and checked before any write: a row inserted
// or edited in the store fails them and resets nobody.

// goAheadLifetime is how long a go-ahead stands: a request whose approval or go-ahead is older than
// this starts no new write (a stale row replayed long after resets nobody).
const goAheadLifetime = 2 * time.Hour

func (s *Service) requestSeal(req *Request) string { return s.reqMAC.Sum(sealParts(req)...) }

// sealParts are what a request's seal covers: who asked, when, from where, and every target as found
// (a target refused when asked is covered too: the policy refuses it again at the moment of a write).
func sealParts(req *Request) []string {
	parts := []string{req.ID, req.Requester.Key(), strings.ToLower(req.RequesterID), req.Source,
		strconv.FormatInt(req.CreatedAt.UnixNano(), 10)}
	for _, t := range req.Targets {
		parts = append(parts, strconv.Itoa(t.N)+"="+strings.ToLower(t.ID))
	}
	if req.Caller.Credential == CredentialAccessPass {
		// What the request gives is part of what was asked: a password request edited into a pass
		// request in the store fails its seal.
		parts = append(parts, "credential="+string(req.Caller.Credential))
	}
	return parts
}

// goAheadSeal authenticates who let the request run ("go": its requester; "approved": an approver)
// and when (the seal's time is its last part, in the clear in the seal's text).
func (s *Service) goAheadSeal(req *Request, actor chat.Actor, objectID, how string) string {
	at := strconv.FormatInt(s.now().Unix(), 10)
	return at + "." + s.approvMAC.Sum(req.ID, how, actor.Key(), strings.ToLower(objectID), at)
}

// authorised checks a request's seals before a write: it returns "" or why the request may not run.
func (s *Service) authorised(req *Request) string {
	if req.Seal == "" || !s.reqMAC.Verify(req.Seal, sealParts(req)...) {
		return "its record in the store was not written by resetbot (its seal does not match)"
	}
	at, sum, ok := strings.Cut(req.ApprovalSeal, ".")
	if !ok {
		return "it has no go-ahead written by resetbot"
	}
	how, key, id := "go", req.Requester.Key(), req.RequesterID
	if req.ApproverID != "" {
		how, key, id = "approved", req.ApproverKey, req.ApproverID
	}
	if !s.approvMAC.Verify(sum, req.ID, how, key, strings.ToLower(id), at) {
		return "its go-ahead in the store was not written by resetbot (its seal does not match)"
	}
	secs, err := strconv.ParseInt(at, 10, 64)
	if err != nil || s.now().Sub(time.Unix(secs, 0)) > goAheadLifetime {
		return fmt.Sprintf("its go-ahead is more than %s old", humanDuration(goAheadLifetime))
	}
	return ""
}
