-- After every `cis migrate` (run as the owner), as the owner or a superuser:
--   psql -v app=cis_app -d cis -f grants.sql
-- The application may use every table, but audit events and checkpoints only to read and add:
-- no UPDATE, DELETE or TRUNCATE (the append-only trigger refuses UPDATE and DELETE to everyone
-- as well, and only the owner could disable it).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON audit_auditevent, audit_auditcheckpoint
    FROM :"app";
