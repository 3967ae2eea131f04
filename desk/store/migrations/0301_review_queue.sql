-- Desk operations (desk/review): enrollments an officer approved, waiting for the supervisor's
-- end-of-day review when the desk's policy asks for it. Nothing here is in the outbox yet: a
-- record gets its sequence and previous hash only when the outbox appends it at release, so a
-- rejected item never takes a sequence. Release is two-phase ('releasing' is committed before the
-- outbox append, 'released' with the sequence after it); an item found 'releasing' after a crash
-- is matched against the outbox by its match key and settled either way.
CREATE TABLE review_items (
    item_id      TEXT    PRIMARY KEY,                 -- UUIDv7 of the submission (not the record id)
    officer_id   TEXT    NOT NULL REFERENCES officers(officer_id),
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'releasing', 'released', 'rejected')),
    needs_review INTEGER NOT NULL,                    -- 1 when a supervisor had to decide
    exceptions   INTEGER NOT NULL DEFAULT 0,          -- biometric exceptions declared
    flags        TEXT    NOT NULL DEFAULT '',         -- comma-separated check codes (no personal data)
    payload      BLOB    NOT NULL,                    -- record content + raw blobs (CBOR), AES-256-GCM under the desk data key; emptied once released or rejected
    payload_hash BLOB    NOT NULL,                    -- SHA-256 of the plaintext payload
    match_key    BLOB    NOT NULL,                    -- SHA-256 over officer, citizen, consent time and DG1: finds the released record
    officer_sig  BLOB,                                -- the officer's Ed25519 signature of the submission, when given
    submitted_at TEXT    NOT NULL,
    day          TEXT    NOT NULL,                    -- office-local date YYYY-MM-DD of submission
    decided_by   TEXT    REFERENCES officers(officer_id),
    decided_at   TEXT,
    reason_code  TEXT    NOT NULL DEFAULT '',
    reason_note  TEXT    NOT NULL DEFAULT '',
    seq          INTEGER                              -- outbox sequence assigned at release
);
CREATE INDEX review_items_state ON review_items(state, submitted_at);
CREATE INDEX review_items_day ON review_items(day, officer_id);
