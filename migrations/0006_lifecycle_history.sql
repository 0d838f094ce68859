-- Every image a lifecycle run expired: what, when, and by which rule.
CREATE TABLE lifecycle_expirations (
    id            INTEGER PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest        TEXT    NOT NULL,
    tags          TEXT    NOT NULL,          -- JSON array, as they were
    pushed_at     INTEGER NOT NULL,
    rule_priority INTEGER,
    expired_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX lifecycle_expirations_by_repository ON lifecycle_expirations (repository_id, expired_at);
