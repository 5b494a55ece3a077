-- The per-client rate limits (ratelimit.py's sliding window), shared by every host.
-- UNLOGGED: counts are not data that matters; they are not written to the WAL (faster),
-- are emptied after a crash and are not copied to a standby, which only forgets a few
-- minutes of counting.
CREATE UNLOGGED TABLE rate_hits (
    limiter        text NOT NULL,
    client         text NOT NULL,
    window_number  bigint NOT NULL,
    count          integer NOT NULL,
    PRIMARY KEY (limiter, client, window_number)
);
