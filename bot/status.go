package bot

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/resetbot/resetbot/chat"
)

// status shows a request to its requester, to the audit readers, or (for one target) to someone
// entitled to reset that target. A list's answer carries its results, line by line, as a file where
// the platform takes files: no passwords, ever.
func (s *Service) status(ctx context.Context, in chat.Incoming, me User, id string) error {
	req, err := s.store.GetRequest(ctx, id)
	if errors.Is(err, ErrNoSuchRequest) {
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("🔎 There is no request %s.", id)})
	}
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	if !strings.EqualFold(req.RequesterID, me.ID) && s.cfg.Policy.MayReadAudit(me).Verdict != Allow {
		t := single(req)
		if t == nil || t.ID == "" {
			return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⛔ %s is not yours; only its requester and those who may read the audit trail can see it.", id)})
		}
		target, err := s.dir.FindUser(ctx, t.ID)
		if err != nil {
			return s.directoryTrouble(ctx, in, "look up "+t.UPN, err)
		}
		if ok, _ := CanReset(me, target); !ok {
			return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⛔ Request %s is not yours, and you may not reset its target.", id)})
		}
	}
	if t := single(req); t != nil && req.Source == "" {
		m := chat.Message{Title: fmt.Sprintf("Request %s: %s", req.ID, stateWords(req.State)), Fields: []chat.Field{
			{Label: "Target", Value: firstNonEmpty(t.Name, t.Ref) + " · " + firstNonEmpty(t.UPN, t.Ref)},
			{Label: "Requested by", Value: req.RequesterName + " at " + s.clockFor(in.Actor, req.CreatedAt)},
		}}
		if req.ApprovalReason != "" {
			m.Fields = append(m.Fields, chat.Field{Label: "Why approval", Value: req.ApprovalReason})
		}
		if req.ApproverName != "" {
			m.Fields = append(m.Fields, chat.Field{Label: "Decided by", Value: req.ApproverName})
		}
		if req.Outcome != "" {
			m.Fields = append(m.Fields, chat.Field{Label: "Outcome", Value: req.Outcome})
		}
		return in.Reply.Reply(ctx, m)
	}
	c := req.Count()
	m := chat.Message{Title: fmt.Sprintf("List %s (%s): %s", req.ID, listName(req), stateWords(req.State)), Fields: []chat.Field{
		{Label: "Requested by", Value: req.RequesterName + " at " + s.clockFor(in.Actor, req.CreatedAt)},
		{Label: "Rows", Value: fmt.Sprintf("%d reset · %d failed · %d not known · %d refused · %d still to do",
			c[StepDelivered]+c[StepUndelivered]+c[StepSet]+c[StepRevoked], c[StepFailed], c[StepUnknown], c[StepRefused], c[StepQueued]+c[StepSetting])},
	}}
	if req.ApproverName != "" {
		m.Fields = append(m.Fields, chat.Field{Label: "Decided by", Value: req.ApproverName})
	}
	var notReset []string
	for _, t := range req.Targets {
		if t.Step == StepRefused || t.Step == StepFailed || t.Step == StepUnknown {
			notReset = append(notReset, whereNamed(t)+" "+firstNonEmpty(t.UPN, t.Ref)+": "+t.Outcome)
		}
	}
	if len(notReset) > 0 {
		m.Text = "*Not reset:*\n" + listSome(notReset)
	}
	f := s.resultsFile(req)
	if pc, err := s.chat(in.Actor.Platform); err == nil {
		if fs, ok := pc.(chat.FileSender); ok {
			if err := fs.DMFile(ctx, in.Actor, chat.Message{Title: "📄 The results of " + listName(req) + ", line by line (no passwords)"}, f); err == nil {
				m.Footer = "The results file, line by line, is in your direct messages."
			} else {
				s.log.Error("sending a list's results file failed", "request", req.ID, "err", err)
			}
		}
	}
	return in.Reply.Reply(ctx, m)
}

// resultsFile is a list's results, one row per line of the list: line, user, outcome, reason. It
// never holds a password: it is built from the store, which never holds one in clear.
func (s *Service) resultsFile(req *Request) *chat.Attachment {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"Line", "UserPrincipalName", "Outcome", "Detail", "Reason"})
	for _, t := range req.Targets {
		line := ""
		if t.Line > 0 {
			line = strconv.Itoa(t.Line)
		}
		_ = w.Write([]string{line, CSVSafe(firstNonEmpty(t.UPN, t.Ref)), resultWord(t.Step), CSVSafe(t.Outcome), CSVSafe(t.Reason)})
	}
	w.Flush()
	data := b.String()
	return &chat.Attachment{Name: "resetbot-results-" + req.ID + ".csv", Title: "Results of " + listName(req), Size: int64(len(data)),
		Open:  func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(data)), nil },
		Again: command(s.words(req.Requester.Platform), "status "+req.ID)}
}

// resultWord is a target's step as the results file says it.
func resultWord(s Step) string {
	switch s {
	case StepDelivered:
		return "reset"
	case StepUndelivered:
		return "reset, password not delivered"
	case StepSet, StepRevoked, StepSetting, StepQueued:
		return "in progress"
	}
	return string(s)
}
