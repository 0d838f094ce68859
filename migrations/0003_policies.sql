-- Permissions: policies attached to users, and resource policies on
-- repositories and on the registry (IAM JSON, evaluated by berth_app::policy).

-- A user's identity policies: a managed policy by name (document NULL) or an
-- inline policy (its JSON).
CREATE TABLE user_policies (
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name     TEXT    NOT NULL,
    document TEXT,
    PRIMARY KEY (user_id, name)
) STRICT, WITHOUT ROWID;

ALTER TABLE repositories ADD COLUMN policy_text TEXT;
ALTER TABLE registry ADD COLUMN policy_text TEXT;

-- The first user keeps the full access it had before permissions existed.
INSERT INTO user_policies (user_id, name, document)
    SELECT id, 'AmazonEC2ContainerRegistryFullAccess', NULL FROM users WHERE name = 'admin';
