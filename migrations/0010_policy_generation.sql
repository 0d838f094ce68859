-- A counter that every policy change bumps, whichever process makes it (the
-- server, or `berth user attach-policy` beside it). The server keeps parsed
-- policies in memory and reads only this counter per authorization: one tiny
-- read instead of three reads and three JSON parses, and a change still
-- counts from the very next request.
CREATE TABLE policy_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
) STRICT;
INSERT INTO policy_generation (id, n) VALUES (1, 0);

CREATE TRIGGER user_policy_added AFTER INSERT ON user_policies
BEGIN UPDATE policy_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER user_policy_changed AFTER UPDATE ON user_policies
BEGIN UPDATE policy_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER user_policy_removed AFTER DELETE ON user_policies
BEGIN UPDATE policy_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER repository_created_with_policy AFTER INSERT ON repositories
WHEN NEW.policy_text IS NOT NULL
BEGIN UPDATE policy_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER repository_policy_changed AFTER UPDATE OF policy_text ON repositories
BEGIN UPDATE policy_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER repository_removed AFTER DELETE ON repositories
BEGIN UPDATE policy_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER registry_policy_changed AFTER UPDATE OF policy_text ON registry
BEGIN UPDATE policy_generation SET n = n + 1 WHERE id = 1; END;
