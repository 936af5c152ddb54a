-- +goose Up
-- A request has one or many targets, and each target goes through the steps of bot/lifecycle.go on
-- its own. Until now a request was the reset of one target (a list was several requests sharing a
-- batch_id); each becomes a request of one target here.
ALTER TABLE requests ADD COLUMN source        TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN approver_role TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN approver_id   TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN progress      TEXT NOT NULL DEFAULT '{}';
ALTER TABLE requests ADD COLUMN seal          TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN approval_seal TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN lease_owner   TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN lease_until   BIGINT NOT NULL DEFAULT 0;

CREATE TABLE request_targets (
    request_id       TEXT NOT NULL,
    n                BIGINT NOT NULL,
    line             BIGINT NOT NULL,
    ref              TEXT NOT NULL,
    target_id        TEXT NOT NULL,
    upn              TEXT NOT NULL,
    name             TEXT NOT NULL,
    roles            TEXT NOT NULL, -- JSON array of role template IDs
    reason           TEXT NOT NULL,
    step             TEXT NOT NULL,
    outcome          TEXT NOT NULL DEFAULT '',
    -- The temporary password, sealed with RESETBOT_ENCRYPTION_KEY (AES-256-GCM, bound to this row),
    -- only between the moment it is sent to Entra and the moment it is delivered: never in clear.
    sealed           BYTEA,
    sent_at          BIGINT NOT NULL DEFAULT 0,
    changed_before   BIGINT NOT NULL DEFAULT 0, -- Entra's lastPasswordChangeDateTime before the write
    sends            BIGINT NOT NULL DEFAULT 0,
    revoke           TEXT NOT NULL DEFAULT '',
    graph_request_id TEXT NOT NULL DEFAULT '',
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (request_id, n)
);
-- A reset interrupted before this version cannot be told apart from one that happened: it is
-- "unknown", never sent again.
INSERT INTO request_targets (request_id, n, line, ref, target_id, upn, name, roles, reason, step, outcome, updated_at)
SELECT id, 0, 0, target_upn, target_id, target_upn, target_name, target_roles, reason,
       CASE state WHEN 'done' THEN 'delivered' WHEN 'failed' THEN 'failed' WHEN 'resetting' THEN 'unknown' ELSE 'queued' END,
       outcome, updated_at
FROM requests;
UPDATE requests SET state = 'done', outcome = 'interrupted before an upgrade; not known whether reset'
WHERE state = 'resetting';

-- Who is being reset right now, so one person is never in two runs at once.
CREATE INDEX request_targets_by_target ON request_targets (target_id, step);

DROP INDEX requests_by_batch;
ALTER TABLE requests DROP COLUMN target_id;
ALTER TABLE requests DROP COLUMN target_upn;
ALTER TABLE requests DROP COLUMN target_name;
ALTER TABLE requests DROP COLUMN target_roles;
ALTER TABLE requests DROP COLUMN batch_id;
CREATE INDEX requests_runnable ON requests (state, lease_until);

-- Resets asked for, by agent and time: the limits count them in one transaction with the check.
CREATE TABLE quota (
    actor_key  TEXT NOT NULL,
    request_id TEXT NOT NULL,
    n          BIGINT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX quota_by_time ON quota (at);
CREATE INDEX quota_by_actor ON quota (actor_key, at);
INSERT INTO quota (actor_key, request_id, n, at) SELECT requester_key, id, 1, created_at FROM requests;

-- The CSV line a target came from, in the trail.
ALTER TABLE audit ADD COLUMN line BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE audit DROP COLUMN line;
DROP TABLE quota;
DROP INDEX requests_runnable;
ALTER TABLE requests ADD COLUMN target_id    TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN target_upn   TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN target_name  TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN target_roles TEXT NOT NULL DEFAULT '[]';
ALTER TABLE requests ADD COLUMN batch_id     TEXT NOT NULL DEFAULT '';
UPDATE requests SET (target_id, target_upn, target_name, target_roles) =
    (SELECT target_id, upn, name, roles FROM request_targets t WHERE t.request_id = requests.id AND t.n = 0);
CREATE INDEX requests_by_batch ON requests (batch_id, state);
DROP TABLE request_targets;
ALTER TABLE requests DROP COLUMN source;
ALTER TABLE requests DROP COLUMN approver_role;
ALTER TABLE requests DROP COLUMN approver_id;
ALTER TABLE requests DROP COLUMN progress;
ALTER TABLE requests DROP COLUMN seal;
ALTER TABLE requests DROP COLUMN approval_seal;
ALTER TABLE requests DROP COLUMN lease_owner;
ALTER TABLE requests DROP COLUMN lease_until;
