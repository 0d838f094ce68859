-- KMS keys (issue 18 §1): Berth's stand-in for AWS KMS. New tables only; no
-- existing table changes. Repositories keep naming their key in
-- repositories.kms_key (the key's ARN since this change).
CREATE TABLE kms_keys (
    -- A UUID, as KMS key ids are.
    id                   TEXT    PRIMARY KEY,
    description          TEXT    NOT NULL DEFAULT '',
    -- 'CUSTOMER': made by an administrator; 'AWS': the default key for KMS
    -- repositories that name none (alias/aws/ecr); 'BERTH': the registry's
    -- own key for AES256 repositories. At most one each of the last two.
    manager              TEXT    NOT NULL CHECK (manager IN ('CUSTOMER', 'AWS', 'BERTH')),
    state                TEXT    NOT NULL CHECK (state IN ('Enabled', 'Disabled', 'PendingDeletion', 'Deleted')),
    created_at           INTEGER NOT NULL,
    -- PendingDeletion: when the key is deleted (ms) and the waiting period (days).
    deletion_date        INTEGER,
    pending_window_days  INTEGER,
    -- Deleted: when its material was erased (ms).
    deleted_at           INTEGER,
    rotation_enabled     INTEGER NOT NULL DEFAULT 0 CHECK (rotation_enabled IN (0, 1)),
    rotation_period_days INTEGER NOT NULL DEFAULT 365,
    -- When automatic rotation next adds a version (ms), while it is enabled.
    next_rotation_at     INTEGER
) STRICT;
CREATE UNIQUE INDEX kms_keys_managed ON kms_keys (manager) WHERE manager IN ('AWS', 'BERTH');
CREATE INDEX kms_keys_due ON kms_keys (state, deletion_date);

-- Each version of a key's material, sealed by the installation's secret
-- (keys::material). Rotation adds a version; old ones stay so old data opens.
-- Deletion erases them all.
CREATE TABLE kms_key_versions (
    key_id        TEXT    NOT NULL REFERENCES kms_keys (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL CHECK (version >= 1),
    material      BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    -- NULL for the first version; 'AUTOMATIC' or 'ON_DEMAND' for rotations.
    rotation_type TEXT    CHECK (rotation_type IN ('AUTOMATIC', 'ON_DEMAND')),
    PRIMARY KEY (key_id, version)
) STRICT;

-- Aliases: 'alias/NAME' for one key each.
CREATE TABLE kms_aliases (
    name       TEXT    PRIMARY KEY,
    key_id     TEXT    NOT NULL REFERENCES kms_keys (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX kms_aliases_key ON kms_aliases (key_id);
