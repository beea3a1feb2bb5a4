-- People and keys (issue 17): users who sign in, their invitations and sessions, API keys for
-- partners' systems, and the append-only record of security events. Secrets are never stored:
-- passwords as argon2id PHC strings, tokens and keys as SHA-256 of their random bytes.
-- SQLite dialect; migrations/postgres mirrors it and carries the column comments.

CREATE TABLE users (
    id                  BLOB        NOT NULL CONSTRAINT users_pk PRIMARY KEY,
    organisation_id     BLOB        NOT NULL CONSTRAINT users_organisation_fk REFERENCES organisations (id),
    email               TEXT        NOT NULL CONSTRAINT users_email_unique UNIQUE
                                    CONSTRAINT users_email_length CHECK (length(email) BETWEEN 3 AND 254),
    role                TEXT        NOT NULL CONSTRAINT users_role_check
                                    CHECK (role IN ('contributor', 'beneficiary', 'auditor', 'admin')),
    password_hash       TEXT        NULL,
    created_by          TEXT        NOT NULL,
    created_at          TEXT        NOT NULL,
    password_changed_at TEXT        NULL,
    disabled_at         TEXT        NULL
) STRICT;

CREATE TABLE invitations (
    token_hash  BLOB        NOT NULL CONSTRAINT invitations_pk PRIMARY KEY
                            CONSTRAINT invitations_token_hash_length CHECK (length(token_hash) = 32),
    user_id     BLOB        NOT NULL CONSTRAINT invitations_user_fk REFERENCES users (id),
    created_at  TEXT        NOT NULL,
    expires_at  TEXT        NOT NULL,
    used_at     TEXT        NULL
) STRICT;

CREATE TABLE sessions (
    id                BLOB        NOT NULL CONSTRAINT sessions_pk PRIMARY KEY,
    user_id           BLOB        NOT NULL CONSTRAINT sessions_user_fk REFERENCES users (id),
    access_hash       BLOB        NOT NULL CONSTRAINT sessions_access_unique UNIQUE
                                  CONSTRAINT sessions_access_hash_length CHECK (length(access_hash) = 32),
    access_expires_at TEXT        NOT NULL,
    refresh_hash      BLOB        NOT NULL CONSTRAINT sessions_refresh_unique UNIQUE
                                  CONSTRAINT sessions_refresh_hash_length CHECK (length(refresh_hash) = 32),
    expires_at        TEXT        NOT NULL,
    created_at        TEXT        NOT NULL,
    revoked_at        TEXT        NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_keys (
    id              BLOB        NOT NULL CONSTRAINT api_keys_pk PRIMARY KEY,
    organisation_id BLOB        NOT NULL CONSTRAINT api_keys_organisation_fk REFERENCES organisations (id),
    created_by      BLOB        NOT NULL CONSTRAINT api_keys_user_fk REFERENCES users (id),
    name            TEXT        NOT NULL,
    role            TEXT        NOT NULL CONSTRAINT api_keys_role_check
                                CHECK (role IN ('contributor', 'beneficiary', 'auditor', 'admin')),
    prefix          TEXT        NOT NULL CONSTRAINT api_keys_prefix_unique UNIQUE,
    secret_hash     BLOB        NOT NULL CONSTRAINT api_keys_secret_hash_length CHECK (length(secret_hash) = 32),
    created_at      TEXT        NOT NULL,
    expires_at      TEXT        NULL,
    last_used_at    TEXT        NULL,
    revoked_at      TEXT        NULL
) STRICT;

CREATE TABLE security_events (
    id              BLOB        NOT NULL CONSTRAINT security_events_pk PRIMARY KEY,
    at              TEXT        NOT NULL,
    kind            TEXT        NOT NULL,
    organisation_id BLOB        NULL,
    user_id         BLOB        NULL,
    subject         TEXT        NOT NULL,
    client          TEXT        NULL,
    detail          TEXT        NOT NULL
) STRICT;
CREATE INDEX security_events_by_user ON security_events (user_id, at);

CREATE TRIGGER security_events_no_update BEFORE UPDATE ON security_events
BEGIN SELECT RAISE(ABORT, 'append_only: security_events cannot be updated'); END;
CREATE TRIGGER security_events_no_delete BEFORE DELETE ON security_events
BEGIN SELECT RAISE(ABORT, 'append_only: security_events cannot be deleted'); END;
