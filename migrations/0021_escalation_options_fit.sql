-- 0021: escalation options a pool would take (docs/practice.md, the planned-stay guarantee).
-- Owns logeer_pool_takes_stay and logeer_guest_welcome_at, the SQL twins of the core's pool
-- rules and the booking's intake step, and restates logeer_escalation_options (latest: 0016)
-- so that every option it offers is a stay the pool's own booking would accept: arrival
-- weekdays, blocks, min/max nights, lead time, horizon and the kennismaking. Adds the
-- "shapes" options: other lengths in the requested pool that its blocks and limits allow.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

-- The pool's own limits for a stay of p_nights from p_check_in, as src/core/rules.c decides
-- them in core_stay_breaks and core_arrival_breaks (the booking itself asks the core, which
-- is why these rules were never in SQL). The two must agree: a change to one is a change to
-- both, and test_escalation_options_fit books every option through the API to prove it.
CREATE FUNCTION logeer_pool_takes_stay(po pools, p_check_in date, p_nights integer)
RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_reached boolean[];
    v_b       jsonb;
    v_len     integer;
BEGIN
    IF p_nights IS NULL OR p_nights < 1 OR p_nights < po.min_nights
       OR p_nights > po.max_nights THEN
        RETURN false;
    END IF;
    IF p_check_in < logeer_today() + greatest(po.lead_days, 0)
       OR p_check_in + p_nights > logeer_today() + po.horizon_days THEN
        RETURN false;
    END IF;
    IF cardinality(po.arrival_weekdays) > 0
       AND NOT (extract(isodow FROM p_check_in)::smallint = ANY (po.arrival_weekdays)) THEN
        RETURN false;
    END IF;
    IF jsonb_array_length(po.blocks) = 0 THEN
        RETURN true;
    END IF;
    -- A chain of blocks: day d (index d + 1) is reached when a chain from the check-in ends
    -- there; the stay fits when its check-out day is reached. The first block must arrive on
    -- the check-in's weekday, which is the core's "some block arrives that day" rule.
    v_reached := array_fill(false, ARRAY[p_nights + 1]);
    v_reached[1] := true;
    FOR d IN 0 .. p_nights - 1 LOOP
        CONTINUE WHEN NOT v_reached[d + 1];
        FOR v_b IN SELECT value FROM jsonb_array_elements(po.blocks) LOOP
            v_len := (v_b->>'nights')::integer;
            IF (v_b->>'arrive')::integer = extract(isodow FROM p_check_in + d)::integer
               AND v_len >= 1 AND d + v_len <= p_nights THEN
                v_reached[d + 1 + v_len] := true;
            END IF;
        END LOOP;
    END LOOP;
    RETURN v_reached[p_nights + 1];
END
$$;
COMMENT ON FUNCTION logeer_pool_takes_stay(pools, date, integer) IS
    'True when the pool''s own rules take a stay of p_nights from p_check_in: min/max nights, '
    'lead time, horizon, arrival weekdays and blocks (a chain of blocks, the first arriving on '
    'the check-in''s weekday). The SQL twin of core_stay_breaks'' pool rules (src/core/rules.c).';

-- The booking's intake step (logeer_book_stay_check_intake) as a question: may this guest
-- book p_nights in this pool without a new kennismaking? Without an intake requirement, yes.
CREATE FUNCTION logeer_guest_welcome_at(po pools, p_guest uuid, p_nights integer)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT NOT po.intake_required
           OR coalesce((SELECT i.outcome <> 'not_suitable'
                               AND logeer_intake_valid_until(i) >= logeer_today()
                               AND (i.outcome <> 'trial_first'
                                    OR p_nights <= i.trial_max_nights)
                          FROM intakes i
                         WHERE i.guest_id = p_guest AND i.location_id = po.location_id
                           AND i.status = 'decided'
                         ORDER BY i.decided_at DESC, i.id
                         LIMIT 1), false)
$$;
COMMENT ON FUNCTION logeer_guest_welcome_at(pools, uuid, integer) IS
    'True when a planned stay of p_nights for the guest needs no new kennismaking in the pool: '
    'no intake required, or the latest decided intake at its location is welcome or a trial '
    'long enough, and not lapsed (as logeer_book_stay_check_intake decides).';

-- Restated from 0016. Every candidate check-in now passes logeer_pool_takes_stay and the
-- guest's intake; nearby dates in the requested pool, which 0016 took from free nights alone,
-- do too. "shapes" are new: when the asked length is what no free run fits, a shorter or
-- longer stay the requested pool's blocks allow may still give the family their respite.
CREATE OR REPLACE FUNCTION logeer_escalation_options(s stays) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH payer AS (SELECT logeer_stay_wmo_municipality(s) AS code),
    other AS (
        SELECT po.id AS pool_id, po.provider_id, po.location_id, l.municipality,
               l.municipality IS NOT DISTINCT FROM s.wait_municipality AS local,
               (SELECT min(f.check_in)
                  FROM logeer_free_starts(po.id,
                                          greatest(s.wait_earliest_check_in,
                                                   logeer_today() + po.lead_days),
                                          least(s.wait_latest_check_out,
                                                logeer_today() + po.horizon_days),
                                          s.wait_nights) AS f
                 WHERE logeer_pool_takes_stay(po, f.check_in, s.wait_nights)) AS check_in
          FROM pools po
          JOIN locations l ON l.id = po.location_id
         WHERE po.active AND po.kind = 'planned' AND po.id IS DISTINCT FROM s.pool_id
           AND s.guest_care_profile = ANY (po.care_profiles)
           AND s.funding = ANY (po.funding)
           AND s.wait_nights BETWEEN po.min_nights AND po.max_nights
           AND (s.funding <> 'wmo' OR cardinality(po.wmo_municipalities) = 0
                OR (SELECT code FROM payer) = ANY (po.wmo_municipalities))
           AND logeer_guest_welcome_at(po, s.guest_id, s.wait_nights)),
    pools_found AS (
        SELECT o.* FROM other o WHERE o.check_in IS NOT NULL
         ORDER BY o.local DESC, o.check_in, o.pool_id
         LIMIT 10),
    asked AS (
        SELECT po FROM pools po WHERE po.id = s.pool_id AND po.active),
    dates_found AS (
        SELECT f.check_in
          FROM asked a
         CROSS JOIN LATERAL logeer_free_starts(
                   (a.po).id, greatest(s.wait_earliest_check_in - 7,
                                       logeer_today() + (a.po).lead_days),
                   least(s.wait_latest_check_out + 7, logeer_today() + (a.po).horizon_days),
                   s.wait_nights) AS f
         WHERE logeer_pool_takes_stay(a.po, f.check_in, s.wait_nights)
           AND logeer_guest_welcome_at(a.po, s.guest_id, s.wait_nights)
         ORDER BY abs(f.check_in - s.wait_earliest_check_in), f.check_in
         LIMIT 5),
    shapes_found AS (
        SELECT f.check_in, n.nights
          FROM asked a
         CROSS JOIN LATERAL generate_series(
                   greatest((a.po).min_nights, 1),
                   least((a.po).max_nights,
                         s.wait_latest_check_out - s.wait_earliest_check_in)) AS n (nights)
         CROSS JOIN LATERAL logeer_free_starts(
                   (a.po).id, greatest(s.wait_earliest_check_in,
                                       logeer_today() + (a.po).lead_days),
                   least(s.wait_latest_check_out, logeer_today() + (a.po).horizon_days),
                   n.nights) AS f
         WHERE n.nights <> s.wait_nights
           AND logeer_pool_takes_stay(a.po, f.check_in, n.nights)
           AND logeer_guest_welcome_at(a.po, s.guest_id, n.nights)
         ORDER BY abs(n.nights - s.wait_nights), n.nights DESC,
                  abs(f.check_in - s.wait_earliest_check_in), f.check_in
         LIMIT 5)
    SELECT jsonb_build_object(
        'pools', coalesce((SELECT jsonb_agg(jsonb_build_object(
                     'pool_id', p.pool_id, 'provider_id', p.provider_id,
                     'location_id', p.location_id, 'municipality', p.municipality,
                     'in_wait_municipality', p.local,
                     'check_in', logeer_ymd(p.check_in),
                     'check_out', logeer_ymd(p.check_in + s.wait_nights))
                     ORDER BY p.local DESC, p.check_in, p.pool_id) FROM pools_found p),
                     '[]'::jsonb),
        'dates', coalesce((SELECT jsonb_agg(jsonb_build_object(
                     'check_in', logeer_ymd(d.check_in),
                     'check_out', logeer_ymd(d.check_in + s.wait_nights))
                     ORDER BY abs(d.check_in - s.wait_earliest_check_in), d.check_in)
                     FROM dates_found d), '[]'::jsonb),
        'shapes', coalesce((SELECT jsonb_agg(jsonb_build_object(
                     'check_in', logeer_ymd(x.check_in),
                     'check_out', logeer_ymd(x.check_in + x.nights),
                     'nights', x.nights)
                     ORDER BY abs(x.nights - s.wait_nights), x.nights DESC,
                              abs(x.check_in - s.wait_earliest_check_in), x.check_in)
                     FROM shapes_found x), '[]'::jsonb))
$$;
COMMENT ON FUNCTION logeer_escalation_options(stays) IS
    'Options for an unplaced request, each a stay its pool would take (logeer_pool_takes_stay: '
    'nights, lead time, horizon, arrival weekdays, blocks; logeer_guest_welcome_at: the '
    'kennismaking). pools: up to 10 other active planned pools (same care profile and funding '
    'route, for wmo a contract with the paying municipality when they list any) with a free '
    'bed on every night of wait_nights inside the window; those in the wait municipality '
    'first, then the region, earliest first. dates: up to 5 check-ins within 7 days of the '
    'window in the requested pool, nearest first. shapes: up to 5 stays of another length '
    'inside the window in the requested pool, nearest length first.';
