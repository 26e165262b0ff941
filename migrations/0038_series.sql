-- 0038: recurring stays (logeerreeks, issue 15). Owns the series table, stays.series_id, the
-- pool setting series_share_max_percent and the functions that book a series
-- (logeer_book_series), move its occurrences together (logeer_series_apply) and shape it
-- (logeer_series_json). Each occurrence is an ordinary stay booked by logeer_request_stay, so
-- every per-stay rule (intake, allowances, companion place, counters, history, outbox) holds
-- for it unchanged. Restates logeer_book_stay (0015) only to count a series as one open
-- request. Runs inside the migrator's transaction: no BEGIN/COMMIT.

-- ---------------------------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------------------------

CREATE TYPE series_mode AS ENUM ('all_or_nothing', 'best_effort');

CREATE TABLE series (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    pool_id           uuid NOT NULL REFERENCES pools (id),
    provider_id       uuid NOT NULL,
    requested_by      uuid NOT NULL REFERENCES users (id),
    requested_by_role user_role NOT NULL,
    mode              series_mode NOT NULL,
    nights            integer NOT NULL,
    rule              jsonb,
    not_held          jsonb NOT NULL DEFAULT '[]',
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT series_nights_range CHECK (nights BETWEEN 1 AND 365),
    CONSTRAINT series_not_held_shape CHECK (jsonb_typeof(not_held) = 'array'),
    CONSTRAINT series_rule_shape CHECK (rule IS NULL OR jsonb_typeof(rule) = 'object')
);
COMMENT ON TABLE series IS
    'A recurring stay (logeerreeks): one request for several stays in one pool. Its occurrences '
    'are ordinary stays with stays.series_id; the series holds no personal data of its own.';
COMMENT ON COLUMN series.rule IS
    'The rhythm asked for: {"every_weeks", "first_check_in", "until"?, "count"?}; NULL when '
    'the caregiver listed the arrival dates.';
COMMENT ON COLUMN series.not_held IS
    'Best effort: the occurrences that could not be held when the series was made, each '
    '{check_in, check_out, reason, nights?}.';
CREATE INDEX series_requested_by_idx ON series (requested_by, created_at);
CREATE INDEX series_provider_idx ON series (provider_id, created_at);

ALTER TABLE stays ADD COLUMN series_id uuid REFERENCES series (id);
COMMENT ON COLUMN stays.series_id IS 'The series this stay is an occurrence of, or NULL.';
CREATE INDEX stays_series_idx ON stays (series_id) WHERE series_id IS NOT NULL;
-- The share cap counts a pool's series stays per night.
CREATE INDEX stays_series_nights_idx ON stays (pool_id, check_in) WHERE series_id IS NOT NULL;

-- Fairness: rhythms must not crowd out one-off requests. 50 by default: a series may hold at
-- most half of a night's beds (rounded down, so a pool with one bed takes no series unless
-- the provider raises it to 100).
ALTER TABLE pools ADD COLUMN series_share_max_percent integer NOT NULL DEFAULT 50,
    ADD CONSTRAINT pools_series_share_range CHECK (series_share_max_percent BETWEEN 0 AND 100);
COMMENT ON COLUMN pools.series_share_max_percent IS
    'At most this share (percent) of each night''s beds may be held or booked by occurrences '
    'of series; checked by logeer_book_series under the nights'' locks.';

-- An occurrence learns its series the way a waitlist entry learns its guarantee (0014): the
-- series function puts the id in a transaction-local setting and this trigger copies it as
-- logeer_book_stay inserts the stay, so the stay's first JSON already names its series.
CREATE FUNCTION logeer_stays_series() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.series_id IS NULL THEN
        NEW.series_id := nullif(current_setting('logeer.series_id', true), '')::uuid;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION logeer_stays_series() IS
    'BEFORE INSERT on stays: series_id from logeer.series_id (set by logeer_book_series).';
CREATE TRIGGER stays_series BEFORE INSERT ON stays
    FOR EACH ROW EXECUTE FUNCTION logeer_stays_series();

-- The stay JSON gains series_id (wrapped, not restated, like 0016 did).
ALTER FUNCTION logeer_stay_json(stays) RENAME TO logeer_stay_json_before_series;
CREATE FUNCTION logeer_stay_json(s stays) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT logeer_stay_json_before_series(s) || jsonb_build_object('series_id', s.series_id)
$$;
COMMENT ON FUNCTION logeer_stay_json(stays) IS
    'The one shape of a stay in answers: logeer_stay_json_before_series plus series_id.';

-- ---------------------------------------------------------------------------------------------
-- logeer_book_stay: 0015's function; only step 2 changes. A series counts as ONE open request
-- however many of its occurrences are open (held, requested): a family that asks for "one
-- weekend a month" made one request, and counting each month would exhaust the limit (3 by
-- default) with the first series.
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION logeer_book_stay(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_book_stay';
    arg        logeer_book_args;
    v_companion boolean;
    v_arrival  jsonb;
    v_departure jsonb;
    v_free_companion integer;
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
    v_companion := logeer_arg_bool(p, 'companion', fn, false);
    v_arrival := CASE WHEN jsonb_typeof(p -> 'arrival') = 'object' THEN p -> 'arrival' END;
    v_departure := CASE WHEN jsonb_typeof(p -> 'departure') = 'object' THEN p -> 'departure' END;

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

    -- 2. Open stays per principal (see 0010); a series counts once (0038).
    IF arg.max_open_stays IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(
                    hashtextextended('logeer.open_stays:' || arg.principal_id::text, 0));
        SELECT count(DISTINCT coalesce(s.series_id, s.id)) INTO v_open
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
    IF v_companion THEN
        SELECT po.id, po.provider_id, po.location_id, po.kind, po.active, po.care_profiles,
               po.intake_required, po.companion_places
          INTO v_pool
          FROM pools po WHERE po.id = arg.pool_id
           FOR SHARE;
    ELSE
        SELECT po.id, po.provider_id, po.location_id, po.kind, po.active, po.care_profiles,
               po.intake_required, po.companion_places
          INTO v_pool
          FROM pools po WHERE po.id = arg.pool_id
           FOR KEY SHARE;
    END IF;
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

    -- 4a. The companion place: free on every night, or the request waits (with waitlist) or
    -- is refused. The nights are locked, so the count cannot change under us.
    IF v_companion THEN
        IF v_pool.companion_places = 0 THEN
            RETURN ROW('no_companion_offered', 0, NULL, NULL)::logeer_result;
        END IF;
        IF v_status <> 'waitlisted' THEN
            SELECT count(*) INTO v_free_companion
              FROM pool_nights n
             WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in
               AND n.night < arg.check_out AND n.companions < v_pool.companion_places;
            IF v_free_companion < v_nights THEN
                SELECT jsonb_agg(logeer_ymd(n.night) ORDER BY n.night) INTO v_full
                  FROM pool_nights n
                 WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in
                   AND n.night < arg.check_out AND n.companions >= v_pool.companion_places;
                IF NOT arg.waitlist THEN
                    RETURN ROW('no_companion_place', 0, NULL,
                               jsonb_build_object('nights', v_full))::logeer_result;
                END IF;
                v_status := 'waitlisted';
            END IF;
        END IF;
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
        -- 5a. Take the companion place, conditionally: a night that has none left would be
        -- a bug above, and pool_nights_companions_within_places stands behind this.
        IF v_companion THEN
            UPDATE pool_nights n SET companions = n.companions + 1
             WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in
               AND n.night < arg.check_out AND n.companions < v_pool.companion_places;
            GET DIAGNOSTICS v_free_companion = ROW_COUNT;
            IF v_free_companion < v_nights THEN
                RAISE EXCEPTION '%: companion place taken meanwhile', fn
                    USING ERRCODE = 'check_violation',
                          CONSTRAINT = 'pool_nights_companions_within_places',
                          TABLE = 'pool_nights';
            END IF;
        END IF;
    END IF;

    INSERT INTO stays (pool_id, provider_id, pool_kind, kind, status, check_in, check_out,
                       funding, guest_id, guest_alias, guest_birth_year, guest_care_profile,
                       guest_needs, requested_by, requested_by_role, on_behalf_of,
                       diversion_reason, hold_expires_at, wait_earliest_check_in,
                       wait_latest_check_out, wait_nights, allowance_id, companion, arrival,
                       departure)
    VALUES (arg.pool_id, v_pool.provider_id, v_pool.kind, arg.kind, v_status,
            arg.check_in, arg.check_out, arg.funding, arg.guest_id, arg.guest_alias,
            arg.guest_birth_year, arg.guest_care_profile, arg.guest_needs, arg.principal_id,
            arg.principal_role, arg.on_behalf_of, arg.diversion_reason,
            CASE WHEN v_status = 'held' THEN now() + make_interval(secs => arg.hold_ttl_s) END,
            CASE WHEN v_status = 'waitlisted' THEN arg.wait_earliest_check_in END,
            CASE WHEN v_status = 'waitlisted' THEN arg.wait_latest_check_out END,
            CASE WHEN v_status = 'waitlisted' THEN arg.wait_nights END, v_take.allowance_id,
            v_companion, v_arrival, v_departure)
    RETURNING * INTO v_stay;

    PERFORM logeer_record_transition(
        v_stay, NULL, arg.principal_id, arg.principal_role, arg.diversion_reason, 'stay.created',
        CASE WHEN v_status = 'waitlisted' THEN jsonb_build_object('full_nights', v_full)
             WHEN arg.diversion_reason IS NOT NULL THEN '{"diversion": true}'::jsonb
             ELSE '{}'::jsonb END || jsonb_build_object('companion', v_companion));

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
    'guest_id}, allowance_exceeded {allowance_id, remaining}, no_companion_offered, '
    'no_companion_place {nights}. p.companion asks for a companion place; p.arrival and '
    'p.departure are the transport (checked by the api and by stays_arrival_shape).';


-- ---------------------------------------------------------------------------------------------
-- The share cap
-- ---------------------------------------------------------------------------------------------

-- The nights of [p_in, p_out) on which the pool's series stays that take a bed (held ..
-- completed, as the counters count them) exceed p_percent of the night's capacity; NULL when
-- none does. The caller holds the nights' locks, so no other series can change the count.
CREATE FUNCTION logeer_series_share_over(p_pool uuid, p_in date, p_out date, p_percent integer)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_agg(logeer_ymd(n.night) ORDER BY n.night)
      FROM pool_nights n
     WHERE n.pool_id = p_pool AND n.night >= p_in AND n.night < p_out
       AND (SELECT count(*) FROM stays s
             WHERE s.pool_id = p_pool AND s.series_id IS NOT NULL
               AND s.check_in <= n.night AND n.night < s.check_out
               AND s.check_in > n.night - 366
               AND logeer_uses_held(s.status) + logeer_uses_booked(s.status) > 0) * 100
           > n.capacity * p_percent
$$;
COMMENT ON FUNCTION logeer_series_share_over(uuid, date, date, integer) IS
    'Nights of [p_in, p_out) where series stays take more than p_percent of the beds, or NULL.';

-- ---------------------------------------------------------------------------------------------
-- The series as answers show it
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_series_json(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', r.id,
        'pool_id', r.pool_id,
        'provider_id', r.provider_id,
        'mode', r.mode,
        'nights', r.nights,
        'rule', r.rule,
        'requested_by_role', r.requested_by_role,
        'not_held', r.not_held,
        'created_at', logeer_rfc3339(r.created_at),
        'counts', coalesce((SELECT jsonb_object_agg(c.status, c.n)
                              FROM (SELECT s.status, count(*) AS n FROM stays s
                                     WHERE s.series_id = r.id GROUP BY s.status) AS c),
                           '{}'::jsonb),
        'occurrences', coalesce((SELECT jsonb_agg(logeer_stay_json(s) ORDER BY s.check_in, s.id)
                                   FROM stays s WHERE s.series_id = r.id), '[]'::jsonb))
      FROM series r WHERE r.id = p_id
$$;
COMMENT ON FUNCTION logeer_series_json(uuid) IS
    'The one shape of a series: its request, counts per status and its occurrences (stays).';

-- ---------------------------------------------------------------------------------------------
-- logeer_book_series: POST /v1/series
-- ---------------------------------------------------------------------------------------------

-- p: the fields of a stay request as logeer_request_stay takes them (principal, pool, kind,
-- initial_status, funding, guest or guest_id, companion, transport, hold_ttl_s), plus mode,
-- nights, rule (or null), occurrences [{check_in, check_out}] (checked by the api against the
-- pool's rules), max_open_stays and the Idempotency-Key with its request hash.
--
-- Lock order as a single booking's (0010): the open-stays lock, the pool (FOR SHARE, so that a
-- change of its share waits), then every night the series spans, in one ascending sweep,
-- before any occurrence is booked; each booking then finds its nights locked already, and the
-- allowance rows come after every night. Each occurrence runs in its own subtransaction, so a
-- refused one leaves nothing behind; all of them run in one outer block, so that a refused
-- all-or-nothing series (or a refusal of the request itself) undoes every occurrence at once.
CREATE FUNCTION logeer_book_series(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_book_series';
    v_principal uuid;
    v_role      user_role;
    v_key       text;
    v_hash      text;
    v_pool_id   uuid;
    v_mode      series_mode;
    v_nights    integer;
    v_max       integer;
    v_occ       jsonb;
    v_item      jsonb;
    v_in        date;
    v_out       date;
    v_lo        date;
    v_hi        date;
    v_open      integer;
    v_pool      record;
    v_series    series%ROWTYPE;
    v_base      jsonb;
    v_res       logeer_result;
    v_result    logeer_result;
    v_refusal   logeer_result;
    v_fail      jsonb;
    v_over      jsonb;
    v_blocked   jsonb := '[]'::jsonb;
    v_held      integer := 0;
    v_body      text;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_principal := logeer_arg_uuid(p, 'principal_id', fn, true);
    v_role      := logeer_arg_role(p, 'principal_role', fn, true);
    v_key       := logeer_arg_text(p, 'idempotency_key', fn, false, 255);
    v_hash      := logeer_arg_text(p, 'request_hash', fn, false, 64);
    v_pool_id   := logeer_arg_uuid(p, 'pool_id', fn, true);
    v_nights    := logeer_arg_int(p, 'nights', fn, true, 1, 365);
    v_max       := logeer_arg_int(p, 'max_open_stays', fn, false, 0, 100000);
    IF p ->> 'mode' NOT IN ('all_or_nothing', 'best_effort') OR NOT p ? 'mode' THEN
        PERFORM logeer_bad_arg(fn, 'mode must be all_or_nothing or best_effort');
    END IF;
    v_mode := (p ->> 'mode')::series_mode;
    v_occ := p -> 'occurrences';
    IF jsonb_typeof(v_occ) IS DISTINCT FROM 'array' OR jsonb_array_length(v_occ) NOT BETWEEN 1 AND 104 THEN
        PERFORM logeer_bad_arg(fn, 'occurrences must list 1 to 104 stays');
    END IF;
    IF v_key IS NOT NULL AND (v_hash IS NULL OR v_hash !~ '^[0-9a-fA-F]{64}$') THEN
        PERFORM logeer_bad_arg(fn, 'request_hash must be 64 hex digits (SHA-256) with a key');
    END IF;
    SELECT min((e ->> 'check_in')::date), max((e ->> 'check_out')::date) INTO v_lo, v_hi
      FROM jsonb_array_elements(v_occ) AS e;

    -- 1. Idempotency: a retry gets the series it made.
    v_result := logeer_idempotency_claim(v_principal, v_key, v_hash);
    IF v_result.outcome IS NOT NULL THEN
        RETURN v_result;
    END IF;

    -- 2. Open requests: the series is one more, however many occurrences it has. The same
    -- lock as a single booking's, so a series and a stay of one caregiver count each other.
    IF v_max IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('logeer.open_stays:' || v_principal::text, 0));
        SELECT count(DISTINCT coalesce(s.series_id, s.id)) INTO v_open
          FROM stays s
         WHERE s.requested_by = v_principal
           AND s.status IN ('held', 'requested', 'waitlisted')
           AND (s.status <> 'held' OR s.hold_expires_at > now());
        IF v_open >= v_max THEN
            RETURN ROW('too_many_open', 0, NULL,
                       jsonb_build_object('open', v_open, 'max', v_max))::logeer_result;
        END IF;
    END IF;

    -- 3. The pool: planned only (a series is a caregiver's planned request; crisis beds never
    -- take one), FOR SHARE so that its share cap cannot change under the booking.
    SELECT po.id, po.provider_id, po.kind, po.active, po.series_share_max_percent AS share
      INTO v_pool
      FROM pools po WHERE po.id = v_pool_id
       FOR SHARE;
    IF NOT FOUND OR NOT v_pool.active OR v_pool.kind <> 'planned' THEN
        RETURN ROW('pool_not_found', 0, NULL, NULL)::logeer_result;
    END IF;

    -- 4. Every night the series spans, ascending, before any occurrence takes one.
    PERFORM 1 FROM pool_nights n
     WHERE n.pool_id = v_pool_id AND n.night >= v_lo AND n.night < v_hi
     ORDER BY n.night
       FOR UPDATE;

    BEGIN
        INSERT INTO series (pool_id, provider_id, requested_by, requested_by_role, mode, nights,
                            rule)
        VALUES (v_pool_id, v_pool.provider_id, v_principal, v_role, v_mode, v_nights,
                CASE WHEN jsonb_typeof(p -> 'rule') = 'object' THEN p -> 'rule' END)
        RETURNING * INTO v_series;
        PERFORM set_config('logeer.series_id', v_series.id::text, true);
        v_base := p - 'occurrences' - 'mode' - 'nights' - 'rule' - 'idempotency_key'
                    - 'request_hash' - 'max_open_stays';

        -- 5. Each occurrence as an ordinary stay request, earliest first.
        FOR v_item IN
            SELECT e FROM jsonb_array_elements(v_occ) AS e ORDER BY (e ->> 'check_in')::date
        LOOP
            v_in := (v_item ->> 'check_in')::date;
            v_out := (v_item ->> 'check_out')::date;
            v_fail := NULL;
            BEGIN
                v_res := logeer_request_stay(v_base || jsonb_build_object(
                             'check_in', logeer_ymd(v_in), 'check_out', logeer_ymd(v_out),
                             'waitlist', false));
                IF v_res.outcome = 'created' THEN
                    -- 5a. The share cap, counted with this occurrence, under the nights' locks.
                    v_over := logeer_series_share_over(v_pool_id, v_in, v_out, v_pool.share);
                    IF v_over IS NOT NULL THEN
                        v_fail := jsonb_build_object('reason', 'series_share', 'nights', v_over);
                    END IF;
                ELSE
                    v_fail := coalesce(v_res.detail, '{}'::jsonb)
                              || jsonb_build_object('reason', v_res.outcome);
                END IF;
                IF v_fail IS NOT NULL THEN
                    RAISE EXCEPTION 'occurrence refused' USING ERRCODE = 'LGS01';
                END IF;
                v_held := v_held + 1;
            EXCEPTION WHEN SQLSTATE 'LGS01' THEN
                NULL;  -- the occurrence's writes are undone; v_fail says why
            END;
            IF v_fail IS NOT NULL THEN
                -- Refusals about the nights belong to the occurrence; any other (intake,
                -- guest, allowance missing, ...) is the whole request's.
                IF v_fail ->> 'reason' NOT IN ('no_beds', 'no_companion_place',
                                               'allowance_exceeded', 'series_share') THEN
                    v_refusal := ROW(v_fail ->> 'reason', 0, NULL, v_fail - 'reason');
                    RAISE EXCEPTION 'series refused' USING ERRCODE = 'LGS02';
                END IF;
                v_blocked := v_blocked || jsonb_build_array(
                    jsonb_build_object('check_in', logeer_ymd(v_in),
                                       'check_out', logeer_ymd(v_out)) || v_fail);
            END IF;
        END LOOP;
        PERFORM set_config('logeer.series_id', '', true);

        -- 6. All or nothing: one blocked occurrence undoes them all. Best effort: at least one.
        IF v_held = 0 OR (v_mode = 'all_or_nothing' AND jsonb_array_length(v_blocked) > 0) THEN
            v_refusal := ROW('blocked', 0, NULL, jsonb_build_object(
                'blocked', v_blocked,
                'nights', coalesce((SELECT jsonb_agg(DISTINCT n.night ORDER BY n.night)
                                      FROM jsonb_array_elements(v_blocked) AS b
                                     CROSS JOIN LATERAL jsonb_array_elements_text(
                                           coalesce(b -> 'nights', '[]'::jsonb)) AS n (night)),
                                   '[]'::jsonb)));
            RAISE EXCEPTION 'series refused' USING ERRCODE = 'LGS02';
        END IF;
        UPDATE series r SET not_held = v_blocked WHERE r.id = v_series.id;
        v_body := logeer_series_json(v_series.id)::text;
        -- 7. Remember the answer for retries.
        PERFORM logeer_idempotency_store(v_principal, v_key, v_hash, 'POST', '/v1/series', 201,
                                         v_body);
        RETURN ROW('created', 201, v_body, NULL)::logeer_result;
    EXCEPTION WHEN SQLSTATE 'LGS02' THEN
        RETURN v_refusal;
    END;
END
$$;
COMMENT ON FUNCTION logeer_book_series(jsonb) IS
    'POST /v1/series: books each occurrence as a stay (logeer_request_stay) under the share '
    'cap, all or nothing or best effort. Outcomes: created (201, body = series), replayed, '
    'key_running, key_mismatch, too_many_open {open,max}, pool_not_found, blocked {blocked: '
    '[{check_in, check_out, reason, nights?}], nights}, and any request-level refusal of '
    'logeer_book_stay (guest_not_found, care_profile, intake_required, trial_too_long, '
    'allowance_required, no_companion_offered) with its detail.';

-- ---------------------------------------------------------------------------------------------
-- logeer_series_apply: one action on several occurrences at once
-- ---------------------------------------------------------------------------------------------

-- p {series_id, actor_id, actor_role, reason?, hold_ttl_s, strict, transitions: [{stay_id,
-- from_status, to_status, held_delta, booked_delta}]}: the transitions the core decided, in
-- check-in order. Every stay is locked first (rule 1: stays before nights), then each
-- transition runs as logeer_stay_transition does it alone. strict: one stale transition
-- undoes all (confirming an all-or-nothing series); otherwise a stale one is skipped and
-- reported.
CREATE FUNCTION logeer_series_apply(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_series_apply';
    v_id      uuid;
    v_strict  boolean;
    v_list    jsonb;
    v_t       jsonb;
    v_res     logeer_result;
    v_refusal logeer_result;
    v_skipped jsonb := '[]'::jsonb;
    v_done    integer := 0;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_id := logeer_arg_uuid(p, 'series_id', fn, true);
    v_strict := logeer_arg_bool(p, 'strict', fn, false);
    v_list := p -> 'transitions';
    IF jsonb_typeof(v_list) IS DISTINCT FROM 'array' OR jsonb_array_length(v_list) = 0 THEN
        PERFORM logeer_bad_arg(fn, 'transitions must list at least one');
    END IF;
    -- One whole-series action at a time; then its stays, in key order.
    PERFORM 1 FROM series r WHERE r.id = v_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN ROW('not_found', 0, NULL, NULL)::logeer_result;
    END IF;
    PERFORM 1 FROM stays s
     WHERE s.series_id = v_id
       AND s.id IN (SELECT (t ->> 'stay_id')::uuid FROM jsonb_array_elements(v_list) AS t)
     ORDER BY s.id
       FOR UPDATE;
    BEGIN
        FOR v_t IN SELECT t FROM jsonb_array_elements(v_list) AS t LOOP
            IF NOT EXISTS (SELECT 1 FROM stays s WHERE s.id = (v_t ->> 'stay_id')::uuid
                                                   AND s.series_id = v_id) THEN
                PERFORM logeer_bad_arg(fn, 'stay ' || (v_t ->> 'stay_id') || ' is not in the series');
            END IF;
            v_res := logeer_stay_transition(jsonb_build_object(
                'stay_id', v_t -> 'stay_id', 'from_status', v_t -> 'from_status',
                'to_status', v_t -> 'to_status', 'held_delta', v_t -> 'held_delta',
                'booked_delta', v_t -> 'booked_delta', 'actor_id', p -> 'actor_id',
                'actor_role', p -> 'actor_role', 'hold_ttl_s', p -> 'hold_ttl_s')
                || CASE WHEN p ? 'reason' THEN jsonb_build_object('reason', p -> 'reason')
                        ELSE '{}'::jsonb END);
            IF v_res.outcome = 'ok' THEN
                v_done := v_done + 1;
            ELSE
                v_skipped := v_skipped || jsonb_build_array(
                    jsonb_build_object('stay_id', v_t -> 'stay_id') || coalesce(v_res.detail, '{}'));
                IF v_strict THEN
                    v_refusal := ROW('stale', 0, NULL, jsonb_build_object('skipped', v_skipped));
                    RAISE EXCEPTION 'series action refused' USING ERRCODE = 'LGS02';
                END IF;
            END IF;
        END LOOP;
        IF v_done = 0 THEN
            v_refusal := ROW('stale', 0, NULL, jsonb_build_object('skipped', v_skipped));
            RAISE EXCEPTION 'series action refused' USING ERRCODE = 'LGS02';
        END IF;
        RETURN ROW('ok', 200, (logeer_series_json(v_id)
                               || jsonb_build_object('skipped', v_skipped))::text, NULL)::logeer_result;
    EXCEPTION WHEN SQLSTATE 'LGS02' THEN
        RETURN v_refusal;
    END;
END
$$;
COMMENT ON FUNCTION logeer_series_apply(jsonb) IS
    'POST /v1/series/{id}/{action}: applies the core''s transitions to several occurrences in '
    'one transaction (each as logeer_stay_transition). Outcomes: ok (200, body = series with '
    'skipped), not_found, stale {skipped: [{stay_id, current_status}]}.';
