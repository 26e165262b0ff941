-- 0048: a booking that lost the race for a night's last bed no longer holds that night's lock
-- through a WAL flush (issue 17, contention). Restates logeer_book_stay from 0045: step 3c' is
-- new, and the registered guest (1b) and the intake (3b) are read first and locked in step 3d.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.
--
-- Under contention for the last beds of a night (a bed taken, a bed freed by a cancel, again),
-- every request that passed 0043's quick look while a bed was free queued for the night's row
-- lock in step 4. Locking a row gives the transaction an id and writes WAL (see 0045), so each
-- request that got the lock only to find the bed just taken then committed with a WAL flush,
-- still holding the lock: the cancel that would free the next bed, and every booking after
-- it, waited for one flush per lost request.
--
-- Now such a request first waits on a transaction-scoped advisory lock of the stay's scarcest
-- night (the one with the fewest free beds in the quick look): bookings of that night pass it
-- one by one, each holding it until its transaction ends, as the row lock is held. After the
-- wait the nights are read again; a request that finds one full refuses there, before it has
-- locked or written anything, so its transaction has no id and ends without a flush, and it
-- never held anything the cancel needs (cancels take no advisory lock). A request that still
-- sees a bed goes on to lock the pool and the nights exactly as before, and step 4 decides, so
-- no guarantee moves: the advisory lock only orders the queue, it protects nothing.
--
-- The wait happens only while the transaction holds no row lock yet (no transaction id):
-- logeer_book_series books occurrences one after another in one transaction, and a request
-- that already held a night's row lock and waited for an advisory lock held by a booking that
-- waits for that row could deadlock. A booking that waits here holds no row lock, and the
-- booking it waits for never waits for an advisory lock again, so no cycle can form.
-- Waitlist and companion requests keep 0045's path (their nights' row locks decide more than
-- a count of beds).
--
-- A registered guest (FOR KEY SHARE) and the intake a booking relies on (FOR SHARE) were locked
-- in steps 1b and 3b, which gave every such booking a transaction id before step 3c': the
-- caregivers' portal always books with a registered guest. As 0045 did for the pool, both are
-- now read without a lock where they are checked and locked in step 3d, before the pool and
-- any night, and checked again there: a guest erased or given to someone else meanwhile gives
-- guest_not_found, an intake decided anew gives its refusal, as if the request had come a
-- moment later. What the stay stores of the guest is what step 3 checked. The lock order is
-- now: the open-stays advisory lock, the night's advisory lock, the guest, the intake, the
-- pool, the nights ascending.
--
-- Measured: see docs/performance.md, "The lost race no longer flushes under the night's lock".

-- The registered-guest and intake steps, read first and locked in step 3d: p_lock says which.
DROP FUNCTION logeer_book_stay_guest(logeer_book_args);
CREATE FUNCTION logeer_book_stay_guest(arg logeer_book_args, p_lock boolean)
RETURNS logeer_book_args
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_g guests%ROWTYPE;
BEGIN
    IF p_lock THEN
        SELECT * INTO v_g FROM guests g
         WHERE g.id = arg.guest_id AND g.caregiver_id = arg.principal_id AND g.erased_at IS NULL
           FOR KEY SHARE;
    ELSE
        SELECT * INTO v_g FROM guests g
         WHERE g.id = arg.guest_id AND g.caregiver_id = arg.principal_id AND g.erased_at IS NULL;
    END IF;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    arg.guest_alias        := v_g.alias;
    arg.guest_birth_year   := v_g.birth_year;
    arg.guest_care_profile := v_g.care_profile;
    arg.guest_needs        := v_g.needs;
    RETURN arg;
END
$$;
COMMENT ON FUNCTION logeer_book_stay_guest(logeer_book_args, boolean) IS
    'Owns the registered-guest step of logeer_book_stay: the principal''s guest, not erased, '
    'its fields copied into the argument; NULL when there is no such guest. p_lock: locked FOR '
    'KEY SHARE (what the stay''s foreign key takes anyway), as step 3d does.';

DROP FUNCTION logeer_book_stay_check_intake(logeer_book_args, uuid, boolean);
CREATE FUNCTION logeer_book_stay_check_intake(arg logeer_book_args, p_location uuid,
                                              p_required boolean, p_lock boolean)
RETURNS logeer_result
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_i     intakes%ROWTYPE;
    v_until date;
BEGIN
    IF NOT p_required OR arg.kind <> 'planned' THEN
        RETURN NULL;
    END IF;
    IF arg.guest_id IS NOT NULL AND p_lock THEN
        SELECT * INTO v_i FROM intakes i
         WHERE i.guest_id = arg.guest_id AND i.location_id = p_location AND i.status = 'decided'
         ORDER BY i.decided_at DESC, i.id
         LIMIT 1
           FOR SHARE;
    ELSIF arg.guest_id IS NOT NULL THEN
        SELECT * INTO v_i FROM intakes i
         WHERE i.guest_id = arg.guest_id AND i.location_id = p_location AND i.status = 'decided'
         ORDER BY i.decided_at DESC, i.id
         LIMIT 1;
    END IF;
    IF v_i.id IS NOT NULL THEN
        v_until := logeer_intake_valid_until(v_i);
    END IF;
    IF v_i.id IS NULL OR v_i.outcome = 'not_suitable' OR v_until < logeer_today() THEN
        RETURN ROW('intake_required', 0, NULL, jsonb_build_object(
                   'location_id', p_location,
                   'intake_id', v_i.id,
                   'intake_outcome', v_i.outcome,
                   'lapsed', coalesce(v_i.outcome <> 'not_suitable' AND v_until < logeer_today(),
                                      false)))::logeer_result;
    END IF;
    IF v_i.outcome = 'trial_first' AND arg.check_out - arg.check_in > v_i.trial_max_nights THEN
        RETURN ROW('trial_too_long', 0, NULL, jsonb_build_object(
                   'trial_max_nights', v_i.trial_max_nights))::logeer_result;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION logeer_book_stay_check_intake(logeer_book_args, uuid, boolean, boolean) IS
    'Owns the intake step of logeer_book_stay: NULL when the booking may go on, else the '
    'outcome intake_required {location_id, intake_id, intake_outcome, lapsed} or '
    'trial_too_long {trial_max_nights}. p_lock: the intake relied on is locked FOR SHARE (step '
    '3d), so that a new decision waits for the booking.';

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
    v_rows     integer;
    v_scarce   date;
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

    -- 1b. A registered guest: the principal's own; its fields go into the stay. Read here,
    -- locked in step 3d (see the top of 0048).
    IF arg.guest_id IS NOT NULL THEN
        arg := logeer_book_stay_guest(arg, false);
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
    v_result := logeer_book_stay_check_intake(arg, v_pool.location_id, v_pool.intake_required,
                                              false);
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
                             FILTER (WHERE n.capacity - n.held - n.booked <= 0),
               (array_agg(n.night ORDER BY n.capacity - n.held - n.booked, n.night))[1]
          INTO v_rows, v_full, v_scarce
          FROM pool_nights n
         WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in AND n.night < arg.check_out;
        IF v_rows < v_nights THEN
            SELECT jsonb_agg(logeer_ymd(g.d) ORDER BY g.d) INTO v_full
              FROM (SELECT arg.check_in + i AS d FROM generate_series(0, v_nights - 1) AS i) AS g
              LEFT JOIN pool_nights n ON n.pool_id = arg.pool_id AND n.night = g.d
             WHERE coalesce(n.capacity - n.held - n.booked, 0) <= 0;
        END IF;
        IF v_full IS NOT NULL THEN
            RETURN ROW('no_beds', 0, NULL, jsonb_build_object('nights', v_full))::logeer_result;
        END IF;

        -- 3c'. Queue on an advisory lock of the stay's scarcest night behind the bookings
        -- taking it now, then look again (see the top of 0048): a request that finds the
        -- night full after all refuses here, with no transaction id, so without a WAL flush
        -- while holding a lock that others wait for. Only while this transaction holds no
        -- row lock (it has no id yet), so that waiting here can never close a cycle with
        -- the nights' row locks; step 4 still decides every booking that goes on.
        IF NOT v_companion AND v_scarce IS NOT NULL
           AND pg_current_xact_id_if_assigned() IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtextextended(
                        'logeer.night:' || arg.pool_id::text || ':' || v_scarce::text, 0));
            SELECT jsonb_agg(logeer_ymd(n.night) ORDER BY n.night) INTO v_full
              FROM pool_nights n
             WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in
               AND n.night < arg.check_out AND n.capacity - n.held - n.booked <= 0;
            IF v_full IS NOT NULL THEN
                RETURN ROW('no_beds', 0, NULL, jsonb_build_object('nights', v_full))::logeer_result;
            END IF;
        END IF;
    END IF;

    -- 3d. What steps 1b and 3b read is locked now, and checked again: the registered guest
    -- (FOR KEY SHARE: still the principal's, not erased; the fields read in 1b go into the
    -- stay, as checked) and the intake the booking relies on (FOR SHARE). Then the pool FOR
    -- KEY SHARE, before any night.
    IF arg.guest_id IS NOT NULL THEN
        IF logeer_book_stay_guest(arg, true) IS NULL THEN
            RETURN ROW('guest_not_found', 0, NULL, NULL)::logeer_result;
        END IF;
        v_result := logeer_book_stay_check_intake(arg, v_pool.location_id,
                                                  v_pool.intake_required, true);
        IF v_result.outcome IS NOT NULL THEN
            RETURN v_result;
        END IF;
    END IF;
    IF NOT v_companion THEN
        PERFORM 1 FROM pools po WHERE po.id = arg.pool_id FOR KEY SHARE;
        IF NOT FOUND THEN
            RETURN ROW('pool_not_found', 0, NULL, NULL)::logeer_result;
        END IF;
    END IF;

    -- 4. Lock the nights in ascending order and count those with a free bed (see 0010).
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
