-- The lost-link requests (porteur/lost_link.py): written by any host's page, handled by
-- whichever host's mailer claims one first (SELECT … FOR UPDATE SKIP LOCKED).
--
-- `address` is personal data, kept in clear only as long as the request waits: the mailer
-- deletes the row in the transaction that handled it (its mail queued, or none due), and
-- deletes, unhandled, any request older than link_requests.MAX_AGE (7 days) at each of its
-- catch-ups; link_requests.remove_expired does the same without a mailer (for a purge).
-- No other table copies it, nothing is indexed by it, and the name of the request (`id`,
-- 32 random hexadecimal digits) says nothing about who asked.
-- (Like every row, it stays in the WAL and the backups until they are recycled.)
CREATE TABLE link_requests (
    id       text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    address  text NOT NULL,
    made_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX link_requests_made_at ON link_requests (made_at);
