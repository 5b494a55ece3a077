-- A dossier's life after « reçu »: its review history and its corrected versions.

-- One row per dossier that has a history: `document` is the YAML text the data folder
-- would hold in reviews/<reference>.yaml, byte for byte, and `document_sha256` its hash
-- (what migrate-store and dump compare). Each event is appended by rewriting the row
-- under a per-reference lock (postgres_histories.py), so the checks of statuses.py run on
-- the history as it is. `status` repeats the current status for the review pages.
CREATE TABLE histories (
    reference        text PRIMARY KEY,
    status           text NOT NULL,
    document         text NOT NULL,
    document_sha256  text NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX histories_status ON histories (status);

-- One row per corrected version (2, 3…): the YAML text of versions/<reference>/v<N>.yaml,
-- byte for byte, with its hash. Written once: the primary key refuses a taken number.
CREATE TABLE versions (
    reference        text NOT NULL,
    number           integer NOT NULL CHECK (number >= 2),
    document         text NOT NULL,
    document_sha256  text NOT NULL,
    stored_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reference, number)
);
