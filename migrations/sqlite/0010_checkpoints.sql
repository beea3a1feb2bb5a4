-- Signed checkpoints of the chain head (docs/hash-chain.md, "Checkpoints"): the operator's Ed25519
-- signature over (sequence, hash, signed_at, key_id), kept so partners can compare the heads they
-- were shown. Append-only: a checkpoint once published is evidence and is never changed.
-- SQLite dialect; migrations/postgres mirrors it and carries the column comments.

CREATE TABLE checkpoints (
    -- The last transaction the checkpoint covers (0: the empty journal).
    sequence   INTEGER NOT NULL CONSTRAINT checkpoints_pk PRIMARY KEY
               CONSTRAINT checkpoints_sequence_check CHECK (sequence >= 0),
    -- The chain hash after that transaction (its stored hash; genesis for 0).
    hash       BLOB NOT NULL CONSTRAINT checkpoints_hash_length CHECK (length(hash) = 32),
    -- Signing time exactly as signed: RFC 3339, UTC, whole seconds, Z.
    signed_at  TEXT NOT NULL CONSTRAINT checkpoints_signed_at_length CHECK (length(signed_at) = 20),
    -- First 16 hex digits of SHA-256 of the public key, as signed.
    key_id     TEXT NOT NULL CONSTRAINT checkpoints_key_id_length CHECK (length(key_id) = 16),
    -- The Ed25519 public key that signed it, so older checkpoints stay checkable after a key change.
    public_key BLOB NOT NULL CONSTRAINT checkpoints_public_key_length CHECK (length(public_key) = 32),
    -- Ed25519 signature over the message of docs/hash-chain.md.
    signature  BLOB NOT NULL CONSTRAINT checkpoints_signature_length CHECK (length(signature) = 64)
) STRICT;

CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'append_only: checkpoints cannot be updated'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'append_only: checkpoints cannot be deleted'); END;
