-- Searches counted instead of logged one by one (issue 17): the service adds up identical
-- searches in memory per minute and writes one row per (minute, who asked, what was asked,
-- found or not) with how many there were: within seconds while searches are few, once a minute
-- when they are many. The unmet-demand report and the weekly digest sum those counts beside the
-- rows of `searches`, which keeps what was logged before (and what the demo seed writes). Still
-- no guest data, and no user id either: a search counts for the municipality the report counts
-- it for (a caregiver's own, else the one asked), which is all the report used the id for.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

CREATE TABLE search_counts (
    minute            timestamptz NOT NULL,
    role              user_role,
    municipality      text,
    care_profile      text,
    funding           text,
    kind              pool_kind,
    nights            integer,
    found             boolean NOT NULL,
    searches          integer NOT NULL,
    -- A search is written with its minute; no foreign keys, so that counting searches can
    -- never fail on a municipality that is not (or no longer) in the register.
    CONSTRAINT search_counts_minute_whole CHECK (minute = date_trunc('minute', minute)),
    CONSTRAINT search_counts_searches_positive CHECK (searches > 0)
);
COMMENT ON TABLE search_counts IS
    'Availability searches counted per minute and per asked combination: the source of '
    'unmet-demand figures since migration 0042 (searches keeps the rows from before). '
    'Several rows may share a key (one per flush and process): readers sum searches.';
COMMENT ON COLUMN search_counts.municipality IS
    'The municipality the search counts for in the demand report: a caregiver''s own when they '
    'searched (Wmo follows it), else the one asked for; NULL when neither.';
COMMENT ON COLUMN search_counts.found IS 'Whether the search found any pool; false is unmet demand.';
CREATE INDEX search_counts_minute_idx ON search_counts (minute);
COMMENT ON TABLE searches IS
    'Availability searches one row each, as logged before migration 0042 (and by the demo '
    'seed); since then the service counts them in search_counts. No guest data.';

-- Restated from 0008 (logeer_report_demand): search facts also come from search_counts,
-- weighted by their count.
CREATE OR REPLACE FUNCTION logeer_report_demand(p jsonb) RETURNS jsonb
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
        -- Searches logged one row each (before 0042, and the demo seed) and searches counted
        -- per minute by the service (search_counts); n is how many searches a row stands for.
        SELECT CASE v_group
                   WHEN 'municipality' THEN logeer_demand_municipality(
                       CASE WHEN se.role = 'caregiver' THEN u.municipality END,
                       se.municipality, NULL)
                   ELSE coalesce(se.care_profile, 'unknown') END AS gid,
               se.results = 0 AS unmet, 1 AS n
          FROM searches se
          LEFT JOIN users u ON u.id = se.user_id
         WHERE se.at >= v_lo AND se.at < v_hi
        UNION ALL
        SELECT CASE v_group
                   WHEN 'municipality' THEN logeer_demand_municipality(NULL, sc.municipality, NULL)
                   ELSE coalesce(sc.care_profile, 'unknown') END,
               NOT sc.found, sc.searches
          FROM search_counts sc
         WHERE sc.minute >= v_lo AND sc.minute < v_hi),
    facts AS (
        SELECT 'stay' AS src, f.gid, f.status, f.diversion, f.nights, f.placed,
               f.days_to_confirmed, f.hold_expired, NULL::numeric AS waiting_days,
               false AS unmet, 1 AS n
          FROM stay_facts f
        UNION ALL
        SELECT 'wait', w.gid, NULL, false, 0, false, NULL, false, w.waiting_days, false, 1
          FROM wait_facts w
        UNION ALL
        SELECT 'search', s.gid, NULL, false, 0, false, NULL, false, NULL, s.unmet, s.n
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
               coalesce(sum(f.n) FILTER (WHERE f.src = 'search'), 0) AS searches,
               coalesce(sum(f.n) FILTER (WHERE f.src = 'search' AND f.unmet), 0) AS unmet,
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


-- Restated from 0023 (logeer_notify_digest): unmet searches also from search_counts.
CREATE OR REPLACE FUNCTION logeer_notify_digest(stale_days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_week  text := to_char(now() AT TIME ZONE 'Europe/Amsterdam', 'IYYY-"W"IW');
    v_since timestamptz := now() - interval '7 days';
    v_data  jsonb;
    u       uuid;
    n       integer := 0;
BEGIN
    -- The figures cost a few scans: made only while a coordinator still waits for this week's.
    IF NOT EXISTS (
        SELECT 1 FROM users x
         WHERE x.role = 'coordinator' AND x.erased_at IS NULL AND x.disabled_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM notify_preferences p WHERE p.user_id = x.id
                              AND p.kind = 'weekly_digest' AND NOT p.enabled)
           AND NOT EXISTS (SELECT 1 FROM notify_messages m
                            WHERE m.event_id = 0 AND m.channel = 'email' AND m.recipient = x.id
                              AND m.kind = 'weekly_digest' AND m.due_key = 'week:' || v_week)) THEN
        RETURN 0;
    END IF;
    SELECT jsonb_build_object(
               'event_id', 0, 'week', v_week,
               'period_from', logeer_ymd((v_since AT TIME ZONE 'Europe/Amsterdam')::date),
               'period_to', logeer_ymd((now() AT TIME ZONE 'Europe/Amsterdam')::date),
               'diversions', (SELECT count(*) FROM stays s
                               WHERE s.diversion_reason IS NOT NULL AND s.created_at >= v_since),
               'searches_without_result',
                   (SELECT count(*) FROM searches q WHERE q.at >= v_since AND q.results = 0)
                   + (SELECT coalesce(sum(c.searches), 0) FROM search_counts c
                       WHERE c.minute >= v_since AND NOT c.found),
               'requests_declined', (SELECT count(*) FROM stays s
                                      WHERE s.status = 'declined' AND s.updated_at >= v_since),
               'waitlisted', (SELECT count(*) FROM stays s WHERE s.status = 'waitlisted'),
               'stale_providers', (
                   SELECT coalesce(jsonb_agg(x.name ORDER BY x.name), '[]'::jsonb)
                     FROM (SELECT DISTINCT v.name FROM pools po
                             JOIN locations l ON l.id = po.location_id
                             JOIN providers v ON v.id = l.provider_id
                            WHERE po.active
                              AND po.as_of < now() - make_interval(days => stale_days)) x))
      INTO v_data;
    FOR u IN SELECT x.id FROM users x
              WHERE x.role = 'coordinator' AND x.erased_at IS NULL AND x.disabled_at IS NULL
              ORDER BY x.id LOOP
        n := n + logeer_notify_due_email(u, 'weekly_digest', 'digest.weekly', v_data,
                                         'week:' || v_week);
    END LOOP;
    RETURN n;
END
$$;
