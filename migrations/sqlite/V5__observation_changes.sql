-- Edits and removals of stored observations, in order. Whoever holds an
-- index of the observations (the server, each instance of it) rebuilds it
-- when this table has grown since the index was built. A removed
-- observation keeps its row with an empty record, so that its sequence
-- number, the catch-up cursor, is never given to another.
CREATE TABLE observation_changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    id     BLOB    NOT NULL,
    change TEXT    NOT NULL CHECK (change IN ('edited', 'removed')),
    by     TEXT    NOT NULL,          -- who changed it (a token's actor)
    at_ns  INTEGER NOT NULL
);
CREATE INDEX observation_changes_by ON observation_changes (by, change);
