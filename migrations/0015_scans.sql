-- Image scans (issue 17). A scan is a persisted job (kind 'scan', naming the
-- manifest it scans) and a result per manifest (`scans`). SQLite cannot change
-- a CHECK constraint in place, so `jobs` is rebuilt with the new kind and the
-- manifest column; rows keep their ids.
CREATE TABLE jobs_new (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('lifecycle', 'gc', 'scan')),
    repository_id INTEGER REFERENCES repositories (id) ON DELETE CASCADE,
    -- The manifest a scan job scans; NULL once it is deleted (the job's row
    -- stays as history).
    manifest_id   INTEGER REFERENCES manifests (id) ON DELETE SET NULL,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'interrupted')),
    run_after     INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER,
    summary       TEXT
) STRICT;
INSERT INTO jobs_new (id, kind, repository_id, status, run_after, created_at, started_at, finished_at, summary)
    SELECT id, kind, repository_id, status, run_after, created_at, started_at, finished_at, summary FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_due ON jobs (status, run_after);

-- The latest scan of each manifest, as ECR reports it.
CREATE TABLE scans (
    manifest_id       INTEGER PRIMARY KEY REFERENCES manifests (id) ON DELETE CASCADE,
    -- 'image', or 'index' (whose status and findings are its children's).
    kind              TEXT    NOT NULL CHECK (kind IN ('image', 'index')),
    status            TEXT    NOT NULL CHECK (status IN ('IN_PROGRESS', 'COMPLETE', 'FAILED', 'UNSUPPORTED_IMAGE')),
    -- Why a scan failed or is unsupported; what it found otherwise.
    description       TEXT,
    requested_at      INTEGER NOT NULL,
    completed_at      INTEGER,
    -- The package inventory: JSON of scan::Inventory, zstd-compressed. Kept so
    -- a new vulnerability database means matching again, not reading layers.
    inventory         BLOB,
    -- The findings: JSON array of scan::Finding.
    findings          TEXT,
    -- When the vulnerability database the findings come from last changed (ms).
    source_updated_at INTEGER,
    -- The CycloneDX SBOM referrer this scan stored in the repository.
    sbom_digest       TEXT
) STRICT;

-- Findings that appeared or disappeared when a stored inventory was matched
-- again against a newer database (continuous scanning).
CREATE TABLE scan_finding_events (
    id              INTEGER PRIMARY KEY,
    manifest_id     INTEGER NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
    event           TEXT    NOT NULL CHECK (event IN ('appeared', 'disappeared')),
    name            TEXT    NOT NULL,
    package_name    TEXT    NOT NULL,
    package_version TEXT    NOT NULL,
    at              INTEGER NOT NULL
) STRICT;
CREATE INDEX scan_finding_events_by_manifest ON scan_finding_events (manifest_id, id);
