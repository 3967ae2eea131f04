-- Finger de-duplication gallery (biometric/index): one row per enrolled finger template.
CREATE TABLE finger_gallery (
    entry_id   TEXT PRIMARY KEY,
    person_id  TEXT NOT NULL,
    position   INTEGER NOT NULL CHECK (position BETWEEN 0 AND 10), -- ISO/IEC 19794-2 finger position
    origin     TEXT NOT NULL CHECK (origin IN ('local', 'registry')),
    template   BLOB NOT NULL,   -- finger.Template compact form, AES-256-GCM sealed, AD = entry_id
    added_at   TEXT NOT NULL
);
CREATE INDEX finger_gallery_person ON finger_gallery (person_id);

-- Signed gallery deltas from the registry applied so far, one row per gallery: the next delta
-- must carry seq + 1.
CREATE TABLE gallery_sync (
    gallery_id TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    digest     BLOB NOT NULL,   -- SHA-256 of the last applied delta
    applied_at TEXT NOT NULL
);
