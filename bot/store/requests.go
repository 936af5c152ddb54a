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

const requestColumns = `id, state, source, requester_key,
	requester_chat_platform, requester_chat_tenant, requester_chat_user_id, requester_chat_object_id,
	requester_chat_email, requester_chat_name, requester_id, requester_upn, requester_name, requester_roles,
	reason, approval_reason, approver_role, approver_key, approver_id, approver_upn, approver_name, outcome,
	created_at, updated_at, expires_at, card, progress, seal, approval_seal, lease_owner, lease_until, caller,
	requester_chat_time_zone`

const targetColumns = `n, line, ref, target_id, upn, name, roles, reason, step, outcome, sealed, sent_at,
	changed_before, sends, revoke, graph_request_id, updated_at, notice_state, notice`

// CreateRequest writes the request and its targets in one transaction: a request is never seen
// without all its targets.
func (s *sqlStore) CreateRequest(ctx context.Context, r *bot.Request) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a := r.Requester
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO requests (`+requestColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			r.ID, string(r.State), r.Source, a.Key(),
			string(a.Platform), a.Tenant, a.UserID, a.ObjectID, a.Email, a.Name,
			r.RequesterID, r.RequesterUPN, r.RequesterName, jsonText(nonNil(r.RequesterRoles)),
			r.Reason, r.ApprovalReason, r.ApproverRole, r.ApproverKey, r.ApproverID, r.ApproverUPN, r.ApproverName, r.Outcome,
			nanos(r.CreatedAt), nanos(r.UpdatedAt), nanos(r.ExpiresAt), jsonText(r.Card), jsonText(r.Progress),
			r.Seal, r.ApprovalSeal, r.LeaseOwner, nanos(r.LeaseUntil), jsonText(r.Caller), a.TimeZone); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, s.d.rebind(`INSERT INTO request_targets (request_id, `+targetColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, t := range r.Targets {
			if _, err := stmt.ExecContext(ctx, r.ID, t.N, t.Line, t.Ref, t.ID, t.UPN, t.Name, jsonText(nonNil(t.Roles)), t.Reason,
				string(t.Step), t.Outcome, t.Sealed, nanos(t.AttemptAt), nanos(t.PasswordChangedBefore), t.Attempts, t.Revoke,
				t.GraphRequestID, nanos(r.CreatedAt), t.Notice.State, jsonText(t.Notice)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("saving request %s: %w", r.ID, err)
	}
	return nil
}

// inTx runs fn in one transaction on the write pool, bounded by opTimeout.
func (s *sqlStore) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
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
		r                                bot.Request
		state, requesterKey, chatP       string
		reqRoles, card, progress, caller string
		created, updated, expires, lease int64
	)
	err := row.Scan(&r.ID, &state, &r.Source, &requesterKey,
		&chatP, &r.Requester.Tenant, &r.Requester.UserID, &r.Requester.ObjectID, &r.Requester.Email, &r.Requester.Name,
		&r.RequesterID, &r.RequesterUPN, &r.RequesterName, &reqRoles,
		&r.Reason, &r.ApprovalReason, &r.ApproverRole, &r.ApproverKey, &r.ApproverID, &r.ApproverUPN, &r.ApproverName, &r.Outcome,
		&created, &updated, &expires, &card, &progress, &r.Seal, &r.ApprovalSeal, &r.LeaseOwner, &lease, &caller,
		&r.Requester.TimeZone)
	if err != nil {
		return nil, err
	}
	r.State, r.Requester.Platform = bot.State(state), chat.Platform(chatP)
	r.CreatedAt, r.UpdatedAt, r.ExpiresAt, r.LeaseUntil = fromNanos(created), fromNanos(updated), fromNanos(expires), fromNanos(lease)
	for _, f := range []struct {
		text string
		into any
	}{{reqRoles, &r.RequesterRoles}, {card, &r.Card}, {progress, &r.Progress}, {caller, &r.Caller}} {
		if err := json.Unmarshal([]byte(f.text), f.into); err != nil {
			return nil, fmt.Errorf("request %s is damaged in the store: %w", r.ID, err)
		}
	}
	// Callers compare with nil for "no roles"; [] in the column means the same.
	if len(r.RequesterRoles) == 0 {
		r.RequesterRoles = nil
	}
	return &r, nil
}

func scanTarget(row scanner) (bot.Target, error) {
	var (
		t                                bot.Target
		roles, step, noticeState, notice string
		attempt, changedBefore, updated  int64
	)
	err := row.Scan(&t.N, &t.Line, &t.Ref, &t.ID, &t.UPN, &t.Name, &roles, &t.Reason, &step, &t.Outcome, &t.Sealed,
		&attempt, &changedBefore, &t.Attempts, &t.Revoke, &t.GraphRequestID, &updated, &noticeState, &notice)
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(notice), &t.Notice); err != nil {
		return t, fmt.Errorf("a target's notice is damaged in the store: %w", err)
	}
	t.Notice.State = noticeState
	t.Step = bot.Step(step)
	t.AttemptAt, t.PasswordChangedBefore, t.UpdatedAt = fromNanos(attempt), fromNanos(changedBefore), fromNanos(updated)
	if err := json.Unmarshal([]byte(roles), &t.Roles); err != nil {
		return t, fmt.Errorf("a target is damaged in the store: %w", err)
	}
	if len(t.Roles) == 0 {
		t.Roles = nil
	}
	if len(t.Sealed) == 0 {
		t.Sealed = nil
	}
	return t, nil
}

func (s *sqlStore) GetRequest(ctx context.Context, id string) (*bot.Request, error) {
	r, err := queryOne(ctx, s, s.read, scanRequest, `SELECT `+requestColumns+` FROM requests WHERE id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bot.ErrNoSuchRequest
	}
	if err != nil {
		return nil, fmt.Errorf("reading request %s: %w", id, err)
	}
	if r.Targets, err = queryAll(ctx, s, scanTarget, `SELECT `+targetColumns+` FROM request_targets WHERE request_id = ? ORDER BY n`, id); err != nil {
		return nil, fmt.Errorf("reading the targets of request %s: %w", id, err)
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
		{"approver_key", ch.ApproverKey}, {"approver_id", ch.ApproverID}, {"approver_upn", ch.ApproverUPN},
		{"approver_name", ch.ApproverName}, {"approval_seal", ch.ApprovalSeal}, {"outcome", ch.Outcome},
		{"approval_reason", ch.ApprovalReason}, {"approver_role", ch.ApproverRole},
	} {
		if f.val != "" {
			set = append(set, f.col+" = ?")
			args = append(args, f.val)
		}
	}
	if !ch.ExpiresAt.IsZero() {
		set = append(set, "expires_at = ?")
		args = append(args, nanos(ch.ExpiresAt))
	}
	if ch.Card != nil {
		set = append(set, "card = ?")
		args = append(args, jsonText(*ch.Card))
	}
	if ch.Progress != nil {
		set = append(set, "progress = ?")
		args = append(args, jsonText(*ch.Progress))
	}
	if ch.Caller != nil {
		set = append(set, "caller = ?")
		args = append(args, jsonText(*ch.Caller))
	}
	args = append(args, id, string(from))
	ok, err := s.exec(ctx, `UPDATE requests SET `+strings.Join(set, ", ")+` WHERE id = ? AND state = ?`, args...)
	if err != nil {
		return false, fmt.Errorf("moving request %s from %s to %s: %w", id, from, to, err)
	}
	return ok, nil
}

// StepTargets applies every move, each a conditional UPDATE on its target's step, and the DM's
// withdrawal, in one transaction: a delivered password's erasure and the DM's schedule are written
// together or not at all.
func (s *sqlStore) StepTargets(ctx context.Context, id string, moves []bot.TargetMove, withdraw *bot.Delivery, at time.Time) ([]bool, error) {
	moved := make([]bool, len(moves))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Moves of one step write the same columns: one prepared statement serves them all.
		prepared := map[string]*sql.Stmt{}
		defer func() {
			for _, st := range prepared {
				st.Close()
			}
		}()
		for i, m := range moves {
			set := []string{"step = ?", "updated_at = ?"}
			args := []any{string(m.To), nanos(at)}
			c := m.Change
			switch {
			case c.EraseSealed:
				set = append(set, "sealed = NULL")
			case c.Sealed != nil:
				set = append(set, "sealed = ?")
				args = append(args, c.Sealed)
			}
			for _, f := range []struct {
				col string
				val any
				set bool
			}{
				{"sent_at", nanos(c.AttemptAt), !c.AttemptAt.IsZero()},
				{"changed_before", nanos(c.PasswordChangedBefore), !c.PasswordChangedBefore.IsZero()},
				{"sends", c.Attempts, c.Attempts != 0},
				{"revoke", c.Revoke, c.Revoke != ""},
				{"graph_request_id", c.GraphRequestID, c.GraphRequestID != ""},
				{"outcome", c.Outcome, c.Outcome != ""},
			} {
				if f.set {
					set = append(set, f.col+" = ?")
					args = append(args, f.val)
				}
			}
			args = append(args, id, m.N, string(m.From))
			query := s.d.rebind(`UPDATE request_targets SET ` + strings.Join(set, ", ") + ` WHERE request_id = ? AND n = ? AND step = ?`)
			st, ok := prepared[query]
			if !ok {
				var err error
				if st, err = tx.PrepareContext(ctx, query); err != nil {
					return err
				}
				prepared[query] = st
			}
			ok, err := rowsAffected(st.ExecContext(ctx, args...))
			if err != nil {
				return err
			}
			moved[i] = ok
		}
		if withdraw != nil {
			if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO deliveries (request_id, ref, due_at) VALUES (?, ?, ?)`),
				withdraw.RequestID, jsonText(withdraw.Ref), nanos(withdraw.DueAt)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return make([]bool, len(moves)), fmt.Errorf("recording the steps of request %s: %w", id, err)
	}
	return moved, nil
}

// SetNotice is one conditional UPDATE on the target's notice state.
func (s *sqlStore) SetNotice(ctx context.Context, id string, n int, from string, next bot.Notice, at time.Time) (bool, error) {
	ok, err := s.exec(ctx, `UPDATE request_targets SET notice_state = ?, notice_at = ?, notice = ? WHERE request_id = ? AND n = ? AND notice_state = ?`,
		next.State, nanos(at), jsonText(next), id, n, from)
	if err != nil {
		return false, fmt.Errorf("recording the notice of request %s, target %d: %w", id, n, err)
	}
	return ok, nil
}

// NoticesDue reads the index on (notice_state, step): only targets not yet told, or left sending.
func (s *sqlStore) NoticesDue(ctx context.Context, staleBefore time.Time, limit int) ([]bot.NoticeDue, error) {
	out, err := queryAll(ctx, s, func(row scanner) (bot.NoticeDue, error) {
		var d bot.NoticeDue
		return d, row.Scan(&d.RequestID, &d.N, &d.State)
	}, `SELECT request_id, n, notice_state FROM request_targets
		WHERE step IN (?, ?) AND (notice_state = '' OR (notice_state = ? AND notice_at < ?))
		ORDER BY updated_at, request_id, n LIMIT ?`,
		string(bot.StepDelivered), string(bot.StepUndelivered), bot.NoticeSending, nanos(staleBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("listing notices to send: %w", err)
	}
	return out, nil
}

// ExpiredWaiting counts a deadline equal to now as passed, as the service does when a click arrives.
func (s *sqlStore) ExpiredWaiting(ctx context.Context, now time.Time) ([]*bot.Request, error) {
	out, err := queryAll(ctx, s, scanRequest, `SELECT `+requestColumns+` FROM requests
		WHERE state IN (?, ?, ?) AND expires_at > 0 AND expires_at <= ? ORDER BY expires_at, id`,
		string(bot.StatePending), string(bot.StatePreview), string(bot.StateVerifying), nanos(now))
	if err != nil {
		return nil, fmt.Errorf("listing expired requests: %w", err)
	}
	for _, r := range out {
		if r.Targets, err = queryAll(ctx, s, scanTarget, `SELECT `+targetColumns+` FROM request_targets WHERE request_id = ? ORDER BY n`, r.ID); err != nil {
			return nil, fmt.Errorf("reading the targets of request %s: %w", r.ID, err)
		}
	}
	return out, nil
}

func (s *sqlStore) InState(ctx context.Context, state bot.State, limit int) ([]*bot.Request, error) {
	out, err := queryAll(ctx, s, scanRequest, `SELECT `+requestColumns+` FROM requests WHERE state = ? ORDER BY created_at, id LIMIT ?`,
		string(state), limit)
	if err != nil {
		return nil, fmt.Errorf("listing requests %s: %w", state, err)
	}
	for _, r := range out {
		if r.Targets, err = queryAll(ctx, s, scanTarget, `SELECT `+targetColumns+` FROM request_targets WHERE request_id = ? ORDER BY n`, r.ID); err != nil {
			return nil, fmt.Errorf("reading the targets of request %s: %w", r.ID, err)
		}
	}
	return out, nil
}

func (s *sqlStore) Runnable(ctx context.Context, now time.Time) ([]string, error) {
	ids, err := queryAll(ctx, s, scanValue[string], `SELECT id FROM requests WHERE state IN (?, ?) AND lease_until < ? ORDER BY created_at, id`,
		string(bot.StateApproved), string(bot.StateResetting), nanos(now))
	if err != nil {
		return nil, fmt.Errorf("listing interrupted requests: %w", err)
	}
	return ids, nil
}

// Lease is one conditional UPDATE: taken when free or lapsed, renewed by its holder.
func (s *sqlStore) Lease(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	ok, err := s.exec(ctx, `UPDATE requests SET lease_owner = ?, lease_until = ?
		WHERE id = ? AND (lease_until < ? OR lease_owner = ?)`, owner, nanos(until), id, nanos(now), owner)
	if err != nil {
		return false, fmt.Errorf("leasing request %s: %w", id, err)
	}
	return ok, nil
}

func (s *sqlStore) Release(ctx context.Context, id, owner string) error {
	if _, err := s.exec(ctx, `UPDATE requests SET lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ?`, id, owner); err != nil {
		return fmt.Errorf("releasing request %s: %w", id, err)
	}
	return nil
}

// quotaKept is how long counts are kept beyond the window asked about.
const quotaKept = 7 * 24 * time.Hour

// Reserve reads the window's counts and writes the ask in one transaction, after the dialect's lock
// (SQLite: the write lock the transaction begins with), so concurrent asks are counted one after
// another and none slips past a limit.
func (s *sqlStore) Reserve(ctx context.Context, q bot.QuotaAsk) (bot.QuotaUse, error) {
	var use bot.QuotaUse
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.takeQuota != "" {
			if _, err := tx.ExecContext(ctx, s.d.takeQuota); err != nil {
				return err
			}
		}
		var oldest int64
		if err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT COALESCE(SUM(n), 0), COALESCE(SUM(CASE WHEN actor_key = ? THEN n ELSE 0 END), 0),
			COALESCE(MIN(CASE WHEN actor_key = ? THEN at END), 0)
			FROM quota WHERE at >= ?`), q.ActorKey, q.ActorKey, nanos(q.Since)).Scan(&use.Tenant, &use.Actor, &oldest); err != nil {
			return err
		}
		use.ActorOldest = fromNanos(oldest)
		if q.N <= 0 {
			use.Counted = true
			return nil
		}
		if q.PerActor > 0 && use.Actor+q.N > q.PerActor {
			return nil
		}
		use.Counted = true
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO quota (actor_key, request_id, n, at) VALUES (?, ?, ?, ?)`),
			q.ActorKey, q.RequestID, q.N, nanos(q.At)); err != nil {
			return err
		}
		// Counts older than any window anyone would configure are of no more use.
		_, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM quota WHERE at < ?`), nanos(q.Since.Add(-quotaKept)))
		return err
	})
	if err != nil {
		return bot.QuotaUse{}, fmt.Errorf("counting resets against the limits: %w", err)
	}
	return use, nil
}

// busyChunk keeps Busy's IN lists well inside both engines' limits on bound parameters.
const busyChunk = 500

func (s *sqlStore) Busy(ctx context.Context, targetIDs []string, except, requester string, steps ...bot.Step) (map[string]string, error) {
	if len(steps) == 0 {
		steps = []bot.Step{bot.StepQueued, bot.StepSetting, bot.StepSet, bot.StepRevoked}
	}
	out := map[string]string{}
	for start := 0; start < len(targetIDs); start += busyChunk {
		ids := targetIDs[start:min(start+busyChunk, len(targetIDs))]
		args := []any{except, string(bot.StatePending), string(bot.StateApproved), string(bot.StateResetting), string(bot.StatePreview), requester}
		for _, st := range steps {
			args = append(args, string(st))
		}
		for _, id := range ids {
			args = append(args, id)
		}
		type hit struct{ target, request string }
		rows, err := queryAll(ctx, s, func(sc scanner) (hit, error) {
			var h hit
			err := sc.Scan(&h.target, &h.request)
			return h, err
		}, `SELECT t.target_id, t.request_id FROM request_targets t JOIN requests r ON r.id = t.request_id
			WHERE t.request_id <> ? AND (r.state IN (?, ?, ?) OR r.state = ? AND r.requester_key = ?) AND t.step IN (`+placeholders(len(steps))+`)
			AND t.target_id IN (`+placeholders(len(ids))+`) ORDER BY r.created_at`, args...)
		if err != nil {
			return nil, fmt.Errorf("checking who is being reset: %w", err)
		}
		for _, h := range rows {
			if _, seen := out[h.target]; !seen {
				out[h.target] = h.request
			}
		}
	}
	return out, nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
