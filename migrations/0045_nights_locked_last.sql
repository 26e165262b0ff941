-- 0045: the nights' row locks are taken last in a booking and in a stay's transition, so that
-- they are held for the counters and the commit only (issue 17, contention). Restates
-- logeer_book_stay from 0043 and logeer_stay_transition from 0015; what changed is the order of
-- their steps, nothing else. Runs inside the migrator's transaction: no BEGIN/COMMIT.
--
-- Under contention for the last beds of a night the night's row is the one thing every
-- booking and cancellation must have in turn: whoever holds it keeps it until its commit is
-- flushed. Before, a booking locked its nights and then wrote the stay, its history, its
-- outbox event (whose trigger prepares the notifications), the answer for retries, and only
-- then committed; a cancellation locked the nights and then wrote history and outbox. Now:
--
-- * A booking whose outcome can only be "taken" or "no beds" (no waitlist, no companion place,
--   no allowance to draw on: the common case) writes the stay, history, outbox and stored
--   answer first and locks, counts and takes its nights as the last step, inside a block that
--   a full night rolls back (a subtransaction: nothing it wrote remains, and no_beds is still
--   never stored for retries). The lock order is unchanged: the pool FOR KEY SHARE first, then
--   the nights in ascending order; the stay row is new, so no one else waits for it. With the
--   waitlist, a companion place or an allowance what is written depends on the nights, so those
--   bookings keep the nights-first order (inside the same block).
-- * A transition writes its history and outbox right after the stay's own row (which it
--   locks first, as before) and then locks the nights for the counters and the offers to the
--   waitlist.
--
-- Nothing about what is decided changed: a bed is taken only under the nights' locks after
-- they were counted, pool_nights_no_overbooking still stands behind it, the events and
-- stay_events rows are written in the same transaction as the counters, and the outbox is read
-- by transaction id (0008), so a longer gap between an event's id and its commit loses nothing.

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
    v_late     boolean;
    v_allowance uuid;
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

    v_nights := arg.check_out - arg.check_in;

    -- 3c. Without the waitlist, a night that is full in the committed state refuses at once,
    -- without queueing for the nights' locks (see the top of 0043). Step 4 still decides
    -- every booking that goes on.
    IF NOT arg.waitlist THEN
        SELECT jsonb_agg(logeer_ymd(g.d) ORDER BY g.d) INTO v_full
          FROM (SELECT arg.check_in + i AS d FROM generate_series(0, v_nights - 1) AS i) AS g
          LEFT JOIN pool_nights n ON n.pool_id = arg.pool_id AND n.night = g.d
         WHERE coalesce(n.capacity - n.held - n.booked, 0) <= 0;
        IF v_full IS NOT NULL THEN
            RETURN ROW('no_beds', 0, NULL, jsonb_build_object('nights', v_full))::logeer_result;
        END IF;
    END IF;

    -- 4'. Which order (see the top of 0045): the nights last when the outcome can only be
    -- "taken" or no_beds; otherwise (waitlist, companion place, allowance) the nights first,
    -- as before, because what is written depends on what the nights say.
    v_late := NOT arg.waitlist AND NOT v_companion
              AND (arg.guest_id IS NULL OR NOT logeer_funding_needs_allowance(arg.funding));
    IF v_late THEN
        v_status := arg.initial_status;
    ELSE
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
        v_allowance := v_take.allowance_id;

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
    END IF;

    -- The stay, its history and outbox and the stored answer; with v_late the nights follow
    -- in the same block (step 7), and a full night rolls the block back.
    BEGIN
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
                CASE WHEN v_status = 'waitlisted' THEN arg.wait_nights END, v_allowance,
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

        -- 7. The nights last: locked in ascending order, counted, taken (see 0010 and the
        -- top of 0045). A night without a free bed undoes this block: nothing of it stays.
        IF v_late THEN
            WITH locked AS MATERIALIZED (
                SELECT n.night, n.capacity - n.held - n.booked AS free
                  FROM pool_nights n
                 WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in
                   AND n.night < arg.check_out
                 ORDER BY n.night
                   FOR UPDATE)
            SELECT count(*) FILTER (WHERE l.free > 0) INTO v_with_bed FROM locked l;
            IF v_with_bed < v_nights THEN
                RAISE EXCEPTION USING ERRCODE = 'LGNB0';
            END IF;
            UPDATE pool_nights n
               SET held = n.held + logeer_uses_held(v_status),
                   booked = n.booked + logeer_uses_booked(v_status)
             WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in
               AND n.night < arg.check_out;
        END IF;
    EXCEPTION WHEN SQLSTATE 'LGNB0' THEN
        SELECT jsonb_agg(logeer_ymd(g.d) ORDER BY g.d) INTO v_full
          FROM (SELECT arg.check_in + i AS d FROM generate_series(0, v_nights - 1) AS i) AS g
          LEFT JOIN pool_nights n ON n.pool_id = arg.pool_id AND n.night = g.d
         WHERE coalesce(n.capacity - n.held - n.booked, 0) <= 0;
        RETURN ROW('no_beds', 0, NULL, jsonb_build_object('nights', v_full))::logeer_result;
    END;
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
           -- Late or free: only the requester's cancellation of a booking is judged (a hold or
           -- an unanswered request is not one yet; a provider's cancellation is not the
           -- family's). Days count to check-in from today in Europe/Amsterdam.
           cancel_days_before = CASE WHEN v_to = 'cancelled' AND v_from = 'confirmed' AND s.kind = 'planned' AND s.requested_by = v_actor
                                     THEN s.check_in - logeer_today() END,
           cancel_free_days = CASE WHEN v_to = 'cancelled' AND v_from = 'confirmed' AND s.kind = 'planned' AND s.requested_by = v_actor
                                   THEN (SELECT po.free_cancel_days FROM pools po
                                          WHERE po.id = s.pool_id) END,
           cancel_late = CASE WHEN v_to = 'cancelled' AND v_from = 'confirmed' AND s.kind = 'planned' AND s.requested_by = v_actor
                              THEN coalesce(s.check_in - logeer_today()
                                            < (SELECT po.free_cancel_days FROM pools po
                                                WHERE po.id = s.pool_id), false) END,
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

    -- 2. History and outbox, before any night is locked (see the top of 0045).
    PERFORM logeer_record_transition(
        v_stay, v_from, v_actor, v_role, v_reason, 'stay.' || v_to,
        CASE WHEN v_stay.cancel_late IS NOT NULL AND v_to = 'cancelled'
             THEN jsonb_build_object('late', v_stay.cancel_late,
                                     'days_before', v_stay.cancel_days_before)
             ELSE '{}'::jsonb END);

    -- 3. Counters. A release may be offered to the waitlist in this same transaction, so the
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
        -- 2c. ... and its companion place to its nights (locked above).
        IF v_dh + v_db < 0 AND v_stay.companion THEN
            PERFORM logeer_companion_release(ARRAY[v_stay.id]);
        END IF;
    END IF;

    -- 4. Freed beds go to the waitlist before anyone else can book them.
    IF v_dh + v_db < 0 THEN
        PERFORM logeer_offer_locked(v_stay.pool_id, v_stay.check_in, v_stay.check_out, v_ttl);
    END IF;

    RETURN ROW('ok', 200, logeer_stay_json(v_stay)::text, NULL)::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_stay_transition(jsonb) IS
    'POST /v1/stays/{id}/{action}: applies a transition the core decided, atomically with its '
    'counter deltas (beds, allowance nights, companion places), history and outbox, records '
    'whether a requester''s cancellation is late, then offers freed nights to the waitlist at '
    'once, in the same transaction. Outcomes: '
    'ok (200, body = stay), stale {current_status}.';
