-- The intake path: references, submission ids (idempotency) and records.

-- References AMI-2021-0042 are formatted from this counter. A sequence is shared by every
-- host, never goes back (after a crash it may skip ahead: a gap, never a repeat), and is
-- not rolled back with a failed post (the gap the issue allows: only where a post failed).
CREATE SEQUENCE reference_number AS bigint MINVALUE 1 START 1 NO CYCLE;

-- One row per submission: `document` is the YAML text the data folder would hold in
-- submissions/<reference>.yaml, byte for byte, and `document_sha256` its hash (what
-- migrate-store and dump compare). The other columns repeat what the review pages sort
-- and filter on, so that they need not parse every document.
CREATE TABLE records (
    reference        text PRIMARY KEY,
    received_at      timestamptz NOT NULL,
    form_version     text NOT NULL,
    content_hash     text NOT NULL,
    departement      text,
    flags            text[] NOT NULL DEFAULT '{}',
    document         text NOT NULL,
    document_sha256  text NOT NULL,
    stored_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX records_received_at ON records (received_at);

-- A submission id (the form page's `id_envoi`) leads to one reference, whatever the retries.
CREATE TABLE submission_ids (
    submission_id  text PRIMARY KEY,
    reference      text NOT NULL,
    claimed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX submission_ids_reference ON submission_ids (reference);
