-- Observations as two narrow tables (why: src/store/sqlite/record.rs).
--
-- `observations` holds rows in commit order; `record` is the observation in
-- postcard's binary format, fields in this order: kind (0 insecurity,
-- 1 walk_finding, 2 place_observation), lon, lat, accuracy_m?, cell (H3,
-- resolution 12), observed_at, received_at (Unix nanoseconds), category,
-- severity, description?, organisation?, walk_id? (16 bytes), finding?
-- (status: 0 open, 1 assigned, 2 resolved; changed_at; changed_by?;
-- assignee?). `?` marks an option.
--
-- `observation_ids` makes ids unique and finds a row by id. Imports fill it
-- after their rows, in id order, which is what makes a large import cheap.
--
-- The rows of the old table are moved over by the store when it opens
-- (a data conversion SQL cannot express), then `observations_v2` is dropped.

ALTER TABLE observations RENAME TO observations_v2;

CREATE TABLE observations (
    seq    INTEGER PRIMARY KEY,   -- commit order, for catch-up
    id     BLOB    NOT NULL,      -- 16-byte UUID
    record BLOB    NOT NULL
);

CREATE TABLE observation_ids (
    id  BLOB PRIMARY KEY,
    seq INTEGER NOT NULL
) WITHOUT ROWID;
