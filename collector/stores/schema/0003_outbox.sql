-- The mail outbox, shared by every host's mailer (collector/stores/postgres_outbox.py).
--
-- One row per message ever queued, named as the data folder names its file
-- (`AMI-2021-0042.accuse.eml`): the name is the primary key, so a message is queued once.
-- `raw` holds the outbox file's bytes (the X-AMI-Envelope-To line, then the message as SMTP
-- carries it); `recipient` repeats that line's address for a person reading the table.
-- A message waits while sent_at and failed_at are NULL. A mailer claims it (claimed_at,
-- claimed_by) in a committed transaction before sending it; a claim older than the stale
-- limit is taken back (its mailer died). Sent and refused rows stay: they are the memory of
-- the names (mail-queued/ in the data folder), deleted with their dossier (`reference`).
-- A name remembered without its message (from a data folder's mail-queued/) has an empty `raw`.
CREATE TABLE outbox (
    name         text PRIMARY KEY,
    reference    text NOT NULL,
    recipient    text NOT NULL,
    raw          bytea NOT NULL,
    queued_at    timestamptz NOT NULL DEFAULT now(),
    claimed_at   timestamptz,
    claimed_by   text,
    sent_at      timestamptz,
    failed_at    timestamptz,
    CHECK (sent_at IS NULL OR failed_at IS NULL)
);
CREATE INDEX outbox_reference ON outbox (reference);
-- What the mailers poll and claim: the messages still waiting, oldest first.
CREATE INDEX outbox_waiting ON outbox (queued_at, name) WHERE sent_at IS NULL AND failed_at IS NULL;
