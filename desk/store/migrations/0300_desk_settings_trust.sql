-- Desk operations (desk/settings): the registry's Ed25519 public key, pinned once at provisioning,
-- and every signed desk-settings document applied, newest serial last (anti-rollback: a document
-- is applied only when its serial is above every serial applied before).
CREATE TABLE settings_trust (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    registry_key BLOB    NOT NULL,   -- Ed25519 public key (32 bytes)
    pinned_at    TEXT    NOT NULL
);

CREATE TABLE settings_signed (
    serial     INTEGER PRIMARY KEY,
    issued_at  INTEGER NOT NULL,     -- Unix ms, from the signed document
    document   BLOB    NOT NULL,     -- the signed envelope as received
    applied_at TEXT    NOT NULL
);
