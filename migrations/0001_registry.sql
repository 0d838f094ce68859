-- Berth's metadata. Times are milliseconds since the Unix epoch (UTC).
-- Blob bytes live in the blob store; this database records which exist and who links them.

CREATE TABLE registry (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    registry_id TEXT    NOT NULL,           -- 12 digits, made at first start
    region      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,         -- argon2id PHC string
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE repositories (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL UNIQUE,
    created_at       INTEGER NOT NULL,
    tag_mutability   TEXT    NOT NULL DEFAULT 'MUTABLE',
    scan_on_push     INTEGER NOT NULL DEFAULT 0,
    encryption_type  TEXT    NOT NULL DEFAULT 'AES256',
    kms_key          TEXT
) STRICT;

-- Every blob whose bytes are committed in the blob store, once per registry.
CREATE TABLE blobs (
    digest     TEXT    PRIMARY KEY,
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- A repository may read a blob only through a link (made by a push or a mount).
-- touched_at is refreshed by every touch a push may rely on; GC spares recent links.
CREATE TABLE blob_links (
    repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest        TEXT    NOT NULL REFERENCES blobs (digest),
    touched_at    INTEGER NOT NULL,
    PRIMARY KEY (repository_id, digest)
) STRICT, WITHOUT ROWID;
CREATE INDEX blob_links_by_digest ON blob_links (digest);

-- Images: manifests and indexes, stored byte for byte.
CREATE TABLE manifests (
    id               INTEGER PRIMARY KEY,
    repository_id    INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest           TEXT    NOT NULL,
    media_type       TEXT    NOT NULL,
    artifact_type    TEXT,              -- artifactType, else the config media type
    subject_digest   TEXT,
    annotations      TEXT,              -- JSON object, as pushed
    body             BLOB    NOT NULL,
    size             INTEGER NOT NULL,  -- image size as ECR counts it
    pushed_at        INTEGER NOT NULL,
    last_pulled_at   INTEGER,
    UNIQUE (repository_id, digest)
) STRICT;
CREATE INDEX manifests_by_subject ON manifests (repository_id, subject_digest)
    WHERE subject_digest IS NOT NULL;

-- What each manifest references: blobs (config, layers) and child manifests.
CREATE TABLE manifest_refs (
    manifest_id INTEGER NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
    digest      TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('blob', 'manifest')),
    PRIMARY KEY (manifest_id, digest)
) STRICT, WITHOUT ROWID;
CREATE INDEX manifest_refs_by_digest ON manifest_refs (digest);

CREATE TABLE tags (
    repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    manifest_id   INTEGER NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (repository_id, name)
) STRICT, WITHOUT ROWID;
CREATE INDEX tags_by_manifest ON tags (manifest_id);

-- Blob upload sessions; their bytes live in the blob store under the same id.
CREATE TABLE upload_sessions (
    id            TEXT    PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
