-- A mail the porteur mail caps held back (porteur/mail_caps.py, Outbox.hold_back): its name is
-- remembered in the outbox, so that no mailer and no catch-up ever queues or sends it, and
-- nothing else is kept (an empty `raw` and `recipient`: no message, no address). A held row
-- never waits: the mailers' queries read `held_at IS NULL` with the other two outcomes.
ALTER TABLE outbox ADD COLUMN held_at timestamptz;
ALTER TABLE outbox ADD CONSTRAINT outbox_one_outcome CHECK (num_nonnulls(sent_at, failed_at, held_at) <= 1);
