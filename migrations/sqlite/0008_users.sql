-- The office's people (the web app at /app). Times are milliseconds.
-- A user signs in with a name and a password (argon2 hash); the first
-- password is set through a one-time link from `ringback user add`.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL UNIQUE,
    role           TEXT    NOT NULL,            -- owner | manager | dispatcher
    businesses     TEXT    NOT NULL DEFAULT '*', -- '*' or business ids, comma-separated
    password_hash  TEXT,                         -- NULL until the sign-in link is used
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- One-time sign-in links: only the SHA-256 of the token is kept.
CREATE TABLE sign_in_links (
    token_hash  TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

-- Sessions: the cookie carries a random id; only its SHA-256 is kept, with
-- the form token (CSRF) that every form of the session must echo.
CREATE TABLE sessions (
    id_hash     TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    csrf        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Failed sign-ins, by key (`name:<name>` and `ip:<address>`), for the
-- rate limit every instance shares.
CREATE TABLE sign_in_failures (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    key   TEXT    NOT NULL,
    at    INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_by_key ON sign_in_failures (key, at);
