-- PostgreSQL for several collector hosts (README, « Au-delà d'un serveur »): two roles and
-- the database. Run once, as PostgreSQL's superuser, on the database server:
--
--   sudo -u postgres psql -v ON_ERROR_STOP=1 \
--        -v owner_password="$(cat /root/ami-owner.pw)" -v collector_password="$(cat /root/ami-collector.pw)" \
--        -f deploy/postgresql.sql
--
-- ami_owner owns the schema: only `flask --app collector db-upgrade` uses it (its URL is given
-- to that command alone). ami_collector is what every host's COLLECTOR_DATABASE_URL names:
-- it reads and writes rows, it cannot change or drop a table.

CREATE ROLE ami_owner LOGIN PASSWORD :'owner_password';
-- hosts × gunicorn workers × COLLECTOR_DATABASE_POOL_SIZE, plus the mailers and commands, must fit.
CREATE ROLE ami_collector LOGIN PASSWORD :'collector_password' CONNECTION LIMIT 60;
-- A request never waits on the database for long: the collector answers 503 instead.
ALTER ROLE ami_collector SET statement_timeout = '10s';
ALTER ROLE ami_collector SET lock_timeout = '5s';
ALTER ROLE ami_collector SET idle_in_transaction_session_timeout = '30s';

CREATE DATABASE ami_usages_numeriques OWNER ami_owner ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE ami_usages_numeriques FROM PUBLIC;
GRANT CONNECT ON DATABASE ami_usages_numeriques TO ami_collector;

\connect ami_usages_numeriques
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO ami_collector;
-- Every table and sequence db-upgrade creates (as ami_owner), now and later: rows and counters only.
ALTER DEFAULT PRIVILEGES FOR ROLE ami_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ami_collector;
ALTER DEFAULT PRIVILEGES FOR ROLE ami_owner IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ami_collector;
