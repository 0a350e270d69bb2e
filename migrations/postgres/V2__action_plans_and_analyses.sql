-- Action plans and stored area analyses (områdesanalyser).

CREATE TABLE actions (
    id      text PRIMARY KEY,
    area_id text,                 -- NULL: municipality-wide
    body    jsonb NOT NULL        -- the action as JSON
);

CREATE TABLE area_analyses (
    id         uuid   PRIMARY KEY,
    area_id    text   NOT NULL,
    period     text   NOT NULL,   -- e.g. 2025-Q3
    created_at bigint NOT NULL,   -- Unix nanoseconds
    body       jsonb  NOT NULL    -- the analysis as generated
);
CREATE INDEX area_analyses_by_area ON area_analyses (area_id, period);

-- An analysis is a record of how things stood: it is never rewritten.
CREATE FUNCTION area_analyses_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stored analyses are immutable';
END $$;
CREATE TRIGGER area_analyses_no_rewrite BEFORE UPDATE OR DELETE ON area_analyses
    FOR EACH ROW EXECUTE FUNCTION area_analyses_immutable();
CREATE TRIGGER area_analyses_no_truncate BEFORE TRUNCATE ON area_analyses
    FOR EACH STATEMENT EXECUTE FUNCTION area_analyses_immutable();
