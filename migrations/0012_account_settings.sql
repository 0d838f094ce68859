-- ECR's account settings (GetAccountSetting / PutAccountSetting) that Berth
-- acts on. BLOB_MOUNTING decides whether `POST /v2/<name>/blobs/uploads/?mount=`
-- links a blob from another repository (ENABLED, Berth's behaviour so far) or
-- starts a normal upload (DISABLED). REGISTRY_POLICY_SCOPE decides which
-- requests the registry policy takes part in: V2 (ECR's default) every ECR
-- action, V1 only ecr:ReplicateImage, ecr:BatchImportUpstreamImage and
-- ecr:CreateRepository.
ALTER TABLE registry ADD COLUMN blob_mounting TEXT NOT NULL DEFAULT 'ENABLED'
    CHECK (blob_mounting IN ('ENABLED', 'DISABLED'));
ALTER TABLE registry ADD COLUMN registry_policy_scope TEXT NOT NULL DEFAULT 'V2'
    CHECK (registry_policy_scope IN ('V1', 'V2'));

-- The scope changes what the registry policy allows: cached authorizations
-- must be redone, as for a policy change.
CREATE TRIGGER registry_policy_scope_changed AFTER UPDATE OF registry_policy_scope ON registry
BEGIN UPDATE policy_generation SET n = n + 1 WHERE id = 1; END;
