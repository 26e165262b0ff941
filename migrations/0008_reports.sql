-- 0008: reports for the regional coordinator (occupancy, demand) and the read side of the
-- events outbox for Server-Sent Events. Read-only functions over stays, stay_events, events,
-- pool_nights and searches: nothing here may write, and no figure may carry personal data.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT, no CREATE INDEX CONCURRENTLY.

-- ---------------------------------------------------------------------------------------------
-- Reading the outbox without gaps
-- ---------------------------------------------------------------------------------------------

-- The rule on the events table ("id > last AND txid < xmin") is not enough on its own when
-- readers resume by id: a transaction that took its xid early but inserted its event late can
-- commit a HIGHER id than a younger transaction that is still open; the reader hands out the
-- higher id (its txid is below xmin), the younger transaction then commits a LOWER id, and
-- "id > last" steps over it for good. Walking the table in (txid, id) order closes that hole:
-- every row a reader has not seen yet belongs to a transaction still running at its last read,
-- whose txid is >= that read's xmin and therefore sorts after every row already handed out.
-- Position = (txid, id) of the last row read; ids alone are only looked up to find that pair.
CREATE INDEX events_txid_id_idx ON events (txid, id);
COMMENT ON COLUMN events.txid IS
    'Writing transaction. Readers walk the outbox in (txid, id) order and hand out only rows '
    'whose txid is below pg_snapshot_xmin(pg_current_snapshot()); see logeer_events_after.';

CREATE FUNCTION logeer_events_after(after_txid xid8, after_id bigint, upto_txid xid8,
                                    upto_id bigint, provider uuid, max_rows integer)
RETURNS SETOF events
LANGUAGE sql STABLE AS $$
    SELECT e.*
      FROM events e
     WHERE (e.txid, e.id) > (after_txid, after_id)
       AND e.txid < pg_snapshot_xmin(pg_current_snapshot())
       AND (upto_txid IS NULL OR (e.txid, e.id) <= (upto_txid, upto_id))
       AND (provider IS NULL OR e.provider_id = provider)
     ORDER BY e.txid, e.id
     LIMIT max_rows
$$;
COMMENT ON FUNCTION logeer_events_after(xid8, bigint, xid8, bigint, uuid, integer) IS
    'Outbox rows after position (after_txid, after_id) whose transaction is older than every '
    'running one, in (txid, id) order; optionally only up to (upto_txid, upto_id) and of one '
    'provider. Rows it does not return yet will all sort after the last row it returned.';

CREATE FUNCTION logeer_events_held_back(after_txid xid8, after_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM events e
                    WHERE (e.txid, e.id) > (after_txid, after_id)
                      AND e.txid >= pg_snapshot_xmin(pg_current_snapshot()))
$$;
COMMENT ON FUNCTION logeer_events_held_back(xid8, bigint) IS
    'True when committed outbox rows after the position wait for an older transaction to end: '
    'no NOTIFY may follow that one, so the reader must look again by itself.';

CREATE FUNCTION logeer_events_head() RETURNS TABLE (txid xid8, id bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(max(h.txid), '0'::xid8), coalesce(max(h.id), 0)
      FROM (SELECT e.txid, e.id FROM events e
             WHERE e.txid < pg_snapshot_xmin(pg_current_snapshot())
             ORDER BY e.txid DESC, e.id DESC LIMIT 1) AS h
$$;
COMMENT ON FUNCTION logeer_events_head() IS
    'The position of the newest outbox row every reader may already see: where a reader that '
    'wants only what happens from now on starts. (0, 0) for an empty outbox.';

-- ---------------------------------------------------------------------------------------------
-- Shared report helpers
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_local_start(d date) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT d::timestamp AT TIME ZONE 'Europe/Amsterdam'
$$;
COMMENT ON FUNCTION logeer_local_start(date) IS
    'The instant a Dutch calendar day begins: report windows over instants (requests, '
    'searches) use the same days as the nights.';

CREATE FUNCTION logeer_pct(part numeric, whole numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN whole > 0 THEN round(100 * part / whole, 1) END
$$;
COMMENT ON FUNCTION logeer_pct(numeric, numeric) IS
    'part / whole as a percentage with one decimal; NULL when whole is 0 (nothing to divide).';

CREATE FUNCTION logeer_days(i interval) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT round((extract(epoch FROM i) / 86400)::numeric, 1)
$$;
COMMENT ON FUNCTION logeer_days(interval) IS 'A duration in days with one decimal.';

-- ---------------------------------------------------------------------------------------------
-- GET /v1/reports/occupancy
-- ---------------------------------------------------------------------------------------------

-- The nights of a window with their pool's group and period. Pools serving several care
-- profiles appear once per profile with group_by care_profile, so those groups can add up to
-- more than the region; region totals are therefore always taken from the nights themselves.
CREATE FUNCTION logeer_report_occupancy(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fn constant text := 'logeer_report_occupancy';
    v_from   date;
    v_to     date;
    v_period text;
    v_group  text;
    v_stale  integer;
    v_limit  timestamptz;
    v_result jsonb;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_from   := logeer_arg_date(p, 'from', fn, true);
    v_to     := logeer_arg_date(p, 'to', fn, true);
    v_period := logeer_arg_text(p, 'period', fn, true, 10);
    v_group  := logeer_arg_text(p, 'group_by', fn, true, 20);
    v_stale  := logeer_arg_int(p, 'stale_days', fn, true, 1, 3650);
    IF v_to <= v_from OR v_to - v_from > 1096 THEN
        PERFORM logeer_bad_arg(fn, 'to must be after from, at most 1096 nights later');
    END IF;
    IF v_period NOT IN ('night', 'week', 'month') THEN
        PERFORM logeer_bad_arg(fn, 'period must be night, week or month');
    END IF;
    IF v_group NOT IN ('provider', 'location', 'municipality', 'kind', 'care_profile') THEN
        PERFORM logeer_bad_arg(fn, 'group_by must be provider, location, municipality, kind or care_profile');
    END IF;
    v_limit := now() - make_interval(days => v_stale);

    WITH nights AS (
        SELECT n.pool_id, n.capacity, n.held, n.booked, po.as_of < v_limit AS stale,
               CASE v_period
                   WHEN 'night' THEN n.night
                   WHEN 'week' THEN date_trunc('week', n.night::timestamp)::date
                   ELSE date_trunc('month', n.night::timestamp)::date
               END AS bucket
          FROM pool_nights n
          JOIN pools po ON po.id = n.pool_id
         WHERE n.night >= v_from AND n.night < v_to),
    pool_groups AS (
        SELECT po.id AS pool_id,
               CASE v_group WHEN 'provider' THEN po.provider_id::text
                            WHEN 'location' THEN po.location_id::text
                            WHEN 'municipality' THEN l.municipality
                            ELSE po.kind::text END AS gid,
               CASE v_group WHEN 'provider' THEN pr.name
                            WHEN 'location' THEN l.name
                            WHEN 'municipality' THEN coalesce(m.name, l.municipality)
                            ELSE po.kind::text END AS gname
          FROM pools po
          JOIN locations l ON l.id = po.location_id
          JOIN providers pr ON pr.id = po.provider_id
          LEFT JOIN municipalities m ON m.code = l.municipality
         WHERE v_group <> 'care_profile'
        UNION ALL
        SELECT po.id, cp, cp
          FROM pools po CROSS JOIN unnest(po.care_profiles) AS cp
         WHERE v_group = 'care_profile'),
    periods AS (
        SELECT b.bucket,
               CASE v_period WHEN 'night' THEN logeer_ymd(b.bucket)
                             WHEN 'week' THEN to_char(b.bucket::timestamp, 'IYYY-"W"IW')
                             ELSE to_char(b.bucket::timestamp, 'YYYY-MM') END AS label,
               greatest(b.bucket, v_from) AS p_start,
               least(CASE v_period WHEN 'night' THEN b.bucket + 1
                                   WHEN 'week' THEN b.bucket + 7
                                   ELSE (b.bucket::timestamp + interval '1 month')::date END,
                     v_to) AS p_end
          FROM (SELECT DISTINCT bucket FROM nights) AS b),
    by_group AS (
        SELECT g.gid, g.gname, n.bucket, sum(n.capacity) AS cap, sum(n.held) AS held,
               sum(n.booked) AS booked
          FROM nights n JOIN pool_groups g ON g.pool_id = n.pool_id
         WHERE NOT n.stale
         GROUP BY g.gid, g.gname, n.bucket),
    by_period AS (
        SELECT n.bucket, sum(n.capacity) AS cap, sum(n.held) AS held, sum(n.booked) AS booked
          FROM nights n
         WHERE NOT n.stale
         GROUP BY n.bucket),
    stale_pools AS (
        SELECT po.id, po.name, po.provider_id, pr.name AS provider_name, po.location_id,
               l.name AS location_name, l.municipality, po.kind, po.as_of,
               coalesce(sum(n.capacity), 0) AS cap, coalesce(sum(n.held), 0) AS held,
               coalesce(sum(n.booked), 0) AS booked
          FROM pools po
          JOIN locations l ON l.id = po.location_id
          JOIN providers pr ON pr.id = po.provider_id
          LEFT JOIN nights n ON n.pool_id = po.id
         WHERE po.active AND po.as_of < v_limit
         GROUP BY po.id, pr.name, l.name, l.municipality)
    SELECT jsonb_build_object(
        'from', logeer_ymd(v_from),
        'to', logeer_ymd(v_to),
        'period', v_period,
        'group_by', v_group,
        'stale_days', v_stale,
        'generated_at', logeer_rfc3339(now()),
        'rows', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'group', jsonb_build_object('id', g.gid, 'name', g.gname),
                       'period', pe.label,
                       'period_start', logeer_ymd(pe.p_start),
                       'period_end', logeer_ymd(pe.p_end),
                       'capacity_nights', g.cap,
                       'booked_nights', g.booked,
                       'held_nights', g.held,
                       'free_nights', g.cap - g.held - g.booked,
                       'occupancy_pct', logeer_pct(g.booked, g.cap))
                       ORDER BY g.gname, g.gid, g.bucket)
              FROM by_group g JOIN periods pe ON pe.bucket = g.bucket), '[]'::jsonb),
        'totals', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'period', pe.label,
                       'period_start', logeer_ymd(pe.p_start),
                       'period_end', logeer_ymd(pe.p_end),
                       'capacity_nights', t.cap,
                       'booked_nights', t.booked,
                       'held_nights', t.held,
                       'free_nights', t.cap - t.held - t.booked,
                       'occupancy_pct', logeer_pct(t.booked, t.cap))
                       ORDER BY t.bucket)
              FROM by_period t JOIN periods pe ON pe.bucket = t.bucket), '[]'::jsonb),
        'total', (
            SELECT jsonb_build_object(
                       'period', 'all',
                       'period_start', logeer_ymd(v_from),
                       'period_end', logeer_ymd(v_to),
                       'capacity_nights', coalesce(sum(t.cap), 0),
                       'booked_nights', coalesce(sum(t.booked), 0),
                       'held_nights', coalesce(sum(t.held), 0),
                       'free_nights', coalesce(sum(t.cap - t.held - t.booked), 0),
                       'occupancy_pct', logeer_pct(sum(t.booked), sum(t.cap)))
              FROM by_period t),
        'stale', (
            SELECT jsonb_build_object(
                       'pools', count(*),
                       'period', 'all',
                       'period_start', logeer_ymd(v_from),
                       'period_end', logeer_ymd(v_to),
                       'capacity_nights', coalesce(sum(s.cap), 0),
                       'booked_nights', coalesce(sum(s.booked), 0),
                       'held_nights', coalesce(sum(s.held), 0),
                       'free_nights', coalesce(sum(s.cap - s.held - s.booked), 0),
                       'occupancy_pct', logeer_pct(sum(s.booked), sum(s.cap)),
                       'list', coalesce(jsonb_agg(jsonb_build_object(
                           'pool_id', s.id,
                           'pool_name', s.name,
                           'provider_id', s.provider_id,
                           'provider_name', s.provider_name,
                           'location_id', s.location_id,
                           'location_name', s.location_name,
                           'municipality', s.municipality,
                           'kind', s.kind,
                           'as_of', logeer_rfc3339(s.as_of),
                           'days_stale', floor(extract(epoch FROM now() - s.as_of) / 86400)::integer,
                           'period', 'all',
                           'capacity_nights', s.cap,
                           'booked_nights', s.booked,
                           'held_nights', s.held,
                           'free_nights', s.cap - s.held - s.booked,
                           'occupancy_pct', logeer_pct(s.booked, s.cap))
                           ORDER BY s.as_of, s.provider_name, s.name), '[]'::jsonb))
              FROM stale_pools s))
      INTO v_result;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION logeer_report_occupancy(jsonb) IS
    'GET /v1/reports/occupancy: capacity, booked, held and free nights and occupancy '
    '(booked / capacity) per group and period over the nights [from, to), with region totals. '
    'Pools whose counts are older than stale_days are left out of rows and totals and counted '
    'apart under "stale", with a list. Argument: {from, to, period, group_by, stale_days}.';

-- ---------------------------------------------------------------------------------------------
-- GET /v1/reports/demand
-- ---------------------------------------------------------------------------------------------

-- Where demand comes from. Wmo money and contracts follow the caregiver's home municipality,
-- so that decides when the requester is a caregiver with one on file (account erasure keeps
-- it for this reason). Referrers and the coordinator have no home municipality: then the
-- waitlist entry's area, else the municipality of the location asked for.
CREATE FUNCTION logeer_demand_municipality(requester_home text, wait_area text,
                                           location_area text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(requester_home, wait_area, location_area, 'unknown')
$$;
COMMENT ON FUNCTION logeer_demand_municipality(text, text, text) IS
    'The municipality a request or search counts for in the demand report: the caregiver''s '
    'home, else the area asked for; ''unknown'' when nothing says.';

CREATE FUNCTION logeer_report_demand(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fn constant text := 'logeer_report_demand';
    v_from   date;
    v_to     date;
    v_group  text;
    v_lo     timestamptz;
    v_hi     timestamptz;
    v_result jsonb;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_from  := logeer_arg_date(p, 'from', fn, true);
    v_to    := logeer_arg_date(p, 'to', fn, true);
    v_group := logeer_arg_text(p, 'group_by', fn, true, 20);
    IF v_to <= v_from OR v_to - v_from > 1096 THEN
        PERFORM logeer_bad_arg(fn, 'to must be after from, at most 1096 days later');
    END IF;
    IF v_group NOT IN ('municipality', 'care_profile') THEN
        PERFORM logeer_bad_arg(fn, 'group_by must be municipality or care_profile');
    END IF;
    v_lo := logeer_local_start(v_from);
    v_hi := logeer_local_start(v_to);

    WITH stay_facts AS (
        -- Requests made in the window, and what has become of them so far.
        SELECT CASE v_group
                   WHEN 'municipality' THEN logeer_demand_municipality(
                       CASE WHEN s.requested_by_role = 'caregiver' THEN u.municipality END,
                       s.wait_municipality, l.municipality)
                   ELSE s.guest_care_profile END AS gid,
               s.status, s.decline_reason, s.diversion_reason IS NOT NULL AS diversion,
               coalesce(s.check_out - s.check_in, 0) AS nights,
               ev.confirmed_at IS NOT NULL AS placed,
               logeer_days(ev.confirmed_at - s.created_at) AS days_to_confirmed,
               coalesce(ev.hold_expired, false) AS hold_expired
          FROM stays s
          JOIN users u ON u.id = s.requested_by
          LEFT JOIN pools po ON po.id = s.pool_id
          LEFT JOIN locations l ON l.id = po.location_id
          LEFT JOIN LATERAL (
              SELECT min(e.at) FILTER (WHERE e.to_status = 'confirmed') AS confirmed_at,
                     bool_or(e.from_status = 'held' AND e.to_status = 'expired') AS hold_expired
                FROM stay_events e WHERE e.stay_id = s.id) AS ev ON true
         WHERE s.created_at >= v_lo AND s.created_at < v_hi),
    wait_facts AS (
        -- Who waits now, whenever they joined: the waitlist is a snapshot, not a window.
        SELECT CASE v_group
                   WHEN 'municipality' THEN logeer_demand_municipality(
                       CASE WHEN s.requested_by_role = 'caregiver' THEN u.municipality END,
                       s.wait_municipality, l.municipality)
                   ELSE s.guest_care_profile END AS gid,
               logeer_days(now() - s.created_at) AS waiting_days
          FROM stays s
          JOIN users u ON u.id = s.requested_by
          LEFT JOIN pools po ON po.id = s.pool_id
          LEFT JOIN locations l ON l.id = po.location_id
         WHERE s.status = 'waitlisted'),
    search_facts AS (
        SELECT CASE v_group
                   WHEN 'municipality' THEN logeer_demand_municipality(
                       CASE WHEN se.role = 'caregiver' THEN u.municipality END,
                       se.municipality, NULL)
                   ELSE coalesce(se.care_profile, 'unknown') END AS gid,
               se.results = 0 AS unmet
          FROM searches se
          LEFT JOIN users u ON u.id = se.user_id
         WHERE se.at >= v_lo AND se.at < v_hi),
    facts AS (
        SELECT 'stay' AS src, f.gid, f.status, f.diversion, f.nights, f.placed,
               f.days_to_confirmed, f.hold_expired, NULL::numeric AS waiting_days,
               false AS unmet
          FROM stay_facts f
        UNION ALL
        SELECT 'wait', w.gid, NULL, false, 0, false, NULL, false, w.waiting_days, false
          FROM wait_facts w
        UNION ALL
        SELECT 'search', s.gid, NULL, false, 0, false, NULL, false, NULL, s.unmet
          FROM search_facts s),
    figures AS (
        SELECT f.gid, GROUPING(f.gid) = 1 AS is_total,
               count(*) FILTER (WHERE f.src = 'stay') AS requests,
               count(*) FILTER (WHERE f.src = 'stay' AND f.placed) AS placed,
               count(*) FILTER (WHERE f.src = 'stay' AND f.status = 'declined') AS declined,
               count(*) FILTER (WHERE f.src = 'stay' AND f.status = 'cancelled') AS cancelled,
               count(*) FILTER (WHERE f.src = 'stay' AND f.status = 'no_show') AS no_shows,
               count(*) FILTER (WHERE f.src = 'stay' AND f.hold_expired) AS expired_holds,
               count(*) FILTER (WHERE f.src = 'wait') AS waitlisted_now,
               round(percentile_cont(0.5) WITHIN GROUP (ORDER BY f.waiting_days)::numeric, 1)
                   AS waiting_median,
               max(f.waiting_days) AS waiting_max,
               round(percentile_cont(0.5) WITHIN GROUP (ORDER BY f.days_to_confirmed)::numeric, 1)
                   AS confirm_median,
               round(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.days_to_confirmed)::numeric, 1)
                   AS confirm_p90,
               count(*) FILTER (WHERE f.src = 'search') AS searches,
               count(*) FILTER (WHERE f.src = 'search' AND f.unmet) AS unmet,
               count(*) FILTER (WHERE f.src = 'stay' AND f.diversion) AS diversions,
               coalesce(sum(f.nights) FILTER (WHERE f.src = 'stay' AND f.diversion
                                                AND f.status <> 'cancelled'), 0)
                   AS diversion_nights
          FROM facts f
         GROUP BY GROUPING SETS ((f.gid), ())),
    declines AS (
        SELECT f.gid, coalesce(nullif(btrim(f.decline_reason), ''), 'onbekend') AS reason
          FROM stay_facts f
         WHERE f.status = 'declined'),
    reasons AS (
        SELECT r.gid, r.is_total,
               jsonb_agg(jsonb_build_object('reason', r.reason, 'count', r.n)
                         ORDER BY r.n DESC, r.reason) AS list
          FROM (SELECT d.gid, GROUPING(d.gid) = 1 AS is_total, d.reason, count(*) AS n
                  FROM declines d
                 GROUP BY GROUPING SETS ((d.gid, d.reason), (d.reason))) AS r
         GROUP BY r.gid, r.is_total),
    groups AS (
        SELECT m.code AS gid, m.name AS gname FROM municipalities m WHERE v_group = 'municipality'
        UNION ALL
        SELECT cp, cp FROM unnest(ARRAY['somatic', 'dementia', 'disability', 'psychiatric',
                                        'youth']) AS cp
         WHERE v_group = 'care_profile'
        UNION ALL
        -- Anything else the facts name (an erased area, a search outside the region).
        SELECT DISTINCT f.gid, CASE WHEN f.gid = 'unknown' THEN 'onbekend' ELSE f.gid END
          FROM facts f
         WHERE NOT EXISTS (SELECT 1 FROM municipalities m
                            WHERE v_group = 'municipality' AND m.code = f.gid)
           AND NOT (v_group = 'care_profile'
                    AND f.gid IN ('somatic', 'dementia', 'disability', 'psychiatric', 'youth'))),
    shaped AS (
        SELECT g.gid, g.gname, jsonb_build_object(
                   'requests', coalesce(x.requests, 0),
                   'placed', coalesce(x.placed, 0),
                   'declined', coalesce(x.declined, 0),
                   'declined_by_reason', coalesce(r.list, '[]'::jsonb),
                   'cancelled', coalesce(x.cancelled, 0),
                   'no_shows', coalesce(x.no_shows, 0),
                   'expired_holds', coalesce(x.expired_holds, 0),
                   'waitlisted_now', coalesce(x.waitlisted_now, 0),
                   'waiting_days_median', x.waiting_median,
                   'waiting_days_max', x.waiting_max,
                   'days_to_confirmed_median', x.confirm_median,
                   'days_to_confirmed_p90', x.confirm_p90,
                   'searches', coalesce(x.searches, 0),
                   'searches_without_result', coalesce(x.unmet, 0),
                   'diversions', coalesce(x.diversions, 0),
                   'diversion_nights', coalesce(x.diversion_nights, 0)) AS figures
          FROM groups g
          LEFT JOIN figures x ON NOT x.is_total AND x.gid = g.gid
          LEFT JOIN reasons r ON NOT r.is_total AND r.gid = g.gid)
    SELECT jsonb_build_object(
        'from', logeer_ymd(v_from),
        'to', logeer_ymd(v_to),
        'group_by', v_group,
        'generated_at', logeer_rfc3339(now()),
        'rows', coalesce((
            SELECT jsonb_agg(jsonb_build_object('group', jsonb_build_object('id', s.gid,
                                                                           'name', s.gname))
                             || s.figures ORDER BY s.gname, s.gid)
              FROM shaped s), '[]'::jsonb),
        'total', (
            SELECT jsonb_build_object(
                       'requests', coalesce(x.requests, 0),
                       'placed', coalesce(x.placed, 0),
                       'declined', coalesce(x.declined, 0),
                       'declined_by_reason', coalesce((SELECT r.list FROM reasons r
                                                        WHERE r.is_total), '[]'::jsonb),
                       'cancelled', coalesce(x.cancelled, 0),
                       'no_shows', coalesce(x.no_shows, 0),
                       'expired_holds', coalesce(x.expired_holds, 0),
                       'waitlisted_now', coalesce(x.waitlisted_now, 0),
                       'waiting_days_median', x.waiting_median,
                       'waiting_days_max', x.waiting_max,
                       'days_to_confirmed_median', x.confirm_median,
                       'days_to_confirmed_p90', x.confirm_p90,
                       'searches', coalesce(x.searches, 0),
                       'searches_without_result', coalesce(x.unmet, 0),
                       'diversions', coalesce(x.diversions, 0),
                       'diversion_nights', coalesce(x.diversion_nights, 0))
              FROM (SELECT 1) AS one
              LEFT JOIN figures x ON x.is_total))
      INTO v_result;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION logeer_report_demand(jsonb) IS
    'GET /v1/reports/demand: per municipality or care profile, the requests made in [from, to) '
    '(Dutch days) and what became of them, the waitlist now, days from request to confirmed '
    'stay, searches without result and diversions. Argument: {from, to, group_by}.';
