-- Who started each upload session, so that the open uploads of one user can
-- be counted and limited (the max_uploads_per_user setting). Sessions from
-- before this column have no owner and count against no one.
ALTER TABLE upload_sessions ADD COLUMN owner_id INTEGER;
CREATE INDEX upload_sessions_by_owner ON upload_sessions (owner_id);
