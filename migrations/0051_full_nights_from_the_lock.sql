-- 0051: a booking refused at the nights' lock lets the night go sooner (issue 17, contention).
-- Restates logeer_book_stay from 0045 (with 0050's plan setting); what changed is how the list
-- of full nights in a no_beds answer (and in a waitlisted stay's event) is made. Runs inside
-- the migrator's transaction: no BEGIN/COMMIT.
--
-- In the race for a night's last beds about a third of the requests that pass the quick look
-- (step 3c) find the night taken when they lock it (step 4). Such a request listed the full
-- nights with the calendar form (the asked dates from generate_series, LEFT JOIN the nights)
-- while it still held the night's lock, and since 0050 that statement runs with its generic
-- plan, which cannot see how many dates are asked: it read every night of the pool (730 rows,
-- 55 buffers) into a hash to answer for one. pg_stat_statements in the bench's race: 0.355 ms a
-- call, 4,206 calls, every one of them with the night locked while the winners waited.
--
-- Step 4 now lists the full nights from the rows it has just locked, in the same statement: the
-- same nights (a locked row with no free bed), in the same order, from the same row versions.
-- Only when nights have no row at all (no capacity: each such night is full) does the list
-- need the calendar, and that form moved into logeer_full_nights(), which reads the asked range
-- of the pool's nights (an index range scan under a generic plan too: 4 buffers) and is also
-- step 3c's fallback.

CREATE OR REPLACE FUNCTION logeer_full_nights(pool uuid, lo date, hi date) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_full jsonb;
BEGIN
    SELECT jsonb_agg(logeer_ymd(g.d) ORDER BY g.d) INTO v_full
      FROM (SELECT lo + i AS d FROM generate_series(0, hi - lo - 1) AS i) AS g
      LEFT JOIN (SELECT n.night, n.capacity - n.held - n.booked AS free
                   FROM pool_nights n
                  WHERE n.pool_id = pool AND n.night >= lo AND n.night < hi) AS n
             ON n.night = g.d
     WHERE coalesce(n.free, 0) <= 0;
    RETURN v_full;
END
$$;
COMMENT ON FUNCTION logeer_full_nights(uuid, date, date) IS
    'The nights in [lo, hi) of a pool without a free bed, a night without a row counting as '
    'full: a jsonb array of YYYY-MM-DD in order, or NULL when every night has a bed.';

CREATE OR REPLACE FUNCTION logeer_book_stay(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER SET plan_cache_mode = force_generic_plan AS $$
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
    v_rows     integer;
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

    -- 3. The pool: read (locked FOR SHARE for a companion place; for anything else the lock
    -- waits for step 3d, see the top of 0045).
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
          FROM pools po WHERE po.id = arg.pool_id;
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

    v_nights := arg.check_out - arg.check_in;

    -- 3c. Without the waitlist, a night that is full in the committed state refuses at once,
    -- without queueing for the nights' locks (see the top of 0043). Step 4 still decides
    -- every booking that goes on. A plain range read of the nights (cheaper to plan, see the
    -- top of 0045); only when nights have no row at all does the list need the calendar.
    IF NOT arg.waitlist THEN
        SELECT count(*), jsonb_agg(logeer_ymd(n.night) ORDER BY n.night)
                             FILTER (WHERE n.capacity - n.held - n.booked <= 0)
          INTO v_rows, v_full
          FROM pool_nights n
         WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in AND n.night < arg.check_out;
        IF v_rows < v_nights THEN
            v_full := logeer_full_nights(arg.pool_id, arg.check_in, arg.check_out);
        END IF;
        IF v_full IS NOT NULL THEN
            RETURN ROW('no_beds', 0, NULL, jsonb_build_object('nights', v_full))::logeer_result;
        END IF;
    END IF;

    -- 3d. The pool locked FOR KEY SHARE, before any night.
    IF NOT v_companion THEN
        PERFORM 1 FROM pools po WHERE po.id = arg.pool_id FOR KEY SHARE;
        IF NOT FOUND THEN
            RETURN ROW('pool_not_found', 0, NULL, NULL)::logeer_result;
        END IF;
    END IF;

    -- 4. Lock the nights in ascending order and count those with a free bed (see 0010). The
    -- full ones are listed from the same locked rows (see the top of 0051); only nights
    -- without a row need the calendar.
    WITH locked AS MATERIALIZED (
        SELECT n.night, n.capacity - n.held - n.booked AS free
          FROM pool_nights n
         WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in AND n.night < arg.check_out
         ORDER BY n.night
           FOR UPDATE)
    SELECT count(*), count(*) FILTER (WHERE l.free > 0),
           jsonb_agg(logeer_ymd(l.night) ORDER BY l.night) FILTER (WHERE l.free <= 0)
      INTO v_rows, v_with_bed, v_full
      FROM locked l;

    IF v_with_bed < v_nights THEN
        IF v_rows < v_nights THEN
            v_full := logeer_full_nights(arg.pool_id, arg.check_in, arg.check_out);
        END IF;
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
