package bot

import (
	"context"
	"errors"

	"github.com/resetbot/resetbot/chat"
)

// Every record of the trail is built here, from the request and target it is about, so each carries
// the same request ID, platform, people and CSV line, and no record is written by hand.

// about is the record of an event of a request, by its requester, about one of its targets (nil for
// the request as a whole).
func about(req *Request, t *Target, ev AuditEvent, outcome, detail string) *AuditRecord {
	rec := &AuditRecord{RequestID: req.ID, Event: ev, Platform: req.Requester.Platform, ActorKey: req.Requester.Key(),
		ActorUPN: req.RequesterUPN, Outcome: outcome, Detail: detail}
	if ev == EventReset {
		// How the caller was verified goes with every reset, for the export and the digest.
		rec.Assurance = req.Caller.Assurance
		if rec.Assurance == "" {
			rec.Assurance = AssuranceNone
		}
	}
	if t != nil {
		rec.TargetID, rec.TargetUPN, rec.Line = t.ID, t.UPN, t.Line
		if rec.TargetUPN == "" {
			rec.TargetUPN = t.Ref
		}
	}
	return rec
}

// by is the record of something a person did (a click, a command refused before any request
// existed): they are its actor.
func by(actor chat.Actor, upn string, requestID string, ev AuditEvent, outcome, detail string) *AuditRecord {
	return &AuditRecord{RequestID: requestID, Event: ev, Platform: actor.Platform, ActorKey: actor.Key(), ActorUPN: upn,
		Outcome: outcome, Detail: detail}
}

// on sets the target of a record.
func (r *AuditRecord) on(t *Target) *AuditRecord {
	if t != nil {
		r.TargetID, r.TargetUPN, r.Line = t.ID, t.UPN, t.Line
		if r.TargetUPN == "" {
			r.TargetUPN = t.Ref
		}
	}
	return r
}

// graph adds Graph's request-id and the call's duration.
func (r *AuditRecord) graph(requestID string, ms int64) *AuditRecord {
	r.GraphRequestID, r.DurationMS = requestID, ms
	return r
}

// audit appends records in one transaction; the trail failing is logged loudly but does not undo
// what was already done.
func (s *Service) audit(ctx context.Context, recs ...*AuditRecord) {
	if len(recs) == 0 {
		return
	}
	now := s.now()
	for _, r := range recs {
		if r.At.IsZero() {
			r.At = now
		}
	}
	if err := s.store.AppendAudit(context.WithoutCancel(ctx), recs...); err != nil {
		s.log.Error("appending to the audit trail failed", "event", recs[0].Event, "request", recs[0].RequestID, "records", len(recs), "err", err)
	}
}

// lookupFailed records a directory lookup that failed (Graph down, throttled, refused): the
// command stops there, and the trail says so with Graph's request-id.
func (s *Service) lookupFailed(ctx context.Context, rec *AuditRecord, doing string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	de := asDirectoryError(err)
	rec.Event, rec.Outcome, rec.Detail, rec.GraphRequestID = EventRefused, "lookup_failed", "could not "+doing+": "+failureWords(de), de.RequestID
	s.audit(ctx, rec)
}
