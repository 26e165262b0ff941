-- 0012: allowances (grants of nights, docs/practice.md) and their usage counters. Owns the
-- allowances and allowance_usage tables, the booking step that takes a stay's nights from the
-- guest's grant, and the release of those nights on every way a stay stops counting.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.
--
-- Lock order (0005's, extended): stays, then the pool, then the pool's nights ascending, then
-- the allowance (FOR SHARE when booking, FOR UPDATE when changed), then its usage rows in key
-- order: allowance_id, year rows before week rows, period_start ascending. Waitlist offers
-- take usage rows with SKIP LOCKED like they take nights, so an offer never waits for one.

-- ---------------------------------------------------------------------------------------------
-- A citizen service number in free text
-- ---------------------------------------------------------------------------------------------

-- The BSN eleven-test: 9 digits d1..d9 with 9*d1 + 8*d2 + ... + 2*d8 - d9 divisible by 11.
CREATE FUNCTION logeer_is_bsn(d text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    v_sum integer := 0;
BEGIN
    IF d !~ '^[0-9]{9}$' THEN
        RETURN false;
    END IF;
    FOR i IN 1..8 LOOP
        v_sum := v_sum + (10 - i) * substr(d, i, 1)::integer;
    END LOOP;
    RETURN (v_sum - substr(d, 9, 1)::integer) % 11 = 0;
END
$$;
COMMENT ON FUNCTION logeer_is_bsn(text) IS
    'True for exactly 9 digits that pass the BSN eleven-test (src/api/allowances.c agrees).';

CREATE FUNCTION logeer_text_has_bsn(t text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN coalesce((SELECT bool_or(logeer_is_bsn(m[1]))
                       FROM regexp_matches(t, '([0-9]+)', 'g') AS m), false);
END
$$;
COMMENT ON FUNCTION logeer_text_has_bsn(text) IS
    'True when a run of digits in t is 9 long and passes the BSN eleven-test.';

-- ---------------------------------------------------------------------------------------------
-- Allowances
-- ---------------------------------------------------------------------------------------------

-- valid_to is inclusive, as a municipal decision states it ("t/m"): the night of valid_to
-- (arriving that evening) is covered, the night after it is not.
CREATE TABLE allowances (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    guest_id         uuid NOT NULL REFERENCES guests (id),
    funding          text NOT NULL,
    nights_per_week  integer,
    nights_per_year  integer,
    valid_from       date NOT NULL,
    valid_to         date NOT NULL,
    municipality     text REFERENCES municipalities (code),
    reference        text,
    created_by       uuid NOT NULL REFERENCES users (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          integer NOT NULL DEFAULT 1,
    CONSTRAINT allowances_funding_known CHECK (funding IN ('wmo', 'wlz', 'pgb', 'zvw', 'private')),
    CONSTRAINT allowances_has_limit CHECK (nights_per_week IS NOT NULL OR nights_per_year IS NOT NULL),
    CONSTRAINT allowances_week_range CHECK (nights_per_week BETWEEN 0 AND 7),
    CONSTRAINT allowances_year_range CHECK (nights_per_year BETWEEN 0 AND 366),
    CONSTRAINT allowances_valid_order CHECK (valid_to >= valid_from),
    CONSTRAINT allowances_valid_span CHECK (valid_to - valid_from <= 3660),
    CONSTRAINT allowances_wmo_municipality CHECK (funding <> 'wmo' OR municipality IS NOT NULL),
    CONSTRAINT allowances_reference_length CHECK (length(btrim(reference)) BETWEEN 1 AND 100),
    CONSTRAINT allowances_reference_not_bsn CHECK (NOT logeer_text_has_bsn(reference)),
    CONSTRAINT allowances_version_positive CHECK (version >= 1)
);
COMMENT ON TABLE allowances IS
    'Grants of nights of a guest per funding route (docs/practice.md), valid_from..valid_to '
    'inclusive; stays count their nights against one through allowance_usage.';
COMMENT ON COLUMN allowances.reference IS
    'The decision''s number as the caregiver knows it; never a citizen service number.';
CREATE INDEX allowances_guest_idx ON allowances (guest_id, funding, valid_from);

CREATE TRIGGER allowances_touch BEFORE UPDATE ON allowances
    FOR EACH ROW EXECUTE FUNCTION touch_versioned_row();

-- Every change is an event; ids only.
CREATE FUNCTION logeer_allowances_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, payload)
    VALUES (CASE WHEN TG_OP = 'INSERT' THEN 'allowance.created' ELSE 'allowance.updated' END,
            jsonb_build_object('allowance_id', NEW.id, 'guest_id', NEW.guest_id));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION logeer_allowances_outbox() IS
    'Trigger: writes allowance.created or allowance.updated (payload {allowance_id, guest_id}).';
CREATE TRIGGER allowances_outbox AFTER INSERT OR UPDATE ON allowances
    FOR EACH ROW EXECUTE FUNCTION logeer_allowances_outbox();

-- One row per allowance and period the allowance limits (a week from its Monday, a calendar
-- year from 1 January): the nights of counting stays in it (used) and the limit (max).
CREATE TABLE allowance_usage (
    allowance_id  uuid NOT NULL REFERENCES allowances (id),
    kind          text NOT NULL,
    period_start  date NOT NULL,
    used          integer NOT NULL DEFAULT 0,
    max           integer NOT NULL,
    PRIMARY KEY (allowance_id, kind, period_start),
    CONSTRAINT allowance_usage_kind CHECK (kind IN ('week', 'year')),
    CONSTRAINT allowance_usage_period_start CHECK (
        (kind = 'week' AND extract(isodow FROM period_start) = 1)
        OR (kind = 'year' AND period_start = date_trunc('year', period_start)::date)),
    CONSTRAINT allowance_usage_within_max CHECK (used >= 0 AND used <= max)
);
COMMENT ON TABLE allowance_usage IS
    'Nights used per allowance and period; CHECK (used <= max) is the last line of defence, '
    'logeer_allowance_take refuses first.';

ALTER TABLE stays ADD COLUMN allowance_id uuid REFERENCES allowances (id);
ALTER TABLE stays ADD CONSTRAINT stays_allowance_needs_guest CHECK (
    allowance_id IS NULL OR guest_id IS NOT NULL);
COMMENT ON COLUMN stays.allowance_id IS
    'The allowance the stay''s nights count against while it is held, requested, confirmed, '
    'checked in or completed (NULL: none needed).';
CREATE INDEX stays_allowance_idx ON stays (allowance_id) WHERE allowance_id IS NOT NULL;

-- The funding routes that need a grant.
CREATE FUNCTION logeer_funding_needs_allowance(f text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT f IN ('wmo', 'wlz', 'pgb')
$$;

-- A stay counts against its allowance in exactly the statuses that take a bed.
CREATE FUNCTION logeer_counts_nights(s stay_status) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT logeer_uses_held(s) + logeer_uses_booked(s) = 1
$$;

-- The periods the nights [p_in, p_out) fall in, with the nights in each and its limit; a kind
-- without a limit has no periods.
CREATE FUNCTION logeer_allowance_periods(p_week integer, p_year integer, p_in date, p_out date)
RETURNS TABLE (kind text, period_start date, nights integer, max integer)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT pk.kind, pk.period_start, count(*)::integer,
           CASE pk.kind WHEN 'week' THEN p_week ELSE p_year END
      FROM generate_series(p_in, p_out - 1, interval '1 day') AS g (d)
     CROSS JOIN LATERAL (VALUES ('year', date_trunc('year', g.d)::date),
                                ('week', date_trunc('week', g.d)::date)) AS pk (kind, period_start)
     WHERE (pk.kind = 'week' AND p_week IS NOT NULL) OR (pk.kind = 'year' AND p_year IS NOT NULL)
     GROUP BY pk.kind, pk.period_start
     ORDER BY pk.kind = 'week', pk.period_start;
END
$$;
COMMENT ON FUNCTION logeer_allowance_periods(integer, integer, date, date) IS
    'The ISO weeks and calendar years the nights [p_in, p_out) fall in, with the nights in each '
    'and the limit (NULL limit: no rows of that kind); year rows first, then by period_start.';

-- The allowance JSON, with the usage of the current week and year (null without that limit).
CREATE FUNCTION logeer_allowance_json(a allowances) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_usage jsonb := '{}';
    v_kind  text;
    v_lim   integer;
    v_start date;
    v_used  integer;
BEGIN
    FOREACH v_kind IN ARRAY ARRAY['week', 'year'] LOOP
        v_lim := CASE v_kind WHEN 'week' THEN a.nights_per_week ELSE a.nights_per_year END;
        v_start := date_trunc(v_kind, logeer_today())::date;
        IF v_lim IS NULL THEN
            v_usage := v_usage || jsonb_build_object(v_kind, NULL);
        ELSE
            SELECT u.used INTO v_used FROM allowance_usage u
             WHERE u.allowance_id = a.id AND u.kind = v_kind AND u.period_start = v_start;
            v_usage := v_usage || jsonb_build_object(v_kind, jsonb_build_object(
                'period_start', logeer_ymd(v_start), 'used', coalesce(v_used, 0), 'max', v_lim,
                'remaining', greatest(v_lim - coalesce(v_used, 0), 0)));
        END IF;
    END LOOP;
    RETURN jsonb_build_object(
        'id', a.id, 'guest_id', a.guest_id, 'funding', a.funding,
        'nights_per_week', a.nights_per_week, 'nights_per_year', a.nights_per_year,
        'valid_from', logeer_ymd(a.valid_from), 'valid_to', logeer_ymd(a.valid_to),
        'municipality', a.municipality, 'reference', a.reference, 'created_by', a.created_by,
        'usage', v_usage,
        'created_at', logeer_rfc3339(a.created_at), 'updated_at', logeer_rfc3339(a.updated_at),
        'version', a.version);
END
$$;
COMMENT ON FUNCTION logeer_allowance_json(allowances) IS
    'The one shape of an allowance in answers: its fields and usage.week/usage.year for today '
    '({period_start, used, max, remaining}, null for a kind without a limit).';

-- ---------------------------------------------------------------------------------------------
-- Taking and giving back nights
-- ---------------------------------------------------------------------------------------------

-- Takes the nights [p_in, p_out) from allowance p_a (the caller holds the allowance FOR
-- SHARE): ensures the usage rows, locks them in key order (year rows, then week rows, by
-- period_start) and increments them with a conditional UPDATE. Returns NULL when taken; else
-- the remaining nights per period ([{period, period_start, remaining}], in key order) and
-- nothing is changed: the increments roll back with the block's subtransaction. With
-- p_skip_locked (waitlist offers) a usage row another transaction holds is not waited for:
-- the answer is then an empty array (not now).
CREATE FUNCTION logeer_allowance_take(p_a allowances, p_in date, p_out date,
                                      p_skip_locked boolean) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_kinds  text[];
    v_starts date[];
    v_nights integer[];
    v_max    integer[];
    v_n      integer;
    v_rows   integer;
BEGIN
    SELECT array_agg(p.kind ORDER BY p.kind = 'week', p.period_start),
           array_agg(p.period_start ORDER BY p.kind = 'week', p.period_start),
           array_agg(p.nights ORDER BY p.kind = 'week', p.period_start),
           array_agg(p.max ORDER BY p.kind = 'week', p.period_start)
      INTO v_kinds, v_starts, v_nights, v_max
      FROM logeer_allowance_periods(p_a.nights_per_week, p_a.nights_per_year, p_in, p_out) AS p;
    v_n := coalesce(cardinality(v_kinds), 0);
    BEGIN
        INSERT INTO allowance_usage (allowance_id, kind, period_start, used, max)
        SELECT p_a.id, k, s, 0, m FROM unnest(v_kinds, v_starts, v_max) AS t (k, s, m)
        ON CONFLICT DO NOTHING;
        IF p_skip_locked THEN
            PERFORM 1 FROM allowance_usage u
              JOIN unnest(v_kinds, v_starts) AS t (k, s) ON u.kind = t.k AND u.period_start = t.s
             WHERE u.allowance_id = p_a.id
             ORDER BY u.kind = 'week', u.period_start
               FOR UPDATE OF u SKIP LOCKED;
            GET DIAGNOSTICS v_rows = ROW_COUNT;
            IF v_rows < v_n THEN
                RAISE EXCEPTION 'usage rows busy' USING ERRCODE = 'LA002';
            END IF;
        ELSE
            PERFORM 1 FROM allowance_usage u
              JOIN unnest(v_kinds, v_starts) AS t (k, s) ON u.kind = t.k AND u.period_start = t.s
             WHERE u.allowance_id = p_a.id
             ORDER BY u.kind = 'week', u.period_start
               FOR UPDATE OF u;
        END IF;
        UPDATE allowance_usage u SET used = u.used + t.n
          FROM unnest(v_kinds, v_starts, v_nights) AS t (k, s, n)
         WHERE u.allowance_id = p_a.id AND u.kind = t.k AND u.period_start = t.s
           AND u.used + t.n <= u.max;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        IF v_rows < v_n THEN
            RAISE EXCEPTION 'allowance exceeded' USING ERRCODE = 'LA001';
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'LA001' THEN
            RETURN (SELECT jsonb_agg(jsonb_build_object(
                        'period', t.k, 'period_start', logeer_ymd(t.s),
                        'remaining', greatest(coalesce(u.max - u.used, t.m), 0))
                        ORDER BY t.k = 'week', t.s)
                      FROM unnest(v_kinds, v_starts, v_max) AS t (k, s, m)
                      LEFT JOIN allowance_usage u ON u.allowance_id = p_a.id AND u.kind = t.k
                                                 AND u.period_start = t.s);
        WHEN SQLSTATE 'LA002' THEN
            RETURN '[]'::jsonb;
    END;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION logeer_allowance_take(allowances, date, date, boolean) IS
    'Takes the nights [p_in, p_out) from the allowance''s usage rows, all or nothing; NULL when '
    'taken, else [{period, period_start, remaining}] (empty: a row was busy, p_skip_locked).';

-- Gives back the nights of the given stays (which counted until now and have just stopped)
-- to their allowances' usage rows, locked in key order. Stays without an allowance are
-- ignored. A period whose limit was removed has no row any more and needs nothing.
CREATE FUNCTION logeer_allowance_release(p_stays uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_ids    uuid[];
    v_kinds  text[];
    v_starts date[];
    v_nights integer[];
BEGIN
    IF p_stays IS NULL OR cardinality(p_stays) = 0 THEN
        RETURN;
    END IF;
    SELECT array_agg(r.allowance_id ORDER BY r.allowance_id, r.kind = 'week', r.period_start),
           array_agg(r.kind ORDER BY r.allowance_id, r.kind = 'week', r.period_start),
           array_agg(r.period_start ORDER BY r.allowance_id, r.kind = 'week', r.period_start),
           array_agg(r.nights ORDER BY r.allowance_id, r.kind = 'week', r.period_start)
      INTO v_ids, v_kinds, v_starts, v_nights
      FROM (SELECT s.allowance_id, p.kind, p.period_start, sum(p.nights)::integer AS nights
              FROM stays s
              JOIN allowances a ON a.id = s.allowance_id
             CROSS JOIN LATERAL logeer_allowance_periods(a.nights_per_week, a.nights_per_year,
                                                         s.check_in, s.check_out) AS p
             WHERE s.id = ANY (p_stays)
             GROUP BY 1, 2, 3) AS r;
    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM allowance_usage u
      JOIN unnest(v_ids, v_kinds, v_starts) AS t (a, k, s)
        ON u.allowance_id = t.a AND u.kind = t.k AND u.period_start = t.s
     ORDER BY u.allowance_id, u.kind = 'week', u.period_start
       FOR UPDATE OF u;
    UPDATE allowance_usage u SET used = u.used - t.n
      FROM unnest(v_ids, v_kinds, v_starts, v_nights) AS t (a, k, s, n)
     WHERE u.allowance_id = t.a AND u.kind = t.k AND u.period_start = t.s;
END
$$;
COMMENT ON FUNCTION logeer_allowance_release(uuid[]) IS
    'Gives the nights of stays that just stopped counting (cancelled, declined, expired, '
    'no_show) back to their allowances, in the caller''s transaction.';

-- ---------------------------------------------------------------------------------------------
-- logeer_book_stay: the allowance step
-- ---------------------------------------------------------------------------------------------

-- A registered guest booking a route that needs a grant (wmo, wlz, pgb) needs one allowance
-- for that route valid on every night of the stay (a stay across two grants is booked as two
-- stays); its nights are taken from the usage rows of the periods they fall in. The
-- allowance is read FOR SHARE, so a change of it waits for this booking. A waitlist entry
-- (p_take false) only needs the allowance to exist: its nights are taken when an offer makes
-- it a hold (logeer_offer_locked), and an entry whose nights do not fit then is passed over.
CREATE FUNCTION logeer_book_stay_take_allowance(arg logeer_book_args, p_take boolean,
                                                OUT result logeer_result, OUT allowance_id uuid)
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
        result := ROW('allowance_required', 0, NULL, jsonb_build_object(
                      'funding', arg.funding, 'guest_id', arg.guest_id))::logeer_result;
        RETURN;
    END IF;
    IF NOT p_take THEN
        RETURN;
    END IF;
    v_left := logeer_allowance_take(v_a, arg.check_in, arg.check_out, false);
    IF v_left IS NOT NULL THEN
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
    'guest_id} or allowance_exceeded {allowance_id, remaining}.';

-- ---------------------------------------------------------------------------------------------
-- logeer_book_stay: 0011's steps with the allowance (4b) between locking the nights and
-- taking the beds. Lock order: the guest row (key share), the open-stays advisory lock, the
-- pool (key share), the pool's nights ascending, the allowance (share), its usage rows.
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION logeer_book_stay(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    arg        logeer_book_args;
    v_open     integer;
    v_pool     record;
    v_nights   integer;
    v_with_bed integer;
    v_full     jsonb;
    v_status   stay_status;
    v_stay     stays%ROWTYPE;
    v_body     text;
    v_result   logeer_result;
    v_take     record;
BEGIN
    arg := logeer_book_stay_args(p);

    -- 1. Idempotency: a retry that must not book again is answered here.
    v_result := logeer_idempotency_claim(arg.principal_id, arg.idempotency_key, arg.request_hash);
    IF v_result.outcome IS NOT NULL THEN
        RETURN v_result;
    END IF;

    -- 1b. A registered guest: the principal's own; its fields go into the stay.
    IF arg.guest_id IS NOT NULL THEN
        arg := logeer_book_stay_guest(arg);
        IF arg IS NULL THEN
            RETURN ROW('guest_not_found', 0, NULL, NULL)::logeer_result;
        END IF;
    END IF;

    -- 2. Open stays per principal (see 0010).
    IF arg.max_open_stays IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(
                    hashtextextended('logeer.open_stays:' || arg.principal_id::text, 0));
        SELECT count(*) INTO v_open
          FROM stays s
         WHERE s.requested_by = arg.principal_id
           AND s.status IN ('held', 'requested', 'waitlisted')
           AND (s.status <> 'held' OR s.hold_expires_at > now());
        IF v_open >= arg.max_open_stays THEN
            RETURN ROW('too_many_open', 0, NULL,
                       jsonb_build_object('open', v_open, 'max', arg.max_open_stays))::logeer_result;
        END IF;
    END IF;

    -- 3. The pool, locked FOR KEY SHARE before any night.
    SELECT po.id, po.provider_id, po.location_id, po.kind, po.active, po.care_profiles,
           po.intake_required
      INTO v_pool
      FROM pools po WHERE po.id = arg.pool_id
       FOR KEY SHARE;
    IF NOT FOUND OR NOT v_pool.active THEN
        RETURN ROW('pool_not_found', 0, NULL, NULL)::logeer_result;
    END IF;
    PERFORM logeer_book_stay_check_pathway(arg, v_pool.kind);
    -- The api checks an inline guest's care profile against the pool; a registered guest's
    -- profile is known only here.
    IF arg.guest_id IS NOT NULL AND NOT (arg.guest_care_profile = ANY (v_pool.care_profiles)) THEN
        RETURN ROW('care_profile', 0, NULL,
                   jsonb_build_object('care_profile', arg.guest_care_profile))::logeer_result;
    END IF;

    -- 3b. The kennismaking, where the pool requires one.
    v_result := logeer_book_stay_check_intake(arg, v_pool.location_id, v_pool.intake_required);
    IF v_result.outcome IS NOT NULL THEN
        RETURN v_result;
    END IF;

    -- 4. Lock the nights in ascending order and count those with a free bed (see 0010).
    v_nights := arg.check_out - arg.check_in;
    WITH locked AS MATERIALIZED (
        SELECT n.night, n.capacity - n.held - n.booked AS free
          FROM pool_nights n
         WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in AND n.night < arg.check_out
         ORDER BY n.night
           FOR UPDATE)
    SELECT count(*) FILTER (WHERE l.free > 0) INTO v_with_bed FROM locked l;

    IF v_with_bed < v_nights THEN
        SELECT jsonb_agg(logeer_ymd(g.d) ORDER BY g.d) INTO v_full
          FROM (SELECT arg.check_in + i AS d FROM generate_series(0, v_nights - 1) AS i) AS g
          LEFT JOIN pool_nights n ON n.pool_id = arg.pool_id AND n.night = g.d
         WHERE coalesce(n.capacity - n.held - n.booked, 0) <= 0;
        IF NOT arg.waitlist THEN
            RETURN ROW('no_beds', 0, NULL, jsonb_build_object('nights', v_full))::logeer_result;
        END IF;
        v_status := 'waitlisted';
    ELSE
        v_status := arg.initial_status;
    END IF;

    -- 4b. The guest's allowance for the funding route: nights taken from it (all or nothing)
    -- after the nights are locked and before any bed is taken.
    SELECT * INTO v_take FROM logeer_book_stay_take_allowance(arg, v_status <> 'waitlisted');
    IF (v_take.result).outcome IS NOT NULL THEN
        RETURN v_take.result;
    END IF;

    IF v_status <> 'waitlisted' THEN
        -- 5. Take the beds (pool_nights_no_overbooking is the last line of defence).
        UPDATE pool_nights n
           SET held = n.held + logeer_uses_held(v_status),
               booked = n.booked + logeer_uses_booked(v_status)
         WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in AND n.night < arg.check_out;
    END IF;

    INSERT INTO stays (pool_id, provider_id, pool_kind, kind, status, check_in, check_out,
                       funding, guest_id, guest_alias, guest_birth_year, guest_care_profile,
                       guest_needs, requested_by, requested_by_role, on_behalf_of,
                       diversion_reason, hold_expires_at, wait_earliest_check_in,
                       wait_latest_check_out, wait_nights, allowance_id)
    VALUES (arg.pool_id, v_pool.provider_id, v_pool.kind, arg.kind, v_status,
            arg.check_in, arg.check_out, arg.funding, arg.guest_id, arg.guest_alias,
            arg.guest_birth_year, arg.guest_care_profile, arg.guest_needs, arg.principal_id,
            arg.principal_role, arg.on_behalf_of, arg.diversion_reason,
            CASE WHEN v_status = 'held' THEN now() + make_interval(secs => arg.hold_ttl_s) END,
            CASE WHEN v_status = 'waitlisted' THEN arg.wait_earliest_check_in END,
            CASE WHEN v_status = 'waitlisted' THEN arg.wait_latest_check_out END,
            CASE WHEN v_status = 'waitlisted' THEN arg.wait_nights END, v_take.allowance_id)
    RETURNING * INTO v_stay;

    PERFORM logeer_record_transition(
        v_stay, NULL, arg.principal_id, arg.principal_role, arg.diversion_reason, 'stay.created',
        CASE WHEN v_status = 'waitlisted' THEN jsonb_build_object('full_nights', v_full)
             WHEN arg.diversion_reason IS NOT NULL THEN '{"diversion": true}'::jsonb
             ELSE '{}'::jsonb END);

    v_body := logeer_stay_json(v_stay)::text;
    v_result := ROW(CASE WHEN v_status = 'waitlisted' THEN 'waitlisted' ELSE 'created' END,
                    201, v_body, NULL)::logeer_result;

    -- 6. Remember the answer for retries.
    PERFORM logeer_idempotency_store(arg.principal_id, arg.idempotency_key, arg.request_hash,
                                     arg.method, arg.path, v_result.status, v_body);
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION logeer_book_stay(jsonb) IS
    'POST /v1/stays: takes a bed on every night or waitlists or refuses. Outcomes: created, '
    'waitlisted (201, body = stay), replayed (stored status and body), key_running, '
    'key_mismatch, too_many_open {open,max}, pool_not_found, no_beds {nights}, '
    'guest_not_found, care_profile {care_profile}, intake_required {location_id, intake_id, '
    'intake_outcome, lapsed}, trial_too_long {trial_max_nights}, allowance_required {funding, '
    'guest_id}, allowance_exceeded {allowance_id, remaining}.';

-- ---------------------------------------------------------------------------------------------
-- Waitlist offers take the allowance too (0005's function otherwise unchanged)
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION logeer_offer_locked(pool uuid, night_from date, night_to date,
                                    hold_ttl_s integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_first  date;      -- earliest check-in the pool accepts today (lead time)
    v_active boolean;
    v_lo     date;      -- the candidates' windows together: [v_lo, v_hi)
    v_hi     date;
    v_run    integer;   -- longest run of free nights left in [v_lo, v_hi)
    v_w      stays%ROWTYPE;
    v_in     date;
    v_offers integer := 0;
    v_a      allowances%ROWTYPE;
    v_aid    uuid;
BEGIN
    SELECT po.active, logeer_today() + po.lead_days INTO v_active, v_first
      FROM pools po WHERE po.id = pool;
    IF NOT FOUND OR NOT v_active THEN
        RETURN 0;
    END IF;
    SELECT min(greatest(s.wait_earliest_check_in, v_first)), max(s.wait_latest_check_out)
      INTO v_lo, v_hi
      FROM stays s
     WHERE s.status = 'waitlisted' AND s.pool_id = pool
       AND s.wait_earliest_check_in < night_to AND s.wait_latest_check_out > night_from
       AND s.wait_latest_check_out - s.wait_nights >= v_first;
    IF v_lo IS NULL THEN
        RETURN 0;
    END IF;
    -- "While beds remain": an entry asking for more nights than the longest free run cannot
    -- be served, and once no free night is left the rest of the line need not be read. The
    -- run only shrinks when an offer is made, so it is recomputed only then.
    v_run := logeer_longest_free_run(pool, v_lo, v_hi);

    -- First come, first served. Entries are read without locking; only the one about to be
    -- offered is locked, with SKIP LOCKED: an entry another transaction holds is being
    -- cancelled, expired or offered right now, and waiting for it here could deadlock.
    FOR v_w IN
        SELECT * FROM stays s
         WHERE s.status = 'waitlisted' AND s.pool_id = pool
           AND s.wait_earliest_check_in < night_to AND s.wait_latest_check_out > night_from
           AND s.wait_latest_check_out - s.wait_nights >= v_first
         ORDER BY s.created_at, s.id
    LOOP
        EXIT WHEN v_run = 0;
        CONTINUE WHEN v_w.wait_nights > v_run;
        -- The earliest run of wait_nights free nights that starts inside the window, among
        -- nights that are ours or free to lock at once.
        WITH free_nights AS MATERIALIZED (
            SELECT n.night, n.capacity - n.held - n.booked AS free
              FROM pool_nights n
             WHERE n.pool_id = pool
               AND n.night >= greatest(v_w.wait_earliest_check_in, v_first)
               AND n.night < v_w.wait_latest_check_out
             ORDER BY n.night
               FOR UPDATE SKIP LOCKED),
        islands AS (
            SELECT min(f.night) AS first_night, count(*) AS len
              FROM (SELECT fn.night,
                           fn.night - (row_number() OVER (ORDER BY fn.night))::integer AS grp
                      FROM free_nights fn WHERE fn.free > 0) AS f
             GROUP BY f.grp)
        SELECT min(i.first_night) INTO v_in
          FROM islands i
         WHERE i.len >= v_w.wait_nights
           AND i.first_night <= v_w.wait_latest_check_out - v_w.wait_nights;
        CONTINUE WHEN v_in IS NULL;

        SELECT * INTO v_w FROM stays s
         WHERE s.id = v_w.id AND s.status = 'waitlisted'
           FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN NOT FOUND;

        -- A registered guest's grant must hold the offered nights, else the entry is passed
        -- over this round (it keeps its place). Allowance and usage rows are taken with
        -- SKIP LOCKED: a busy one counts as "does not fit now".
        v_aid := NULL;
        IF v_w.guest_id IS NOT NULL AND logeer_funding_needs_allowance(v_w.funding) THEN
            SELECT * INTO v_a FROM allowances a
             WHERE a.guest_id = v_w.guest_id AND a.funding = v_w.funding
               AND a.valid_from <= v_in AND a.valid_to >= v_in + v_w.wait_nights - 1
             ORDER BY a.valid_from DESC, a.id
             LIMIT 1
               FOR SHARE SKIP LOCKED;
            CONTINUE WHEN NOT FOUND;
            CONTINUE WHEN logeer_allowance_take(v_a, v_in, v_in + v_w.wait_nights, true)
                          IS NOT NULL;
            v_aid := v_a.id;
        END IF;

        UPDATE pool_nights n SET held = n.held + 1
         WHERE n.pool_id = pool AND n.night >= v_in AND n.night < v_in + v_w.wait_nights;
        UPDATE stays s
           SET status = 'held', check_in = v_in, check_out = v_in + v_w.wait_nights,
               hold_expires_at = now() + make_interval(secs => hold_ttl_s),
               allowance_id = v_aid
         WHERE s.id = v_w.id
        RETURNING * INTO v_w;
        PERFORM logeer_record_transition(
            v_w, 'waitlisted', NULL, NULL, 'waitlist offer', 'stay.offered',
            jsonb_build_object('check_in', logeer_ymd(v_w.check_in),
                               'check_out', logeer_ymd(v_w.check_out)));
        v_offers := v_offers + 1;
        v_run := logeer_longest_free_run(pool, v_lo, v_hi);
    END LOOP;
    RETURN v_offers;
END
$$;
COMMENT ON FUNCTION logeer_offer_locked(uuid, date, date, integer) IS
    'Internal: logeer_offer_waitlist for callers that already locked logeer_offer_span. Never '
    'waits for a lock. A registered guest''s entry is offered only nights its allowance holds '
    '(taken with the offer); one that does not fit is passed over.';


-- ---------------------------------------------------------------------------------------------
-- Releases: every way a stay stops taking a bed gives its allowance nights back
-- ---------------------------------------------------------------------------------------------

-- 0005's transition; cancel, decline, expire and no_show give the nights back (2b).
CREATE OR REPLACE FUNCTION logeer_stay_transition(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_stay_transition';
    v_id       uuid;
    v_from     stay_status;
    v_to       stay_status;
    v_dh       integer;
    v_db       integer;
    v_actor    uuid;
    v_role     user_role;
    v_reason   text;
    v_ttl      integer;
    v_stay     stays%ROWTYPE;
    v_now      record;
    v_lo       date;
    v_hi       date;
    v_rows     integer;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_id     := logeer_arg_uuid(p, 'stay_id', fn, true);
    v_from   := logeer_arg_status(p, 'from_status', fn);
    v_to     := logeer_arg_status(p, 'to_status', fn);
    v_dh     := logeer_arg_int(p, 'held_delta', fn, true, -1, 1);
    v_db     := logeer_arg_int(p, 'booked_delta', fn, true, -1, 1);
    v_actor  := logeer_arg_uuid(p, 'actor_id', fn, false);
    v_role   := logeer_arg_role(p, 'actor_role', fn, false);
    v_reason := nullif(btrim(logeer_arg_text(p, 'reason', fn, false, 1000)), '');
    v_ttl    := coalesce(logeer_arg_int(p, 'hold_ttl_s', fn, false, 1, 604800), 900);

    IF NOT logeer_transition_allowed(v_from, v_to) THEN
        PERFORM logeer_bad_arg(fn, v_from || ' -> ' || v_to || ' is not a stay transition');
    END IF;
    -- The deltas must be the night-usage rule's, or the counters would drift from the stays.
    IF v_dh <> logeer_uses_held(v_to) - logeer_uses_held(v_from)
       OR v_db <> logeer_uses_booked(v_to) - logeer_uses_booked(v_from) THEN
        PERFORM logeer_bad_arg(fn, format('deltas (%s, %s) do not match %s -> %s',
                                          v_dh, v_db, v_from, v_to));
    END IF;
    IF (v_actor IS NULL) <> (v_role IS NULL) THEN
        PERFORM logeer_bad_arg(fn, 'actor_id and actor_role go together');
    END IF;

    -- 1. The status change, conditional on the status the caller saw: the row lock serialises
    -- competing transitions and the loser re-reads the row and matches nothing. A hold counts
    -- as held only until it lapses, even before the sweeper got to it; expiring works only
    -- after it lapsed. The stay is locked before any night (lock order, rule 1).
    UPDATE stays s
       SET status = v_to,
           decline_reason = CASE WHEN v_to = 'declined' THEN v_reason ELSE s.decline_reason END,
           -- The table insists on a cancel reason (stays_cancel_has_reason) while the lifecycle
           -- lets a caregiver cancel without one: record who cancelled instead of failing.
           cancel_reason = CASE WHEN v_to = 'cancelled'
                                THEN coalesce(v_reason, 'cancelled by the '
                                                        || coalesce(v_role::text, 'system'))
                                ELSE s.cancel_reason END,
           cancelled_by = CASE WHEN v_to = 'cancelled' THEN v_actor ELSE s.cancelled_by END,
           -- An expired hold keeps its expiry as history; any other way out of held clears it.
           hold_expires_at = CASE WHEN v_from = 'held' AND v_to <> 'expired' THEN NULL
                                  ELSE s.hold_expires_at END
     WHERE s.id = v_id AND s.status = v_from
       AND (v_from <> 'held'
            OR (v_to = 'expired' AND s.hold_expires_at <= now())
            OR (v_to <> 'expired' AND s.hold_expires_at > now()))
    RETURNING * INTO v_stay;

    IF NOT FOUND THEN
        SELECT s.status, s.hold_expires_at INTO v_now FROM stays s WHERE s.id = v_id;
        RETURN ROW('stale', 0, NULL, jsonb_build_object('current_status',
                   CASE WHEN v_now.status = 'held' AND v_now.hold_expires_at <= now() THEN 'expired'
                        ELSE v_now.status::text END))::logeer_result;
    END IF;

    -- 2. Counters. A release may be offered to the waitlist in this same transaction, so the
    -- whole span those offers could touch is locked first, in one ascending sweep.
    IF v_dh <> 0 OR v_db <> 0 THEN
        IF v_stay.pool_id IS NULL OR v_stay.check_in IS NULL THEN
            RAISE EXCEPTION '%: stay % occupies beds but has no pool or dates', fn, v_id
                USING ERRCODE = 'data_exception';
        END IF;
        IF v_dh + v_db < 0 THEN
            SELECT s.lo, s.hi INTO v_lo, v_hi
              FROM logeer_offer_span(v_stay.pool_id, v_stay.check_in, v_stay.check_out) AS s;
        ELSE
            v_lo := v_stay.check_in;
            v_hi := v_stay.check_out;
        END IF;
        PERFORM logeer_lock_nights(v_stay.pool_id, v_lo, v_hi);
        UPDATE pool_nights n SET held = n.held + v_dh, booked = n.booked + v_db
         WHERE n.pool_id = v_stay.pool_id
           AND n.night >= v_stay.check_in AND n.night < v_stay.check_out;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        -- A missing night has capacity 0: taking a bed there would overbook it.
        IF v_rows < v_stay.check_out - v_stay.check_in AND (v_dh > 0 OR v_db > 0) THEN
            RAISE EXCEPTION '%: stay % covers nights without capacity', fn, v_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'pool_nights_no_overbooking',
                      TABLE = 'pool_nights';
        END IF;
        -- 2b. A stay that stops taking a bed gives its nights back to its allowance.
        IF v_dh + v_db < 0 AND v_stay.allowance_id IS NOT NULL THEN
            PERFORM logeer_allowance_release(ARRAY[v_stay.id]);
        END IF;
    END IF;

    -- 3. History and outbox.
    PERFORM logeer_record_transition(v_stay, v_from, v_actor, v_role, v_reason, 'stay.' || v_to);

    -- 4. Freed beds go to the waitlist before anyone else can book them.
    IF v_dh + v_db < 0 THEN
        PERFORM logeer_offer_locked(v_stay.pool_id, v_stay.check_in, v_stay.check_out, v_ttl);
    END IF;

    RETURN ROW('ok', 200, logeer_stay_json(v_stay)::text, NULL)::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_stay_transition(jsonb) IS
    'POST /v1/stays/{id}/{action}: applies a transition the core decided, atomically with its '
    'counter deltas (beds and allowance nights), history and outbox, then offers freed nights '
    'to the waitlist. Outcomes: '
    'ok (200, body = stay), stale {current_status}.';


-- 0005's sweeper; expired holds give their allowance nights back.
CREATE OR REPLACE FUNCTION logeer_expire_holds(p jsonb, OUT expired integer)
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_expire_holds';
    v_limit  integer;
    v_ttl    integer;
    v_pool   record;
    v_pools  uuid[];
    v_ins    date[];
    v_outs   date[];
    v_ids    uuid[];
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_limit := coalesce(logeer_arg_int(p, 'limit', fn, false, 1, 100000), 100);
    v_ttl   := coalesce(logeer_arg_int(p, 'hold_ttl_s', fn, false, 1, 604800), 900);

    -- Lapsed holds, oldest first. SKIP LOCKED lets several processes sweep at once without
    -- doing the same stay twice, and leaves a hold that is being confirmed right now to that
    -- transaction (which then either wins or finds the hold lapsed and answers stale).
    WITH picked AS (
        SELECT s.id FROM stays s
         WHERE s.status = 'held' AND s.hold_expires_at <= now()
         ORDER BY s.hold_expires_at
         LIMIT v_limit
           FOR UPDATE SKIP LOCKED),
    done AS (
        UPDATE stays s SET status = 'expired'
          FROM picked WHERE s.id = picked.id
        RETURNING s.*),
    hist AS (
        INSERT INTO stay_events (stay_id, from_status, to_status, reason)
        SELECT d.id, 'held', 'expired', 'hold expired' FROM done d),
    outbox AS (
        INSERT INTO events (type, provider_id, pool_id, stay_id, night_from, night_to, payload)
        SELECT 'stay.expired', d.provider_id, d.pool_id, d.id, d.check_in, d.check_out,
               jsonb_build_object('status', 'expired', 'from', 'held', 'kind', d.kind)
          FROM done d)
    SELECT count(*), coalesce(array_agg(d.pool_id), '{}'), coalesce(array_agg(d.check_in), '{}'),
           coalesce(array_agg(d.check_out), '{}'), coalesce(array_agg(d.id), '{}')
      INTO expired, v_pools, v_ins, v_outs, v_ids
      FROM done d;

    -- Release pool by pool in pool_id order, each pool's span locked in one ascending sweep
    -- (lock order, rule 3, across pools); then give the allowance nights back (usage rows
    -- after every night, in key order); then offer what was freed, pool by pool. Offers never
    -- wait for a lock, so no usage row is held while waiting for a night.
    FOR v_pool IN
        SELECT e.pool_id, min(e.check_in) AS lo, max(e.check_out) AS hi
          FROM unnest(v_pools, v_ins, v_outs) AS e (pool_id, check_in, check_out)
         GROUP BY e.pool_id
         ORDER BY e.pool_id
    LOOP
        PERFORM logeer_lock_nights(v_pool.pool_id, s.lo, s.hi)
           FROM logeer_offer_span(v_pool.pool_id, v_pool.lo, v_pool.hi) AS s;
        UPDATE pool_nights n SET held = n.held - c.holds
          FROM (SELECT e.check_in + i AS night, count(*)::integer AS holds
                  FROM unnest(v_pools, v_ins, v_outs) AS e (pool_id, check_in, check_out)
                 CROSS JOIN LATERAL generate_series(0, e.check_out - e.check_in - 1) AS i
                 WHERE e.pool_id = v_pool.pool_id
                 GROUP BY 1) AS c
         WHERE n.pool_id = v_pool.pool_id AND n.night = c.night;
    END LOOP;
    PERFORM logeer_allowance_release(v_ids);
    FOR v_pool IN
        SELECT e.pool_id, min(e.check_in) AS lo, max(e.check_out) AS hi
          FROM unnest(v_pools, v_ins, v_outs) AS e (pool_id, check_in, check_out)
         GROUP BY e.pool_id
         ORDER BY e.pool_id
    LOOP
        PERFORM logeer_offer_locked(v_pool.pool_id, v_pool.lo, v_pool.hi, v_ttl);
    END LOOP;

    -- Waitlist entries whose window has passed: no offer can fit any more (the latest
    -- check-in that fits lies before the pool's earliest acceptable check-in).
    WITH picked AS (
        SELECT s.id FROM stays s
          LEFT JOIN pools po ON po.id = s.pool_id
         WHERE s.status = 'waitlisted'
           AND s.wait_latest_check_out - s.wait_nights < logeer_today() + coalesce(po.lead_days, 0)
         ORDER BY s.created_at
         LIMIT v_limit
           FOR UPDATE OF s SKIP LOCKED),
    done AS (
        UPDATE stays s SET status = 'expired'
          FROM picked WHERE s.id = picked.id
        RETURNING s.*),
    hist AS (
        INSERT INTO stay_events (stay_id, from_status, to_status, reason)
        SELECT d.id, 'waitlisted', 'expired', 'waitlist window passed' FROM done d)
    INSERT INTO events (type, provider_id, pool_id, stay_id, night_from, night_to, payload)
    SELECT 'stay.expired', d.provider_id, d.pool_id, d.id, d.check_in, d.check_out,
           jsonb_build_object('status', 'expired', 'from', 'waitlisted', 'kind', d.kind)
      FROM done d;
END
$$;
COMMENT ON FUNCTION logeer_expire_holds(jsonb) IS
    'Hold sweeper, safe to run from several processes at once: expires up to p.limit lapsed '
    'holds (SKIP LOCKED), releases their nights (beds and allowance nights), offers them to the waitlist, and expires '
    'waitlist entries whose window has passed. Returns the number of holds expired.';


-- 0010's capacity-change cancellations give their allowance nights back.
CREATE OR REPLACE FUNCTION logeer_capacity_cancel(arg logeer_capacity_args) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_old     stays%ROWTYPE;
    v_stay    stays%ROWTYPE;
    v_from_st stay_status;
BEGIN
    FOR v_old IN SELECT * FROM stays s WHERE s.id = ANY (arg.cancel_stay_ids) ORDER BY s.id LOOP
        v_from_st := v_old.status;
        UPDATE stays s
           SET status = 'cancelled', cancel_reason = arg.reason, cancelled_by = arg.actor_id,
               hold_expires_at = NULL
         WHERE s.id = v_old.id
        RETURNING * INTO v_stay;
        UPDATE pool_nights n
           SET held = n.held - logeer_uses_held(v_from_st),
               booked = n.booked - logeer_uses_booked(v_from_st)
         WHERE n.pool_id = arg.pool_id
           AND n.night >= v_stay.check_in AND n.night < v_stay.check_out;
        PERFORM logeer_record_transition(v_stay, v_from_st, arg.actor_id, arg.actor_role,
                                         arg.reason, 'stay.cancelled', '{"by": "capacity change"}');
    END LOOP;
    -- Every stay cancelled here was held, requested or confirmed: all gave their nights.
    PERFORM logeer_allowance_release(arg.cancel_stay_ids);
END
$$;
COMMENT ON FUNCTION logeer_capacity_cancel(logeer_capacity_args) IS
    'Owns step 3c of logeer_set_capacity: cancels the named stays (locked by '
    'logeer_capacity_lock_cancels, nights by logeer_capacity_lock_nights), releases their '
    'nights (beds and allowance nights) and writes their history and outbox rows.';


-- ---------------------------------------------------------------------------------------------
-- PATCH /v1/allowances/{id}
-- ---------------------------------------------------------------------------------------------

-- Changes an allowance the caller may see (p_scope: the caregiver's id, NULL for the
-- coordinator) when its version is p_version (NULL: any). The allowance is locked FOR UPDATE
-- (bookings hold it FOR SHARE), then its usage rows in key order; the nights of the stays
-- counting against it are recounted under the new limits: a limit below what is used, or a
-- validity that no longer covers a counting stay, is refused and nothing changes. Otherwise
-- the usage rows take the new limits (rows of a removed limit go, rows of a new one come with
-- the recount). Funding and guest never change: register a new allowance instead.
CREATE FUNCTION logeer_allowance_patch(p jsonb, p_id uuid, p_scope uuid, p_version integer)
RETURNS logeer_result
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_a     allowances%ROWTYPE;
    v_week  integer;
    v_year  integer;
    v_from  date;
    v_to    date;
    v_bad   jsonb;
BEGIN
    SELECT a.* INTO v_a FROM allowances a
      JOIN guests g ON g.id = a.guest_id
     WHERE a.id = p_id AND g.erased_at IS NULL
       AND (p_scope IS NULL OR g.caregiver_id = p_scope)
       FOR UPDATE OF a;
    IF NOT FOUND THEN
        RETURN ROW('not_found', 0, NULL, NULL)::logeer_result;
    END IF;
    IF p_version IS NOT NULL AND v_a.version <> p_version THEN
        RETURN ROW('stale', 0, NULL,
                   jsonb_build_object('current_version', v_a.version))::logeer_result;
    END IF;
    v_week := CASE WHEN p ? 'nights_per_week' THEN (p ->> 'nights_per_week')::integer
                   ELSE v_a.nights_per_week END;
    v_year := CASE WHEN p ? 'nights_per_year' THEN (p ->> 'nights_per_year')::integer
                   ELSE v_a.nights_per_year END;
    v_from := coalesce((p ->> 'valid_from')::date, v_a.valid_from);
    v_to   := coalesce((p ->> 'valid_to')::date, v_a.valid_to);

    PERFORM 1 FROM allowance_usage u WHERE u.allowance_id = v_a.id
     ORDER BY u.kind = 'week', u.period_start
       FOR UPDATE;

    SELECT jsonb_agg(s.id ORDER BY s.check_in, s.id) INTO v_bad
      FROM stays s
     WHERE s.allowance_id = v_a.id AND logeer_counts_nights(s.status)
       AND (s.check_in < v_from OR s.check_out - 1 > v_to);
    IF v_bad IS NOT NULL THEN
        RETURN ROW('outside_validity', 0, NULL,
                   jsonb_build_object('stay_ids', v_bad))::logeer_result;
    END IF;

    CREATE TEMP TABLE IF NOT EXISTS logeer_allowance_recount (
        kind text, period_start date, used integer, max integer) ON COMMIT DROP;
    TRUNCATE logeer_allowance_recount;
    INSERT INTO logeer_allowance_recount
    SELECT p2.kind, p2.period_start, sum(p2.nights)::integer, min(p2.max)
      FROM stays s
     CROSS JOIN LATERAL logeer_allowance_periods(v_week, v_year, s.check_in, s.check_out) AS p2
     WHERE s.allowance_id = v_a.id AND logeer_counts_nights(s.status)
     GROUP BY 1, 2;
    SELECT jsonb_agg(jsonb_build_object('period', r.kind, 'period_start', logeer_ymd(r.period_start),
                                        'used', r.used, 'max', r.max)
                     ORDER BY r.kind = 'week', r.period_start)
      INTO v_bad
      FROM logeer_allowance_recount r WHERE r.used > r.max;
    IF v_bad IS NOT NULL THEN
        RETURN ROW('below_used', 0, NULL, jsonb_build_object('periods', v_bad))::logeer_result;
    END IF;

    -- Constraint violations (e.g. both limits cleared) raise here, before any usage changes.
    UPDATE allowances a SET
        nights_per_week = v_week, nights_per_year = v_year, valid_from = v_from, valid_to = v_to,
        municipality = CASE WHEN p ? 'municipality' THEN p ->> 'municipality' ELSE a.municipality END,
        reference = CASE WHEN p ? 'reference' THEN btrim(p ->> 'reference') ELSE a.reference END
     WHERE a.id = v_a.id
    RETURNING * INTO v_a;

    DELETE FROM allowance_usage u
     WHERE u.allowance_id = v_a.id
       AND ((u.kind = 'week' AND v_week IS NULL) OR (u.kind = 'year' AND v_year IS NULL));
    UPDATE allowance_usage u
       SET used = coalesce(r.used, 0),
           max = CASE u.kind WHEN 'week' THEN v_week ELSE v_year END
      FROM allowance_usage u2
      LEFT JOIN logeer_allowance_recount r ON r.kind = u2.kind AND r.period_start = u2.period_start
     WHERE u2.allowance_id = u.allowance_id AND u2.kind = u.kind
       AND u2.period_start = u.period_start AND u.allowance_id = v_a.id;
    INSERT INTO allowance_usage (allowance_id, kind, period_start, used, max)
    SELECT v_a.id, r.kind, r.period_start, r.used, r.max FROM logeer_allowance_recount r
     ORDER BY r.kind = 'week', r.period_start
    ON CONFLICT DO NOTHING;
    RETURN ROW('ok', 200, logeer_allowance_json(v_a)::text, NULL)::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_allowance_patch(jsonb, uuid, uuid, integer) IS
    'PATCH /v1/allowances/{id}. Outcomes: ok (200, body = allowance), not_found, stale '
    '{current_version}, below_used {periods: [{period, period_start, used, max}]}, '
    'outside_validity {stay_ids}.';
