-- Trygg embedded store, schema version 1.
-- Times are Unix nanoseconds (UTC); ids are 16-byte UUIDs.

CREATE TABLE observations (
    seq          INTEGER PRIMARY KEY,        -- commit order, for catch-up
    id           BLOB    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    lon          REAL    NOT NULL,
    lat          REAL    NOT NULL,
    accuracy_m   REAL,
    cell         INTEGER NOT NULL,           -- H3 cell at resolution 12
    observed_at  INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    category     TEXT    NOT NULL,
    severity     INTEGER NOT NULL,
    description  TEXT,
    organisation TEXT,
    walk_id      BLOB,
    status       TEXT,                       -- walk findings only
    status_at    INTEGER,
    status_by    TEXT,
    assignee     TEXT
);

CREATE TABLE walks (
    id          BLOB PRIMARY KEY,
    name        TEXT    NOT NULL,
    area_id     TEXT,
    date        TEXT    NOT NULL,            -- YYYY-MM-DD
    time_of_day TEXT    NOT NULL,            -- day | night
    route       TEXT    NOT NULL,            -- JSON array of [lon, lat]
    join_code   TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER
);

CREATE TABLE areas (
    id          TEXT PRIMARY KEY,
    name        TEXT    NOT NULL,
    area_type   TEXT    NOT NULL,
    geometry    TEXT    NOT NULL,            -- GeoJSON MultiPolygon, WGS 84
    approximate INTEGER NOT NULL
);

CREATE TABLE tokens (
    hash         BLOB PRIMARY KEY,           -- SHA-256 of the secret
    id           BLOB    NOT NULL UNIQUE,
    role         TEXT    NOT NULL,
    organisation TEXT,
    walk_id      BLOB,
    label        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER
);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT    NOT NULL,          -- argon2id PHC string
    role          TEXT    NOT NULL,
    organisation  TEXT,
    created_at    INTEGER NOT NULL
);

CREATE TABLE audit_log (
    seq    INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    detail TEXT    NOT NULL
);

-- The audit log only grows: the application cannot rewrite it.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
