-- Reviewer accounts, their session generations and the login throttle (review/users.py and
-- review/throttle.py keep the same in the data folder), shared by every host.

-- One row per account: the scrypt hash (never a password) and the random session generation
-- that every request's session must carry (a new one on logout or a new password ends every
-- session of the account, on every host).
CREATE TABLE reviewer_accounts (
    name                text PRIMARY KEY,
    password_hash       text NOT NULL,
    session_generation  text NOT NULL CHECK (session_generation <> ''),
    created_at          timestamptz NOT NULL DEFAULT now()
);

-- Failed logins per (account name, client group) pair, keyed by an HMAC of both (the pair
-- is never stored in clear). Times are seconds since 1970, as the data folder's throttle.
-- Logged (not UNLOGGED as rate_hits): a crash or a failover must not give a locked pair
-- five more tries.
CREATE TABLE login_failures (
    pair          text PRIMARY KEY,
    failures      integer NOT NULL,
    first_at      double precision NOT NULL,
    locked_until  double precision NOT NULL,
    expires_at    double precision NOT NULL
);
CREATE INDEX login_failures_by_expiry ON login_failures (expires_at);
