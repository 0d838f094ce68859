-- Identities beyond passwords, and the repository settings the ECR API manages.

-- Access keys for SigV4 and docker login. The secret is needed to verify
-- signatures, so it is kept encrypted (XChaCha20-Poly1305) with the
-- installation's key, never in plain text.
CREATE TABLE access_keys (
    id                TEXT    PRIMARY KEY,   -- AKIA… (20 characters)
    user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_ciphertext BLOB    NOT NULL,
    created_at        INTEGER NOT NULL,
    last_used_at      INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX access_keys_by_user ON access_keys (user_id);

-- Authorization tokens from GetAuthorizationToken, stored as SHA-256 of the token.
CREATE TABLE auth_tokens (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX auth_tokens_by_expiry ON auth_tokens (expires_at);

-- Tag-mutability exclusion filters, as the JSON list ECR returns.
ALTER TABLE repositories ADD COLUMN tag_mutability_exclusions TEXT;

-- Resource tags (TagResource) on repositories.
CREATE TABLE repository_tags (
    repository_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    PRIMARY KEY (repository_id, key)
) STRICT, WITHOUT ROWID;
