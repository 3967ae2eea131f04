-- Desk operations (desk/opcheck): each officer's own enrolled face descriptors and finger
-- templates, captured by a supervisor when the account is created, for the operator check (an
-- officer must not enroll themself under a citizen's card). Sealed under the desk data key.
CREATE TABLE officer_biometrics (
    officer_id  TEXT PRIMARY KEY REFERENCES officers(officer_id),
    profile     BLOB NOT NULL,   -- CBOR {faces, fingers}, AES-256-GCM under the desk data key
    enrolled_by TEXT NOT NULL REFERENCES officers(officer_id),
    enrolled_at TEXT NOT NULL
);
