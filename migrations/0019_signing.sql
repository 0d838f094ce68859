-- Managed signing (issue 18 §3). New tables only: no table another change
-- edits is touched (signing jobs live in `image_signatures`, not in `jobs`,
-- whose kind CHECK would have to be rebuilt).

-- The installation's signing CA, made on first use. The private key is PKCS#8
-- sealed by the installation secret (auth::secrets::SecretBox).
CREATE TABLE signing_ca (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    cert_der   BLOB    NOT NULL,
    sealed_key BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- Signing profiles: Berth-managed signing keys with a certificate the CA issued.
CREATE TABLE signing_profiles (
    name       TEXT    PRIMARY KEY,
    cert_der   BLOB    NOT NULL,
    sealed_key BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    not_after  INTEGER NOT NULL
) STRICT;

-- The registry's signing configuration (PutSigningConfiguration) as JSON:
-- {"rules": [{"signingProfileArn", "repositoryFilters": [...]}]}.
CREATE TABLE signing_configuration (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    rules TEXT    NOT NULL
) STRICT;

-- Each pushed image's signing per profile: the status ECR reports and the
-- persisted job behind it. A row IN_PROGRESS is work to do; `claimed_at` is
-- the lease of the process running it (a lease older than the timeout is
-- taken again, so a stopped process's signings resume).
CREATE TABLE image_signatures (
    manifest_id       INTEGER NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
    profile_arn       TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('IN_PROGRESS', 'COMPLETE', 'FAILED')),
    failure_code      TEXT,
    failure_reason    TEXT,
    -- The signature referrer stored in the repository.
    signature_digest  TEXT,
    requested_at      INTEGER NOT NULL,
    claimed_at        INTEGER,
    completed_at      INTEGER,
    PRIMARY KEY (manifest_id, profile_arn)
) STRICT;
CREATE INDEX image_signatures_to_do ON image_signatures (status, claimed_at);
