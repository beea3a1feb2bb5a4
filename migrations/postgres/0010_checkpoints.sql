-- Signed checkpoints of the chain head (docs/hash-chain.md, "Checkpoints"): the operator's Ed25519
-- signature over (sequence, hash, signed_at, key_id), kept so partners can compare the heads they
-- were shown. Append-only: a checkpoint once published is evidence and is never changed.
-- PostgreSQL dialect; migrations/sqlite mirrors it.

CREATE TABLE checkpoints (
    sequence   BIGINT NOT NULL CONSTRAINT checkpoints_pk PRIMARY KEY
               CONSTRAINT checkpoints_sequence_check CHECK (sequence >= 0),
    hash       BYTEA  NOT NULL CONSTRAINT checkpoints_hash_length CHECK (octet_length(hash) = 32),
    signed_at  TEXT   NOT NULL CONSTRAINT checkpoints_signed_at_length CHECK (length(signed_at) = 20),
    key_id     TEXT   NOT NULL CONSTRAINT checkpoints_key_id_length CHECK (length(key_id) = 16),
    public_key BYTEA  NOT NULL CONSTRAINT checkpoints_public_key_length CHECK (octet_length(public_key) = 32),
    signature  BYTEA  NOT NULL CONSTRAINT checkpoints_signature_length CHECK (octet_length(signature) = 64)
);
COMMENT ON TABLE checkpoints IS 'Signed chain heads, at most one per sequence; append-only.';
COMMENT ON COLUMN checkpoints.sequence IS 'The last transaction the checkpoint covers (0: the empty journal).';
COMMENT ON COLUMN checkpoints.hash IS 'The chain hash after that transaction (its stored hash; genesis for 0).';
COMMENT ON COLUMN checkpoints.signed_at IS 'Signing time exactly as signed: RFC 3339, UTC, whole seconds, Z.';
COMMENT ON COLUMN checkpoints.key_id IS 'First 16 hex digits of SHA-256 of the public key, as signed.';
COMMENT ON COLUMN checkpoints.public_key IS 'The Ed25519 public key that signed it, so older checkpoints stay checkable after a key change.';
COMMENT ON COLUMN checkpoints.signature IS 'Ed25519 signature over the message of docs/hash-chain.md.';

CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();
