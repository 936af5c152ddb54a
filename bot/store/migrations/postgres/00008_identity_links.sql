-- +goose Up
-- A chat account bound to the Entra account its owner signed in as: a platform that does not vouch
-- for a person's Entra identity (Slack, where the profile email is editable) is trusted only through
-- such a link, made by a sign-in and renewed after its lifetime.
CREATE TABLE identity_links (
    actor_key   TEXT PRIMARY KEY,
    object_id   TEXT NOT NULL,
    linked_at   BIGINT NOT NULL,
    verified_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE identity_links;
