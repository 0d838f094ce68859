-- The registry's scanning configuration (PutRegistryScanningConfiguration), as JSON:
-- {"scanType": "BASIC"|"ENHANCED", "rules": [{"scanFrequency", "repositoryFilters": [...]}]}.
ALTER TABLE registry ADD COLUMN scanning_configuration TEXT;
