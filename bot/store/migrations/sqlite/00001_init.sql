-- +goose Up
-- Requests: one reset of one target. There is deliberately no column that could hold a password.
CREATE TABLE requests (
    id                  TEXT PRIMARY KEY,
    state               TEXT NOT NULL,
    requester_key       TEXT NOT NULL,
    requester           TEXT NOT NULL, -- JSON of the chat actor (platform IDs, email, name)
    requester_id        TEXT NOT NULL,
    requester_upn       TEXT NOT NULL,
    requester_name      TEXT NOT NULL,
    requester_roles     TEXT NOT NULL, -- JSON array of role template IDs
    target_id           TEXT NOT NULL,
    target_upn          TEXT NOT NULL,
    target_name         TEXT NOT NULL,
    target_roles        TEXT NOT NULL,
    reason              TEXT NOT NULL,
    approval_reason     TEXT NOT NULL,
    approver_key        TEXT NOT NULL DEFAULT '',
    approver_upn        TEXT NOT NULL DEFAULT '',
    approver_name       TEXT NOT NULL DEFAULT '',
    outcome             TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL, -- Unix nanoseconds, UTC
    updated_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL DEFAULT 0, -- 0: no approval deadline
    card                TEXT NOT NULL DEFAULT '{}'  -- JSON MessageRef of the approval card
);
CREATE INDEX requests_by_requester ON requests (requester_key, created_at);
CREATE INDEX requests_pending ON requests (state, expires_at);

-- The audit trail: append-only and hash-chained.
CREATE TABLE audit (
    seq              INTEGER PRIMARY KEY,
    at               INTEGER NOT NULL,
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
    duration_ms      INTEGER NOT NULL,
    prev_hash        TEXT NOT NULL,
    hash             TEXT NOT NULL
);
-- +goose StatementBegin
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
-- +goose StatementEnd

-- Idempotency keys of deliveries already handled (Slack retries, double clicks, replicas).
CREATE TABLE idempotency_keys (
    key        TEXT PRIMARY KEY,
    claimed_at INTEGER NOT NULL
);

-- Password DMs to withdraw later; kept here so a restart still withdraws them.
CREATE TABLE deliveries (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    ref        TEXT NOT NULL, -- JSON MessageRef
    due_at     INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (due_at);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE idempotency_keys;
DROP TABLE audit;
DROP TABLE requests;
