-- +goose Up
-- Readers of a window of the trail (the digest, /resetpw audit) start from the first record at or
-- after a time instead of reading from the beginning.
CREATE INDEX audit_by_at ON audit (at, seq);

-- +goose Down
DROP INDEX audit_by_at;
