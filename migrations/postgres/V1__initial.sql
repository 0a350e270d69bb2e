-- Trygg PostgreSQL/PostGIS store, schema version 1.
-- Times are kept as Unix nanoseconds (UTC) so that they round-trip exactly;
-- generated timestamptz and geometry columns serve SQL and GIS users.

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE observations (
    seq            bigserial PRIMARY KEY,     -- commit order, for catch-up (see the advisory lock)
    id             uuid      NOT NULL UNIQUE,
    kind           text      NOT NULL,
    lon            double precision NOT NULL,
    lat            double precision NOT NULL,
    geom           geometry(Point, 4326)
                   GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED,
    accuracy_m     double precision,
    cell           bigint    NOT NULL,        -- H3 cell at resolution 12
    observed_at_ns bigint    NOT NULL,
    received_at_ns bigint    NOT NULL,
    observed_at    timestamptz
                   GENERATED ALWAYS AS (to_timestamp(observed_at_ns::double precision / 1e9)) STORED,
    category       text      NOT NULL,
    severity       smallint  NOT NULL,
    description    text,
    organisation   text,
    walk_id        uuid,
    status         text,                      -- walk findings only
    status_at_ns   bigint,
    status_by      text,
    assignee       text
);
CREATE INDEX observations_geom ON observations USING gist (geom);
CREATE INDEX observations_observed_at ON observations (observed_at);

CREATE TABLE walks (
    id          uuid PRIMARY KEY,
    name        text   NOT NULL,
    area_id     text,
    date        date   NOT NULL,
    time_of_day text   NOT NULL,              -- day | night
    route       jsonb  NOT NULL,              -- array of [lon, lat]
    join_code   text   NOT NULL UNIQUE,
    created_at  bigint NOT NULL,
    closed_at   bigint
);

CREATE TABLE areas (
    id          text PRIMARY KEY,
    name        text    NOT NULL,
    area_type   text    NOT NULL,
    geojson     text    NOT NULL,             -- GeoJSON MultiPolygon, WGS 84, as given
    geom        geometry(MultiPolygon, 4326)
                GENERATED ALWAYS AS (ST_SetSRID(ST_GeomFromGeoJSON(geojson), 4326)) STORED,
    approximate boolean NOT NULL
);
CREATE INDEX areas_geom ON areas USING gist (geom);

CREATE TABLE tokens (
    hash         bytea PRIMARY KEY,           -- SHA-256 of the secret
    id           uuid   NOT NULL UNIQUE,
    role         text   NOT NULL,
    organisation text,
    walk_id      uuid,
    label        text   NOT NULL,
    created_at   bigint NOT NULL,
    expires_at   bigint
);

CREATE TABLE users (
    username      text PRIMARY KEY,
    password_hash text   NOT NULL,            -- argon2id PHC string
    role          text   NOT NULL,
    organisation  text,
    created_at    bigint NOT NULL
);

CREATE TABLE audit_log (
    seq    bigserial PRIMARY KEY,
    at     bigint NOT NULL,
    actor  text   NOT NULL,
    action text   NOT NULL,
    detail text   NOT NULL
);

-- The audit log only grows: the application cannot rewrite it.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER audit_log_no_rewrite BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
