-- national.sql: the benchmark's synthetic national-size data set, loaded by tests/bench/run.sh
-- into a freshly migrated, empty database: about 350 municipalities, 1,000 providers, 2,500
-- locations, 5,000 pools with 730 nights of capacity each (3.65 M pool_nights rows), a few
-- contention pools (four of 2 beds, one of 8), 300 caregivers, a referrer and a coordinator.
-- It must never be run against a database with real data, and it never inserts stays: the
-- benchmark makes those through the API.
--
-- Expects the user coordinator@bench.logeer.nl to exist already
-- (created with `logeerd user add`), whose Argon2id hash every other bench account copies:
-- SQL cannot hash passwords, and one hash per account would cost minutes.
--
-- Values are pseudo-random but deterministic (hashes of the row number), so every run loads
-- the same inventory relative to "today".

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
-- A throwaway benchmark cluster: losing the load on a crash is fine, waiting for fsync is not.
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';

BEGIN;

-- A uniform number in [0, 1) from a salt and a row number.
CREATE FUNCTION pg_temp.bench_u(salt int, i bigint) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT (hashint8(i * 1000003 + salt)::bigint & 2147483647)::double precision / 2147483648.0
$$;

-- An integer in [lo, hi] from a salt and a row number.
CREATE FUNCTION pg_temp.bench_int(salt int, i bigint, lo int, hi int) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT lo + floor(pg_temp.bench_u(salt, i) * (hi - lo + 1))::int
$$;

-- ---------------------------------------------------------------------------------------------
-- Municipalities: the twelve of migration 0001 plus GM0001..GM0340 scattered over the country.
-- ---------------------------------------------------------------------------------------------

INSERT INTO municipalities (code, name, province, lat, lon)
SELECT 'GM' || lpad(g::text, 4, '0'), 'Benchgemeente ' || lpad(g::text, 4, '0'), 'Synthetisch',
       round((50.8 + pg_temp.bench_u(11, g) * 2.7)::numeric, 4)::float8,
       round((3.4 + pg_temp.bench_u(12, g) * 3.8)::numeric, 4)::float8
  FROM generate_series(1, 340) AS g
ON CONFLICT (code) DO NOTHING;

CREATE TEMP TABLE bench_muni AS
SELECT row_number() OVER (ORDER BY code) AS n, code, lat, lon FROM municipalities;
CREATE TEMP TABLE bench_muni_count AS SELECT count(*)::int AS c FROM bench_muni;

-- ---------------------------------------------------------------------------------------------
-- Providers, locations
-- ---------------------------------------------------------------------------------------------

INSERT INTO providers (id, name, agb_code)
SELECT md5('bench-provider-' || g)::uuid, 'Benchzorg ' || g, '97' || lpad(g::text, 6, '0')
  FROM generate_series(1, 1000) AS g;

CREATE TEMP TABLE bench_loc AS
SELECT g AS n,
       md5('bench-location-' || g)::uuid AS id,
       md5('bench-provider-' || ((g - 1) % 1000 + 1))::uuid AS provider_id,
       m.code AS municipality,
       least(53.5, greatest(50.8, m.lat + (pg_temp.bench_u(21, g) - 0.5) * 0.06)) AS lat,
       least(7.2, greatest(3.4, m.lon + (pg_temp.bench_u(22, g) - 0.5) * 0.08)) AS lon
  FROM generate_series(1, 2500) AS g
  JOIN bench_muni m
    ON m.n = pg_temp.bench_int(20, g, 1, (SELECT c FROM bench_muni_count));

INSERT INTO locations (id, provider_id, name, municipality, address, lat, lon, facilities, exclusions)
SELECT l.id, l.provider_id, 'Logeerhuis ' || l.n, l.municipality, 'Benchstraat ' || l.n,
       l.lat, l.lon,
       ARRAY(SELECT f FROM unnest(ARRAY['wheelchair', 'dementia', 'night_care',
                                        'partner_can_stay', 'garden', 'pets_allowed'])
                           WITH ORDINALITY AS t(f, i)
              WHERE pg_temp.bench_u(30 + i::int, l.n) < 0.4),
       ARRAY(SELECT x FROM unnest(ARRAY['aggression', 'wandering_risk', 'ventilation'])
                           WITH ORDINALITY AS t(x, i)
              WHERE pg_temp.bench_u(40 + i::int, l.n) < 0.12)
  FROM bench_loc l;

-- ---------------------------------------------------------------------------------------------
-- Pools: two per location, about 80% planned and 20% crisis
-- ---------------------------------------------------------------------------------------------

CREATE TEMP TABLE bench_pool AS
SELECT g AS n,
       md5('bench-pool-' || g)::uuid AS id,
       l.id AS location_id, l.provider_id, l.municipality,
       CASE WHEN pg_temp.bench_u(50, g) < 0.2 THEN 'crisis' ELSE 'planned' END::pool_kind AS kind,
       pg_temp.bench_int(51, g, 1, 6) AS base_capacity
  FROM generate_series(1, 5000) AS g
  JOIN bench_loc l ON l.n = (g - 1) % 2500 + 1;

INSERT INTO pools (id, location_id, provider_id, name, kind, care_profiles, funding,
                   wmo_municipalities, booking_mode, min_nights, max_nights, lead_days,
                   horizon_days, as_of)
SELECT p.id, p.location_id, p.provider_id,
       initcap(p.kind::text) || ' ' || p.n,
       p.kind,
       -- One main care profile, sometimes a second one.
       ARRAY(SELECT DISTINCT c FROM unnest(ARRAY[
                 (ARRAY['somatic', 'dementia', 'disability', 'psychiatric', 'youth'])[p.n % 5 + 1],
                 CASE WHEN pg_temp.bench_u(52, p.n) < 0.4 THEN
                     (ARRAY['somatic', 'dementia', 'disability', 'psychiatric', 'youth'])
                         [pg_temp.bench_int(53, p.n, 1, 5)] END]) AS c
              WHERE c IS NOT NULL),
       -- Every pool takes pgb (the benchmark books with it); planned pools often take Wmo,
       -- crisis pools Zvw.
       ARRAY['pgb']
           || CASE WHEN p.kind = 'planned' AND pg_temp.bench_u(54, p.n) < 0.6 THEN ARRAY['wmo'] ELSE '{}' END
           || CASE WHEN pg_temp.bench_u(55, p.n) < 0.5 THEN ARRAY['wlz'] ELSE '{}' END
           || CASE WHEN p.kind = 'crisis' THEN ARRAY['zvw'] ELSE '{}' END
           || CASE WHEN pg_temp.bench_u(56, p.n) < 0.3 THEN ARRAY['private'] ELSE '{}' END,
       CASE WHEN p.kind = 'planned' AND pg_temp.bench_u(54, p.n) < 0.6
            THEN ARRAY[p.municipality] ELSE '{}' END,
       CASE WHEN p.kind = 'crisis' OR pg_temp.bench_u(57, p.n) < 0.5
            THEN 'instant' ELSE 'approval' END::booking_mode,
       CASE WHEN p.kind = 'planned' AND pg_temp.bench_u(58, p.n) < 0.2 THEN 2 ELSE 1 END,
       CASE WHEN p.kind = 'planned' THEN 28 ELSE 14 END,
       CASE WHEN p.kind = 'planned' THEN pg_temp.bench_int(59, p.n, 0, 3) ELSE 0 END,
       730,
       -- About a third of the pools were last confirmed more than a week ago (stale).
       now() - make_interval(secs => pg_temp.bench_u(60, p.n) * 10 * 86400)
  FROM bench_pool p;

-- Contention pools: planned, instant, two beds a night, one location. The contention run
-- books their first nights from many connections at once.
INSERT INTO pools (id, location_id, provider_id, name, kind, care_profiles, funding,
                   booking_mode, min_nights, max_nights, lead_days, horizon_days)
SELECT ('b0000000-0000-4000-a000-00000000000' || g)::uuid, l.id, l.provider_id,
       'Contention ' || g, 'planned', '{somatic,dementia}', '{pgb}', 'instant', 1, 14, 0, 730
  FROM generate_series(1, 4) AS g, bench_loc l
 WHERE l.n = 1;
-- And one with 8 beds: the contention run has 32 connections race for one night's last 8 beds.
INSERT INTO pools (id, location_id, provider_id, name, kind, care_profiles, funding,
                   booking_mode, min_nights, max_nights, lead_days, horizon_days)
SELECT 'b0000000-0000-4000-a000-000000000008'::uuid, l.id, l.provider_id,
       'Contention last beds', 'planned', '{somatic,dementia}', '{pgb}', 'instant', 1, 14, 0, 730
  FROM bench_loc l
 WHERE l.n = 1;

-- ---------------------------------------------------------------------------------------------
-- Capacity: 730 nights from today for every pool (3.65 M rows, the bulk of the load)
-- ---------------------------------------------------------------------------------------------

-- Nobody listens yet (logeerd starts after the load and reads the whole index then), so the
-- per-row NOTIFY triggers would only queue 3.65 M notifications nobody reads, and the per-row
-- foreign-key checks would double the load time. Replica mode skips both for these two
-- statements (the bench cluster's user is a superuser); the foreign key is then checked once,
-- as a set, right after.
SET LOCAL session_replication_role = replica;

INSERT INTO pool_nights (pool_id, night, capacity)
SELECT p.id, d.night,
       -- A bed fewer at weekends where there is one to spare.
       CASE WHEN extract(isodow FROM d.night) >= 6 AND p.base_capacity > 1
            THEN p.base_capacity - 1 ELSE p.base_capacity END
  FROM bench_pool p
 CROSS JOIN (SELECT (now() AT TIME ZONE 'Europe/Amsterdam')::date + g AS night
               FROM generate_series(0, 729) AS g) AS d;

INSERT INTO pool_nights (pool_id, night, capacity)
SELECT p.id, (now() AT TIME ZONE 'Europe/Amsterdam')::date + g,
       CASE WHEN p.name = 'Contention last beds' THEN 8 ELSE 2 END
  FROM pools p, generate_series(0, 729) AS g
 WHERE p.name LIKE 'Contention %';

SET LOCAL session_replication_role = origin;

-- Without statistics the planner takes both tables for empty and checks the foreign key below
-- as a nested loop over every pool for each of the 3.65 M nights (minutes on a busy machine);
-- with them it is one hash anti-join.
ANALYZE pools, pool_nights;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pool_nights n WHERE NOT EXISTS (SELECT 1 FROM pools p WHERE p.id = n.pool_id)) THEN
        RAISE EXCEPTION 'pool_nights rows without a pool';
    END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Accounts: 300 caregivers across the country, one referrer; all copy the coordinator's hash.
-- ---------------------------------------------------------------------------------------------

INSERT INTO users (email, password_hash, role, municipality, display_name)
SELECT 'caregiver-' || lpad(g::text, 4, '0') || '@bench.logeer.nl',
       (SELECT password_hash FROM users WHERE lower(email) = 'coordinator@bench.logeer.nl'),
       'caregiver',
       (SELECT code FROM bench_muni WHERE n = pg_temp.bench_int(70, g, 1, (SELECT c FROM bench_muni_count))),
       'Bench caregiver ' || g
  FROM generate_series(1, 300) AS g;

INSERT INTO users (email, password_hash, role, display_name)
SELECT 'referrer@bench.logeer.nl',
       (SELECT password_hash FROM users WHERE lower(email) = 'coordinator@bench.logeer.nl'),
       'referrer', 'Bench referrer';

DO $$
BEGIN
    IF (SELECT count(*) FROM users WHERE email LIKE '%@bench.logeer.nl' AND password_hash IS NULL) > 0 THEN
        RAISE EXCEPTION 'coordinator@bench.logeer.nl must exist with a password before loading';
    END IF;
END
$$;

COMMIT;

-- Statistics for what was loaded, and only that. A table analyzed while empty (stays,
-- idempotency_keys, events, ...) tells the planner it has no rows: every session's cached
-- plan for a key lookup in it becomes a sequential scan and stays one while the table grows,
-- until autovacuum analyzes it again (a minute or more): the booking runs then measured
-- scans of thousands of rows per request. A table never analyzed is planned as at least ten
-- pages (index lookups), as in a new installation.
ANALYZE municipalities, providers, locations, pools, pool_nights, users;
