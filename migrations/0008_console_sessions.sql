-- Console sign-in sessions (tower-sessions records). `data` is the session's
-- JSON map; `expires_at` (ms) moves forward with every request, so an idle
-- session lapses, and rows past it are never loaded and are swept by jobs.
CREATE TABLE console_sessions (
    id         TEXT    PRIMARY KEY,
    data       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
