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
     NULL, 'GM0114', 'Tweede mantelzorger (demo)')
  ) AS v (id, email, role, provider_id, municipality, display_name)
ON CONFLICT ((lower(email))) DO UPDATE
    SET password_hash = coalesce(users.password_hash, EXCLUDED.password_hash),
        municipality  = coalesce(users.municipality, EXCLUDED.municipality)
    WHERE (users.password_hash IS NULL AND EXCLUDED.password_hash IS NOT NULL)
       OR (users.municipality IS NULL AND EXCLUDED.municipality IS NOT NULL);

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
-- Capacity: the next 120 nights for every demo pool, plus the nights of demo stays that lie
-- outside that window (the completed stay is in the past). Existing rows are never touched, so
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
      FROM base b CROSS JOIN t CROSS JOIN generate_series(0, 119) AS i
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
