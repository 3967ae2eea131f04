-- The outbox of signed issuance records (sync/outbox). A record gets its sequence and previous
-- hash when it is released here, in the same transaction that reads the chain head (the last
-- row), so the chain has no gaps and no forks. Records are immutable: a record's state (queued,
-- sent, acked) follows from the high-water marks in sync_state, because acknowledgements always
-- cover a prefix of the chain; that keeps a commit to a few pages and an ack from rewriting rows.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY,            -- per-desk sequence 1, 2, 3, ...
    record_id  BLOB    NOT NULL,               -- UUIDv7, 16 bytes (also inside the envelope)
    prev_hash  BLOB    NOT NULL,               -- SHA-256 of the previous envelope (zeros for seq 1)
    hash       BLOB    NOT NULL,               -- SHA-256 of envelope
    envelope   BLOB    NOT NULL,               -- the tagged COSE_Sign1 as signed and sent
    created_at INTEGER NOT NULL                -- Unix milliseconds
);
CREATE TRIGGER outbox_immutable BEFORE UPDATE ON outbox
BEGIN SELECT RAISE(ABORT, 'outbox records are immutable'); END;
CREATE TRIGGER outbox_no_delete BEFORE DELETE ON outbox
BEGIN SELECT RAISE(ABORT, 'outbox records are append-only'); END;

-- A record's biometric blobs, each sealed to the registry (age X25519), bundled and encrypted
-- again at rest under the desk data key (AES-256-GCM). The row is deleted once the registry has
-- acknowledged the record (Decree 13/2023 data minimisation); the blobs' hashes stay in the
-- signed envelope.
CREATE TABLE outbox_blobs (
    seq        INTEGER PRIMARY KEY REFERENCES outbox(seq),
    ciphertext BLOB NOT NULL
);

-- What the desk knows of the registry. queued = seq > sent_seq; sent = acked_seq < seq <= sent_seq;
-- acked = seq <= acked_seq.
CREATE TABLE sync_state (
    singleton       INTEGER PRIMARY KEY CHECK (singleton = 1),
    acked_seq       INTEGER NOT NULL DEFAULT 0,
    sent_seq        INTEGER NOT NULL DEFAULT 0,
    receipt         BLOB,              -- last verified signed receipt (COSE_Sign1)
    checkpoint      BLOB,              -- last verified Merkle log checkpoint
    last_synced_at  INTEGER,           -- Unix ms of the last receipt that covered everything released
    last_attempt_at INTEGER,
    last_error      TEXT NOT NULL DEFAULT ''
);
INSERT INTO sync_state(singleton) VALUES (1);
