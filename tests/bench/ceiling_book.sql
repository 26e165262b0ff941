-- ceiling_book.sql: pgbench script for the booking ceiling: one hold per transaction through the
-- same function the API calls, logeer_book_stay(jsonb), with the argument the API builds (no
-- idempotency key). Never writes anything but what that function writes.
-- run.sh fills bench_ceiling_pools (planned instant pools) and bench_ceiling_caregivers and passes
-- their sizes as -D npools=... -D ncaregivers=...; a random pool, caregiver, length and date each
-- time, inside the pool's lead time and bookable horizon, so most holds succeed.
\set pool random(1, :npools)
\set who random(1, :ncaregivers)
\set extra random(0, 4)
\set day random(0, 100000)
\set birth random(1930, 2015)
SELECT r.*
  FROM bench_ceiling_pools b
  JOIN bench_ceiling_caregivers g ON g.n = :who
 CROSS JOIN LATERAL (SELECT b.min_nights + :extra AS nights,
                            (now() AT TIME ZONE 'Europe/Amsterdam')::date + b.lead_days + 1 AS first) w
 CROSS JOIN LATERAL (SELECT w.first + :day % (699 - b.lead_days - w.nights) AS check_in) d
 CROSS JOIN LATERAL logeer_book_stay(jsonb_build_object(
        'principal_id', g.id,
        'principal_role', 'caregiver',
        'request_hash', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        'method', 'POST',
        'path', '/v1/stays',
        'pool_id', b.id,
        'check_in', d.check_in,
        'check_out', d.check_in + w.nights,
        'kind', 'planned',
        'initial_status', 'held',
        'hold_ttl_s', 900,
        'funding', 'pgb',
        'guest', jsonb_build_object('alias', 'pgbench', 'birth_year', :birth,
                                    'care_profile', b.profile, 'needs', '[]'::jsonb),
        'waitlist', false,
        'max_open_stays', NULL)) r
 WHERE b.n = :pool;
