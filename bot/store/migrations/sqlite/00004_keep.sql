-- +goose Up
-- Conversation references a platform needs to write to someone later (Teams DMs, channel posts).
CREATE TABLE conversation_refs (
    key        TEXT PRIMARY KEY,
    ref        TEXT NOT NULL, -- JSON bot.ConversationRef
    updated_at INTEGER NOT NULL
);

-- Scheduled-job runs, one row per job and schedule slot: the row is the claim, so two replicas
-- never run the same slot, and a lapsed lease lets another take an unfinished run over.
CREATE TABLE job_runs (
    job         TEXT NOT NULL,
    slot        INTEGER NOT NULL,
    owner       TEXT NOT NULL,
    lease_until INTEGER NOT NULL,
    finished_at INTEGER NOT NULL DEFAULT 0,
    claims    INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (job, slot)
);
CREATE INDEX job_runs_unfinished ON job_runs (finished_at, lease_until);

-- Agents' sign-ins. Only sealed bytes: the store never holds a token or a PKCE verifier in clear.
CREATE TABLE pending_sign_ins (
    state      TEXT PRIMARY KEY,
    actor_key  TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE agent_tokens (
    actor_key  TEXT PRIMARY KEY,
    object_id  TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE agent_tokens;
DROP TABLE pending_sign_ins;
DROP TABLE job_runs;
DROP TABLE conversation_refs;
