-- Encryption at rest (issue 18 §2). A blob's bytes are stored encrypted, once
-- per KMS key that protects a repository linking it: each such copy is a
-- stored object named sha256(digest || key id) (keys::segments' format:
-- a header naming the key and the wrapped data key, then AES-256-GCM
-- segments). Blobs pushed before this change have no copy yet: their bytes
-- are stored in the clear under their digest until the encryption job
-- (jobs/encrypt.rs) makes their copies and removes them.
CREATE TABLE blob_copies (
    digest     TEXT    NOT NULL REFERENCES blobs (digest) ON DELETE CASCADE,
    -- The KMS key (kms_keys.id) that wrapped the copy's data key.
    key_id     TEXT    NOT NULL,
    -- The stored object: a digest-shaped name, sha256 of digest and key id.
    object     TEXT    NOT NULL UNIQUE,
    -- The object's header as stored (read back from the store at commit, so
    -- it always matches the bytes), to read without fetching it first.
    header     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (digest, key_id)
) STRICT, WITHOUT ROWID;

-- Which key a link reads its blob under: the key of the linking repository
-- when the link was made. NULL for links made before this change, whose
-- blob is read in the clear until the encryption job sets it.
ALTER TABLE blob_links ADD COLUMN key_id TEXT;
CREATE INDEX blob_links_unencrypted ON blob_links (digest) WHERE key_id IS NULL;

-- Whether the blob's bytes are (still) stored in the clear under its digest:
-- every blob recorded before this change, until the encryption job has made
-- a copy for each of its links and removed them. New blobs never are.
ALTER TABLE blobs ADD COLUMN stored_plain INTEGER NOT NULL DEFAULT 1 CHECK (stored_plain IN (0, 1));

-- The encryption job is a persisted job ('encrypt'). SQLite cannot change a
-- CHECK constraint in place, so `jobs` is rebuilt with the new kind; rows
-- keep their ids.
CREATE TABLE jobs_new (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('lifecycle', 'gc', 'scan', 'encrypt')),
    repository_id INTEGER REFERENCES repositories (id) ON DELETE CASCADE,
    manifest_id   INTEGER REFERENCES manifests (id) ON DELETE SET NULL,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'interrupted')),
    run_after     INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER,
    summary       TEXT
) STRICT;
INSERT INTO jobs_new (id, kind, repository_id, manifest_id, status, run_after, created_at, started_at, finished_at, summary)
    SELECT id, kind, repository_id, manifest_id, status, run_after, created_at, started_at, finished_at, summary FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_due ON jobs (status, run_after);
