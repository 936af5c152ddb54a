-- +goose Up
-- Each record of the trail carries an HMAC of its hash made with RESETBOT_AUDIT_KEY, which the
-- database never sees: whoever can write the database can rebuild the hash chain, but not the MACs.
-- Records written before this version have none.
ALTER TABLE audit ADD COLUMN mac TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit DROP COLUMN mac;
