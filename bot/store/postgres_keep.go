package store

import (
	"context"
	"fmt"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// LeaseDelivery moves a due delivery's time forward in one conditional UPDATE: of several replicas
// looking at the same due DM, one sees true and withdraws it.
func (s *postgresStore) LeaseDelivery(ctx context.Context, id int64, now, until time.Time) (bool, error) {
	ok, err := s.exec(ctx, `UPDATE deliveries SET due_at = $1 WHERE id = $2 AND due_at <= $3`, nanos(until), id, nanos(now))
	if err != nil {
		return false, fmt.Errorf("taking delivery %d: %w", id, err)
	}
	return ok, nil
}

func (s *postgresStore) GetConversationRef(ctx context.Context, key string) (bot.ConversationRef, bool, error) {
	var ref string
	err := s.queryRow(ctx, `SELECT ref FROM conversation_refs WHERE key = $1`, []any{key}, &ref)
	if errNoRows(err) {
		return bot.ConversationRef{}, false, nil
	}
	if err != nil {
		return bot.ConversationRef{}, false, fmt.Errorf("reading conversation reference %q: %w", key, err)
	}
	return decodeRef(key, ref)
}

func (s *postgresStore) PutConversationRef(ctx context.Context, key string, ref bot.ConversationRef) error {
	if _, err := s.exec(ctx, `INSERT INTO conversation_refs (key, ref, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET ref = excluded.ref, updated_at = excluded.updated_at`,
		key, jsonText(ref), nanos(ref.UpdatedAt)); err != nil {
		return fmt.Errorf("keeping conversation reference %q: %w", key, err)
	}
	return nil
}

// ClaimJob is one statement: insert the slot, or take it over when its lease lapsed unfinished. A
// replica inserting the same slot at the same moment waits for the first to commit, then finds the
// fresh lease and claims nothing.
func (s *postgresStore) ClaimJob(ctx context.Context, job string, slot time.Time, owner string, now, leaseUntil time.Time) (bool, error) {
	ok, err := s.exec(ctx, `INSERT INTO job_runs (job, slot, owner, lease_until) VALUES ($1, $2, $3, $4)
		ON CONFLICT (job, slot) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until,
		    claims = job_runs.claims + 1
		WHERE job_runs.finished_at = 0 AND job_runs.lease_until < $5`,
		job, nanos(slot), owner, nanos(leaseUntil), nanos(now))
	if err != nil {
		return false, fmt.Errorf("claiming job %s: %w", job, err)
	}
	return ok, nil
}

func (s *postgresStore) FinishJob(ctx context.Context, job string, slot time.Time, owner string, at time.Time) (bool, error) {
	ok, err := s.exec(ctx, `UPDATE job_runs SET finished_at = $1 WHERE job = $2 AND slot = $3 AND owner = $4 AND finished_at = 0`,
		nanos(at), job, nanos(slot), owner)
	if err != nil {
		return false, fmt.Errorf("finishing job %s: %w", job, err)
	}
	return ok, nil
}

func (s *postgresStore) LastFinishedJob(ctx context.Context, job string) (bot.JobRun, bool, error) {
	var (
		run   bot.JobRun
		found bool
	)
	err := s.queryRows(ctx, func(row scanner) (err error) {
		run, err = scanJobRun(row)
		found = err == nil
		return err
	}, `SELECT `+jobRunColumns+` FROM job_runs WHERE job = $1 AND finished_at <> 0 ORDER BY slot DESC LIMIT 1`, job)
	if err != nil {
		return bot.JobRun{}, false, fmt.Errorf("reading the last run of job %s: %w", job, err)
	}
	return run, found, nil
}

func (s *postgresStore) LapsedJobs(ctx context.Context, now time.Time) ([]bot.JobRun, error) {
	var out []bot.JobRun
	err := s.queryRows(ctx, func(row scanner) error {
		r, err := scanJobRun(row)
		out = append(out, r)
		return err
	}, `SELECT `+jobRunColumns+` FROM job_runs WHERE finished_at = 0 AND lease_until < $1 ORDER BY slot, job`, nanos(now))
	if err != nil {
		return nil, fmt.Errorf("listing lapsed job runs: %w", err)
	}
	return out, nil
}

func (s *postgresStore) PutSignIn(ctx context.Context, p bot.PendingSignIn) error {
	if _, err := s.exec(ctx, `INSERT INTO pending_sign_ins (state, actor_key, object_id, sealed, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, p.State, p.ActorKey, p.ObjectID, p.Sealed, nanos(p.ExpiresAt)); err != nil {
		return fmt.Errorf("keeping a pending sign-in: %w", err)
	}
	return nil
}

// TakeSignIn deletes and returns in one statement (DELETE … RETURNING), so a state is used once
// even when two callbacks reach two replicas at once.
func (s *postgresStore) TakeSignIn(ctx context.Context, state string, now time.Time) (bot.PendingSignIn, bool, error) {
	var (
		p       bot.PendingSignIn
		expires int64
	)
	err := s.queryRow(ctx, `DELETE FROM pending_sign_ins WHERE state = $1
		RETURNING state, actor_key, object_id, sealed, expires_at`, []any{state},
		&p.State, &p.ActorKey, &p.ObjectID, &p.Sealed, &expires)
	if errNoRows(err) {
		return bot.PendingSignIn{}, false, nil
	}
	if err != nil {
		return bot.PendingSignIn{}, false, fmt.Errorf("taking a pending sign-in: %w", err)
	}
	p.ExpiresAt = fromNanos(expires)
	if !p.ExpiresAt.After(now) {
		return bot.PendingSignIn{}, false, nil
	}
	return p, true, nil
}

func (s *postgresStore) PutAgentToken(ctx context.Context, t bot.AgentToken) error {
	if _, err := s.exec(ctx, `INSERT INTO agent_tokens (actor_key, object_id, sealed, expires_at, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (actor_key) DO UPDATE SET object_id = excluded.object_id, sealed = excluded.sealed,
		    expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		t.ActorKey, t.ObjectID, t.Sealed, nanos(t.ExpiresAt), nanos(t.UpdatedAt)); err != nil {
		return fmt.Errorf("keeping an agent's sign-in: %w", err)
	}
	return nil
}

func (s *postgresStore) GetAgentToken(ctx context.Context, actorKey string, now time.Time) (bot.AgentToken, bool, error) {
	var (
		t                bot.AgentToken
		expires, updated int64
	)
	err := s.queryRow(ctx, `SELECT actor_key, object_id, sealed, expires_at, updated_at FROM agent_tokens WHERE actor_key = $1`,
		[]any{actorKey}, &t.ActorKey, &t.ObjectID, &t.Sealed, &expires, &updated)
	if errNoRows(err) {
		return bot.AgentToken{}, false, nil
	}
	if err != nil {
		return bot.AgentToken{}, false, fmt.Errorf("reading an agent's sign-in: %w", err)
	}
	t.ExpiresAt, t.UpdatedAt = fromNanos(expires), fromNanos(updated)
	if !t.ExpiresAt.After(now) {
		return bot.AgentToken{}, false, nil
	}
	return t, true, nil
}

func (s *postgresStore) DeleteAgentToken(ctx context.Context, actorKey string) (bool, error) {
	ok, err := s.exec(ctx, `DELETE FROM agent_tokens WHERE actor_key = $1`, actorKey)
	if err != nil {
		return false, fmt.Errorf("forgetting an agent's sign-in: %w", err)
	}
	return ok, nil
}
