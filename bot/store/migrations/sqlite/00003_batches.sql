-- +goose Up
-- Requests that belong to a list (a bulk run) carry its ID, so a run interrupted by a restart can be
-- found and finished from the store alone.
ALTER TABLE requests ADD COLUMN batch_id TEXT NOT NULL DEFAULT '';
CREATE INDEX requests_by_batch ON requests (batch_id, state);

-- +goose Down
DROP INDEX requests_by_batch;
ALTER TABLE requests DROP COLUMN batch_id;
