-- Action plans and stored area analyses (områdesanalyser).

CREATE TABLE actions (
    id      TEXT PRIMARY KEY,
    area_id TEXT,                 -- NULL: municipality-wide
    body    TEXT NOT NULL         -- the action as JSON
);

CREATE TABLE area_analyses (
    id         BLOB PRIMARY KEY,  -- UUID v7
    area_id    TEXT    NOT NULL,
    period     TEXT    NOT NULL,  -- e.g. 2025-Q3
    created_at INTEGER NOT NULL,  -- Unix nanoseconds
    body       TEXT    NOT NULL   -- the analysis as generated, JSON
);
CREATE INDEX area_analyses_by_area ON area_analyses (area_id, period);

-- An analysis is a record of how things stood: it is never rewritten.
CREATE TRIGGER area_analyses_no_update BEFORE UPDATE ON area_analyses
BEGIN SELECT RAISE(ABORT, 'stored analyses are immutable'); END;
CREATE TRIGGER area_analyses_no_delete BEFORE DELETE ON area_analyses
BEGIN SELECT RAISE(ABORT, 'stored analyses are immutable'); END;
