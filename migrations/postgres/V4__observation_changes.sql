-- Who submitted a walk participant's finding (the token's actor), so that
-- the participant may change it while the walk is open. Never shown.
ALTER TABLE observations ADD COLUMN submitted_by text;

-- Edits and removals of stored observations, in commit order (written
-- under the write lock). Every instance rebuilds its index when this
-- table has grown since it built the index.
CREATE TABLE observation_changes (
    seq    bigserial PRIMARY KEY,
    id     uuid      NOT NULL,
    change text      NOT NULL CHECK (change IN ('edited', 'removed')),
    by     text      NOT NULL,          -- who changed it (a token's actor)
    at_ns  bigint    NOT NULL
);
CREATE INDEX observation_changes_by ON observation_changes (by, change);
