-- Lifecycle policies and their previews (dry runs).

ALTER TABLE repositories ADD COLUMN lifecycle_policy TEXT;
ALTER TABLE repositories ADD COLUMN lifecycle_evaluated_at INTEGER;

-- The latest preview per repository: the policy it evaluated and, for every
-- image it would expire, the decision (JSON array of LifecycleDecision).
CREATE TABLE lifecycle_previews (
    repository_id INTEGER PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    policy_text   TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('IN_PROGRESS', 'COMPLETE', 'FAILED')),
    decisions     TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;
