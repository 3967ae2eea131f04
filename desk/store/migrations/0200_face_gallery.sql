-- Face de-duplication gallery (biometric/index): one row per enrolled dlib descriptor, loaded into
-- the in-memory gallery at start-up in rowid order.
CREATE TABLE face_gallery (
    entry_id   TEXT PRIMARY KEY,              -- enrollment record id, or the registry's gallery id
    person_id  TEXT NOT NULL,                 -- groups the descriptors of one identity
    origin     TEXT NOT NULL CHECK (origin IN ('local', 'registry')),
    descriptor BLOB NOT NULL,                 -- 128 float32 LE (512 B), AES-256-GCM sealed, AD = entry_id
    added_at   TEXT NOT NULL                  -- RFC 3339
);
CREATE INDEX face_gallery_person ON face_gallery (person_id);
