-- Values entered by hand for an action's manual indicators, one per
-- period; entering a period again replaces its value.

CREATE TABLE indicator_values (
    action_id    text             NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    indicator_id text             NOT NULL,
    period       text             NOT NULL,  -- e.g. 2025-Q3
    value        double precision NOT NULL,
    note         text             NOT NULL,
    entered_by   text             NOT NULL,
    entered_at   bigint           NOT NULL,  -- Unix nanoseconds
    PRIMARY KEY (action_id, indicator_id, period)
);
