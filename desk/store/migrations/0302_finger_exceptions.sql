-- Desk operations (desk/exceptions): biometric exceptions declared for a submission — a finger
-- that is missing, bandaged or unreadable — with the reason and a reference to the evidence
-- photo (the photo itself travels with the record's sealed blobs). Positions follow ISO/IEC
-- 19794-2 (1 right thumb ... 10 left little). No personal data beyond what the record holds.
CREATE TABLE finger_exceptions (
    item_id     TEXT    NOT NULL REFERENCES review_items(item_id),
    position    INTEGER NOT NULL CHECK (position BETWEEN 1 AND 10),
    reason      TEXT    NOT NULL CHECK (reason IN ('missing', 'bandaged', 'unreadable')),
    evidence    TEXT    NOT NULL,             -- "sha256:<hex>" of the evidence photo blob
    declared_by TEXT    NOT NULL REFERENCES officers(officer_id),
    declared_at TEXT    NOT NULL,
    PRIMARY KEY (item_id, position)
);
