-- bare_book.sql: pgbench script for the bare booking transaction, the floor that the booking
-- function and the API are measured against: the per-night counters taken with a conditional
-- UPDATE (held + booked < capacity), one stay row and one outbox row, over the same tables
-- (pool_nights, stays, events with their indexes, constraints and triggers as they are) and
-- nothing else: no idempotency record, no open-stays count, no history row, no rules.
-- run.sh fills bench_ceiling_pools and bench_ceiling_caregivers (as for ceiling_book.sql) and
-- passes their sizes as -D npools=... -D ncaregivers=...; the same random pool, caregiver,
-- length and date as ceiling_book.sql. A night without a free bed rolls the whole hold back,
-- so the counters always equal a recount of the stays (run.sh checks that afterwards).
\set pool random(1, :npools)
\set who random(1, :ncaregivers)
\set extra random(0, 4)
\set day random(0, 100000)
\set birth random(1930, 2015)
BEGIN;
SELECT b.id AS pool_id, b.profile, g.id AS who_id, w.nights, d.check_in,
       d.check_in + w.nights AS check_out
  FROM bench_ceiling_pools b
  JOIN bench_ceiling_caregivers g ON g.n = :who
 CROSS JOIN LATERAL (SELECT b.min_nights + :extra AS nights,
                            (now() AT TIME ZONE 'Europe/Amsterdam')::date + b.lead_days + 1 AS first) w
 CROSS JOIN LATERAL (SELECT w.first + :day % (699 - b.lead_days - w.nights) AS check_in) d
 WHERE b.n = :pool \gset
-- The conditional UPDATE takes a bed on every night that has one; all or nothing below.
WITH taken AS (
    UPDATE pool_nights n SET held = n.held + 1
     WHERE n.pool_id = ':pool_id'::uuid AND n.night >= ':check_in'::date AND n.night < ':check_out'::date
       AND n.held + n.booked < n.capacity
    RETURNING 1)
SELECT count(*) AS taken FROM taken \gset
\if :taken = :nights
WITH stay AS (
    INSERT INTO stays (pool_id, provider_id, pool_kind, kind, status, check_in, check_out,
                       funding, guest_alias, guest_birth_year, guest_care_profile,
                       requested_by, requested_by_role, hold_expires_at)
    SELECT p.id, p.provider_id, p.kind, 'planned', 'held', ':check_in'::date, ':check_out'::date, 'pgb',
           'bare', :birth, ':profile', ':who_id'::uuid, 'caregiver', now() + interval '900 seconds'
      FROM pools p WHERE p.id = ':pool_id'::uuid
    RETURNING id, provider_id, pool_id, check_in, check_out)
INSERT INTO events (type, provider_id, pool_id, stay_id, night_from, night_to, payload)
SELECT 'stay.created', provider_id, pool_id, id, check_in, check_out,
       '{"status": "held", "from": null, "kind": "planned"}'
  FROM stay;
COMMIT;
\else
ROLLBACK;
\endif
