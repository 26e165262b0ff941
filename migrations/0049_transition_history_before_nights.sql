-- 0049: a stay's transition writes its history, its outbox row and its answer before it locks
-- the nights (issue 17, contention). Restates logeer_stay_transition from 0015 (with 0046's
-- plan setting); nothing else changes. Runs inside the migrator's transaction: no BEGIN/COMMIT.
--
-- In the race for a night's last beds every hold and every cancel holds the night's row from
-- its lock to its commit, and the others wait for it. A cancel did three things under that
-- lock that do not touch the nights: the history row and the outbox event
-- (logeer_record_transition) and the stay's JSON answer (logeer_stay_json). They now come
-- right after the status change (step 1, which locks the stay row before any night, as the
-- lock order requires) and before the nights are locked (step 2), so the night is held for the
-- counters, the allowance and companion releases and the waitlist offers only. Same rows, same
-- outcome: the transaction is all or nothing, the stay's JSON reads only the stay row (which
-- steps 2-4 do not change), and the event still comes before the offers' events. The order
-- tried before 0048 (docs/performance.md, "The pool lock after the quick look") was no better
-- while every commit flushed the WAL with the night held; measured again after 0048 in
-- "A transition's history before its nights (migration 0049)".

CREATE OR REPLACE FUNCTION logeer_stay_transition(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    v_answer text;
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

    -- 1b. History, outbox and the answer, before any night is locked (see the top of 0049).
    PERFORM logeer_record_transition(
        v_stay, v_from, v_actor, v_role, v_reason, 'stay.' || v_to,
        CASE WHEN v_stay.cancel_late IS NOT NULL AND v_to = 'cancelled'
             THEN jsonb_build_object('late', v_stay.cancel_late,
                                     'days_before', v_stay.cancel_days_before)
             ELSE '{}'::jsonb END);

    v_answer := logeer_stay_json(v_stay)::text;

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
        -- 2c. ... and its companion place to its nights (locked above).
        IF v_dh + v_db < 0 AND v_stay.companion THEN
            PERFORM logeer_companion_release(ARRAY[v_stay.id]);
        END IF;
    END IF;

    -- 3. Freed beds go to the waitlist before anyone else can book them.
    IF v_dh + v_db < 0 THEN
        PERFORM logeer_offer_locked(v_stay.pool_id, v_stay.check_in, v_stay.check_out, v_ttl);
    END IF;

    RETURN ROW('ok', 200, v_answer, NULL)::logeer_result;
END
$$;
ALTER FUNCTION logeer_stay_transition(jsonb) SET plan_cache_mode = force_generic_plan;
