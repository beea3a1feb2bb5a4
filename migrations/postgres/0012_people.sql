-- People and keys (issue 17): users who sign in, their invitations and sessions, API keys for
-- partners' systems, and the append-only record of security events. Secrets are never stored:
-- passwords as argon2id PHC strings, tokens and keys as SHA-256 of their random bytes.
-- PostgreSQL dialect; migrations/sqlite mirrors it.

CREATE TABLE users (
    id                  UUID        NOT NULL CONSTRAINT users_pk PRIMARY KEY,
    organisation_id     UUID        NOT NULL CONSTRAINT users_organisation_fk REFERENCES organisations (id),
    email               TEXT        NOT NULL CONSTRAINT users_email_unique UNIQUE
                                    CONSTRAINT users_email_length CHECK (length(email) BETWEEN 3 AND 254),
    role                TEXT        NOT NULL CONSTRAINT users_role_check
                                    CHECK (role IN ('contributor', 'beneficiary', 'auditor', 'admin')),
    password_hash       TEXT        NULL,
    created_by          TEXT        NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    password_changed_at TIMESTAMPTZ NULL,
    disabled_at         TIMESTAMPTZ NULL
);
COMMENT ON TABLE users IS 'People who sign in: one organisation and one role each.';
COMMENT ON COLUMN users.email IS 'Sign-in name, lower-cased; unique across the service.';
COMMENT ON COLUMN users.role IS 'The role the user acts in (must fit the organisation''s kind).';
COMMENT ON COLUMN users.password_hash IS 'argon2id PHC string; NULL until the invitation is accepted.';
COMMENT ON COLUMN users.created_by IS 'The subject (user or token) that invited the user.';
COMMENT ON COLUMN users.created_at IS 'When the user was invited.';
COMMENT ON COLUMN users.password_changed_at IS 'When the password was last set (every older session is revoked).';
COMMENT ON COLUMN users.disabled_at IS 'When the user was disabled; a disabled user is refused on the next request.';

CREATE TABLE invitations (
    token_hash  BYTEA       NOT NULL CONSTRAINT invitations_pk PRIMARY KEY
                            CONSTRAINT invitations_token_hash_length CHECK (octet_length(token_hash) = 32),
    user_id     UUID        NOT NULL CONSTRAINT invitations_user_fk REFERENCES users (id),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ NULL
);
COMMENT ON TABLE invitations IS 'Single-use invitations to set a password.';
COMMENT ON COLUMN invitations.token_hash IS 'SHA-256 of the invitation token (the token itself is shown once).';
COMMENT ON COLUMN invitations.expires_at IS 'After this the invitation is refused.';
COMMENT ON COLUMN invitations.used_at IS 'When the password was set with it; a used invitation is refused.';

CREATE TABLE sessions (
    id                UUID        NOT NULL CONSTRAINT sessions_pk PRIMARY KEY,
    user_id           UUID        NOT NULL CONSTRAINT sessions_user_fk REFERENCES users (id),
    access_hash       BYTEA       NOT NULL CONSTRAINT sessions_access_unique UNIQUE
                                  CONSTRAINT sessions_access_hash_length CHECK (octet_length(access_hash) = 32),
    access_expires_at TIMESTAMPTZ NOT NULL,
    refresh_hash      BYTEA       NOT NULL CONSTRAINT sessions_refresh_unique UNIQUE
                                  CONSTRAINT sessions_refresh_hash_length CHECK (octet_length(refresh_hash) = 32),
    expires_at        TIMESTAMPTZ NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    revoked_at        TIMESTAMPTZ NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
COMMENT ON TABLE sessions IS 'Signed-in sessions: a short-lived access token and a refresh token, both revocable.';
COMMENT ON COLUMN sessions.access_hash IS 'SHA-256 of the current access token (replaced at each refresh).';
COMMENT ON COLUMN sessions.access_expires_at IS 'When the current access token stops being accepted.';
COMMENT ON COLUMN sessions.refresh_hash IS 'SHA-256 of the current refresh token (rotated at each refresh).';
COMMENT ON COLUMN sessions.expires_at IS 'When the session ends, refreshed or not.';
COMMENT ON COLUMN sessions.revoked_at IS 'Sign-out, admin revocation, password change or disabling.';

CREATE TABLE api_keys (
    id              UUID        NOT NULL CONSTRAINT api_keys_pk PRIMARY KEY,
    organisation_id UUID        NOT NULL CONSTRAINT api_keys_organisation_fk REFERENCES organisations (id),
    created_by      UUID        NOT NULL CONSTRAINT api_keys_user_fk REFERENCES users (id),
    name            TEXT        NOT NULL,
    role            TEXT        NOT NULL CONSTRAINT api_keys_role_check
                                CHECK (role IN ('contributor', 'beneficiary', 'auditor', 'admin')),
    prefix          TEXT        NOT NULL CONSTRAINT api_keys_prefix_unique UNIQUE,
    secret_hash     BYTEA       NOT NULL CONSTRAINT api_keys_secret_hash_length CHECK (octet_length(secret_hash) = 32),
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NULL,
    last_used_at    TIMESTAMPTZ NULL,
    revoked_at      TIMESTAMPTZ NULL
);
COMMENT ON TABLE api_keys IS 'Keys for partners'' own systems, shown once, kept as a hash.';
COMMENT ON COLUMN api_keys.created_by IS 'The user who created the key (the key''s role is at most theirs).';
COMMENT ON COLUMN api_keys.name IS 'What the key is for, as its creator named it.';
COMMENT ON COLUMN api_keys.prefix IS 'The visible part of the key (slk_ and 8 characters), by which it is listed and found.';
COMMENT ON COLUMN api_keys.secret_hash IS 'SHA-256 of the whole key.';
COMMENT ON COLUMN api_keys.expires_at IS 'After this the key is refused; NULL: until revoked.';
COMMENT ON COLUMN api_keys.last_used_at IS 'The last time the key was accepted (to the minute).';
COMMENT ON COLUMN api_keys.revoked_at IS 'When the key was revoked; refused from then on, on every instance.';

CREATE TABLE security_events (
    id              UUID        NOT NULL CONSTRAINT security_events_pk PRIMARY KEY,
    at              TIMESTAMPTZ NOT NULL,
    kind            TEXT        NOT NULL,
    organisation_id UUID        NULL,
    user_id         UUID        NULL,
    subject         TEXT        NOT NULL,
    client          TEXT        NULL,
    detail          TEXT        NOT NULL
);
CREATE INDEX security_events_by_user ON security_events (user_id, at);
COMMENT ON TABLE security_events IS 'Sign-ins, failures, throttling, invitations, passwords, keys, disabling, approvals; append-only; never a secret.';
COMMENT ON COLUMN security_events.id IS 'UUIDv7: events sort by id in the order they were recorded.';
COMMENT ON COLUMN security_events.kind IS 'sign_in, sign_in_failed, sign_in_throttled, sign_out, invitation_created, password_set, password_changed, session_revoked, api_key_created, api_key_revoked, user_disabled, ...';
COMMENT ON COLUMN security_events.organisation_id IS 'The organisation concerned, when known.';
COMMENT ON COLUMN security_events.user_id IS 'The user concerned, when known.';
COMMENT ON COLUMN security_events.subject IS 'Who acted (a user''s email, a token''s subject, or the email tried).';
COMMENT ON COLUMN security_events.client IS 'The client address, when the event came over the network.';
COMMENT ON COLUMN security_events.detail IS 'A JSON object of non-secret details.';

CREATE TRIGGER security_events_append_only BEFORE UPDATE OR DELETE ON security_events
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER security_events_no_truncate BEFORE TRUNCATE ON security_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();
