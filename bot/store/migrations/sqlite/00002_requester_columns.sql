-- The requester's chat identity moves from a JSON blob into columns, like every other field, so SQL
-- can read and compare it (and the PostgreSQL schema can mirror it column for column). 00001 is
-- already in the history, so it is changed here rather than edited in place.

-- +goose Up
ALTER TABLE requests ADD COLUMN requester_chat_platform  TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN requester_chat_tenant    TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN requester_chat_user_id   TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN requester_chat_object_id TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN requester_chat_email     TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN requester_chat_name      TEXT NOT NULL DEFAULT '';
-- bot.Actor has no JSON tags, so 00001 wrote its Go field names.
UPDATE requests SET
    requester_chat_platform  = coalesce(json_extract(requester, '$.Platform'), ''),
    requester_chat_tenant    = coalesce(json_extract(requester, '$.Tenant'), ''),
    requester_chat_user_id   = coalesce(json_extract(requester, '$.UserID'), ''),
    requester_chat_object_id = coalesce(json_extract(requester, '$.ObjectID'), ''),
    requester_chat_email     = coalesce(json_extract(requester, '$.Email'), ''),
    requester_chat_name      = coalesce(json_extract(requester, '$.Name'), '');
ALTER TABLE requests DROP COLUMN requester;

-- +goose Down
ALTER TABLE requests ADD COLUMN requester TEXT NOT NULL DEFAULT '{}';
UPDATE requests SET requester = json_object(
    'Platform', requester_chat_platform, 'Tenant', requester_chat_tenant, 'UserID', requester_chat_user_id,
    'ObjectID', requester_chat_object_id, 'Email', requester_chat_email, 'Name', requester_chat_name);
ALTER TABLE requests DROP COLUMN requester_chat_platform;
ALTER TABLE requests DROP COLUMN requester_chat_tenant;
ALTER TABLE requests DROP COLUMN requester_chat_user_id;
ALTER TABLE requests DROP COLUMN requester_chat_object_id;
ALTER TABLE requests DROP COLUMN requester_chat_email;
ALTER TABLE requests DROP COLUMN requester_chat_name;
