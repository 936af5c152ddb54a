-- +goose Up
-- The requester's time zone as their chat platform told it, so the times they read after an
-- approval (when the password goes, when a check ends) are in their own zone too. Only for showing
-- times; never sealed, never decides anything.
ALTER TABLE requests ADD COLUMN requester_chat_time_zone TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE requests DROP COLUMN requester_chat_time_zone;
