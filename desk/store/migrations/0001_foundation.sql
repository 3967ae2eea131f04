-- The desk's identity: exactly one row, written at provisioning.
CREATE TABLE desk (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    desk_id       TEXT    NOT NULL,
    public_key    BLOB    NOT NULL,   -- Ed25519 public key (32 bytes)
    sealed_key    BLOB    NOT NULL,   -- Ed25519 seed sealed under the passphrase-derived key
    data_key      BLOB    NOT NULL,   -- AES-256 data key for biometrics at rest, sealed likewise
    kdf_salt      BLOB    NOT NULL,
    kdf_time      INTEGER NOT NULL,
    kdf_memory    INTEGER NOT NULL,   -- KiB
    kdf_threads   INTEGER NOT NULL,
    created_at    TEXT    NOT NULL
);

CREATE TABLE officers (
    officer_id      TEXT    PRIMARY KEY,
    display_name    TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('officer', 'supervisor')),
    pin_hash        BLOB    NOT NULL,  -- argon2id of the PIN
    pin_salt        BLOB    NOT NULL,
    kdf_time        INTEGER NOT NULL,
    kdf_memory      INTEGER NOT NULL,
    kdf_threads     INTEGER NOT NULL,
    public_key      BLOB    NOT NULL,  -- the officer's own Ed25519 key, for countersigning records
    sealed_key      BLOB    NOT NULL,  -- its seed, sealed under a PIN-derived key
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT,              -- RFC 3339; NULL when not locked
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL
);

-- Append-only, hash-chained audit log. hash = SHA-256(prev_hash || canonical row); the triggers
-- make UPDATE and DELETE fail inside SQLite, and `enrolldesk audit verify` recomputes the chain to
-- catch edits made with the triggers dropped.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    subject    TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '',
    prev_hash  BLOB    NOT NULL,
    hash       BLOB    NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Desk settings (timeouts, thresholds, policy), one JSON value per key.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
