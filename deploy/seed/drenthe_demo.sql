-- Drenthe demo data: municipalities, fictional providers, locations, pools, 120 days of
-- capacity, demo accounts and a handful of stays in every interesting state. Run by
-- `logeerd seed-demo` in one transaction. Must stay idempotent: fixed ids, ON CONFLICT, guards.
--
-- Demo accounts (the C seeder and the README must match this list exactly):
--
--   email                                 role         provider_id                           municipality
--   beheer@demo.logeer.nl                 admin        -                                     -
--   aanjager@demo.logeer.nl               coordinator  -                                     -
--   mantelzorger@demo.logeer.nl           caregiver    -                                     GM0106
--   mantelzorger2@demo.logeer.nl          caregiver    -                                     GM0114
--   mantelzorger.gm<code>@demo.logeer.nl  caregiver    -                                     one per
--     (twelve: the region's other families, e.g. mantelzorger.gm0118@…)                     municipality
--   huisarts@demo.logeer.nl               referrer     -                                     -
--   planner@esdorp.demo.logeer.nl         provider     d0000000-0000-4000-a000-000000000001  -
--   planner@hunzehof.demo.logeer.nl       provider     d0000000-0000-4000-a000-000000000002  -
--
-- Passwords. SQL cannot hash a password, and provider accounts cannot exist before their
-- provider row, which this file creates. So this file creates any missing demo account itself,
-- taking the password hash from the setting logeer.demo_password_hash when present:
--     SELECT set_config('logeer.demo_password_hash', $1, true);  -- same transaction, before
-- Without that setting the accounts get no password (NULL: cannot log in) until one is set,
-- e.g. afterwards: UPDATE users SET password_hash = $1
--                   WHERE email LIKE '%demo.logeer.nl' AND password_hash IS NULL;
-- Accounts that already exist (matched on lower(email)) keep their id, role and password; only
-- a missing password or caregiver municipality is filled in.
--
-- Rerunning. Nothing is overwritten that users of the demo may have changed: providers,
-- locations, pools, stays and existing capacity rows are inserted only when absent. Running it
-- again on the same day changes no row count; on a later day the only new rows are the nights
-- that have entered the rolling 120-day window. Stay dates are relative to the day of the FIRST
-- run and then stay put. "Today" is the date in Europe/Amsterdam, whatever the session zone.
--
-- Do not run this against a database that a running logeerd serves: the final counter rebuild
-- would change pool_nights behind its in-memory index. Stop the service, seed, start it.

-- ---------------------------------------------------------------------------------------------
-- Municipalities: reference data, so corrections here do win (0001 ships the same rows).
-- ---------------------------------------------------------------------------------------------

INSERT INTO municipalities (code, name, province, lat, lon) VALUES
    ('GM1680', 'Aa en Hunze',    'Drenthe', 53.0063, 6.7638),  -- town hall in Gieten
    ('GM0106', 'Assen',          'Drenthe', 52.9925, 6.5649),
    ('GM1681', 'Borger-Odoorn',  'Drenthe', 52.8832, 6.8637),  -- Exloo
    ('GM0109', 'Coevorden',      'Drenthe', 52.6618, 6.7409),
    ('GM1690', 'De Wolden',      'Drenthe', 52.6700, 6.4270),  -- Zuidwolde
    ('GM0114', 'Emmen',          'Drenthe', 52.7858, 6.8976),
    ('GM0118', 'Hoogeveen',      'Drenthe', 52.7229, 6.4763),
    ('GM0119', 'Meppel',         'Drenthe', 52.6959, 6.1943),
    ('GM1731', 'Midden-Drenthe', 'Drenthe', 52.8613, 6.5136),  -- Beilen
    ('GM1699', 'Noordenveld',    'Drenthe', 53.1375, 6.4338),  -- Roden
    ('GM1730', 'Tynaarlo',       'Drenthe', 53.0747, 6.5766),  -- Vries
    ('GM1701', 'Westerveld',     'Drenthe', 52.8555, 6.3188)   -- Diever
ON CONFLICT (code) DO UPDATE
    SET name = EXCLUDED.name, province = EXCLUDED.province, lat = EXCLUDED.lat, lon = EXCLUDED.lon
    WHERE (municipalities.name, municipalities.province, municipalities.lat, municipalities.lon)
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.province, EXCLUDED.lat, EXCLUDED.lon);

-- ---------------------------------------------------------------------------------------------
-- Providers (fictional). AGB codes start with 98 so they cannot be mistaken for real ones.
-- The slug in a comment is the one in the provider staff's demo email address.
-- ---------------------------------------------------------------------------------------------

INSERT INTO providers (id, name, agb_code) VALUES
    ('d0000000-0000-4000-a000-000000000001', 'Zorggroep Esdorp',          '98010001'),  -- esdorp
    ('d0000000-0000-4000-a000-000000000002', 'Stichting Hunzehof',        '98010002'),  -- hunzehof
    ('d0000000-0000-4000-a000-000000000003', 'De Brinkhuizen Zorg',       '98010003'),  -- brinkhuizen
    ('d0000000-0000-4000-a000-000000000004', 'Zorgboerderij De Hondsrug', '98010004'),  -- hondsrug
    ('d0000000-0000-4000-a000-000000000005', 'Stichting Het Veenpluis',   '98010005'),  -- veenpluis
    ('d0000000-0000-4000-a000-000000000006', 'Stichting Ankerplaats',     '98010006')   -- ankerplaats
ON CONFLICT (id) DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- Locations: fourteen, one or more in each of the twelve municipalities.
-- ---------------------------------------------------------------------------------------------

INSERT INTO locations (id, provider_id, name, municipality, address, lat, lon, facilities, exclusions)
VALUES
    ('d1000000-0000-4000-a000-000000000001', 'd0000000-0000-4000-a000-000000000001',
     'Logeerhuis De Es', 'GM0106', 'Esweg 12, 9401 AB Assen', 52.9960, 6.5590,
     '{dementia,night_care,wheelchair,partner_can_stay}', '{aggression}'),
    ('d1000000-0000-4000-a000-000000000002', 'd0000000-0000-4000-a000-000000000001',
     'Logeerappartementen Het Eikenhof', 'GM1680', 'Eikenlaan 3, 9461 AC Gieten', 53.0045, 6.7602,
     '{wheelchair,partner_can_stay,garden}', '{}'),
    ('d1000000-0000-4000-a000-000000000003', 'd0000000-0000-4000-a000-000000000001',
     'Zorgcentrum De Brink', 'GM1730', 'Brink 8, 9481 BR Vries', 53.0738, 6.5790,
     '{dementia,night_care,garden}', '{wandering_risk}'),
    ('d1000000-0000-4000-a000-000000000004', 'd0000000-0000-4000-a000-000000000002',
     'Hunzehof Exloo', 'GM1681', 'Hoofdstraat 40, 7875 AC Exloo', 52.8840, 6.8650,
     '{dementia,night_care,wheelchair}', '{aggression}'),
    ('d1000000-0000-4000-a000-000000000005', 'd0000000-0000-4000-a000-000000000002',
     'Hunzehof Emmen', 'GM0114', 'Boslaan 21, 7811 CE Emmen', 52.7890, 6.8930,
     '{night_care,wheelchair,nursing_care}', '{}'),
    ('d1000000-0000-4000-a000-000000000006', 'd0000000-0000-4000-a000-000000000003',
     'Logeerhuis De Brinkhuizen', 'GM0118', 'Grote Kerkstraat 5, 7902 CE Hoogeveen', 52.7240, 6.4770,
     '{wheelchair,hoist,night_care}', '{}'),
    ('d1000000-0000-4000-a000-000000000007', 'd0000000-0000-4000-a000-000000000003',
     'De Brinkhuizen Zuidwolde', 'GM1690', 'Dorpsstraat 17, 7921 AK Zuidwolde', 52.6710, 6.4290,
     '{dementia,garden}', '{wandering_risk}'),
    ('d1000000-0000-4000-a000-000000000008', 'd0000000-0000-4000-a000-000000000003',
     'Logeerkamers Meppel', 'GM0119', 'Kerkplein 2, 7941 AP Meppel', 52.6965, 6.1950,
     '{wheelchair,partner_can_stay}', '{}'),
    ('d1000000-0000-4000-a000-000000000009', 'd0000000-0000-4000-a000-000000000004',
     'Zorgboerderij De Hondsrug, Dalen', 'GM0109', 'Veldweg 9, 7751 SB Dalen', 52.7000, 6.7560,
     '{dementia,garden,animals}', '{aggression,wandering_risk}'),
    ('d1000000-0000-4000-a000-000000000010', 'd0000000-0000-4000-a000-000000000004',
     'Logeerboerderij Het Dwingelderveld', 'GM1701', 'Heideweg 14, 7991 PD Dwingeloo', 52.8340, 6.3700,
     '{garden,animals,partner_can_stay}', '{aggression}'),
    ('d1000000-0000-4000-a000-000000000011', 'd0000000-0000-4000-a000-000000000005',
     'Logeerhuis Het Veenpluis', 'GM1731', 'Stationsstraat 30, 9411 KC Beilen', 52.8625, 6.5150,
     '{wheelchair,hoist,night_care,sensory_room}', '{}'),
    ('d1000000-0000-4000-a000-000000000012', 'd0000000-0000-4000-a000-000000000005',
     'Het Veenpluis Roden', 'GM1699', 'Albertdijk 6, 9301 KJ Roden', 53.1380, 6.4330,
     '{wheelchair,sensory_room,garden}', '{aggression}'),
    ('d1000000-0000-4000-a000-000000000013', 'd0000000-0000-4000-a000-000000000006',
     'Ankerplaats Assen', 'GM0106', 'Dr. Nassaulaan 11, 9401 HJ Assen', 52.9880, 6.5520,
     '{night_care,psychiatric_care}', '{}'),
    ('d1000000-0000-4000-a000-000000000014', 'd0000000-0000-4000-a000-000000000006',
     'Ankerplaats Hoogeveen', 'GM0118', 'Alteveerstraat 20, 7907 AH Hoogeveen', 52.7310, 6.4880,
     '{night_care,psychiatric_care}', '{}')
ON CONFLICT (id) DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- Pools: twelve planned, four crisis; instant and approval; Wmo contracts that differ per pool.
-- Two pools (Respijtkamers in Vries, Boerderijlogeren in Dalen) have stale counts (as_of 20
-- days ago) so the staleness report has something to show. provider_id and kind come from the
-- location, so the composite foreign key cannot be violated by a typo here.
-- ---------------------------------------------------------------------------------------------

INSERT INTO pools (id, location_id, provider_id, name, kind, care_profiles, funding,
                   wmo_municipalities, booking_mode, min_nights, max_nights, lead_days,
                   horizon_days, as_of)
SELECT v.id, v.location_id, l.provider_id, v.name, v.kind::pool_kind, v.care_profiles::text[],
       v.funding::text[], v.wmo::text[], v.mode::booking_mode, v.min_n, v.max_n, v.lead,
       v.horizon, now() - make_interval(days => v.stale_days)
  FROM (VALUES
    ('d2000000-0000-4000-a000-000000000001'::uuid, 'd1000000-0000-4000-a000-000000000001'::uuid,
     'Logeerkamers', 'planned', '{dementia,somatic}', '{wmo,wlz,zvw}',
     '{GM0106,GM1730,GM1680,GM1731}', 'instant', 1, 14, 1, 180, 0),
    ('d2000000-0000-4000-a000-000000000002', 'd1000000-0000-4000-a000-000000000001',
     'Crisisbed', 'crisis', '{dementia,somatic}', '{wmo,wlz,zvw}',
     '{GM0106,GM1730,GM1680}', 'instant', 1, 7, 0, 30, 0),
    ('d2000000-0000-4000-a000-000000000003', 'd1000000-0000-4000-a000-000000000002',
     'Logeerappartementen', 'planned', '{somatic}', '{wmo,pgb,private}',
     '{GM1680}', 'approval', 2, 21, 7, 365, 0),
    ('d2000000-0000-4000-a000-000000000004', 'd1000000-0000-4000-a000-000000000003',
     'Respijtkamers', 'planned', '{dementia}', '{wlz,wmo}',
     '{GM1730,GM0106}', 'approval', 1, 14, 3, 180, 20),
    ('d2000000-0000-4000-a000-000000000005', 'd1000000-0000-4000-a000-000000000004',
     'Logeerzorg Exloo', 'planned', '{somatic,dementia}', '{wmo,zvw}',
     '{GM1681,GM0114}', 'instant', 2, 14, 2, 120, 0),
    ('d2000000-0000-4000-a000-000000000006', 'd1000000-0000-4000-a000-000000000005',
     'Spoedbedden Emmen', 'crisis', '{somatic,dementia}', '{wmo,wlz,zvw}',
     '{GM0114,GM1681,GM0109}', 'instant', 1, 10, 0, 30, 0),
    ('d2000000-0000-4000-a000-000000000007', 'd1000000-0000-4000-a000-000000000006',
     'Logeerhuis Hoogeveen', 'planned', '{somatic,disability}', '{wmo,pgb,wlz}',
     '{GM0118,GM1690}', 'instant', 1, 21, 1, 365, 0),
    ('d2000000-0000-4000-a000-000000000008', 'd1000000-0000-4000-a000-000000000007',
     'Weekendlogeren', 'planned', '{dementia}', '{wmo,private}',
     '{GM1690}', 'approval', 2, 3, 7, 180, 0),
    ('d2000000-0000-4000-a000-000000000009', 'd1000000-0000-4000-a000-000000000008',
     'Logeerkamers Meppel', 'planned', '{somatic}', '{wmo,zvw,private}',
     '{GM0119,GM1690,GM1701}', 'instant', 1, 14, 1, 180, 0),
    ('d2000000-0000-4000-a000-000000000010', 'd1000000-0000-4000-a000-000000000009',
     'Boerderijlogeren', 'planned', '{dementia,disability}', '{wmo,pgb,wlz}',
     '{GM0109,GM0114}', 'approval', 2, 14, 14, 365, 20),
    ('d2000000-0000-4000-a000-000000000011', 'd1000000-0000-4000-a000-000000000010',
     'Logeren op de boerderij', 'planned', '{dementia}', '{pgb,private,wlz}',
     '{}', 'approval', 2, 10, 7, 270, 0),
    ('d2000000-0000-4000-a000-000000000012', 'd1000000-0000-4000-a000-000000000011',
     'Logeerhuis jeugd', 'planned', '{youth,disability}', '{wlz,pgb,wmo}',
     '{GM1731}', 'approval', 1, 7, 14, 365, 0),
    ('d2000000-0000-4000-a000-000000000013', 'd1000000-0000-4000-a000-000000000012',
     'Logeerweekenden', 'planned', '{disability,youth}', '{wlz,pgb}',
     '{}', 'instant', 1, 3, 7, 180, 0),
    ('d2000000-0000-4000-a000-000000000014', 'd1000000-0000-4000-a000-000000000013',
     'Crisisbedden GGZ', 'crisis', '{psychiatric}', '{zvw,wmo}',
     '{GM0106,GM1731,GM1730,GM1680}', 'approval', 1, 14, 0, 14, 0),
    ('d2000000-0000-4000-a000-000000000015', 'd1000000-0000-4000-a000-000000000014',
     'Crisisopvang', 'crisis', '{psychiatric,somatic}', '{zvw,wlz}',
     '{}', 'instant', 1, 7, 0, 14, 0),
    ('d2000000-0000-4000-a000-000000000016', 'd1000000-0000-4000-a000-000000000013',
     'Respijt GGZ', 'planned', '{psychiatric}', '{wmo,zvw}',
     '{GM0106}', 'approval', 2, 14, 7, 180, 0)
  ) AS v (id, location_id, name, kind, care_profiles, funding, wmo, mode, min_n, max_n, lead,
          horizon, stale_days)
  JOIN locations l ON l.id = v.location_id
ON CONFLICT (id) DO NOTHING;

-- Logeerkamers Meppel takes stays in blocks (docs/practice.md): Monday to Wednesday, Wednesday
-- to Friday and Friday to Monday, or chains of them; guests arrive 14:00-17:00 and leave
-- 10:00-12:00. Set only on the pool as first seeded (version 1: nobody has changed it, and
-- this update makes it 2), so a rerun changes nothing and a provider's own rules stay.
UPDATE pools
   SET blocks = '[{"arrive": 1, "nights": 2}, {"arrive": 3, "nights": 2},
                  {"arrive": 5, "nights": 3}]'::jsonb,
       check_in_window = '14:00-17:00', check_out_window = '10:00-12:00'
 WHERE id = 'd2000000-0000-4000-a000-000000000009'
   AND version = 1 AND blocks = '[]'::jsonb AND cardinality(arrival_weekdays) = 0
   AND check_in_window IS NULL AND check_out_window IS NULL;

-- ---------------------------------------------------------------------------------------------
-- Demo accounts (see the table at the top). Fixed ids only when this file creates them.
-- ---------------------------------------------------------------------------------------------

INSERT INTO users (id, email, password_hash, role, provider_id, municipality, display_name)
SELECT v.id, v.email, nullif(current_setting('logeer.demo_password_hash', true), ''),
       v.role::user_role, v.provider_id, v.municipality, v.display_name
  FROM (VALUES
    ('d4000000-0000-4000-a000-000000000001'::uuid, 'beheer@demo.logeer.nl', 'admin',
     NULL::uuid, NULL::text, 'Beheer (demo)'),
    ('d4000000-0000-4000-a000-000000000002', 'aanjager@demo.logeer.nl', 'coordinator',
     NULL, NULL, 'Aanjager logeerzorg Drenthe (demo)'),
    ('d4000000-0000-4000-a000-000000000003', 'mantelzorger@demo.logeer.nl', 'caregiver',
     NULL, 'GM0106', 'Mantelzorger (demo)'),
    ('d4000000-0000-4000-a000-000000000004', 'huisarts@demo.logeer.nl', 'referrer',
     NULL, NULL, 'Huisarts (demo)'),
    ('d4000000-0000-4000-a000-000000000005', 'planner@esdorp.demo.logeer.nl', 'provider',
     'd0000000-0000-4000-a000-000000000001', NULL, 'Planner Zorggroep Esdorp (demo)'),
    ('d4000000-0000-4000-a000-000000000006', 'planner@hunzehof.demo.logeer.nl', 'provider',
     'd0000000-0000-4000-a000-000000000002', NULL, 'Planner Stichting Hunzehof (demo)'),
    ('d4000000-0000-4000-a000-000000000007', 'mantelzorger2@demo.logeer.nl', 'caregiver',
     NULL, 'GM0114', 'Tweede mantelzorger (demo)'),
    -- The region's other families: one caregiver per municipality, whose stays fill the demo
    -- (see "The region at work" below).
    ('d4000000-0000-4000-a000-000000000101', 'mantelzorger.gm1680@demo.logeer.nl', 'caregiver',
     NULL, 'GM1680', 'Mantelzorger uit Aa en Hunze (demo)'),
    ('d4000000-0000-4000-a000-000000000102', 'mantelzorger.gm0106@demo.logeer.nl', 'caregiver',
     NULL, 'GM0106', 'Mantelzorger uit Assen (demo)'),
    ('d4000000-0000-4000-a000-000000000103', 'mantelzorger.gm1681@demo.logeer.nl', 'caregiver',
     NULL, 'GM1681', 'Mantelzorger uit Borger-Odoorn (demo)'),
    ('d4000000-0000-4000-a000-000000000104', 'mantelzorger.gm0109@demo.logeer.nl', 'caregiver',
     NULL, 'GM0109', 'Mantelzorger uit Coevorden (demo)'),
    ('d4000000-0000-4000-a000-000000000105', 'mantelzorger.gm1690@demo.logeer.nl', 'caregiver',
     NULL, 'GM1690', 'Mantelzorger uit De Wolden (demo)'),
    ('d4000000-0000-4000-a000-000000000106', 'mantelzorger.gm0114@demo.logeer.nl', 'caregiver',
     NULL, 'GM0114', 'Mantelzorger uit Emmen (demo)'),
    ('d4000000-0000-4000-a000-000000000107', 'mantelzorger.gm0118@demo.logeer.nl', 'caregiver',
     NULL, 'GM0118', 'Mantelzorger uit Hoogeveen (demo)'),
    ('d4000000-0000-4000-a000-000000000108', 'mantelzorger.gm0119@demo.logeer.nl', 'caregiver',
     NULL, 'GM0119', 'Mantelzorger uit Meppel (demo)'),
    ('d4000000-0000-4000-a000-000000000109', 'mantelzorger.gm1731@demo.logeer.nl', 'caregiver',
     NULL, 'GM1731', 'Mantelzorger uit Midden-Drenthe (demo)'),
    ('d4000000-0000-4000-a000-000000000110', 'mantelzorger.gm1699@demo.logeer.nl', 'caregiver',
     NULL, 'GM1699', 'Mantelzorger uit Noordenveld (demo)'),
    ('d4000000-0000-4000-a000-000000000111', 'mantelzorger.gm1730@demo.logeer.nl', 'caregiver',
     NULL, 'GM1730', 'Mantelzorger uit Tynaarlo (demo)'),
    ('d4000000-0000-4000-a000-000000000112', 'mantelzorger.gm1701@demo.logeer.nl', 'caregiver',
     NULL, 'GM1701', 'Mantelzorger uit Westerveld (demo)')
  ) AS v (id, email, role, provider_id, municipality, display_name)
ON CONFLICT ((lower(email))) DO UPDATE
    SET password_hash = coalesce(users.password_hash, EXCLUDED.password_hash),
        municipality  = coalesce(users.municipality, EXCLUDED.municipality)
    WHERE (users.password_hash IS NULL AND EXCLUDED.password_hash IS NOT NULL)
       OR (users.municipality IS NULL AND EXCLUDED.municipality IS NOT NULL);
-- Both demo planners are their organisation's beheerder (they may make API keys).
UPDATE users SET provider_admin = true
 WHERE id IN ('d4000000-0000-4000-a000-000000000005', 'd4000000-0000-4000-a000-000000000006');

-- ---------------------------------------------------------------------------------------------
-- Stays: one in each interesting state. Dates are offsets in days from today (first run).
--   s1 confirmed   planned, instant pool, caregiver
--   s2 requested   planned, approval pool, waiting for the provider
--   s3 held        planned, hold open for two hours (longer than the default 15 minutes, so a
--                  demo can show confirming it)
--   s4 completed   planned, in the past
--   s5 cancelled   planned, cancelled by the caregiver with a reason
--   s6 checked_in  crisis stay in a crisis pool, requested by the GP
--   s7 waitlisted  planned, waiting for a week within a window; reserves nothing
--   s8 confirmed   diversion: crisis stay in a planned pool, authorised by the coordinator
-- ---------------------------------------------------------------------------------------------

INSERT INTO stays (id, pool_id, provider_id, pool_kind, kind, status, check_in, check_out,
                   funding, guest_alias, guest_birth_year, guest_care_profile, guest_needs,
                   requested_by, requested_by_role, on_behalf_of, diversion_reason,
                   hold_expires_at, wait_earliest_check_in, wait_latest_check_out, wait_nights,
                   wait_municipality, cancel_reason, cancelled_by, created_at)
SELECT v.id, p.id, p.provider_id, p.kind, v.kind::pool_kind, v.status::stay_status,
       t.today + v.in_off, t.today + v.out_off, v.funding, v.alias, v.birth_year, v.profile,
       v.needs::text[], r.id, r.role, v.on_behalf_of, v.diversion_reason,
       now() + v.hold_for, t.today + v.wait_from, t.today + v.wait_to, v.wait_nights,
       v.wait_municipality, v.cancel_reason,
       (SELECT c.id FROM users c WHERE lower(c.email) = v.cancelled_by),
       now() - v.age
  FROM (VALUES
    ('d3000000-0000-4000-a000-000000000001'::uuid, 'd2000000-0000-4000-a000-000000000001'::uuid,
     'planned', 'confirmed', 10, 17, 'wmo', 'mevr. J.', 1941, 'dementia', '{night_care}',
     'mantelzorger@demo.logeer.nl', NULL::text, NULL::text, NULL::interval,
     NULL::int, NULL::int, NULL::int, NULL::text, NULL::text, NULL::text, interval '3 days'),
    ('d3000000-0000-4000-a000-000000000002', 'd2000000-0000-4000-a000-000000000003',
     'planned', 'requested', 21, 28, 'pgb', 'dhr. B.', 1938, 'somatic', '{wheelchair}',
     'mantelzorger@demo.logeer.nl', NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, interval '1 day'),
    ('d3000000-0000-4000-a000-000000000003', 'd2000000-0000-4000-a000-000000000007',
     'planned', 'held', 5, 8, 'pgb', 'mevr. K.', 1950, 'somatic', '{}',
     'mantelzorger@demo.logeer.nl', NULL, NULL, interval '2 hours',
     NULL, NULL, NULL, NULL, NULL, NULL, interval '5 minutes'),
    ('d3000000-0000-4000-a000-000000000004', 'd2000000-0000-4000-a000-000000000001',
     'planned', 'completed', -12, -5, 'wmo', 'dhr. H.', 1944, 'dementia', '{night_care}',
     'mantelzorger@demo.logeer.nl', NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, interval '40 days'),
    ('d3000000-0000-4000-a000-000000000005', 'd2000000-0000-4000-a000-000000000009',
     'planned', 'cancelled', 30, 33, 'private', 'mevr. D.', 1946, 'somatic', '{}',
     'mantelzorger@demo.logeer.nl', NULL, NULL, NULL,
     NULL, NULL, NULL, NULL,
     'Plannen gewijzigd: de dochter neemt de zorg die week over.', 'mantelzorger@demo.logeer.nl',
     interval '10 days'),
    ('d3000000-0000-4000-a000-000000000006', 'd2000000-0000-4000-a000-000000000006',
     'crisis', 'checked_in', -1, 6, 'zvw', 'mevr. E.', 1936, 'somatic', '{night_care}',
     'huisarts@demo.logeer.nl', 'mantelzorger (partner van de cliënt)', NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, interval '1 day 4 hours'),
    ('d3000000-0000-4000-a000-000000000007', 'd2000000-0000-4000-a000-000000000004',
     'planned', 'waitlisted', NULL, NULL, 'wlz', 'dhr. V.', 1943, 'dementia', '{night_care}',
     'mantelzorger2@demo.logeer.nl', NULL, NULL, NULL,
     14, 45, 7, 'GM0114', NULL, NULL, interval '6 days'),
    ('d3000000-0000-4000-a000-000000000008', 'd2000000-0000-4000-a000-000000000005',
     'crisis', 'confirmed', 2, 6, 'zvw', 'dhr. S.', 1939, 'dementia', '{night_care}',
     'aanjager@demo.logeer.nl', 'huisarts Borger, voor de mantelzorger',
     'Geen crisisbed vrij in Zuidoost-Drenthe; mantelzorger acuut opgenomen in het ziekenhuis.',
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, interval '2 hours')
  ) AS v (id, pool_id, kind, status, in_off, out_off, funding, alias, birth_year, profile,
          needs, requester, on_behalf_of, diversion_reason, hold_for, wait_from, wait_to,
          wait_nights, wait_municipality, cancel_reason, cancelled_by, age)
  CROSS JOIN (SELECT (now() AT TIME ZONE 'Europe/Amsterdam')::date AS today) AS t
  JOIN pools p ON p.id = v.pool_id
  JOIN users r ON lower(r.email) = v.requester
ON CONFLICT (id) DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- Stay history. Guarded per stay: a stay that already has events gets none added, so reruns
-- add nothing. Times are offsets from the stay's creation.
-- ---------------------------------------------------------------------------------------------

INSERT INTO stay_events (stay_id, at, actor_id, actor_role, from_status, to_status, reason, detail)
SELECT v.stay_id, s.created_at + v.after, a.id, a.role, v.from_status::stay_status,
       v.to_status::stay_status, v.reason, v.detail::jsonb
  FROM (VALUES
    ('d3000000-0000-4000-a000-000000000001'::uuid, 1, interval '0', 'mantelzorger@demo.logeer.nl',
     NULL::text, 'held', NULL::text, '{}'::text),
    ('d3000000-0000-4000-a000-000000000001', 2, interval '4 minutes', 'mantelzorger@demo.logeer.nl',
     'held', 'confirmed', NULL, '{}'),
    ('d3000000-0000-4000-a000-000000000002', 1, interval '0', 'mantelzorger@demo.logeer.nl',
     NULL, 'held', NULL, '{}'),
    ('d3000000-0000-4000-a000-000000000002', 2, interval '3 minutes', 'mantelzorger@demo.logeer.nl',
     'held', 'requested', NULL, '{}'),
    ('d3000000-0000-4000-a000-000000000003', 1, interval '0', 'mantelzorger@demo.logeer.nl',
     NULL, 'held', NULL, '{}'),
    ('d3000000-0000-4000-a000-000000000004', 1, interval '0', 'mantelzorger@demo.logeer.nl',
     NULL, 'held', NULL, '{}'),
    ('d3000000-0000-4000-a000-000000000004', 2, interval '2 minutes', 'mantelzorger@demo.logeer.nl',
     'held', 'confirmed', NULL, '{}'),
    ('d3000000-0000-4000-a000-000000000004', 3, interval '28 days', 'planner@esdorp.demo.logeer.nl',
     'confirmed', 'checked_in', NULL, '{}'),
    ('d3000000-0000-4000-a000-000000000004', 4, interval '35 days', 'planner@esdorp.demo.logeer.nl',
     'checked_in', 'completed', NULL, '{}'),
    ('d3000000-0000-4000-a000-000000000005', 1, interval '0', 'mantelzorger@demo.logeer.nl',
     NULL, 'held', NULL, '{}'),
    ('d3000000-0000-4000-a000-000000000005', 2, interval '3 minutes', 'mantelzorger@demo.logeer.nl',
     'held', 'confirmed', NULL, '{}'),
    ('d3000000-0000-4000-a000-000000000005', 3, interval '9 days', 'mantelzorger@demo.logeer.nl',
     'confirmed', 'cancelled', 'Plannen gewijzigd: de dochter neemt de zorg die week over.', '{}'),
    ('d3000000-0000-4000-a000-000000000006', 1, interval '0', 'huisarts@demo.logeer.nl',
     NULL, 'held', NULL, '{}'),
    ('d3000000-0000-4000-a000-000000000006', 2, interval '2 minutes', 'huisarts@demo.logeer.nl',
     'held', 'confirmed', NULL, '{}'),
    ('d3000000-0000-4000-a000-000000000006', 3, interval '4 hours', 'planner@hunzehof.demo.logeer.nl',
     'confirmed', 'checked_in', NULL, '{}'),
    ('d3000000-0000-4000-a000-000000000007', 1, interval '0', 'mantelzorger2@demo.logeer.nl',
     NULL, 'waitlisted', 'Geen plek vrij in de gewenste week.', '{}'),
    ('d3000000-0000-4000-a000-000000000008', 1, interval '0', 'aanjager@demo.logeer.nl',
     NULL, 'held',
     'Geen crisisbed vrij in Zuidoost-Drenthe; mantelzorger acuut opgenomen in het ziekenhuis.',
     '{"diversion": true}'),
    ('d3000000-0000-4000-a000-000000000008', 2, interval '1 minute', 'aanjager@demo.logeer.nl',
     'held', 'confirmed', NULL, '{"diversion": true}')
  ) AS v (stay_id, seq, after, actor, from_status, to_status, reason, detail)
  JOIN stays s ON s.id = v.stay_id
  JOIN users a ON lower(a.email) = v.actor
 WHERE NOT EXISTS (SELECT 1 FROM stay_events e WHERE e.stay_id = v.stay_id)
 ORDER BY v.stay_id, v.seq;

-- ---------------------------------------------------------------------------------------------
-- Capacity: the past 28 and the next 120 nights for every demo pool (the past weeks carry
-- the region's history), plus the nights of demo stays that lie outside that window. Existing rows are never touched, so
-- a rerun cannot reset counters or a provider's own changes. Beds: a base per pool, for
-- planned pools one more on Friday and Saturday nights and one fewer on Wednesdays (weekend
-- respite is most asked for); crisis beds are staffed the same every night.
-- ---------------------------------------------------------------------------------------------

INSERT INTO pool_nights (pool_id, night, capacity)
WITH t AS (SELECT (now() AT TIME ZONE 'Europe/Amsterdam')::date AS today),
base (pool_id, beds, weekly) AS (VALUES
    ('d2000000-0000-4000-a000-000000000001'::uuid, 3, true),
    ('d2000000-0000-4000-a000-000000000002', 1, false),
    ('d2000000-0000-4000-a000-000000000003', 2, true),
    ('d2000000-0000-4000-a000-000000000004', 2, true),
    ('d2000000-0000-4000-a000-000000000005', 3, true),
    ('d2000000-0000-4000-a000-000000000006', 2, false),
    ('d2000000-0000-4000-a000-000000000007', 4, true),
    ('d2000000-0000-4000-a000-000000000008', 2, true),
    ('d2000000-0000-4000-a000-000000000009', 3, true),
    ('d2000000-0000-4000-a000-000000000010', 2, true),
    ('d2000000-0000-4000-a000-000000000011', 2, true),
    ('d2000000-0000-4000-a000-000000000012', 3, true),
    ('d2000000-0000-4000-a000-000000000013', 4, true),
    ('d2000000-0000-4000-a000-000000000014', 2, false),
    ('d2000000-0000-4000-a000-000000000015', 1, false),
    ('d2000000-0000-4000-a000-000000000016', 1, true)),
nights AS (
    SELECT b.pool_id, t.today + i AS night
      FROM base b CROSS JOIN t CROSS JOIN generate_series(-28, 119) AS i
    UNION
    SELECT s.pool_id, s.check_in + i
      FROM stays s JOIN base b ON b.pool_id = s.pool_id
      CROSS JOIN LATERAL generate_series(0, s.check_out - s.check_in - 1) AS i
     WHERE s.id BETWEEN 'd3000000-0000-4000-a000-000000000001'
                    AND 'd3000000-0000-4000-a000-000000000008'
       AND s.check_in IS NOT NULL)
SELECT n.pool_id, n.night,
       CASE WHEN NOT b.weekly THEN b.beds
            ELSE least(6, greatest(1, b.beds + CASE extract(isodow FROM n.night)
                                                   WHEN 5 THEN 1 WHEN 6 THEN 1
                                                   WHEN 3 THEN -1 ELSE 0 END))
       END
  FROM nights n JOIN base b ON b.pool_id = n.pool_id
  JOIN pools p ON p.id = n.pool_id
 ORDER BY n.pool_id, n.night
ON CONFLICT (pool_id, night) DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- Counters: rebuild held and booked for every night of the demo pools from the stays table,
-- so they are right however often this file has run and whatever stays the demo has gained.
-- Which statuses occupy a bed on a night they cover (the same rule as the reservation core,
-- core_status_night_use):
--   held, requested                        -> held   (a bed in reserve: a hold that waits for
--                                                     the caregiver, or a request that waits for
--                                                     the provider; accepting can never overbook)
--   confirmed, checked_in, completed       -> booked (the bed is, or was, used; completed stays
--                                                     keep their nights so past occupancy is true)
-- Cancelled, declined, expired and no_show stays release their nights; waitlist entries
-- reserve nothing. Only rows whose counts differ are written, so a rerun changes nothing.
-- ---------------------------------------------------------------------------------------------

UPDATE pool_nights pn
   SET held = c.held, booked = c.booked
  FROM (SELECT n.pool_id, n.night,
               count(s.id) FILTER (WHERE s.status IN ('held', 'requested')) AS held,
               count(s.id) FILTER (WHERE s.status IN ('confirmed', 'checked_in', 'completed'))
                   AS booked
          FROM pool_nights n
          LEFT JOIN stays s ON s.pool_id = n.pool_id
                           AND s.check_in <= n.night AND n.night < s.check_out
         WHERE n.pool_id BETWEEN 'd2000000-0000-4000-a000-000000000001'
                             AND 'd2000000-0000-4000-a000-000000000016'
         GROUP BY n.pool_id, n.night) AS c
 WHERE pn.pool_id = c.pool_id AND pn.night = c.night
   AND (pn.held, pn.booked) IS DISTINCT FROM (c.held::int, c.booked::int);

-- ---------------------------------------------------------------------------------------------
-- Registered guest and intake (docs/practice.md): the demo caregiver's guest, welcome at
-- Esdorp's first location after a kennismaking last month. Fixed ids, so a rerun adds nothing.
-- ---------------------------------------------------------------------------------------------

INSERT INTO guests (id, caregiver_id, alias, birth_year, care_profile, needs, municipality)
SELECT 'd5000000-0000-4000-a000-000000000001'::uuid, u.id, 'mevr. J.', 1941, 'dementia',
       ARRAY['night_care'], 'GM0106'
  FROM users u WHERE lower(u.email) = 'mantelzorger@demo.logeer.nl' AND u.erased_at IS NULL
ON CONFLICT (id) DO NOTHING;

INSERT INTO intakes (id, guest_id, location_id, provider_id, requested_by, status, moments,
                     scheduled_at, outcome, notes, decided_at)
SELECT 'd6000000-0000-4000-a000-000000000001'::uuid, g.id,
       'd1000000-0000-4000-a000-000000000001'::uuid, l.provider_id, g.caregiver_id, 'decided',
       'dinsdag- of donderdagmiddag', now() - interval '30 days', 'welcome',
       'Kan goed in de groep; alleen weekenden.', now() - interval '30 days'
  FROM guests g JOIN locations l ON l.id = 'd1000000-0000-4000-a000-000000000001'::uuid
 WHERE g.id = 'd5000000-0000-4000-a000-000000000001'::uuid
ON CONFLICT (id) DO NOTHING;

-- The guest's Wmo allowance from Assen: 3 nights a week, 18 a year, this calendar year and
-- the next (valid_to included). No demo stay counts against it yet, so no usage rows.
INSERT INTO allowances (id, guest_id, funding, nights_per_week, nights_per_year, valid_from,
                        valid_to, municipality, reference, created_by)
SELECT 'd7000000-0000-4000-a000-000000000001'::uuid, g.id, 'wmo', 3, 18,
       date_trunc('year', logeer_today())::date,
       (date_trunc('year', logeer_today()) + interval '2 years - 1 day')::date,
       'GM0106', 'Wmo-beschikking Assen 0042', g.caregiver_id
  FROM guests g WHERE g.id = 'd5000000-0000-4000-a000-000000000001'::uuid
ON CONFLICT (id) DO NOTHING;

-- =============================================================================================
-- The region at work (Drenthe's story): the shortage, the waiting, the crises, the intakes.
-- Everything below books through the reservation core's own functions (logeer_book_stay,
-- logeer_stay_transition, logeer_escalate_due), so pool_nights, allowance_usage, the history
-- and the outbox stay exactly as the service would have left them. Dates are relative to
-- "today" in Europe/Amsterdam (logeer_today()).
--
-- Rerunning, by part:
--   * guests, intakes, allowances, searches: fixed ids or a guard, created once;
--   * the story stays (A): booked once, when no stay of guest d5...0002 exists yet;
--   * the fill (B): a top-up to a fixpoint. For every planned pool except the care farm that
--     asks for a kennismaking, each night from 28 days ago to 5-8 weeks ahead (the pool's
--     fill horizon) gets stays until its beds are taken, except a bed kept free on a few
--     nights picked by the calendar date (so a one-night request still finds a gap). A stay
--     starts on a night that still has a bed and takes the first length (from a fixed set
--     per pool) whose every night has a bed. Once a run has finished, no night has both a
--     bed and a fitting stay, and booking only takes beds away, so a second run the same day
--     books nothing. A run on a later day tops up the nights that have come into the
--     horizon since (and any beds freed meanwhile), and leaves everything else alone.
--     Stays of the fill that lie in the past when they are booked are checked in and
--     completed; nobody moves the ones booked earlier when their days pass.
--   * the waiting list and the escalation (C): created once, when guest d5...0007 has no
--     stay; they ask for nights the fill has already taken, so they wait.
-- Stays, history and outbox rows carry the time of the run that made them (the functions
-- stamp now()); only the waiting requests are dated back (stays.created_at), so the demand
-- report shows how long people have waited.
-- =============================================================================================

-- ---------------------------------------------------------------------------------------------
-- Registered guests of the region's families (fixed ids; one per family that has a story).
-- ---------------------------------------------------------------------------------------------

INSERT INTO guests (id, caregiver_id, alias, birth_year, care_profile, needs, municipality)
SELECT v.id, u.id, v.alias, v.birth_year, v.profile, v.needs::text[], u.municipality
  FROM (VALUES
    ('d5000000-0000-4000-a000-000000000002'::uuid, 'mantelzorger.gm0109@demo.logeer.nl',
     'dhr. A.', 1939, 'dementia', '{night_care}'),
    ('d5000000-0000-4000-a000-000000000003', 'mantelzorger.gm1701@demo.logeer.nl',
     'mevr. L.', 1944, 'dementia', '{}'),
    ('d5000000-0000-4000-a000-000000000004', 'mantelzorger.gm1690@demo.logeer.nl',
     'dhr. W.', 1947, 'dementia', '{night_care}'),
    ('d5000000-0000-4000-a000-000000000005', 'mantelzorger.gm1681@demo.logeer.nl',
     'mevr. Y.', 1950, 'dementia', '{}'),
    ('d5000000-0000-4000-a000-000000000006', 'mantelzorger.gm0119@demo.logeer.nl',
     'dhr. R.', 1942, 'dementia', '{}'),
    ('d5000000-0000-4000-a000-000000000007', 'mantelzorger.gm1730@demo.logeer.nl',
     'mevr. T.', 1940, 'dementia', '{night_care}'),
    ('d5000000-0000-4000-a000-000000000008', 'mantelzorger.gm0118@demo.logeer.nl',
     'dhr. E.', 1936, 'somatic', '{wheelchair}'),
    ('d5000000-0000-4000-a000-000000000009', 'mantelzorger.gm0114@demo.logeer.nl',
     'mevr. P.', 1945, 'somatic', '{}'),
    ('d5000000-0000-4000-a000-000000000010', 'mantelzorger.gm1731@demo.logeer.nl',
     'Sem', 2009, 'disability', '{}')
  ) AS v (id, email, alias, birth_year, profile, needs)
  JOIN users u ON lower(u.email) = v.email AND u.erased_at IS NULL AND u.role = 'caregiver'
ON CONFLICT (id) DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- Kennismaking first: the care farm in Dwingeloo (Logeren op de boerderij) takes a guest only
-- after an intake. Set once, on the pool as first seeded (version 1), like the blocks above.
-- ---------------------------------------------------------------------------------------------

UPDATE pools SET intake_required = true
 WHERE id = 'd2000000-0000-4000-a000-000000000011' AND version = 1 AND NOT intake_required;

-- Intakes at Logeerboerderij Het Dwingelderveld in every state: welcome, trial first, not
-- suitable (with the reason the caregiver reads), asked and scheduled.
INSERT INTO intakes (id, guest_id, location_id, provider_id, requested_by, status, moments,
                     scheduled_at, outcome, trial_max_nights, reason, notes, decided_at,
                     created_at)
SELECT v.id, g.id, l.id, l.provider_id, g.caregiver_id, v.status::intake_status, v.moments,
       now() + v.scheduled, v.outcome::intake_outcome, v.trial, v.reason, v.notes,
       now() + v.decided, now() + v.asked
  FROM (VALUES
    ('d6000000-0000-4000-a000-000000000002'::uuid, 'd5000000-0000-4000-a000-000000000002'::uuid,
     'decided', 'Liefst op een woensdagmiddag.', interval '-60 days', 'welcome', NULL::int,
     NULL::text, 'Voelt zich thuis tussen de dieren; graag zijn eigen stoel meenemen.',
     interval '-60 days', interval '-75 days'),
    ('d6000000-0000-4000-a000-000000000003', 'd5000000-0000-4000-a000-000000000003',
     'decided', 'Maandag of dinsdag, na de dagbesteding.', interval '-10 days', 'trial_first', 3,
     NULL, 'Eerst een proefverblijf van hoogstens drie nachten.',
     interval '-10 days', interval '-24 days'),
    ('d6000000-0000-4000-a000-000000000004', 'd5000000-0000-4000-a000-000000000004',
     'decided', 'Elke ochtend behalve vrijdag.', interval '-20 days', 'not_suitable', NULL,
     'Meneer loopt ''s nachts veel rond en ons erf is niet afgesloten. Wij kunnen hem hier '
     || 'niet veilig laten logeren. Logeerhuis De Es in Assen heeft nachtzorg; bel ons gerust '
     || 'als u wilt overleggen.',
     NULL, interval '-20 days', interval '-35 days'),
    ('d6000000-0000-4000-a000-000000000005', 'd5000000-0000-4000-a000-000000000005',
     'requested', 'Maandag- of woensdagochtend; mijn dochter rijdt.', NULL, NULL, NULL,
     NULL, NULL, NULL, interval '-3 days'),
    ('d6000000-0000-4000-a000-000000000006', 'd5000000-0000-4000-a000-000000000006',
     'scheduled', 'Donderdagmiddag.', interval '5 days 14 hours', NULL, NULL,
     NULL, NULL, NULL, interval '-8 days')
  ) AS v (id, guest_id, status, moments, scheduled, outcome, trial, reason, notes, decided, asked)
  JOIN guests g ON g.id = v.guest_id
  JOIN locations l ON l.id = 'd1000000-0000-4000-a000-000000000010'::uuid
ON CONFLICT (id) DO NOTHING;

-- An open kennismaking at Zorggroep Esdorp, so the planner's bed board (Kennismakingen) has one
-- to plan in the demo: mevr. T. from Tynaarlo asked four days ago at Zorgcentrum De Brink in
-- Vries, near home, with night care. Still asked (no date yet); fixed id, created once.
INSERT INTO intakes (id, guest_id, location_id, provider_id, requested_by, status, moments,
                     created_at)
SELECT 'd6000000-0000-4000-a000-000000000007'::uuid, g.id, l.id, l.provider_id, g.caregiver_id,
       'requested', 'Dinsdag- of vrijdagochtend; ik rijd zelf.', now() - interval '4 days'
  FROM guests g JOIN locations l ON l.id = 'd1000000-0000-4000-a000-000000000003'::uuid
 WHERE g.id = 'd5000000-0000-4000-a000-000000000007'::uuid
ON CONFLICT (id) DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- Allowances: Wmo decisions of four municipalities (each with its own rule), a Wlz short-stay
-- indication and a pgb budget. Valid this calendar year and the next.
-- ---------------------------------------------------------------------------------------------

INSERT INTO allowances (id, guest_id, funding, nights_per_week, nights_per_year, valid_from,
                        valid_to, municipality, reference, created_by)
SELECT v.id, g.id, v.funding, v.week, v.year,
       date_trunc('year', logeer_today())::date,
       (date_trunc('year', logeer_today()) + interval '2 years - 1 day')::date,
       v.municipality, v.reference, g.caregiver_id
  FROM (VALUES
    ('d7000000-0000-4000-a000-000000000002'::uuid, 'd5000000-0000-4000-a000-000000000002'::uuid,
     'wlz', 3, 156, NULL::text, 'Wlz-indicatie kortdurend verblijf CIZ-2291'),
    ('d7000000-0000-4000-a000-000000000003', 'd5000000-0000-4000-a000-000000000007',
     'wmo', 3, 18, 'GM1730', 'Wmo-beschikking Tynaarlo 2025-118'),
    ('d7000000-0000-4000-a000-000000000004', 'd5000000-0000-4000-a000-000000000008',
     'wmo', 3, NULL, 'GM0118', 'Wmo-beschikking Hoogeveen HV-3307'),
    ('d7000000-0000-4000-a000-000000000005', 'd5000000-0000-4000-a000-000000000009',
     'wmo', NULL, 18, 'GM0114', 'Wmo-beschikking Emmen EM-0815'),
    ('d7000000-0000-4000-a000-000000000006', 'd5000000-0000-4000-a000-000000000010',
     'pgb', NULL, 58, NULL, 'Pgb-budget logeren (jeugd) 2025-07')
  ) AS v (id, guest_id, funding, week, year, municipality, reference)
  JOIN guests g ON g.id = v.guest_id
ON CONFLICT (id) DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- Helpers for this file only (temporary: gone at the end of the seeding session).
-- ---------------------------------------------------------------------------------------------

-- Books one stay through the core and insists that it worked: a refusal here is a bug in
-- this file, and must fail the whole seed rather than leave a half story.
CREATE FUNCTION pg_temp.demo_book(p jsonb, want text DEFAULT 'created') RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    r logeer_result;
BEGIN
    r := logeer_book_stay(p);
    IF r.outcome IS DISTINCT FROM want THEN
        RAISE EXCEPTION 'demo booking % gave % %', p, r.outcome, r.detail;
    END IF;
    RETURN (r.body::jsonb ->> 'id')::uuid;
END
$$;

-- Moves a stay along its lifecycle through the core (deltas by the night-usage rule).
CREATE FUNCTION pg_temp.demo_move(p_stay uuid, p_to stay_status, p_actor text DEFAULT NULL,
                                  p_reason text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_from stay_status;
    v_user users%ROWTYPE;
    r      logeer_result;
BEGIN
    SELECT s.status INTO v_from FROM stays s WHERE s.id = p_stay;
    SELECT * INTO v_user FROM users u WHERE lower(u.email) = p_actor;
    r := logeer_stay_transition(jsonb_strip_nulls(jsonb_build_object(
             'stay_id', p_stay, 'from_status', v_from, 'to_status', p_to,
             'held_delta', logeer_uses_held(p_to) - logeer_uses_held(v_from),
             'booked_delta', logeer_uses_booked(p_to) - logeer_uses_booked(v_from),
             'actor_id', v_user.id, 'actor_role', v_user.role, 'reason', p_reason)));
    IF r.outcome <> 'ok' THEN
        RAISE EXCEPTION 'demo transition % -> % of % gave % %', v_from, p_to, p_stay,
                        r.outcome, r.detail;
    END IF;
END
$$;

-- Checks in and completes what has already happened: a stay whose nights are all past is
-- completed, one that started is checked in.
CREATE FUNCTION pg_temp.demo_catch_up(p_stay uuid, p_actor text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s stays%ROWTYPE;
BEGIN
    SELECT * INTO s FROM stays WHERE id = p_stay;
    IF s.status = 'confirmed' AND s.check_in <= logeer_today() THEN
        PERFORM pg_temp.demo_move(p_stay, 'checked_in', p_actor);
        IF s.check_out <= logeer_today() THEN
            PERFORM pg_temp.demo_move(p_stay, 'completed', p_actor);
        END IF;
    END IF;
END
$$;

CREATE FUNCTION pg_temp.demo_user(p_email text) RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT id FROM users WHERE lower(email) = p_email $$;

-- ---------------------------------------------------------------------------------------------
-- (A) The story stays, once: crises, diversions, the care farm's guests, a Wmo stay.
-- ---------------------------------------------------------------------------------------------

DO $story$
DECLARE
    t      constant date := logeer_today();
    v_gp   constant uuid := pg_temp.demo_user('huisarts@demo.logeer.nl');
    v_co   constant uuid := pg_temp.demo_user('aanjager@demo.logeer.nl');
    v_id   uuid;
    c      record;
BEGIN
    IF EXISTS (SELECT 1 FROM stays WHERE guest_id = 'd5000000-0000-4000-a000-000000000002')
       OR NOT EXISTS (SELECT 1 FROM guests WHERE id = 'd5000000-0000-4000-a000-000000000002')
       OR v_gp IS NULL OR v_co IS NULL THEN
        RETURN;
    END IF;

    -- Crisis placements by the GP: some behind us, two guests in a crisis bed today. The
    -- 1-bed Crisisopvang in Hoogeveen is left free from tomorrow on.
    FOR c IN SELECT * FROM (VALUES
        ('d2000000-0000-4000-a000-000000000002'::uuid, -16, -11, 'wlz', 'mevr. O.', 1933,
         'dementia', 'mantelzorger (dochter) met griep'),
        ('d2000000-0000-4000-a000-000000000002', -2, 4, 'zvw', 'dhr. N.', 1941, 'somatic',
         'partner gevallen, ligt in het ziekenhuis'),
        ('d2000000-0000-4000-a000-000000000006', -26, -19, 'wlz', 'mevr. U.', 1938, 'dementia',
         'mantelzorger overbelast'),
        ('d2000000-0000-4000-a000-000000000006', -9, -3, 'zvw', 'dhr. Y.', 1944, 'somatic',
         'mantelzorger onverwacht opgenomen'),
        ('d2000000-0000-4000-a000-000000000014', -12, -5, 'zvw', 'dhr. I.', 1968,
         'psychiatric', 'woonsituatie onhoudbaar'),
        ('d2000000-0000-4000-a000-000000000014', -3, 5, 'wmo', 'mevr. Z.', 1975, 'psychiatric',
         'mantelzorger uitgeput'),
        ('d2000000-0000-4000-a000-000000000015', -21, -16, 'zvw', 'dhr. C.', 1937, 'somatic',
         'partner met spoed geopereerd')
      ) AS v (pool, din, dout, funding, alias, born, profile, why)
    LOOP
        v_id := pg_temp.demo_book(jsonb_build_object(
            'principal_id', v_gp, 'principal_role', 'referrer', 'pool_id', c.pool,
            'check_in', t + c.din, 'check_out', t + c.dout, 'kind', 'crisis',
            'funding', c.funding, 'on_behalf_of', c.why, 'initial_status', 'confirmed',
            'guest', jsonb_build_object('alias', c.alias, 'birth_year', c.born,
                                        'care_profile', c.profile, 'needs', '[]'::jsonb)));
        PERFORM pg_temp.demo_catch_up(v_id);
    END LOOP;

    -- Diversions: crisis stays the coordinator placed in a planned bed, with the reason.
    v_id := pg_temp.demo_book(jsonb_build_object(
        'principal_id', v_co, 'principal_role', 'coordinator',
        'pool_id', 'd2000000-0000-4000-a000-000000000007', 'check_in', t - 9, 'check_out', t - 5,
        'kind', 'crisis', 'funding', 'zvw', 'initial_status', 'confirmed',
        'on_behalf_of', 'wijkverpleging Hoogeveen',
        'diversion_reason', 'Crisisopvang Hoogeveen vol; mantelzorger met spoed opgenomen.',
        'guest', '{"alias": "mevr. H.", "birth_year": 1935, "care_profile": "somatic", "needs": []}'::jsonb));
    PERFORM pg_temp.demo_catch_up(v_id);
    v_id := pg_temp.demo_book(jsonb_build_object(
        'principal_id', v_co, 'principal_role', 'coordinator',
        'pool_id', 'd2000000-0000-4000-a000-000000000001', 'check_in', t, 'check_out', t + 3,
        'kind', 'crisis', 'funding', 'wlz', 'initial_status', 'confirmed',
        'on_behalf_of', 'casemanager dementie Assen',
        'diversion_reason', 'Crisisbed De Es bezet; geen crisisbed vrij in de regio Assen.',
        'guest', '{"alias": "dhr. M.", "birth_year": 1940, "care_profile": "dementia", "needs": ["night_care"]}'::jsonb));

    -- The care farm (kennismaking first). dhr. A. (welcome, Wlz): a stay behind him, one
    -- accepted, one waiting for the farm's answer. mevr. L. (trial first): a two-night trial.
    v_id := pg_temp.demo_book(jsonb_build_object(
        'principal_id', pg_temp.demo_user('mantelzorger.gm0109@demo.logeer.nl'),
        'principal_role', 'caregiver', 'guest_id', 'd5000000-0000-4000-a000-000000000002',
        'pool_id', 'd2000000-0000-4000-a000-000000000011', 'check_in', t - 20,
        'check_out', t - 17, 'kind', 'planned', 'funding', 'wlz', 'initial_status', 'requested'));
    PERFORM pg_temp.demo_move(v_id, 'confirmed');
    PERFORM pg_temp.demo_catch_up(v_id);
    v_id := pg_temp.demo_book(jsonb_build_object(
        'principal_id', pg_temp.demo_user('mantelzorger.gm0109@demo.logeer.nl'),
        'principal_role', 'caregiver', 'guest_id', 'd5000000-0000-4000-a000-000000000002',
        'pool_id', 'd2000000-0000-4000-a000-000000000011', 'check_in', t + 9,
        'check_out', t + 12, 'kind', 'planned', 'funding', 'wlz', 'initial_status', 'requested'));
    PERFORM pg_temp.demo_move(v_id, 'confirmed');
    PERFORM pg_temp.demo_book(jsonb_build_object(
        'principal_id', pg_temp.demo_user('mantelzorger.gm0109@demo.logeer.nl'),
        'principal_role', 'caregiver', 'guest_id', 'd5000000-0000-4000-a000-000000000002',
        'pool_id', 'd2000000-0000-4000-a000-000000000011', 'check_in', t + 30,
        'check_out', t + 33, 'kind', 'planned', 'funding', 'wlz', 'initial_status', 'requested'));
    v_id := pg_temp.demo_book(jsonb_build_object(
        'principal_id', pg_temp.demo_user('mantelzorger.gm1701@demo.logeer.nl'),
        'principal_role', 'caregiver', 'guest_id', 'd5000000-0000-4000-a000-000000000003',
        'pool_id', 'd2000000-0000-4000-a000-000000000011', 'check_in', t + 16,
        'check_out', t + 18, 'kind', 'planned', 'funding', 'private', 'initial_status', 'requested'));
    PERFORM pg_temp.demo_move(v_id, 'confirmed');

    -- dhr. E. from Hoogeveen: three Wmo nights next week (counted against his 3 a week), and
    -- a stay last month he did not turn up for.
    PERFORM pg_temp.demo_book(jsonb_build_object(
        'principal_id', pg_temp.demo_user('mantelzorger.gm0118@demo.logeer.nl'),
        'principal_role', 'caregiver', 'guest_id', 'd5000000-0000-4000-a000-000000000008',
        'pool_id', 'd2000000-0000-4000-a000-000000000007', 'check_in', t + 7 - extract(isodow FROM t)::int + 1,
        'check_out', t + 7 - extract(isodow FROM t)::int + 4, 'kind', 'planned', 'funding', 'wmo',
        'initial_status', 'confirmed'));
    v_id := pg_temp.demo_book(jsonb_build_object(
        'principal_id', pg_temp.demo_user('mantelzorger.gm0118@demo.logeer.nl'),
        'principal_role', 'caregiver', 'guest_id', 'd5000000-0000-4000-a000-000000000008',
        'pool_id', 'd2000000-0000-4000-a000-000000000007', 'check_in', t - 24,
        'check_out', t - 22, 'kind', 'planned', 'funding', 'private',
        'initial_status', 'confirmed'));
    PERFORM pg_temp.demo_move(v_id, 'no_show', NULL, 'Niet gekomen; mantelzorger niet bereikbaar.');
END
$story$;

-- ---------------------------------------------------------------------------------------------
-- (A2) Staying along, transport and cancellation policies (docs/practice.md), once: while the
-- pools still have neither companion places nor a policy. Logeerhuis De Es has one room where a
-- caregiver can stay along; De Es, Logeerhuis Hoogeveen and the care farm cancel free until 7,
-- 14 and 3 days before. A family stays at De Es from tomorrow with the daughter staying along,
-- brought and collected at set times; a Hoogeveen family cancelled a booking five days ahead,
-- which is late. Before the fill, so that the nights are still free; each stay takes the first
-- free nights from its day on, so a rerun on an older demo database still finds room.
-- ---------------------------------------------------------------------------------------------

DO $practice$
DECLARE
    t      constant date := logeer_today();
    c_es   constant uuid := 'd2000000-0000-4000-a000-000000000001';
    c_hv   constant uuid := 'd2000000-0000-4000-a000-000000000007';
    v_in   date;
    v_id   uuid;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pools WHERE id = c_es AND companion_places = 0
                                         AND free_cancel_days IS NULL) THEN
        RETURN;
    END IF;
    UPDATE pools SET companion_places = 1, free_cancel_days = 7 WHERE id = c_es;
    UPDATE pools SET free_cancel_days = 14 WHERE id = c_hv AND free_cancel_days IS NULL;
    UPDATE pools SET free_cancel_days = 3
     WHERE id = 'd2000000-0000-4000-a000-000000000011' AND free_cancel_days IS NULL;

    -- Three nights at De Es with a bed and the companion room free on each.
    SELECT min(g.d::date) INTO v_in
      FROM generate_series(t + 1, t + 60, interval '1 day') AS g (d)
     WHERE (SELECT count(*) FROM pool_nights pn JOIN pools po ON po.id = pn.pool_id
             WHERE pn.pool_id = c_es AND pn.night >= g.d::date AND pn.night < g.d::date + 3
               AND pn.held + pn.booked < pn.capacity
               AND pn.companions < po.companion_places) = 3;
    IF v_in IS NOT NULL THEN
        PERFORM pg_temp.demo_book(jsonb_build_object(
            'principal_id', pg_temp.demo_user('mantelzorger.gm0106@demo.logeer.nl'),
            'principal_role', 'caregiver', 'pool_id', c_es, 'check_in', v_in,
            'check_out', v_in + 3, 'kind', 'planned', 'funding', 'wlz',
            'initial_status', 'confirmed', 'companion', true,
            'arrival', '{"by": "caregiver", "time": "15:00", "note": "dochter brengt, rollator mee"}'::jsonb,
            'departure', '{"by": "other", "time": "10:30", "note": "buurtbus Assen"}'::jsonb,
            'guest', '{"alias": "mevr. D.", "birth_year": 1943, "care_profile": "dementia", "needs": ["night_care"]}'::jsonb));
    END IF;

    -- Two nights at Hoogeveen five days ahead, booked and then cancelled by the family.
    SELECT min(g.d::date) INTO v_in
      FROM generate_series(t + 5, t + 12, interval '1 day') AS g (d)
     WHERE (SELECT count(*) FROM pool_nights pn
             WHERE pn.pool_id = c_hv AND pn.night >= g.d::date AND pn.night < g.d::date + 2
               AND pn.held + pn.booked < pn.capacity) = 2;
    IF v_in IS NOT NULL THEN
        v_id := pg_temp.demo_book(jsonb_build_object(
            'principal_id', pg_temp.demo_user('mantelzorger.gm0118@demo.logeer.nl'),
            'principal_role', 'caregiver', 'pool_id', c_hv, 'check_in', v_in,
            'check_out', v_in + 2, 'kind', 'planned', 'funding', 'wlz',
            'initial_status', 'confirmed',
            'guest', '{"alias": "dhr. G.", "birth_year": 1937, "care_profile": "somatic", "needs": []}'::jsonb));
        PERFORM pg_temp.demo_move(v_id, 'cancelled', 'mantelzorger.gm0118@demo.logeer.nl',
                                  'Mijn vader ligt sinds gisteren in het ziekenhuis.');
    END IF;
END
$practice$;

-- ---------------------------------------------------------------------------------------------
-- (B) The fill: planned beds mostly taken for the coming five to eight weeks (see the rules at
-- the top of this part). Every rule below depends on the calendar date and the pool, never on
-- the run, so the fixpoint holds. Guests are inline (initials only), each stay requested by
-- one of the region's families, preferably from a municipality the pool has a Wmo contract
-- with; the funding route and care profile cycle through what the pool accepts.
-- ---------------------------------------------------------------------------------------------

DO $fill$
DECLARE
    t        constant date := logeer_today();
    c_epoch  constant date := '2024-01-01';   -- a Monday: calendar rules count days from it
    c_lens   constant int[] := '{3,4,2,5,3,7,4,2,6,3,5,4}';
    c_aliases constant text[] := '{mevr. A.,dhr. B.,mevr. C.,dhr. D.,mevr. E.,dhr. F.,mevr. G.,'
                                  'dhr. H.,mevr. I.,dhr. J.,mevr. K.,dhr. L.,mevr. M.,dhr. N.,'
                                  'mevr. O.,dhr. P.,mevr. R.,dhr. S.,mevr. V.,dhr. W.}';
    p        record;
    d        date;
    n        integer;          -- the pool's booking count in this run: picks guest and family
    v_free   integer;
    v_len    integer;
    v_pref   integer;
    v_fam    uuid[];
    v_id     uuid;
    v_status text;
BEGIN
    FOR p IN
        SELECT po.id, po.min_nights, po.max_nights, po.care_profiles, po.funding,
               po.booking_mode, po.blocks <> '[]'::jsonb AS has_blocks,
               right(po.id::text, 2)::int AS no,
               -- Fill horizon: 5, 6, 7 or 8 weeks, by pool (a few small houses have room
               -- sooner than the big ones).
               35 + 7 * (right(po.id::text, 2)::int % 4) AS horizon,
               ARRAY(SELECT u.id FROM users u
                      WHERE u.email LIKE 'mantelzorger.gm____@demo.logeer.nl'
                        AND u.role = 'caregiver' AND u.erased_at IS NULL
                        AND (u.municipality = ANY (po.wmo_municipalities)
                             OR cardinality(po.wmo_municipalities) = 0)
                      ORDER BY u.email) AS near,
               ARRAY(SELECT u.id FROM users u
                      WHERE u.email LIKE 'mantelzorger.gm____@demo.logeer.nl'
                        AND u.role = 'caregiver' AND u.erased_at IS NULL
                      ORDER BY u.email) AS everyone
          FROM pools po
         WHERE po.id BETWEEN 'd2000000-0000-4000-a000-000000000001'
                         AND 'd2000000-0000-4000-a000-000000000016'
           AND po.kind = 'planned' AND po.active AND NOT po.intake_required
         ORDER BY po.id
    LOOP
        v_fam := CASE WHEN cardinality(p.near) > 0 THEN p.near ELSE p.everyone END;
        CONTINUE WHEN cardinality(v_fam) = 0;
        n := 0;
        d := t - 28;
        WHILE d < t + p.horizon LOOP
            LOOP
                -- A night keeps one bed free when the calendar says so (about one in eleven
                -- nights, a different one per pool) and it has more than two beds.
                SELECT pn.capacity - pn.held - pn.booked
                       - CASE WHEN pn.capacity > 2 AND ((d - c_epoch) + p.no * 5) % 11 = 0
                              THEN 1 ELSE 0 END
                  INTO v_free
                  FROM pool_nights pn WHERE pn.pool_id = p.id AND pn.night = d;
                EXIT WHEN coalesce(v_free, 0) <= 0;
                -- The candidate lengths: a pool with blocks arrives Monday (2 nights),
                -- Wednesday (2) or Friday (3); others any length from the pool's minimum to
                -- its maximum (at most 7), preferring one picked by the date.
                v_pref := greatest(p.min_nights, least(p.max_nights, 7,
                                   c_lens[1 + ((d - c_epoch) + p.no) % 12]));
                SELECT l.len INTO v_len
                  FROM (SELECT g AS len FROM generate_series(p.min_nights, least(p.max_nights, 7)) g
                         WHERE NOT p.has_blocks
                        UNION ALL
                        SELECT CASE extract(isodow FROM d) WHEN 1 THEN 2 WHEN 3 THEN 2 ELSE 3 END
                         WHERE p.has_blocks AND extract(isodow FROM d) IN (1, 3, 5)) AS l
                 WHERE (SELECT count(*) FROM pool_nights pn
                         WHERE pn.pool_id = p.id AND pn.night >= d AND pn.night < d + l.len
                           AND pn.capacity - pn.held - pn.booked
                               - CASE WHEN pn.capacity > 2
                                           AND ((pn.night - c_epoch) + p.no * 5) % 11 = 0
                                      THEN 1 ELSE 0 END > 0) = l.len
                 ORDER BY l.len = v_pref DESC, l.len < v_pref DESC, abs(l.len - v_pref)
                 LIMIT 1;
                EXIT WHEN v_len IS NULL;
                -- Approval pools: a few requests further ahead still wait for the provider.
                v_status := CASE WHEN p.booking_mode = 'approval' AND d > t + 14 AND n % 5 = 2
                                 THEN 'requested' ELSE 'confirmed' END;
                v_id := pg_temp.demo_book(jsonb_build_object(
                    'principal_id', v_fam[1 + n % cardinality(v_fam)],
                    'principal_role', 'caregiver', 'pool_id', p.id,
                    'check_in', d, 'check_out', d + v_len, 'kind', 'planned',
                    'funding', p.funding[1 + n % cardinality(p.funding)],
                    'initial_status', v_status,
                    'guest', jsonb_build_object(
                        'alias', c_aliases[1 + (n * 7 + p.no) % 20],
                        'birth_year', CASE p.care_profiles[1 + n % cardinality(p.care_profiles)]
                                          WHEN 'youth' THEN 2008 + (n * 7 + p.no) % 10
                                          WHEN 'disability' THEN 1970 + (n * 7 + p.no) % 40
                                          ELSE 1930 + (n * 7 + p.no) % 25 END,
                        'care_profile', p.care_profiles[1 + n % cardinality(p.care_profiles)],
                        'needs', '[]'::jsonb)));
                PERFORM pg_temp.demo_catch_up(v_id);
                n := n + 1;
            END LOOP;
            d := d + 1;
        END LOOP;
    END LOOP;
END
$fill$;

-- ---------------------------------------------------------------------------------------------
-- (C) Caregivers waiting, once. Each asks for nights the fill has taken (the first stay of
-- the asked length from the given day on with a full night in it), so logeer_book_stay puts
-- the request on the waiting list; the requests are dated back to when they were made.
-- mevr. T. asked 33 days ago for three nights at De Es in a four-week window starting 45 days
-- ahead: guaranteed (six weeks), her
-- deadline (14 days before the earliest check-in) passed two days ago and nothing freed up,
-- so the guarantee job opens her escalation now, with the options it finds today.
-- ---------------------------------------------------------------------------------------------

DO $waiting$
DECLARE
    t    constant date := logeer_today();
    w    record;
    v_in date;
    v_id uuid;
BEGIN
    IF EXISTS (SELECT 1 FROM stays WHERE guest_id = 'd5000000-0000-4000-a000-000000000007')
       OR NOT EXISTS (SELECT 1 FROM guests WHERE id = 'd5000000-0000-4000-a000-000000000007') THEN
        RETURN;
    END IF;
    FOR w IN SELECT * FROM (VALUES
        -- guest, caregiver, pool, funding, from (days ahead), nights, window (days), asked
        -- (days ago), guaranteed
        ('d5000000-0000-4000-a000-000000000007'::uuid, 'mantelzorger.gm1730@demo.logeer.nl',
         'd2000000-0000-4000-a000-000000000001'::uuid, 'wmo', 12, 3, 28, 33, true),
        ('d5000000-0000-4000-a000-000000000008', 'mantelzorger.gm0118@demo.logeer.nl',
         'd2000000-0000-4000-a000-000000000007', 'wmo', 14, 3, 21, 12, false),
        ('d5000000-0000-4000-a000-000000000009', 'mantelzorger.gm0114@demo.logeer.nl',
         'd2000000-0000-4000-a000-000000000005', 'wmo', 7, 5, 21, 19, false),
        ('d5000000-0000-4000-a000-000000000010', 'mantelzorger.gm1731@demo.logeer.nl',
         'd2000000-0000-4000-a000-000000000012', 'pgb', 10, 2, 28, 26, false)
      ) AS v (guest, email, pool, funding, from_day, nights, win, asked, guaranteed)
    LOOP
        SELECT min(g.d) INTO v_in
          FROM generate_series(t + w.from_day, t + w.from_day + w.win - w.nights, interval '1 day')
               AS g (d)
         WHERE EXISTS (SELECT 1 FROM pool_nights pn
                        WHERE pn.pool_id = w.pool AND pn.night >= g.d::date
                          AND pn.night < g.d::date + w.nights
                          AND pn.held + pn.booked >= pn.capacity);
        IF v_in IS NULL THEN
            RAISE EXCEPTION 'demo waiting list: pool % has room for % nights from day %',
                            w.pool, w.nights, w.from_day;
        END IF;
        v_id := pg_temp.demo_book(jsonb_build_object(
            'principal_id', pg_temp.demo_user(w.email), 'principal_role', 'caregiver',
            'guest_id', w.guest, 'pool_id', w.pool, 'check_in', v_in,
            'check_out', v_in + w.nights, 'kind', 'planned', 'funding', w.funding,
            'initial_status', 'confirmed', 'waitlist', true,
            'wait_earliest_check_in', t + w.from_day,
            'wait_latest_check_out', t + w.from_day + w.win, 'wait_nights', w.nights),
            'waitlisted');
        UPDATE stays s
           SET created_at = now() - make_interval(days => w.asked),
               wait_municipality = (SELECT g.municipality FROM guests g WHERE g.id = w.guest),
               guaranteed = w.guaranteed,
               guarantee_deadline = CASE WHEN w.guaranteed THEN t + w.from_day - 14 END
         WHERE s.id = v_id;
    END LOOP;
    -- What the guarantee job (src/events/guarantee.c) would do within a minute of starting.
    PERFORM logeer_escalate_due('{}'::jsonb);
END
$waiting$;

-- ---------------------------------------------------------------------------------------------
-- Searches of the past four weeks, once: what caregivers and referrers looked for, and how
-- often they found nothing (the unmet demand in the demand report). No guest data, like the
-- service's own search log. Marked params.source = 'demo' so that a rerun adds none.
-- ---------------------------------------------------------------------------------------------

INSERT INTO searches (at, user_id, role, check_in, nights, municipality, care_profile, funding,
                      kind, flex_days, radius_km, results, params)
SELECT now() - make_interval(days => 28 - i % 28, hours => (i * 5) % 11),
       u.id, u.role, logeer_today() - 28 + i % 28 + q.lead, q.nights, q.municipality,
       q.profile, q.funding, q.kind::pool_kind, q.flex, q.radius,
       -- Near dates find nothing; further out some do.
       CASE WHEN q.always_empty OR q.lead < 42 THEN 0 ELSE 1 + i % 3 END,
       '{"source": "demo"}'::jsonb
  FROM generate_series(0, 83) AS i
  JOIN (VALUES
    (0, 'GM0106', 'dementia', 'wmo', 'planned', 7, 3, 14, NULL::int, false,
     'mantelzorger.gm0106@demo.logeer.nl'),
    (1, 'GM0114', 'somatic', 'wmo', 'planned', 14, 5, 7, 25, false,
     'mantelzorger.gm0114@demo.logeer.nl'),
    (2, 'GM0114', 'youth', 'pgb', 'planned', 10, 2, 28, NULL, true,
     'mantelzorger2@demo.logeer.nl'),
    (3, 'GM0119', 'psychiatric', 'wmo', 'planned', 21, 4, 14, 30, true,
     'mantelzorger.gm0119@demo.logeer.nl'),
    (4, 'GM1730', 'dementia', 'wlz', 'planned', 28, 7, 0, NULL, false,
     'mantelzorger.gm1730@demo.logeer.nl'),
    (5, 'GM0118', 'somatic', 'wmo', 'planned', 49, 3, 7, NULL, false,
     'mantelzorger.gm0118@demo.logeer.nl'),
    (6, 'GM1690', 'dementia', 'wmo', 'planned', 5, 2, 0, NULL, false,
     'mantelzorger.gm1690@demo.logeer.nl'),
    (7, 'GM0109', 'dementia', 'zvw', 'crisis', 0, 3, 0, 40, false, 'huisarts@demo.logeer.nl'),
    (8, 'GM1731', 'disability', 'pgb', 'planned', 56, 2, 14, NULL, false,
     'mantelzorger.gm1731@demo.logeer.nl'),
    (9, 'GM1699', 'somatic', 'wmo', 'planned', 14, 4, 7, 20, false,
     'mantelzorger.gm1699@demo.logeer.nl'),
    (10, 'GM1681', 'dementia', 'wmo', 'planned', 35, 5, 14, NULL, false,
     'mantelzorger.gm1681@demo.logeer.nl'),
    (11, 'GM1701', 'dementia', 'private', 'planned', 63, 3, 7, 30, false,
     'mantelzorger.gm1701@demo.logeer.nl')
  ) AS q (k, municipality, profile, funding, kind, lead, nights, flex, radius, always_empty,
          email)
    ON q.k = i % 12
  JOIN users u ON lower(u.email) = q.email
 WHERE NOT EXISTS (SELECT 1 FROM searches s WHERE s.params ->> 'source' = 'demo')
 ORDER BY i;

DROP FUNCTION pg_temp.demo_book(jsonb, text);
DROP FUNCTION pg_temp.demo_move(uuid, stay_status, text, text);
DROP FUNCTION pg_temp.demo_catch_up(uuid, text);
DROP FUNCTION pg_temp.demo_user(text);

-- The region's history made above is not news to anyone: the notification producer starts
-- after this transaction's own outbox rows, so a demo does not mail every demo caregiver and
-- planner about stays that were "booked" weeks ago. Only moves the cursor forward, and only
-- when this run wrote events (a second run that books nothing leaves it alone).
UPDATE notify_cursor c
   SET txid = pg_current_xact_id(), event_id = m.id, updated_at = now()
  FROM (SELECT max(id) AS id FROM events WHERE txid = pg_current_xact_id()) m
 WHERE m.id IS NOT NULL AND (c.txid, c.event_id) < (pg_current_xact_id(), m.id);
