-- The PostgreSQL schema starts at version 4, the version SQLite's migrations had reached when this
-- engine arrived, so one version number names the same tables on both engines; the next change is
-- 00005 in both folders. Columns mirror SQLite's one for one; times are BIGINT Unix nanoseconds, as
-- there, because TIMESTAMPTZ keeps microseconds and the audit hash covers the nanoseconds.

-- +goose Up
-- Requests: one reset of one target. There is deliberately no column that could hold a password.
CREATE TABLE requests (
    id                       TEXT PRIMARY KEY,
    state                    TEXT NOT NULL,
    requester_key            TEXT NOT NULL,
    requester_chat_platform  TEXT NOT NULL DEFAULT '',
    requester_chat_tenant    TEXT NOT NULL DEFAULT '',
    requester_chat_user_id   TEXT NOT NULL DEFAULT '',
    requester_chat_object_id TEXT NOT NULL DEFAULT '',
    requester_chat_email     TEXT NOT NULL DEFAULT '',
    requester_chat_name      TEXT NOT NULL DEFAULT '',
    requester_id             TEXT NOT NULL,
    requester_upn            TEXT NOT NULL,
    requester_name           TEXT NOT NULL,
    requester_roles          TEXT NOT NULL, -- JSON array of role template IDs
    target_id                TEXT NOT NULL,
    target_upn               TEXT NOT NULL,
    target_name              TEXT NOT NULL,
    target_roles             TEXT NOT NULL,
    reason                   TEXT NOT NULL,
    approval_reason          TEXT NOT NULL,
    approver_key             TEXT NOT NULL DEFAULT '',
    approver_upn             TEXT NOT NULL DEFAULT '',
    approver_name            TEXT NOT NULL DEFAULT '',
    outcome                  TEXT NOT NULL DEFAULT '',
    created_at               BIGINT NOT NULL, -- Unix nanoseconds, UTC
    updated_at               BIGINT NOT NULL,
    expires_at               BIGINT NOT NULL DEFAULT 0, -- 0: no approval deadline
    card                     TEXT NOT NULL DEFAULT '{}', -- JSON MessageRef of the approval card
    batch_id                 TEXT NOT NULL DEFAULT ''
);
CREATE INDEX requests_by_requester ON requests (requester_key, created_at);
CREATE INDEX requests_pending ON requests (state, expires_at);
CREATE INDEX requests_by_batch ON requests (batch_id, state);

-- The audit trail: append-only and hash-chained. The store numbers records itself, under a lock
-- taken for each append, so seq has no default.
CREATE TABLE audit (
    seq              BIGINT PRIMARY KEY CHECK (seq > 0),
    at               BIGINT NOT NULL,
    request_id       TEXT NOT NULL,
    event            TEXT NOT NULL,
    platform         TEXT NOT NULL,
    actor_key        TEXT NOT NULL,
    actor_upn        TEXT NOT NULL,
    target_id        TEXT NOT NULL,
    target_upn       TEXT NOT NULL,
    outcome          TEXT NOT NULL,
    detail           TEXT NOT NULL,
    graph_request_id TEXT NOT NULL,
    duration_ms      BIGINT NOT NULL,
    prev_hash        TEXT NOT NULL,
    hash             TEXT NOT NULL
);
-- +goose StatementBegin
CREATE FUNCTION resetbot_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_no_update_or_delete BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION resetbot_audit_append_only();
-- TRUNCATE fires no row triggers; it has a statement trigger of its own.
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION resetbot_audit_append_only();

-- Idempotency keys of deliveries already handled (Slack retries, double clicks, replicas).
CREATE TABLE idempotency_keys (
    key        TEXT PRIMARY KEY,
    claimed_at BIGINT NOT NULL
);

-- Password DMs to withdraw later; kept here so a restart still withdraws them.
CREATE TABLE deliveries (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id TEXT NOT NULL,
    ref        TEXT NOT NULL, -- JSON MessageRef
    due_at     BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (due_at);

-- Conversation references a platform needs to write to someone later (Teams DMs, channel posts).
CREATE TABLE conversation_refs (
    key        TEXT PRIMARY KEY,
    ref        TEXT NOT NULL, -- JSON bot.ConversationRef
    updated_at BIGINT NOT NULL
);

-- Scheduled-job runs, one row per job and schedule slot: the row is the claim, so two replicas
-- never run the same slot, and a lapsed lease lets another take an unfinished run over.
CREATE TABLE job_runs (
    job         TEXT NOT NULL,
    slot        BIGINT NOT NULL,
    owner       TEXT NOT NULL,
    lease_until BIGINT NOT NULL,
    finished_at BIGINT NOT NULL DEFAULT 0,
    claims      INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (job, slot)
);
CREATE INDEX job_runs_unfinished ON job_runs (finished_at, lease_until);

-- Agents' sign-ins. Only sealed bytes: the store never holds a token or a PKCE verifier in clear.
CREATE TABLE pending_sign_ins (
    state      TEXT PRIMARY KEY,
    actor_key  TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    sealed     BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE agent_tokens (
    actor_key  TEXT PRIMARY KEY,
    object_id  TEXT NOT NULL,
    sealed     BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE agent_tokens;
DROP TABLE pending_sign_ins;
DROP TABLE job_runs;
DROP TABLE conversation_refs;
DROP TABLE deliveries;
DROP TABLE idempotency_keys;
DROP TABLE audit;
DROP FUNCTION resetbot_audit_append_only();
DROP TABLE requests;
