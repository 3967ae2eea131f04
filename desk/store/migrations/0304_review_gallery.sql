-- Desk operations (desk/app): what an enrollment waiting for the supervisor adds to the desk's
-- de-duplication galleries once it is released (biometric/index entries are keyed by the record
-- id, which exists only at release). One row per pending review item: the citizen id, the face
-- descriptor and the finger templates, AES-256-GCM under the desk data key. The row goes when the
-- item is released (its entries are then in the galleries) or rejected; rows whose item was
-- decided while the desk was closed are settled when it is unlocked.
CREATE TABLE review_gallery (
    item_id TEXT PRIMARY KEY REFERENCES review_items(item_id),
    sealed  BLOB NOT NULL
);
