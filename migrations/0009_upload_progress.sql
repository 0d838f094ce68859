-- Upload sessions keep their own progress, so any request (on any node, after
-- a restart too) continues a push without reading its bytes back: the bytes
-- received, the SHA-256 state over them, and what the blob store needs to go on
-- (for S3, the multipart upload id and its parts' ETags).
-- Sessions from before this version have no saved hash state and are dropped;
-- clients start those blob uploads again, and the upload expiry job removes
-- their files.
DELETE FROM upload_sessions;
ALTER TABLE upload_sessions ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE upload_sessions ADD COLUMN hash_state BLOB NOT NULL DEFAULT x'';
ALTER TABLE upload_sessions ADD COLUMN store_state TEXT NOT NULL DEFAULT '';
