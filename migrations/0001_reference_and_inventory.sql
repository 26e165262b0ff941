-- 0001: reference data (municipalities) and inventory (providers, locations, pools, nightly
-- capacity). Owns the overbooking guard on pool_nights. Must never hold personal data, and
-- runs inside the migrator's transaction: no BEGIN/COMMIT, no CREATE INDEX CONCURRENTLY.

-- ---------------------------------------------------------------------------------------------
-- Shared helpers
-- ---------------------------------------------------------------------------------------------

-- Every mutable table keeps updated_at honest in the database rather than trusting each
-- UPDATE statement to remember it.
CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION touch_updated_at() IS
    'BEFORE UPDATE trigger: sets updated_at to the transaction time.';

-- Rows served with an ETag carry a version. Bumping it here means an optimistic
-- "UPDATE ... WHERE id = $1 AND version = $2" works whether or not the statement also writes
-- version = version + 1: the result is always exactly one more than the row it replaced.
CREATE FUNCTION touch_versioned_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION touch_versioned_row() IS
    'BEFORE UPDATE trigger: sets updated_at and bumps version by exactly one (ETag source).';

-- Facilities, exclusions and needs are an open vocabulary (the spec lists examples, not a
-- closed set), but they are machine tokens that are matched exactly, so their shape is fixed:
-- lower snake_case, no NULL elements, a sane number of them.
CREATE FUNCTION is_token_list(tokens text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT cardinality(tokens) <= 32
       AND coalesce(array_ndims(tokens), 1) = 1
       AND coalesce(bool_and(t IS NOT NULL AND t ~ '^[a-z][a-z0-9_]{0,47}$'), true)
      FROM unnest(tokens) AS t
$$;
COMMENT ON FUNCTION is_token_list(text[]) IS
    'True when every element is a lower snake_case token (at most 32 tokens of 48 chars).';

-- ---------------------------------------------------------------------------------------------
-- Enumerations that are part of the API contract. Adding a value later needs its own
-- migration (ALTER TYPE ... ADD VALUE), and the new value cannot be used in that same
-- transaction.
-- ---------------------------------------------------------------------------------------------

CREATE TYPE pool_kind AS ENUM ('planned', 'crisis');
COMMENT ON TYPE pool_kind IS
    'Care pathway: planned (plannable logeer beds, booked ahead) or crisis (emergency beds). '
    'Also the kind of a stay: a crisis stay in a planned pool is a diversion.';

CREATE TYPE booking_mode AS ENUM ('instant', 'approval');
COMMENT ON TYPE booking_mode IS
    'instant: a hold becomes a booking when the requester confirms; approval: the hold becomes '
    'a request that the provider accepts or declines.';

-- ---------------------------------------------------------------------------------------------
-- Municipalities (gemeenten): reference data keyed by CBS code
-- ---------------------------------------------------------------------------------------------

CREATE TABLE municipalities (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    province    text NOT NULL DEFAULT 'Drenthe',
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    CONSTRAINT municipalities_code_is_cbs CHECK (code ~ '^GM[0-9]{4}$'),
    CONSTRAINT municipalities_name_present CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    -- The Netherlands' bounding box, not the whole globe: it catches the classic mistake of
    -- swapping lat and lon, which a -90..90 / -180..180 check would let through.
    CONSTRAINT municipalities_lat_in_nl CHECK (lat BETWEEN 50.7 AND 53.7),
    CONSTRAINT municipalities_lon_in_nl CHECK (lon BETWEEN 3.2 AND 7.3)
);
COMMENT ON TABLE municipalities IS
    'Municipalities of the region by CBS code. Wmo funding and contracts are per municipality, '
    'so pools, caregivers and waitlist entries refer to these codes.';
COMMENT ON COLUMN municipalities.lat IS
    'Latitude (WGS84) of the town hall, roughly: the centre used for radius searches.';
COMMENT ON COLUMN municipalities.lon IS 'Longitude (WGS84) of the town hall, roughly.';

-- The region's municipalities are reference data the service cannot run without (a location
-- must lie in one), so they ship with the schema rather than only with the demo data. A merger
-- of municipalities is a new migration.
INSERT INTO municipalities (code, name, lat, lon) VALUES
    ('GM1680', 'Aa en Hunze',     53.0063, 6.7638),  -- Gieten
    ('GM0106', 'Assen',           52.9925, 6.5649),
    ('GM1681', 'Borger-Odoorn',   52.8832, 6.8637),  -- Exloo
    ('GM0109', 'Coevorden',       52.6618, 6.7409),
    ('GM1690', 'De Wolden',       52.6700, 6.4270),  -- Zuidwolde
    ('GM0114', 'Emmen',           52.7858, 6.8976),
    ('GM0118', 'Hoogeveen',       52.7229, 6.4763),
    ('GM0119', 'Meppel',          52.6959, 6.1943),
    ('GM1731', 'Midden-Drenthe',  52.8613, 6.5136),  -- Beilen
    ('GM1699', 'Noordenveld',     53.1375, 6.4338),  -- Roden
    ('GM1730', 'Tynaarlo',        53.0747, 6.5766),  -- Vries
    ('GM1701', 'Westerveld',      52.8555, 6.3188)   -- Diever
ON CONFLICT (code) DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- Providers (zorgaanbieders)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE providers (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    -- A plain UNIQUE constraint already treats NULLs as distinct, which is exactly "unique when
    -- present": several providers may not have registered an AGB code yet.
    agb_code    text UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT providers_name_present CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT providers_agb_code_format CHECK (agb_code ~ '^[0-9]{8}$')
);
COMMENT ON TABLE providers IS 'Care providers (zorgaanbieders); they own locations and pools.';
COMMENT ON COLUMN providers.agb_code IS
    'Vektis AGB code of the organisation: 8 digits, unique when present.';

CREATE TRIGGER providers_touch BEFORE UPDATE ON providers
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Locations (logeerhuizen)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE locations (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id  uuid NOT NULL REFERENCES providers (id),
    name         text NOT NULL,
    municipality text NOT NULL REFERENCES municipalities (code),
    address      text,
    lat          double precision NOT NULL,
    lon          double precision NOT NULL,
    facilities   text[] NOT NULL DEFAULT '{}',
    exclusions   text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT locations_name_present CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT locations_address_length CHECK (length(address) <= 300),
    -- Same bounding box as municipalities, for the same reason (swapped coordinates).
    CONSTRAINT locations_lat_in_nl CHECK (lat BETWEEN 50.7 AND 53.7),
    CONSTRAINT locations_lon_in_nl CHECK (lon BETWEEN 3.2 AND 7.3),
    CONSTRAINT locations_facilities_tokens CHECK (is_token_list(facilities)),
    CONSTRAINT locations_exclusions_tokens CHECK (is_token_list(exclusions)),
    -- Target of the pools' composite foreign key, which keeps pools.provider_id equal to the
    -- location's provider without a trigger.
    CONSTRAINT locations_id_provider_key UNIQUE (id, provider_id)
);
COMMENT ON TABLE locations IS
    'A place with logeer beds. Belongs to one provider and lies in one municipality.';
COMMENT ON COLUMN locations.facilities IS
    'What the location offers, as tokens: wheelchair, dementia, night_care, partner_can_stay, ...';
COMMENT ON COLUMN locations.exclusions IS
    'Whom the location cannot take, as tokens: wandering_risk, aggression, ...';

CREATE INDEX locations_provider_idx ON locations (provider_id);
CREATE INDEX locations_municipality_idx ON locations (municipality);

CREATE TRIGGER locations_touch BEFORE UPDATE ON locations
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Pools: interchangeable beds of one kind at one location
-- ---------------------------------------------------------------------------------------------

CREATE TABLE pools (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    location_id        uuid NOT NULL,
    -- Denormalised from the location so that every ownership check ("is this pool mine?") is a
    -- single-row lookup. The composite foreign key below makes a mismatch impossible; if a
    -- location ever moves to another provider, the change cascades here (and is then refused
    -- by stays' own composite key when the pool already has stays: history keeps its owner).
    provider_id        uuid NOT NULL,
    name               text NOT NULL,
    kind               pool_kind NOT NULL,
    care_profiles      text[] NOT NULL,
    funding            text[] NOT NULL,
    wmo_municipalities text[] NOT NULL DEFAULT '{}',
    booking_mode       booking_mode NOT NULL DEFAULT 'approval',
    min_nights         integer NOT NULL DEFAULT 1,
    max_nights         integer NOT NULL DEFAULT 14,
    lead_days          integer NOT NULL DEFAULT 0,
    horizon_days       integer NOT NULL DEFAULT 365,
    as_of              timestamptz NOT NULL DEFAULT now(),
    active             boolean NOT NULL DEFAULT true,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            integer NOT NULL DEFAULT 1,
    CONSTRAINT pools_location_fkey FOREIGN KEY (location_id, provider_id)
        REFERENCES locations (id, provider_id) ON UPDATE CASCADE,
    CONSTRAINT pools_name_present CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    -- Vocabularies are closed here (unlike facilities): they drive separation of pathways,
    -- funding and reports. "<@" is false for NULL elements, so those are rejected too.
    CONSTRAINT pools_care_profiles_known CHECK (
        cardinality(care_profiles) >= 1
        AND care_profiles <@ ARRAY['somatic', 'dementia', 'disability', 'psychiatric', 'youth']),
    CONSTRAINT pools_funding_known CHECK (
        cardinality(funding) >= 1
        AND funding <@ ARRAY['wmo', 'wlz', 'zvw', 'pgb', 'private']),
    -- Wmo is contracted per municipality: accepting wmo means naming at least one contracting
    -- municipality, and naming municipalities without accepting wmo means nothing. Existence of
    -- each code is checked by the trigger below (a foreign key cannot reach into an array).
    CONSTRAINT pools_wmo_municipalities_format CHECK (
        cardinality(wmo_municipalities) = 0
        OR (array_position(wmo_municipalities, NULL) IS NULL
            AND array_to_string(wmo_municipalities, ',') ~ '^GM[0-9]{4}(,GM[0-9]{4})*$')),
    CONSTRAINT pools_wmo_needs_municipalities CHECK (
        ('wmo' = ANY (funding)) = (cardinality(wmo_municipalities) > 0)),
    CONSTRAINT pools_min_nights_positive CHECK (min_nights >= 1),
    CONSTRAINT pools_max_nights_range CHECK (max_nights >= min_nights AND max_nights <= 365),
    CONSTRAINT pools_lead_days_range CHECK (lead_days >= 0 AND lead_days < horizon_days),
    CONSTRAINT pools_horizon_days_range CHECK (horizon_days > 0 AND horizon_days <= 1096),
    CONSTRAINT pools_version_positive CHECK (version >= 1),
    -- Target of stays' composite foreign key, which copies provider and kind into each stay.
    CONSTRAINT pools_id_provider_kind_key UNIQUE (id, provider_id, kind)
);
COMMENT ON TABLE pools IS
    'A set of interchangeable beds at one location with one kind (planned or crisis). '
    'Capacity lives per night in pool_nights.';
COMMENT ON COLUMN pools.provider_id IS
    'Copy of locations.provider_id, kept equal by the composite foreign key pools_location_fkey.';
COMMENT ON COLUMN pools.wmo_municipalities IS
    'CBS codes of the municipalities whose Wmo contract covers this pool; empty unless funding '
    'includes wmo.';
COMMENT ON COLUMN pools.lead_days IS 'Minimum days between today and check-in.';
COMMENT ON COLUMN pools.horizon_days IS 'How far ahead (days from today) check-in may lie.';
COMMENT ON COLUMN pools.as_of IS
    'When the provider last confirmed the capacity counts; older than the region''s staleness '
    'limit means reported as stale. Creating the pool counts as a confirmation.';
COMMENT ON COLUMN pools.version IS
    'ETag source; bumped by exactly one on every UPDATE by the pools_touch trigger.';

CREATE INDEX pools_location_idx ON pools (location_id, provider_id);
CREATE INDEX pools_provider_idx ON pools (provider_id);
-- Availability searches look at active pools of one kind; stale reports scan as_of.
CREATE INDEX pools_active_kind_idx ON pools (kind) WHERE active;

CREATE FUNCTION pools_check_wmo_municipalities() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    unknown text;
BEGIN
    SELECT string_agg(c, ', ' ORDER BY c) INTO unknown
      FROM unnest(NEW.wmo_municipalities) AS c
     WHERE NOT EXISTS (SELECT 1 FROM municipalities m WHERE m.code = c);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown municipality in wmo_municipalities: %', unknown
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'pools_wmo_municipalities_fkey',
                  TABLE = 'pools', COLUMN = 'wmo_municipalities';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION pools_check_wmo_municipalities() IS
    'Array stand-in for a foreign key: every wmo_municipalities code must exist. Raises 23503 '
    'with constraint name pools_wmo_municipalities_fkey.';

CREATE TRIGGER pools_wmo_municipalities_exist
    BEFORE INSERT OR UPDATE OF wmo_municipalities ON pools
    FOR EACH ROW EXECUTE FUNCTION pools_check_wmo_municipalities();

CREATE TRIGGER pools_touch BEFORE UPDATE ON pools
    FOR EACH ROW EXECUTE FUNCTION touch_versioned_row();

-- ---------------------------------------------------------------------------------------------
-- Nightly capacity and the overbooking guard
-- ---------------------------------------------------------------------------------------------

CREATE TABLE pool_nights (
    pool_id  uuid NOT NULL REFERENCES pools (id) ON DELETE CASCADE,
    night    date NOT NULL,
    capacity integer NOT NULL,
    held     integer NOT NULL DEFAULT 0,
    booked   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (pool_id, night),
    CONSTRAINT pool_nights_capacity_sane CHECK (capacity <= 500),
    CONSTRAINT pool_nights_no_overbooking CHECK (
        capacity >= 0 AND held >= 0 AND booked >= 0 AND held + booked <= capacity)
)
-- Counters change on every booking and none of them is indexed, so leaving room on each page
-- lets those updates stay HOT (no index maintenance, less bloat).
WITH (fillfactor = 70);
COMMENT ON TABLE pool_nights IS
    'Staffed beds per pool per night, with the number held (unexpired holds) and booked '
    '(requested, confirmed, checked in). A night with no row has no capacity.';
COMMENT ON COLUMN pool_nights.night IS
    'The night starting on this date (Europe/Amsterdam); a stay covers check_in <= night < check_out.';
COMMENT ON CONSTRAINT pool_nights_no_overbooking ON pool_nights IS
    'THE overbooking guard: held + booked <= capacity on every pool night, enforced by the '
    'database for every client and every engine process, whatever the application does. Take '
    'beds with one UPDATE ... SET held = held + 1 WHERE pool_id = $1 AND night >= $2 AND '
    'night < $3 [AND held + booked < capacity] and compare the row count with the number of '
    'nights (a missing night means no bed). Concurrent takers queue on the row locks and '
    're-check against the newest committed row, so the last bed is won exactly once; without '
    'the optional condition the loser gets SQLSTATE 23514 naming this constraint (409 no beds). '
    'Lowering capacity below held + booked fails the same way. Two multi-night takers can '
    'deadlock (40P01): lock nights in ascending order or retry.';
