-- 0016: the rest of the guarantee and the practice reports (docs/practice.md). Owns the wait
-- municipality of a request (stays_wait_municipality), the escalation options by wait
-- municipality, Wmo contract, lead time and horizon, the automatic closing of escalations,
-- pools.allowance_required, the arrival-day check of pools, the refusal log of allowances and
-- the report functions for intakes, first stays, allowance use and the guarantee.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.
--
-- Functions that other migrations may also extend (the stay's JSON, logeer_request_stay) are
-- wrapped here rather than restated: the earlier body is renamed and called, so that this
-- migration adds its members without undoing another migration's.

-- ---------------------------------------------------------------------------------------------
-- Pools: public routes only for registered guests; some day to arrive
-- ---------------------------------------------------------------------------------------------

ALTER TABLE pools ADD COLUMN allowance_required boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN pools.allowance_required IS
    'Public routes (wmo, wlz, zvw, pgb) only for a registered guest, whose grant the booking '
    'checks; an inline (anonymous) guest may book such a pool only privately. Decided in the '
    'core (CORE_RULE_INLINE_GUEST) like the pool''s other rules.';

-- With blocks and arrival days both set, some block must arrive on an allowed day: otherwise
-- no stay fits the pool at all, which is never what a provider means.
CREATE FUNCTION logeer_arrival_possible(d smallint[], b jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    -- A malformed value is pools_blocks_shape's or pools_arrival_weekdays_shape's to refuse.
    IF jsonb_typeof(b) <> 'array' OR jsonb_array_length(b) = 0 OR cardinality(d) = 0 THEN
        RETURN true;
    END IF;
    RETURN EXISTS (SELECT 1 FROM jsonb_array_elements(b) AS e
                    WHERE jsonb_typeof(e) = 'object' AND (e->>'arrive') ~ '^[1-7]$'
                      AND (e->>'arrive')::smallint = ANY (d))
           OR NOT logeer_blocks_valid(b);
END
$$;
COMMENT ON FUNCTION logeer_arrival_possible(smallint[], jsonb) IS
    'False when a pool has both blocks and arrival weekdays and no block arrives on an allowed '
    'weekday (pools_arrival_possible).';
-- NOT VALID: an existing pool is not checked now, but every create and change from here on is.
ALTER TABLE pools ADD CONSTRAINT pools_arrival_possible
    CHECK (logeer_arrival_possible(arrival_weekdays, blocks)) NOT VALID;

-- ---------------------------------------------------------------------------------------------
-- The wait municipality of a request
-- ---------------------------------------------------------------------------------------------

-- The request names it (logeer_request_stay puts p.wait_municipality in a transaction-local
-- setting); otherwise the guest's home municipality, else the caregiver's. Only a waitlist
-- entry has one: it is where the escalation options look first.
CREATE FUNCTION logeer_stays_wait_municipality() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'waitlisted' AND NEW.wait_municipality IS NULL THEN
        NEW.wait_municipality := coalesce(
            nullif(current_setting('logeer.wait_municipality', true), ''),
            (SELECT g.municipality FROM guests g WHERE g.id = NEW.guest_id),
            (SELECT u.municipality FROM users u
              WHERE u.id = NEW.requested_by AND NEW.requested_by_role = 'caregiver'));
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION logeer_stays_wait_municipality() IS
    'BEFORE INSERT on stays: a waitlist entry''s wait_municipality is the one asked '
    '(logeer.wait_municipality), else the guest''s home, else the requesting caregiver''s.';
CREATE TRIGGER stays_wait_municipality BEFORE INSERT ON stays
    FOR EACH ROW EXECUTE FUNCTION logeer_stays_wait_municipality();

ALTER FUNCTION logeer_request_stay(jsonb) RENAME TO logeer_request_stay_booking;
COMMENT ON FUNCTION logeer_request_stay_booking(jsonb) IS
    'The booking part of POST /v1/stays (0014: logeer_book_stay with the guarantee settings); '
    'called by logeer_request_stay.';

CREATE FUNCTION logeer_request_stay(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_request_stay';
BEGIN
    PERFORM logeer_check_object(p, fn);
    PERFORM set_config('logeer.wait_municipality',
                       coalesce(logeer_arg_text(p, 'wait_municipality', fn, false, 6), ''), true);
    RETURN logeer_request_stay_booking(p);
END
$$;
COMMENT ON FUNCTION logeer_request_stay(jsonb) IS
    'POST /v1/stays: logeer_request_stay_booking with p.wait_municipality for a waitlist entry '
    '(stays_wait_municipality). Same outcomes as logeer_book_stay.';

-- The stay JSON gains allowance_id and waitlist.municipality on top of the earlier shape.
ALTER FUNCTION logeer_stay_json(stays) RENAME TO logeer_stay_json_base;
CREATE FUNCTION logeer_stay_json(s stays) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT j || jsonb_build_object('allowance_id', s.allowance_id)
             || CASE WHEN jsonb_typeof(j->'waitlist') = 'object'
                     THEN jsonb_build_object('waitlist', (j->'waitlist')
                          || jsonb_build_object('municipality', s.wait_municipality))
                     ELSE '{}'::jsonb END
      FROM logeer_stay_json_base(s) AS j
$$;
COMMENT ON FUNCTION logeer_stay_json(stays) IS
    'The one shape of a stay in answers: logeer_stay_json_base plus allowance_id and, for a '
    'waitlist request, waitlist.municipality.';

-- ---------------------------------------------------------------------------------------------
-- Escalation options: the wait municipality first, then the region; only pools that may take
-- the stay (Wmo contract, lead time, horizon)
-- ---------------------------------------------------------------------------------------------

-- The municipality that pays a Wmo stay: the grant's, else the guest's home, else the
-- caregiver's.
CREATE FUNCTION logeer_stay_wmo_municipality(s stays) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT a.municipality FROM allowances a WHERE a.id = s.allowance_id),
                    (SELECT a.municipality FROM allowances a
                      WHERE a.guest_id = s.guest_id AND a.funding = 'wmo'
                        AND a.valid_from <= s.wait_earliest_check_in
                        AND a.valid_to >= s.wait_earliest_check_in
                      ORDER BY a.valid_from DESC, a.id LIMIT 1),
                    (SELECT g.municipality FROM guests g WHERE g.id = s.guest_id),
                    (SELECT u.municipality FROM users u WHERE u.id = s.requested_by))
$$;

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
                                          s.wait_nights) AS f) AS check_in
          FROM pools po
          JOIN locations l ON l.id = po.location_id
         WHERE po.active AND po.kind = 'planned' AND po.id IS DISTINCT FROM s.pool_id
           AND s.guest_care_profile = ANY (po.care_profiles)
           AND s.funding = ANY (po.funding)
           AND s.wait_nights BETWEEN po.min_nights AND po.max_nights
           AND (s.funding <> 'wmo' OR cardinality(po.wmo_municipalities) = 0
                OR (SELECT code FROM payer) = ANY (po.wmo_municipalities))),
    pools_found AS (
        SELECT o.* FROM other o WHERE o.check_in IS NOT NULL
         ORDER BY o.local DESC, o.check_in, o.pool_id
         LIMIT 10),
    dates_found AS (
        SELECT f.check_in
          FROM pools po
         CROSS JOIN LATERAL logeer_free_starts(
                   po.id, greatest(s.wait_earliest_check_in - 7, logeer_today() + po.lead_days),
                   least(s.wait_latest_check_out + 7, logeer_today() + po.horizon_days),
                   s.wait_nights) AS f
         WHERE po.id = s.pool_id AND po.active
         ORDER BY abs(f.check_in - s.wait_earliest_check_in), f.check_in
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
                     FROM dates_found d), '[]'::jsonb))
$$;
COMMENT ON FUNCTION logeer_escalation_options(stays) IS
    'Options for an unplaced request: up to 10 other active planned pools (same care profile '
    'and funding route, the asked length within their night limits, for wmo a contract with '
    'the paying municipality when they list any) with a free bed on every night of wait_nights '
    'inside the window and inside their lead time and horizon; those in the wait municipality '
    'first, then the region, earliest first. Up to 5 check-ins within 7 days of the window in '
    'the requested pool (inside its lead time and horizon), nearest first.';

-- ---------------------------------------------------------------------------------------------
-- Escalations close themselves when the request is placed or ends
-- ---------------------------------------------------------------------------------------------

-- resolved_by NULL on a resolved escalation means the system closed it; only 'placed' and
-- 'closed' are ever the system's.
ALTER TABLE escalations DROP CONSTRAINT escalations_resolution_known;
ALTER TABLE escalations ADD CONSTRAINT escalations_resolution_known CHECK (
    resolution IN ('placed', 'offered_alternative', 'not_possible', 'closed'));
ALTER TABLE escalations DROP CONSTRAINT escalations_resolved_complete;
ALTER TABLE escalations ADD CONSTRAINT escalations_resolved_complete CHECK (
    (status = 'resolved') = (resolution IS NOT NULL AND resolved_at IS NOT NULL));
ALTER TABLE escalations ADD CONSTRAINT escalations_resolved_by_someone CHECK (
    status = 'open' OR resolved_by IS NOT NULL OR resolution IN ('placed', 'closed'));
ALTER TABLE escalations ADD CONSTRAINT escalations_closed_by_system CHECK (
    resolution IS DISTINCT FROM 'closed' OR resolved_by IS NULL);
COMMENT ON COLUMN escalations.resolution IS
    'placed, offered_alternative or not_possible (the coordinator, or placed by the system '
    'when the waitlist placed the request after the escalation opened); closed (the system: '
    'the request was cancelled, declined or lapsed before anyone placed it).';
COMMENT ON COLUMN escalations.resolved_by IS 'The coordinator who resolved it; NULL: the system.';

CREATE FUNCTION logeer_escalations_follow_stay() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_resolution text;
    v_e          escalations%ROWTYPE;
BEGIN
    IF NEW.status IN ('confirmed', 'checked_in', 'completed') THEN
        v_resolution := 'placed';
    ELSIF NEW.status IN ('cancelled', 'declined', 'expired', 'no_show') THEN
        v_resolution := 'closed';
    ELSE
        RETURN NULL;
    END IF;
    UPDATE escalations e
       SET status = 'resolved', resolution = v_resolution, resolved_at = now(),
           resolved_by = NULL
     WHERE e.stay_id = NEW.id AND e.status = 'open'
    RETURNING * INTO v_e;
    IF FOUND THEN
        INSERT INTO events (type, provider_id, pool_id, stay_id, night_from, night_to, payload)
        VALUES ('escalation.resolved', NEW.provider_id, NEW.pool_id, NEW.id, NEW.check_in,
                NEW.check_out, jsonb_build_object('escalation_id', v_e.id, 'status', NEW.status,
                                                  'kind', NEW.kind, 'resolution', v_resolution,
                                                  'by', 'system'));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION logeer_escalations_follow_stay() IS
    'AFTER UPDATE OF status on a guaranteed stay: its open escalation is resolved by the '
    'system as placed (confirmed, checked in, completed) or closed (cancelled, declined, '
    'expired, no-show), with an escalation.resolved event.';
CREATE TRIGGER stays_escalation_follow AFTER UPDATE OF status ON stays
    FOR EACH ROW WHEN (NEW.guaranteed AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION logeer_escalations_follow_stay();

CREATE OR REPLACE FUNCTION logeer_escalation_json(e escalations) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', e.id,
        'status', e.status,
        'opened_at', logeer_rfc3339(e.opened_at),
        'deadline', logeer_ymd(e.deadline),
        'options', e.options,
        'resolution', e.resolution,
        'resolved_by', CASE WHEN e.status = 'open' THEN NULL
                            WHEN e.resolved_by IS NULL THEN 'system' ELSE 'coordinator' END,
        'note', e.note,
        'resolved_at', logeer_rfc3339(e.resolved_at),
        'stay', (SELECT jsonb_build_object(
                     'id', s.id,
                     'status', s.status,
                     'kind', s.kind,
                     'pool_id', s.pool_id,
                     'provider_id', s.provider_id,
                     'funding', s.funding,
                     'care_profile', s.guest_care_profile,
                     'waitlist', jsonb_build_object(
                         'earliest_check_in', logeer_ymd(s.wait_earliest_check_in),
                         'latest_check_out', logeer_ymd(s.wait_latest_check_out),
                         'nights', s.wait_nights,
                         'municipality', s.wait_municipality),
                     'guaranteed', s.guaranteed,
                     'guarantee_deadline', logeer_ymd(s.guarantee_deadline))
                   FROM stays s WHERE s.id = e.stay_id),
        'version', e.version)
$$;

-- ---------------------------------------------------------------------------------------------
-- Refusals for lack of allowance, for the allowance report
-- ---------------------------------------------------------------------------------------------

-- No guest, no stay: only what the report counts (the route, the municipality that grants,
-- the pool asked and how many nights).
CREATE TABLE allowance_refusals (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    outcome       text NOT NULL,
    funding       text NOT NULL,
    municipality  text,
    pool_id       uuid,
    nights        integer NOT NULL,
    CONSTRAINT allowance_refusals_outcome CHECK (
        outcome IN ('allowance_required', 'allowance_exceeded'))
);
COMMENT ON TABLE allowance_refusals IS
    'One row per booking refused for lack of allowance (none for the route, or too few nights '
    'left); append-only, for GET /v1/reports/allowance-use.';
CREATE INDEX allowance_refusals_at_idx ON allowance_refusals (at);
CREATE TRIGGER allowance_refusals_append_only
    BEFORE UPDATE OR DELETE ON allowance_refusals
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();

-- 0012's step, recording its refusals.
CREATE OR REPLACE FUNCTION logeer_book_stay_take_allowance(arg logeer_book_args, p_take boolean,
                                                           OUT result logeer_result,
                                                           OUT allowance_id uuid)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_a    allowances%ROWTYPE;
    v_left jsonb;
BEGIN
    IF arg.guest_id IS NULL OR NOT logeer_funding_needs_allowance(arg.funding) THEN
        RETURN;
    END IF;
    SELECT * INTO v_a FROM allowances a
     WHERE a.guest_id = arg.guest_id AND a.funding = arg.funding
       AND a.valid_from <= arg.check_in AND a.valid_to >= arg.check_out - 1
     ORDER BY a.valid_from DESC, a.id
     LIMIT 1
       FOR SHARE;
    IF NOT FOUND THEN
        INSERT INTO allowance_refusals (outcome, funding, municipality, pool_id, nights)
        VALUES ('allowance_required', arg.funding,
                (SELECT g.municipality FROM guests g WHERE g.id = arg.guest_id),
                arg.pool_id, arg.check_out - arg.check_in);
        result := ROW('allowance_required', 0, NULL, jsonb_build_object(
                      'funding', arg.funding, 'guest_id', arg.guest_id))::logeer_result;
        RETURN;
    END IF;
    IF NOT p_take THEN
        RETURN;
    END IF;
    v_left := logeer_allowance_take(v_a, arg.check_in, arg.check_out, false);
    IF v_left IS NOT NULL THEN
        INSERT INTO allowance_refusals (outcome, funding, municipality, pool_id, nights)
        VALUES ('allowance_exceeded', arg.funding,
                coalesce(v_a.municipality,
                         (SELECT g.municipality FROM guests g WHERE g.id = arg.guest_id)),
                arg.pool_id, arg.check_out - arg.check_in);
        result := ROW('allowance_exceeded', 0, NULL, jsonb_build_object(
                      'allowance_id', v_a.id, 'remaining', v_left))::logeer_result;
        RETURN;
    END IF;
    allowance_id := v_a.id;
END
$$;
COMMENT ON FUNCTION logeer_book_stay_take_allowance(logeer_book_args, boolean) IS
    'Owns the allowance step of logeer_book_stay: result NULL and allowance_id (NULL when none '
    'is needed) when the booking may go on, else the outcome allowance_required {funding, '
    'guest_id} or allowance_exceeded {allowance_id, remaining}, recorded in allowance_refusals.';

-- ---------------------------------------------------------------------------------------------
-- Report helpers
-- ---------------------------------------------------------------------------------------------

-- A report's window: from and to (exclusive) as dates, at most three years apart.
CREATE FUNCTION logeer_report_window(p jsonb, fn text, OUT lo date, OUT hi date)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM logeer_check_object(p, fn);
    lo := logeer_arg_date(p, 'from', fn, true);
    hi := logeer_arg_date(p, 'to', fn, true);
    IF hi <= lo OR hi - lo > 1096 THEN
        PERFORM logeer_bad_arg(fn, 'to must be after from, at most 1096 days later');
    END IF;
END
$$;

CREATE FUNCTION logeer_local_date(t timestamptz) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (t AT TIME ZONE 'Europe/Amsterdam')::date
$$;

CREATE FUNCTION logeer_quarter(d date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(d, 'YYYY-"Q"Q')
$$;
COMMENT ON FUNCTION logeer_quarter(date) IS 'A calendar quarter as "2026-Q3".';

CREATE FUNCTION logeer_municipality_json(p_code text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('code', p_code, 'name',
                              coalesce((SELECT m.name FROM municipalities m WHERE m.code = p_code),
                                       'onbekend'))
$$;
COMMENT ON FUNCTION logeer_municipality_json(text) IS
    'A municipality in a report row: {code, name}; name onbekend for unknown.';

-- ---------------------------------------------------------------------------------------------
-- GET /v1/reports/intakes
-- ---------------------------------------------------------------------------------------------

-- Intakes asked in the window (by the month they were asked) and what became of them, per
-- month and location (with its provider and municipality). The reasons of not_suitable are
-- the provider's own words, counted per text; they carry no guest data by rule of the form.
CREATE FUNCTION logeer_report_intakes(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fn constant text := 'logeer_report_intakes';
    v_w      record;
    v_scope  uuid;
    v_result jsonb;
BEGIN
    SELECT * INTO v_w FROM logeer_report_window(p, fn);
    v_scope := logeer_arg_uuid(p, 'provider_id', fn, false);
    WITH f AS (
        SELECT to_char(i.created_at AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM') AS month,
               i.location_id, i.status, i.outcome, i.scheduled_at IS NOT NULL AS scheduled,
               CASE WHEN i.outcome = 'not_suitable'
                    THEN coalesce(nullif(btrim(i.reason), ''), 'onbekend') END AS reason
          FROM intakes i
         WHERE i.created_at >= logeer_local_start(v_w.lo)
           AND i.created_at < logeer_local_start(v_w.hi)
           AND (v_scope IS NULL OR i.provider_id = v_scope)),
    figures AS (
        SELECT f.month, f.location_id, GROUPING(f.month, f.location_id) = 3 AS is_total,
               jsonb_build_object(
                   'asked', count(*),
                   'scheduled', count(*) FILTER (WHERE f.scheduled),
                   'decided', count(*) FILTER (WHERE f.outcome IS NOT NULL),
                   'welcome', count(*) FILTER (WHERE f.outcome = 'welcome'),
                   'trial_first', count(*) FILTER (WHERE f.outcome = 'trial_first'),
                   'not_suitable', count(*) FILTER (WHERE f.outcome = 'not_suitable'),
                   'cancelled', count(*) FILTER (WHERE f.status = 'cancelled'),
                   'open', count(*) FILTER (WHERE f.status IN ('requested', 'scheduled')))
                   AS figures
          FROM f
         GROUP BY GROUPING SETS ((f.month, f.location_id), ())),
    reasons AS (
        SELECT r.month, r.location_id, r.is_total,
               jsonb_agg(jsonb_build_object('reason', r.reason, 'count', r.n)
                         ORDER BY r.n DESC, r.reason) AS list
          FROM (SELECT f.month, f.location_id, GROUPING(f.month, f.location_id) = 3 AS is_total,
                       f.reason, count(*) AS n
                  FROM f WHERE f.reason IS NOT NULL
                 GROUP BY GROUPING SETS ((f.month, f.location_id, f.reason), (f.reason))) AS r
         GROUP BY r.month, r.location_id, r.is_total)
    SELECT jsonb_build_object(
        'from', logeer_ymd(v_w.lo),
        'to', logeer_ymd(v_w.hi),
        'generated_at', logeer_rfc3339(now()),
        'rows', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'month', x.month,
                       'provider', jsonb_build_object('id', pr.id, 'name', pr.name),
                       'location', jsonb_build_object('id', l.id, 'name', l.name,
                                                      'municipality', l.municipality))
                       || x.figures
                       || jsonb_build_object('not_suitable_reasons', coalesce(r.list, '[]'::jsonb))
                       ORDER BY x.month, pr.name, l.name, l.id)
              FROM figures x
              JOIN locations l ON l.id = x.location_id
              JOIN providers pr ON pr.id = l.provider_id
              LEFT JOIN reasons r ON NOT r.is_total AND r.month = x.month
                                 AND r.location_id = x.location_id
             WHERE NOT x.is_total), '[]'::jsonb),
        'total', coalesce((SELECT x.figures FROM figures x WHERE x.is_total),
                          jsonb_build_object('asked', 0, 'scheduled', 0, 'decided', 0,
                                             'welcome', 0, 'trial_first', 0, 'not_suitable', 0,
                                             'cancelled', 0, 'open', 0))
                 || jsonb_build_object('not_suitable_reasons',
                                       coalesce((SELECT r.list FROM reasons r WHERE r.is_total),
                                                '[]'::jsonb)))
      INTO v_result;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION logeer_report_intakes(jsonb) IS
    'GET /v1/reports/intakes: intakes asked in [from, to) (Dutch days) per month asked and '
    'location: asked, scheduled, decided (welcome, trial_first, not_suitable with the reasons '
    'counted per text), cancelled, still open. Argument {from, to, provider_id (scope)}.';

-- ---------------------------------------------------------------------------------------------
-- GET /v1/reports/first-stay
-- ---------------------------------------------------------------------------------------------

-- Per registered guest: the first request (a stay of any kind or status, or an intake) and
-- the first stay that got its beds and kept them (confirmed, checked in or completed now).
-- Days are calendar days from the day of the first request to that stay's check-in: the day
-- the caregiver actually gets respite. Counted by the quarter of the first request and the
-- guest's home municipality (else the caregiver's). Inline guests cannot be followed over
-- several requests and are left out.
CREATE FUNCTION logeer_report_first_stay(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fn constant text := 'logeer_report_first_stay';
    v_w      record;
    v_result jsonb;
BEGIN
    SELECT * INTO v_w FROM logeer_report_window(p, fn);
    WITH g AS (
        SELECT coalesce(gu.municipality, u.municipality, 'unknown') AS muni,
               logeer_local_date(least(
                   (SELECT min(s.created_at) FROM stays s WHERE s.guest_id = gu.id),
                   (SELECT min(i.created_at) FROM intakes i WHERE i.guest_id = gu.id)))
                   AS first_ask,
               (SELECT min(s.check_in) FROM stays s
                 WHERE s.guest_id = gu.id
                   AND s.status IN ('confirmed', 'checked_in', 'completed')) AS first_in
          FROM guests gu
          JOIN users u ON u.id = gu.caregiver_id),
    f AS (
        SELECT logeer_quarter(g.first_ask) AS quarter, g.muni,
               CASE WHEN g.first_in IS NOT NULL THEN greatest(g.first_in - g.first_ask, 0) END
                   AS days
          FROM g
         WHERE g.first_ask >= v_w.lo AND g.first_ask < v_w.hi),
    figures AS (
        SELECT f.quarter, f.muni, GROUPING(f.quarter, f.muni) = 3 AS is_total,
               jsonb_build_object(
                   'guests', count(*),
                   'with_first_stay', count(f.days),
                   'still_waiting', count(*) - count(f.days),
                   'days_median', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY f.days)::numeric, 1),
                   'days_p90', round(percentile_cont(0.9) WITHIN GROUP (ORDER BY f.days)::numeric, 1))
                   AS figures
          FROM f
         GROUP BY GROUPING SETS ((f.quarter, f.muni), ()))
    SELECT jsonb_build_object(
        'from', logeer_ymd(v_w.lo),
        'to', logeer_ymd(v_w.hi),
        'generated_at', logeer_rfc3339(now()),
        'rows', coalesce((
            SELECT jsonb_agg(jsonb_build_object('quarter', x.quarter,
                                                'municipality', logeer_municipality_json(x.muni))
                             || x.figures ORDER BY x.quarter, x.muni)
              FROM figures x WHERE NOT x.is_total), '[]'::jsonb),
        'total', coalesce((SELECT x.figures FROM figures x WHERE x.is_total),
                          jsonb_build_object('guests', 0, 'with_first_stay', 0,
                                             'still_waiting', 0, 'days_median', NULL,
                                             'days_p90', NULL)))
      INTO v_result;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION logeer_report_first_stay(jsonb) IS
    'GET /v1/reports/first-stay: registered guests whose first request (stay or intake) fell '
    'in [from, to), per quarter of that request and home municipality: how many, how many have '
    'a first stay (confirmed, checked in or completed) and the median and p90 of the days from '
    'the request to its check-in, how many still wait. Argument {from, to}.';

-- ---------------------------------------------------------------------------------------------
-- GET /v1/reports/allowance-use
-- ---------------------------------------------------------------------------------------------

-- Nights of stays counting against an allowance, by the night's month, the route and the
-- municipality that grants (the allowance's, else the guest's home): held (held or
-- requested), confirmed (confirmed or checked in), completed. The year totals add the grants:
-- the allowances valid on some day of the year and the sum of their yearly limits (null when
-- none has one), and the share of those nights used. Refusals come from allowance_refusals.
CREATE FUNCTION logeer_report_allowance_use(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fn constant text := 'logeer_report_allowance_use';
    v_year   integer;
    v_lo     date;
    v_hi     date;
    v_result jsonb;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_year := logeer_arg_int(p, 'year', fn, true, 2000, 2100);
    v_lo := make_date(v_year, 1, 1);
    v_hi := make_date(v_year + 1, 1, 1);
    WITH nights AS (
        SELECT to_char(n.d, 'YYYY-MM') AS month, s.funding,
               coalesce(a.municipality, gu.municipality, 'unknown') AS muni,
               s.status
          FROM stays s
          JOIN allowances a ON a.id = s.allowance_id
          JOIN guests gu ON gu.id = s.guest_id
         CROSS JOIN LATERAL generate_series(greatest(s.check_in, v_lo),
                                            least(s.check_out, v_hi) - 1,
                                            interval '1 day') AS n (d)
         WHERE logeer_counts_nights(s.status)
           AND s.check_in < v_hi AND s.check_out > v_lo),
    refusals AS (
        SELECT to_char(r.at AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM') AS month, r.funding,
               coalesce(r.municipality, 'unknown') AS muni, r.outcome
          FROM allowance_refusals r
         WHERE r.at >= logeer_local_start(v_lo) AND r.at < logeer_local_start(v_hi)),
    facts AS (
        SELECT n.month, n.funding, n.muni,
               (n.status IN ('held', 'requested'))::int AS held,
               (n.status IN ('confirmed', 'checked_in'))::int AS confirmed,
               (n.status = 'completed')::int AS completed, 0 AS no_allowance, 0 AS exceeded
          FROM nights n
        UNION ALL
        SELECT r.month, r.funding, r.muni, 0, 0, 0,
               (r.outcome = 'allowance_required')::int, (r.outcome = 'allowance_exceeded')::int
          FROM refusals r),
    grants AS (
        SELECT a.funding, coalesce(a.municipality, gu.municipality, 'unknown') AS muni,
               count(*) AS allowances, sum(a.nights_per_year) AS granted
          FROM allowances a
          JOIN guests gu ON gu.id = a.guest_id
         WHERE a.valid_from < v_hi AND a.valid_to >= v_lo
         GROUP BY 1, 2),
    months AS (
        SELECT f.month, f.funding, f.muni, sum(f.held) AS held, sum(f.confirmed) AS confirmed,
               sum(f.completed) AS completed, sum(f.no_allowance) AS no_allowance,
               sum(f.exceeded) AS exceeded
          FROM facts f GROUP BY 1, 2, 3),
    years AS (
        SELECT k.funding, k.muni, coalesce(g.allowances, 0) AS allowances, g.granted,
               coalesce(m.held, 0) AS held, coalesce(m.confirmed, 0) AS confirmed,
               coalesce(m.completed, 0) AS completed, coalesce(m.no_allowance, 0) AS no_allowance,
               coalesce(m.exceeded, 0) AS exceeded
          FROM (SELECT funding, muni FROM grants UNION SELECT funding, muni FROM months) AS k
          LEFT JOIN grants g ON g.funding = k.funding AND g.muni = k.muni
          LEFT JOIN (SELECT funding, muni, sum(held) AS held, sum(confirmed) AS confirmed,
                            sum(completed) AS completed, sum(no_allowance) AS no_allowance,
                            sum(exceeded) AS exceeded
                       FROM months GROUP BY 1, 2) AS m
                 ON m.funding = k.funding AND m.muni = k.muni)
    SELECT jsonb_build_object(
        'year', v_year,
        'generated_at', logeer_rfc3339(now()),
        'months', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'month', m.month, 'funding', m.funding,
                       'municipality', logeer_municipality_json(m.muni),
                       'held_nights', m.held, 'confirmed_nights', m.confirmed,
                       'completed_nights', m.completed,
                       'used_nights', m.held + m.confirmed + m.completed,
                       'refused_no_allowance', m.no_allowance,
                       'refused_exceeded', m.exceeded)
                       ORDER BY m.month, m.funding, m.muni)
              FROM months m), '[]'::jsonb),
        'years', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'year', v_year, 'funding', y.funding,
                       'municipality', logeer_municipality_json(y.muni),
                       'allowances', y.allowances, 'granted_nights', y.granted,
                       'held_nights', y.held, 'confirmed_nights', y.confirmed,
                       'completed_nights', y.completed,
                       'used_nights', y.held + y.confirmed + y.completed,
                       'used_pct', logeer_pct(y.held + y.confirmed + y.completed, y.granted),
                       'refused_no_allowance', y.no_allowance,
                       'refused_exceeded', y.exceeded)
                       ORDER BY y.funding, y.muni)
              FROM years y), '[]'::jsonb))
      INTO v_result;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION logeer_report_allowance_use(jsonb) IS
    'GET /v1/reports/allowance-use: per month, funding route and granting municipality the '
    'nights held, confirmed and completed against allowances and the bookings refused for lack '
    'of allowance; per year the same with the allowances valid then and their yearly nights '
    'granted. Argument {year}.';

-- ---------------------------------------------------------------------------------------------
-- GET /v1/reports/guarantee
-- ---------------------------------------------------------------------------------------------

-- Guaranteed requests by the quarter of their deadline (when the guarantee is judged) and the
-- wait municipality (else the guest's home). placed_before_deadline: the waitlist placed it
-- (it reached confirmed) without an escalation. met: those plus escalations resolved placed.
-- share_met_pct: met of the requests that have been judged (placed before the deadline or an
-- escalation resolved placed, offered_alternative or not_possible); requests still pending,
-- withdrawn before their deadline, or whose escalation is open or was closed because the
-- request ended are not judged.
CREATE FUNCTION logeer_report_guarantee(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fn constant text := 'logeer_report_guarantee';
    v_w      record;
    v_result jsonb;
BEGIN
    SELECT * INTO v_w FROM logeer_report_window(p, fn);
    WITH f AS (
        SELECT logeer_quarter(s.guarantee_deadline) AS quarter,
               coalesce(s.wait_municipality, gu.municipality, 'unknown') AS muni,
               EXISTS (SELECT 1 FROM stay_events ev
                        WHERE ev.stay_id = s.id AND ev.to_status = 'confirmed') AS confirmed,
               s.status, e.status AS e_status, e.resolution
          FROM stays s
          LEFT JOIN guests gu ON gu.id = s.guest_id
          LEFT JOIN escalations e ON e.stay_id = s.id
         WHERE s.guaranteed
           AND s.guarantee_deadline >= v_w.lo AND s.guarantee_deadline < v_w.hi),
    facts AS (
        SELECT f.quarter, f.muni,
               f.e_status IS NULL AND f.confirmed AS before_deadline,
               f.e_status IS NOT NULL AS escalated,
               f.e_status IS NULL AND NOT f.confirmed
                   AND f.status IN ('cancelled', 'declined', 'expired') AS withdrawn,
               f.e_status IS NULL AND NOT f.confirmed
                   AND f.status NOT IN ('cancelled', 'declined', 'expired') AS pending,
               f.e_status, f.resolution
          FROM f),
    figures AS (
        SELECT x.quarter, x.muni, GROUPING(x.quarter, x.muni) = 3 AS is_total,
               count(*) AS guaranteed,
               count(*) FILTER (WHERE x.before_deadline) AS before_deadline,
               count(*) FILTER (WHERE x.escalated) AS escalated,
               count(*) FILTER (WHERE x.e_status = 'open') AS open,
               count(*) FILTER (WHERE x.resolution = 'placed') AS r_placed,
               count(*) FILTER (WHERE x.resolution = 'offered_alternative') AS r_alternative,
               count(*) FILTER (WHERE x.resolution = 'not_possible') AS r_not_possible,
               count(*) FILTER (WHERE x.resolution = 'closed') AS r_closed,
               count(*) FILTER (WHERE x.withdrawn) AS withdrawn,
               count(*) FILTER (WHERE x.pending) AS pending
          FROM facts x
         GROUP BY GROUPING SETS ((x.quarter, x.muni), ())),
    shaped AS (
        SELECT x.quarter, x.muni, x.is_total, jsonb_build_object(
                   'guaranteed', x.guaranteed,
                   'placed_before_deadline', x.before_deadline,
                   'escalated', x.escalated,
                   'escalations_open', x.open,
                   'resolved_placed', x.r_placed,
                   'resolved_offered_alternative', x.r_alternative,
                   'resolved_not_possible', x.r_not_possible,
                   'closed', x.r_closed,
                   'withdrawn', x.withdrawn,
                   'pending', x.pending,
                   'met', x.before_deadline + x.r_placed,
                   'share_met_pct', logeer_pct(x.before_deadline + x.r_placed,
                                               x.before_deadline + x.r_placed + x.r_alternative
                                               + x.r_not_possible)) AS figures
          FROM figures x)
    SELECT jsonb_build_object(
        'from', logeer_ymd(v_w.lo),
        'to', logeer_ymd(v_w.hi),
        'generated_at', logeer_rfc3339(now()),
        'rows', coalesce((
            SELECT jsonb_agg(jsonb_build_object('quarter', s.quarter,
                                                'municipality', logeer_municipality_json(s.muni))
                             || s.figures ORDER BY s.quarter, s.muni)
              FROM shaped s WHERE NOT s.is_total), '[]'::jsonb),
        'total', coalesce((SELECT s.figures FROM shaped s WHERE s.is_total),
                          jsonb_build_object('guaranteed', 0, 'placed_before_deadline', 0,
                                             'escalated', 0, 'escalations_open', 0,
                                             'resolved_placed', 0,
                                             'resolved_offered_alternative', 0,
                                             'resolved_not_possible', 0, 'closed', 0,
                                             'withdrawn', 0, 'pending', 0, 'met', 0,
                                             'share_met_pct', NULL)))
      INTO v_result;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION logeer_report_guarantee(jsonb) IS
    'GET /v1/reports/guarantee: guaranteed requests whose deadline fell in [from, to), per '
    'quarter of the deadline and wait municipality: placed before the deadline, escalated, '
    'escalations open and resolved (placed, offered_alternative, not_possible, closed), '
    'withdrawn, pending, met and the share met of those judged. Argument {from, to}.';
