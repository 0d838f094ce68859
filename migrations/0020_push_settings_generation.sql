-- A counter that every change to the settings a manifest PUT acts on bumps
-- (the registry's scanning configuration and the signing configuration),
-- whichever process makes it: the server, `berth` beside it, or another
-- node sharing the database. The server keeps both configurations parsed in
-- memory and reads only this counter per push, as it does for policies
-- (0010_policy_generation.sql).
CREATE TABLE push_settings_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
) STRICT;
INSERT INTO push_settings_generation (id, n) VALUES (1, 0);

CREATE TRIGGER scanning_configuration_changed AFTER UPDATE OF scanning_configuration ON registry
BEGIN UPDATE push_settings_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER signing_configuration_added AFTER INSERT ON signing_configuration
BEGIN UPDATE push_settings_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER signing_configuration_changed AFTER UPDATE ON signing_configuration
BEGIN UPDATE push_settings_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER signing_configuration_removed AFTER DELETE ON signing_configuration
BEGIN UPDATE push_settings_generation SET n = n + 1 WHERE id = 1; END;
