package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// What the store keeps beyond requests and the trail: conversation references
// (bot/conversationref.go), scheduled-job runs (bot/jobrun.go), agents' sign-ins and the links of chat
// accounts to Entra accounts (bot/signins.go).

func (s *sqlStore) GetConversationRef(ctx context.Context, key string) (bot.ConversationRef, bool, error) {
	r, err := queryOne(ctx, s, s.read, scanConversationRef, `SELECT ref, updated_at FROM conversation_refs WHERE key = ?`, key)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.ConversationRef{}, false, nil
	}
	if err != nil {
		return bot.ConversationRef{}, false, fmt.Errorf("reading conversation reference %q: %w", key, err)
	}
	return r, true, nil
}

func scanConversationRef(row scanner) (bot.ConversationRef, error) {
	var (
		r       bot.ConversationRef
		updated int64
	)
	if err := row.Scan(&r.Route, &updated); err != nil {
		return r, err
	}
	r.UpdatedAt = fromNanos(updated)
	return r, nil
}

// PutConversationRef keeps the adapter's route as it wrote it.
func (s *sqlStore) PutConversationRef(ctx context.Context, key string, ref bot.ConversationRef) error {
	if _, err := s.exec(ctx, `INSERT INTO conversation_refs (key, ref, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET ref = excluded.ref, updated_at = excluded.updated_at`,
		key, ref.Route, nanos(ref.UpdatedAt)); err != nil {
		return fmt.Errorf("keeping conversation reference %q: %w", key, err)
	}
	return nil
}

// ClaimJob is one statement: insert the slot, or take it over when its lease lapsed unfinished. A
// replica inserting the same slot at the same moment waits for the first to commit, then finds the
// fresh lease and claims nothing.
func (s *sqlStore) ClaimJob(ctx context.Context, job string, slot time.Time, owner string, now, leaseUntil time.Time) (bool, error) {
	ok, err := s.exec(ctx, `INSERT INTO job_runs (job, slot, owner, lease_until) VALUES (?, ?, ?, ?)
		ON CONFLICT (job, slot) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until,
		    claims = job_runs.claims + 1
		WHERE job_runs.finished_at = 0 AND job_runs.lease_until < ?`,
		job, nanos(slot), owner, nanos(leaseUntil), nanos(now))
	if err != nil {
		return false, fmt.Errorf("claiming job %s: %w", job, err)
	}
	return ok, nil
}

func (s *sqlStore) FinishJob(ctx context.Context, job string, slot time.Time, owner string, at time.Time) (bool, error) {
	ok, err := s.exec(ctx, `UPDATE job_runs SET finished_at = ? WHERE job = ? AND slot = ? AND owner = ? AND finished_at = 0`,
		nanos(at), job, nanos(slot), owner)
	if err != nil {
		return false, fmt.Errorf("finishing job %s: %w", job, err)
	}
	return ok, nil
}

const jobRunColumns = `job, slot, owner, lease_until, finished_at, claims`

func scanJobRun(sc scanner) (bot.JobRun, error) {
	var (
		r                            bot.JobRun
		slot, leaseUntil, finishedAt int64
	)
	if err := sc.Scan(&r.Job, &slot, &r.Owner, &leaseUntil, &finishedAt, &r.Claims); err != nil {
		return r, err
	}
	r.Slot, r.LeaseUntil, r.FinishedAt = fromNanos(slot), fromNanos(leaseUntil), fromNanos(finishedAt)
	return r, nil
}

func (s *sqlStore) LastFinishedJob(ctx context.Context, job string) (bot.JobRun, bool, error) {
	r, err := queryOne(ctx, s, s.read, scanJobRun,
		`SELECT `+jobRunColumns+` FROM job_runs WHERE job = ? AND finished_at <> 0 ORDER BY slot DESC LIMIT 1`, job)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.JobRun{}, false, nil
	}
	if err != nil {
		return bot.JobRun{}, false, fmt.Errorf("reading the last run of job %s: %w", job, err)
	}
	return r, true, nil
}

func (s *sqlStore) LapsedJobs(ctx context.Context, now time.Time) ([]bot.JobRun, error) {
	out, err := queryAll(ctx, s, scanJobRun,
		`SELECT `+jobRunColumns+` FROM job_runs WHERE finished_at = 0 AND lease_until < ? ORDER BY slot, job`, nanos(now))
	if err != nil {
		return nil, fmt.Errorf("listing lapsed job runs: %w", err)
	}
	return out, nil
}

func (s *sqlStore) PutSignIn(ctx context.Context, p bot.PendingSignIn) error {
	if _, err := s.exec(ctx, `INSERT INTO pending_sign_ins (state, actor_key, object_id, sealed, expires_at)
		VALUES (?, ?, ?, ?, ?)`, p.State, p.ActorKey, p.ObjectID, p.Sealed, nanos(p.ExpiresAt)); err != nil {
		return fmt.Errorf("keeping a pending sign-in: %w", err)
	}
	return nil
}

func scanSignIn(row scanner) (bot.PendingSignIn, error) {
	var (
		p       bot.PendingSignIn
		expires int64
	)
	err := row.Scan(&p.State, &p.ActorKey, &p.ObjectID, &p.Sealed, &expires)
	p.ExpiresAt = fromNanos(expires)
	return p, err
}

// TakeSignIn deletes and returns in one statement (DELETE … RETURNING, on the write pool), so a
// state is used once even when two callbacks race, in one process or across replicas.
func (s *sqlStore) TakeSignIn(ctx context.Context, state string, now time.Time) (bot.PendingSignIn, bool, error) {
	p, err := queryOne(ctx, s, s.write, scanSignIn,
		`DELETE FROM pending_sign_ins WHERE state = ? RETURNING state, actor_key, object_id, sealed, expires_at`, state)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.PendingSignIn{}, false, nil
	}
	if err != nil {
		return bot.PendingSignIn{}, false, fmt.Errorf("taking a pending sign-in: %w", err)
	}
	if !p.ExpiresAt.After(now) {
		return bot.PendingSignIn{}, false, nil
	}
	return p, true, nil
}

func (s *sqlStore) PutAgentToken(ctx context.Context, t bot.AgentToken) error {
	if _, err := s.exec(ctx, `INSERT INTO agent_tokens (actor_key, object_id, sealed, expires_at, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (actor_key) DO UPDATE SET object_id = excluded.object_id, sealed = excluded.sealed,
		    expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		t.ActorKey, t.ObjectID, t.Sealed, nanos(t.ExpiresAt), nanos(t.UpdatedAt)); err != nil {
		return fmt.Errorf("keeping an agent's sign-in: %w", err)
	}
	return nil
}

func scanAgentToken(row scanner) (bot.AgentToken, error) {
	var (
		t                bot.AgentToken
		expires, updated int64
	)
	err := row.Scan(&t.ActorKey, &t.ObjectID, &t.Sealed, &expires, &updated)
	t.ExpiresAt, t.UpdatedAt = fromNanos(expires), fromNanos(updated)
	return t, err
}

func (s *sqlStore) GetAgentToken(ctx context.Context, actorKey string, now time.Time) (bot.AgentToken, bool, error) {
	t, err := queryOne(ctx, s, s.read, scanAgentToken,
		`SELECT actor_key, object_id, sealed, expires_at, updated_at FROM agent_tokens WHERE actor_key = ?`, actorKey)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.AgentToken{}, false, nil
	}
	if err != nil {
		return bot.AgentToken{}, false, fmt.Errorf("reading an agent's sign-in: %w", err)
	}
	if !t.ExpiresAt.After(now) {
		return bot.AgentToken{}, false, nil
	}
	return t, true, nil
}

func (s *sqlStore) DeleteAgentToken(ctx context.Context, actorKey string) (bool, error) {
	ok, err := s.exec(ctx, `DELETE FROM agent_tokens WHERE actor_key = ?`, actorKey)
	if err != nil {
		return false, fmt.Errorf("forgetting an agent's sign-in: %w", err)
	}
	return ok, nil
}

func (s *sqlStore) GetLink(ctx context.Context, actorKey string) (bot.IdentityLink, bool, error) {
	l, err := queryOne(ctx, s, s.read, func(sc scanner) (bot.IdentityLink, error) {
		var l bot.IdentityLink
		var linked, verified int64
		err := sc.Scan(&l.ActorKey, &l.ObjectID, &linked, &verified)
		l.LinkedAt, l.VerifiedAt = fromNanos(linked), fromNanos(verified)
		return l, err
	}, `SELECT actor_key, object_id, linked_at, verified_at FROM identity_links WHERE actor_key = ?`, actorKey)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.IdentityLink{}, false, nil
	}
	if err != nil {
		return bot.IdentityLink{}, false, fmt.Errorf("reading the link of %q: %w", actorKey, err)
	}
	return l, true, nil
}

func (s *sqlStore) PutLink(ctx context.Context, l bot.IdentityLink) error {
	if _, err := s.exec(ctx, `INSERT INTO identity_links (actor_key, object_id, linked_at, verified_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (actor_key) DO UPDATE SET object_id = excluded.object_id, linked_at = excluded.linked_at, verified_at = excluded.verified_at`,
		l.ActorKey, l.ObjectID, nanos(l.LinkedAt), nanos(l.VerifiedAt)); err != nil {
		return fmt.Errorf("keeping the link of %q: %w", l.ActorKey, err)
	}
	return nil
}

func (s *sqlStore) DeleteLink(ctx context.Context, actorKey string) (bool, error) {
	ok, err := s.exec(ctx, `DELETE FROM identity_links WHERE actor_key = ?`, actorKey)
	if err != nil {
		return false, fmt.Errorf("dropping the link of %q: %w", actorKey, err)
	}
	return ok, nil
}
