-- The vulnerability database: OSV records by source (a URL from the
-- vulndb_sources setting, or `import:<file>` for `berth vulndb import`).
-- Each import writes a new generation of a source's records in short
-- transactions, then switches the source to it in one small transaction and
-- deletes the old generation in chunks: a failed or half-done import leaves
-- the previous generation in service, and no import holds the writer long.
CREATE TABLE vulndb_sources (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL UNIQUE,  -- URL, or `import:<file name>`
    etag             TEXT,                     -- of the last download, for If-None-Match
    last_modified    TEXT,                     -- of the last download, for If-Modified-Since
    updated_at       INTEGER,                  -- when its records were last replaced (ms)
    checked_at       INTEGER,                  -- when it was last imported or found unchanged (ms)
    records          INTEGER NOT NULL DEFAULT 0,  -- records in the generation in service
    skipped          INTEGER NOT NULL DEFAULT 0,  -- malformed records the last import skipped
    skipped_reasons  TEXT    NOT NULL DEFAULT '[]',  -- JSON: the first few reasons
    last_error       TEXT,                     -- the last failed update's error, until one succeeds
    last_error_at    INTEGER
) STRICT;

-- One import of one source. `writing`: being written by the import that
-- holds its lease (renewed with every batch; one whose lease ran out was
-- abandoned by a stop and is removed by the next import of the source);
-- `live`: in service (at most one per source); `old`: replaced or abandoned,
-- being deleted.
CREATE TABLE vulndb_generations (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER NOT NULL REFERENCES vulndb_sources (id) ON DELETE CASCADE,
    state       TEXT    NOT NULL CHECK (state IN ('writing', 'live', 'old')),
    created_at  INTEGER NOT NULL,
    lease_until INTEGER NOT NULL     -- ms; only meaningful while `writing`
) STRICT;
CREATE UNIQUE INDEX vulndb_generations_live ON vulndb_generations (source_id) WHERE state = 'live';

-- Each record's JSON, once.
CREATE TABLE vulndb_records (
    id          INTEGER PRIMARY KEY,
    generation  INTEGER NOT NULL,   -- vulndb_generations.id (no foreign key: deleted in chunks)
    record_id   TEXT    NOT NULL,   -- the OSV id
    modified    TEXT,
    json        TEXT    NOT NULL
) STRICT;
CREATE INDEX vulndb_records_generation ON vulndb_records (generation);

-- Which records name a package: (ecosystem, name) as the record spells them
-- (PyPI names normalised as PEP 503 says), for lookups by package.
CREATE TABLE vulndb_packages (
    ecosystem   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    record      INTEGER NOT NULL,   -- vulndb_records.id
    generation  INTEGER NOT NULL
) STRICT;
CREATE INDEX vulndb_packages_key ON vulndb_packages (ecosystem, name);
CREATE INDEX vulndb_packages_generation ON vulndb_packages (generation);
