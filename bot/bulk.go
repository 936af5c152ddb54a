package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/chat"
)

// A list of users (a CSV sent to the bot) is checked in full first and shown as a preview: how many
// can be reset, how many need approval, how many are refused and why. Nothing happens until the
// requester presses "Reset the N". The preview is held in memory: nothing has been done yet, so a
// restart only means sending the file again.

// MaxBulkRows is the most users one list may name unless configured otherwise.
const MaxBulkRows = 5000

// MaxListRows is the configured most users one list may name: adapters pass it to ParseUserCSV.
func (s *Service) MaxListRows() int { return s.cfg.MaxListRows }

// bulkPreviewTTL is how long a preview waits for its go-ahead.
const bulkPreviewTTL = 15 * time.Minute

// bulkConcurrency bounds the directory calls a list makes at once.
const bulkConcurrency = 8

// resultsPerDM keeps each results message well inside chat message size limits.
const resultsPerDM = 100

type bulkPreview struct {
	id        string
	requester chat.Actor
	filename  string
	allowed   []bulkTarget
	expires   time.Time
}

type bulkTarget struct {
	user   User
	reason string
}

type bulkPreviews struct {
	mu sync.Mutex
	m  map[string]*bulkPreview
}

// take removes and returns a preview, so a double click runs it once.
func (b *bulkPreviews) take(id string) *bulkPreview {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.m[id]
	delete(b.m, id)
	return p
}

func (b *bulkPreviews) put(p *bulkPreview, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]*bulkPreview{}
	}
	for id, old := range b.m { // forget stale previews as new ones arrive
		if now.After(old.expires) {
			delete(b.m, id)
		}
	}
	b.m[p.id] = p
}

type rowVerdict struct {
	row    UserRow
	user   User
	d      Decision
	failed string // lookup failure, in plain words
}

// HandleBulk checks a list of users and shows the requester a preview with a button to go ahead.
// problems are rows the parser already refused; they are reported with the rest.
func (s *Service) HandleBulk(ctx context.Context, in chat.Incoming, filename string, rows []UserRow, problems []RowProblem) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	s.obs.Command(in.Actor.Platform)
	if in.IdempotencyKey != "" {
		fresh, err := s.store.Claim(ctx, in.IdempotencyKey, s.now())
		if err != nil {
			return s.unavailable(ctx, in, err)
		}
		if !fresh {
			return nil
		}
	}
	me, err := s.resolveActor(ctx, in)
	if err != nil || me == nil {
		return err
	}
	verdicts := make([]rowVerdict, len(rows))
	sem := make(chan struct{}, bulkConcurrency)
	var wg sync.WaitGroup
	for i, row := range rows {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			v := rowVerdict{row: row}
			u, err := s.dir.FindUser(ctx, row.UPN)
			switch {
			case KindOf(err) == ErrNotFound:
				v.failed = "no such user in Entra"
			case err != nil:
				v.failed = "could not be looked up: " + resetFailureWords(asDirectoryError(err))
			default:
				v.user, v.d = u, s.listDecision(*me, u)
			}
			verdicts[i] = v
		}()
	}
	wg.Wait()

	p := &bulkPreview{id: newID("B-"), requester: in.Actor, filename: filename, expires: s.now().Add(bulkPreviewTTL)}
	var approval, refused []string
	var refusedRows []RowProblem
	for _, v := range verdicts {
		switch {
		case v.failed != "":
			refusedRows = append(refusedRows, RowProblem{Line: v.row.Line, Value: v.row.UPN, Problem: v.failed})
		case v.d.Verdict == Allow:
			reason := v.row.Reason
			if reason == "" {
				reason = "bulk list " + filename
			}
			p.allowed = append(p.allowed, bulkTarget{user: v.user, reason: reason})
		case v.d.Verdict == NeedsApproval:
			approval = append(approval, fmt.Sprintf("line %d %s: %s", v.row.Line, v.row.UPN, v.d.Reason))
		default:
			refusedRows = append(refusedRows, RowProblem{Line: v.row.Line, Value: v.row.UPN, Problem: v.d.Reason})
		}
	}
	refusedRows = append(refusedRows, problems...)
	slices.SortFunc(refusedRows, func(a, b RowProblem) int { return a.Line - b.Line })
	for _, pr := range refusedRows {
		refused = append(refused, fmt.Sprintf("line %d %s: %s", pr.Line, pr.Value, pr.Problem))
	}
	s.audit(ctx, &AuditRecord{RequestID: p.id, Event: EventRequested, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
		ActorUPN: me.UPN, Outcome: "bulk_preview",
		Detail: fmt.Sprintf("%s: %d rows, %d allowed, %d need approval, %d refused", filename, len(rows)+len(problems), len(p.allowed), len(approval), len(refused))})

	m := chat.Message{
		Title: fmt.Sprintf("📋 %s: %d rows → %d can be reset, %d need approval, %d refused", filename,
			len(rows)+len(problems), len(p.allowed), len(approval), len(refused)),
		Footer: fmt.Sprintf("List %s · the offer stands until %s", p.id, s.clock(p.expires)),
	}
	var body []string
	if len(approval) > 0 {
		body = append(body, "*Need approval* (not part of this run; ask for each with /resetpw so a second person can approve):\n"+listSome(approval))
	}
	if len(refused) > 0 {
		body = append(body, "*Refused:*\n"+listSome(refused))
	}
	m.Text = strings.Join(body, "\n")
	if len(p.allowed) > 0 {
		s.bulk.put(p, s.now())
		run := chat.Button{Label: fmt.Sprintf("Reset the %d", len(p.allowed)), Action: chat.ActionRun, RequestID: p.id, Primary: true,
			Confirm: fmt.Sprintf("Reset %d passwords now? The temporary passwords come to you by DM.", len(p.allowed))}
		if s.listNeedsApproval(p) {
			run.Label, run.Confirm = fmt.Sprintf("Ask approval for the %d", len(p.allowed)), ""
			m.Text = strings.TrimSpace(m.Text + fmt.Sprintf("\nA list of more than %d users needs a second person's approval.", s.cfg.ListApprovalAbove))
		}
		m.Buttons = []chat.Button{run, {Label: "Cancel", Action: chat.ActionCancel, RequestID: p.id}}
	}
	return in.Reply.Reply(ctx, m)
}

func listSome(lines []string) string {
	const most = 15
	if len(lines) <= most {
		return "• " + strings.Join(lines, "\n• ")
	}
	return "• " + strings.Join(lines[:most], "\n• ") + fmt.Sprintf("\n… and %d more", len(lines)-most)
}

// runBulk starts or cancels a previewed list for the person who sent it.
func (s *Service) runBulk(ctx context.Context, in chat.Incoming, me User, cmd Command) error {
	p := s.bulk.take(cmd.RequestID)
	if p != nil && p.requester.Key() != in.Actor.Key() {
		s.bulk.put(p, s.now()) // not theirs: put it back untouched
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ Only the person who sent the list can start or cancel it."})
	}
	if p == nil || s.now().After(p.expires) {
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("List %s is no longer waiting (already run, cancelled or expired). Send the file again.", cmd.RequestID)})
	}
	if cmd.Kind == CmdBulkCancel {
		s.audit(ctx, &AuditRecord{RequestID: p.id, Event: EventRefused, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
			ActorUPN: me.UPN, Outcome: "bulk_cancelled"})
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("Cancelled list %s; nothing was reset.", p.id)})
	}
	if !s.listNeedsApproval(p) {
		_ = in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⏳ Resetting %d users from %s; progress and results come by DM.", len(p.allowed), p.filename)})
	}
	if s.listNeedsApproval(p) {
		return s.askListApproval(ctx, in, me, p)
	}
	return s.startBatch(ctx, in, me, p)
}

func (s *Service) listNeedsApproval(p *bulkPreview) bool {
	return s.cfg.ListApprovalAbove > 0 && len(p.allowed) > s.cfg.ListApprovalAbove
}
