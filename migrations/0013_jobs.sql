-- Long work as persisted jobs with a status, so a restart resumes or reports
-- it: delayed lifecycle applications (after PutLifecyclePolicy) and garbage
-- collection runs. Dry runs are not jobs: they write nothing.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('lifecycle', 'gc')),
    repository_id INTEGER REFERENCES repositories (id) ON DELETE CASCADE,
    -- pending: waits for run_after; running; succeeded; failed (summary says
    -- why); interrupted: the process stopped while it ran.
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'interrupted')),
    run_after     INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER,
    summary       TEXT                      -- what it did, or the error
) STRICT;
CREATE INDEX jobs_due ON jobs (status, run_after);
