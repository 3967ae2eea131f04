-- Face de-duplication gallery (biometric/index): each descriptor names the face space (engine and
-- model set, index.FaceSpace.Engine) it was made in; a gallery opens and searches one space. Rows
-- stored before this column hold dlib descriptors ('': index.FaceSpace.Legacy).
ALTER TABLE face_gallery ADD COLUMN engine TEXT NOT NULL DEFAULT '';
CREATE INDEX face_gallery_engine ON face_gallery (engine);
