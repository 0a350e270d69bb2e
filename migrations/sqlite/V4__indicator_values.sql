-- Values entered by hand for an action's manual indicators, one per
-- period; entering a period again replaces its value. Removed with the
-- action (by the store, in the same transaction).

CREATE TABLE indicator_values (
    action_id    TEXT    NOT NULL,
    indicator_id TEXT    NOT NULL,
    period       TEXT    NOT NULL,  -- e.g. 2025-Q3
    value        REAL    NOT NULL,
    note         TEXT    NOT NULL,
    entered_by   TEXT    NOT NULL,
    entered_at   INTEGER NOT NULL,  -- Unix nanoseconds
    PRIMARY KEY (action_id, indicator_id, period)
);
