-- +goose Up
-- Caller assurance: how the caller was verified before the reset and what the request gives (a
-- password or a Temporary Access Pass), sealed with the request; and, per target, whether the user
-- was told of it. Resets made before this version are not told now.
ALTER TABLE requests ADD COLUMN caller TEXT NOT NULL DEFAULT '{}';
ALTER TABLE request_targets ADD COLUMN notice_state TEXT NOT NULL DEFAULT '';
ALTER TABLE request_targets ADD COLUMN notice_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE request_targets ADD COLUMN notice TEXT NOT NULL DEFAULT '{}';
UPDATE request_targets SET notice_state = 'before' WHERE step <> 'queued' AND step <> 'setting';
CREATE INDEX request_targets_notices ON request_targets (notice_state, step);
ALTER TABLE audit ADD COLUMN assurance TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit DROP COLUMN assurance;
DROP INDEX request_targets_notices;
ALTER TABLE request_targets DROP COLUMN notice;
ALTER TABLE request_targets DROP COLUMN notice_at;
ALTER TABLE request_targets DROP COLUMN notice_state;
ALTER TABLE requests DROP COLUMN caller;
