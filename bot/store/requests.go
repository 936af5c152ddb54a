package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

const requestColumns = `id, state, requester_key,
	requester_chat_platform, requester_chat_tenant, requester_chat_user_id, requester_chat_object_id,
	requester_chat_email, requester_chat_name, requester_id, requester_upn, requester_name, requester_roles,
	target_id, target_upn, target_name, target_roles, reason, approval_reason, approver_key, approver_upn,
	approver_name, outcome, created_at, updated_at, expires_at, card, batch_id`

func (s *sqlStore) CreateRequest(ctx context.Context, r *bot.Request) error {
	a := r.Requester
	_, err := s.exec(ctx, `INSERT INTO requests (`+requestColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, string(r.State), a.Key(),
		string(a.Platform), a.Tenant, a.UserID, a.ObjectID, a.Email, a.Name,
		r.RequesterID, r.RequesterUPN, r.RequesterName, jsonText(nonNil(r.RequesterRoles)),
		r.TargetID, r.TargetUPN, r.TargetName, jsonText(nonNil(r.TargetRoles)), r.Reason, r.ApprovalReason,
		r.ApproverKey, r.ApproverUPN, r.ApproverName, r.Outcome,
		nanos(r.CreatedAt), nanos(r.UpdatedAt), nanos(r.ExpiresAt), jsonText(r.Card), r.BatchID)
	if err != nil {
		return fmt.Errorf("saving request %s: %w", r.ID, err)
	}
	return nil
}

// nonNil stores "no roles" as [] rather than null, so SQL reading the column sees one shape.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// scanRequest reads one row of requestColumns.
func scanRequest(row scanner) (*bot.Request, error) {
	var (
		r                          bot.Request
		state, requesterKey, chatP string
		reqRoles, tgtRoles, card   string
		created, updated, expires  int64
	)
	err := row.Scan(&r.ID, &state, &requesterKey,
		&chatP, &r.Requester.Tenant, &r.Requester.UserID, &r.Requester.ObjectID, &r.Requester.Email, &r.Requester.Name,
		&r.RequesterID, &r.RequesterUPN, &r.RequesterName, &reqRoles,
		&r.TargetID, &r.TargetUPN, &r.TargetName, &tgtRoles, &r.Reason, &r.ApprovalReason,
		&r.ApproverKey, &r.ApproverUPN, &r.ApproverName, &r.Outcome,
		&created, &updated, &expires, &card, &r.BatchID)
	if err != nil {
		return nil, err
	}
	r.State, r.Requester.Platform = bot.State(state), chat.Platform(chatP)
	r.CreatedAt, r.UpdatedAt, r.ExpiresAt = fromNanos(created), fromNanos(updated), fromNanos(expires)
	for _, f := range []struct {
		text string
		into any
	}{{reqRoles, &r.RequesterRoles}, {tgtRoles, &r.TargetRoles}, {card, &r.Card}} {
		if err := json.Unmarshal([]byte(f.text), f.into); err != nil {
			return nil, fmt.Errorf("request %s is damaged in the store: %w", r.ID, err)
		}
	}
	// Callers compare with nil for "no roles"; [] in the column means the same.
	if len(r.RequesterRoles) == 0 {
		r.RequesterRoles = nil
	}
	if len(r.TargetRoles) == 0 {
		r.TargetRoles = nil
	}
	return &r, nil
}

func (s *sqlStore) GetRequest(ctx context.Context, id string) (*bot.Request, error) {
	r, err := queryOne(ctx, s, s.read, scanRequest, `SELECT `+requestColumns+` FROM requests WHERE id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bot.ErrNoSuchRequest
	}
	if err != nil {
		return nil, fmt.Errorf("reading request %s: %w", id, err)
	}
	return r, nil
}

// Transition is one conditional UPDATE: the database, not the caller, decides which of two racing
// writers (goroutines, processes or replicas) wins. The second waits for the first's lock (SQLite's
// write lock, PostgreSQL's row lock), then finds the state no longer matches and touches nothing.
// Empty change fields leave what is there.
func (s *sqlStore) Transition(ctx context.Context, id string, from, to bot.State, ch bot.Change, at time.Time) (bool, error) {
	set := []string{"state = ?", "updated_at = ?"}
	args := []any{string(to), nanos(at)}
	for _, f := range []struct{ col, val string }{
		{"approver_key", ch.ApproverKey}, {"approver_upn", ch.ApproverUPN}, {"approver_name", ch.ApproverName}, {"outcome", ch.Outcome},
	} {
		if f.val != "" {
			set = append(set, f.col+" = ?")
			args = append(args, f.val)
		}
	}
	if ch.Card != nil {
		set = append(set, "card = ?")
		args = append(args, jsonText(*ch.Card))
	}
	args = append(args, id, string(from))
	ok, err := s.exec(ctx, `UPDATE requests SET `+strings.Join(set, ", ")+` WHERE id = ? AND state = ?`, args...)
	if err != nil {
		return false, fmt.Errorf("moving request %s from %s to %s: %w", id, from, to, err)
	}
	return ok, nil
}

// ExpiredPending counts a deadline equal to now as passed, as the service does when a click arrives.
func (s *sqlStore) ExpiredPending(ctx context.Context, now time.Time) ([]*bot.Request, error) {
	out, err := queryAll(ctx, s, scanRequest, `SELECT `+requestColumns+` FROM requests
		WHERE state = ? AND expires_at > 0 AND expires_at <= ? ORDER BY expires_at, id`, string(bot.StatePending), nanos(now))
	if err != nil {
		return nil, fmt.Errorf("listing expired approvals: %w", err)
	}
	return out, nil
}

func (s *sqlStore) BatchRequests(ctx context.Context, batchID string) ([]*bot.Request, error) {
	out, err := queryAll(ctx, s, scanRequest, `SELECT `+requestColumns+` FROM requests WHERE batch_id = ? ORDER BY created_at, id`, batchID)
	if err != nil {
		return nil, fmt.Errorf("listing the requests of %s: %w", batchID, err)
	}
	return out, nil
}

func (s *sqlStore) UnfinishedBatches(ctx context.Context) ([]string, error) {
	ids, err := queryAll(ctx, s, scanValue[string],
		`SELECT DISTINCT batch_id FROM requests WHERE batch_id <> '' AND state IN (?, ?) ORDER BY batch_id`,
		string(bot.StateApproved), string(bot.StateResetting))
	if err != nil {
		return nil, fmt.Errorf("listing interrupted lists: %w", err)
	}
	return ids, nil
}

func (s *sqlStore) CountRequests(ctx context.Context, requesterKey string, since time.Time) (int, error) {
	n, err := queryOne(ctx, s, s.read, scanValue[int],
		`SELECT COUNT(*) FROM requests WHERE requester_key = ? AND created_at >= ?`, requesterKey, nanos(since))
	if err != nil {
		return 0, fmt.Errorf("counting requests: %w", err)
	}
	return n, nil
}
