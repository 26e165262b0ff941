-- 0015: companion places, transport, late cancellations (docs/practice.md, issue 21). Owns
-- pools.companion_places and free_cancel_days, pool_nights.companions, the stay columns
-- companion, arrival, departure and cancel_*, the transport change and the cancellations
-- report. Replaces the booking, transition, sweeper, capacity-cancel and offer functions of
-- 0012 so that a companion place is taken and given back exactly like the beds.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

-- ---------------------------------------------------------------------------------------------
-- Pool settings
-- ---------------------------------------------------------------------------------------------

-- A companion place is a room or bed where the caregiver stays along. A location has a fixed
-- number of them (a guest room beside the logeer rooms), not a count that changes per night
-- like staffed beds, so the provider keeps one number per pool; what is taken is counted per
-- night in pool_nights.companions.
ALTER TABLE pools
    ADD COLUMN companion_places integer NOT NULL DEFAULT 0,
    ADD COLUMN free_cancel_days integer,
    ADD CONSTRAINT pools_companion_places_range CHECK (companion_places BETWEEN 0 AND 50),
    ADD CONSTRAINT pools_free_cancel_days_range CHECK (free_cancel_days BETWEEN 0 AND 365);
COMMENT ON COLUMN pools.companion_places IS
    'Places for a caregiver staying along with the guest, the same every night; 0: none.';
COMMENT ON COLUMN pools.free_cancel_days IS
    'The requester cancels a confirmed stay free until this many days before check-in; later '
    'it is still possible but recorded as late. NULL: always free.';

ALTER TABLE pool_nights
    ADD COLUMN companions integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT pool_nights_companions_nonnegative CHECK (companions >= 0);
COMMENT ON COLUMN pool_nights.companions IS
    'Companion places taken this night by stays that take a bed (held .. completed).';

-- The last line of defence, like pool_nights_no_overbooking for beds: a night never counts
-- more companions than the pool has places. The booking refuses first (conditional update);
-- this fires only if a function were wrong. The places live on the pool, so it is a trigger.
CREATE FUNCTION logeer_pool_nights_companions_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.companions > OLD.companions
       AND NEW.companions > (SELECT po.companion_places FROM pools po WHERE po.id = NEW.pool_id) THEN
        RAISE EXCEPTION 'night % of pool % would count % companions', NEW.night, NEW.pool_id,
                        NEW.companions
            USING ERRCODE = 'check_violation', CONSTRAINT = 'pool_nights_companions_within_places',
                  TABLE = 'pool_nights';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER pool_nights_companions_within_places BEFORE UPDATE OF companions ON pool_nights
    FOR EACH ROW EXECUTE FUNCTION logeer_pool_nights_companions_check();

-- Fewer places than are taken on a night from today on is refused, like lowering capacity
-- below what is booked (nothing confirmed disappears silently). A booking with a companion
-- holds the pool FOR SHARE, so this UPDATE waits for it and then counts it.
CREATE FUNCTION logeer_pools_companion_places_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_nights jsonb;
BEGIN
    IF NEW.companion_places < OLD.companion_places THEN
        SELECT jsonb_agg(logeer_ymd(n.night) ORDER BY n.night) INTO v_nights
          FROM pool_nights n
         WHERE n.pool_id = NEW.id AND n.night >= logeer_today()
           AND n.companions > NEW.companion_places;
        IF v_nights IS NOT NULL THEN
            RAISE EXCEPTION 'companion places below what is taken on %', v_nights
                USING ERRCODE = 'check_violation', CONSTRAINT = 'pools_companion_places_below_taken',
                      TABLE = 'pools';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER pools_companion_places_below_taken BEFORE UPDATE OF companion_places ON pools
    FOR EACH ROW EXECUTE FUNCTION logeer_pools_companion_places_check();

-- ---------------------------------------------------------------------------------------------
-- Stay columns
-- ---------------------------------------------------------------------------------------------

-- Who brings or collects the guest and when: {"by": caregiver|provider|other, "time":
-- "HH:MM", "note": text or absent}. The note is for practical arrangements, never for a
-- citizen service number (health data stays out of it: the api says so, the check refuses
-- the one thing it can recognise).
CREATE FUNCTION logeer_transport_valid(t jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT jsonb_typeof(t) = 'object'
       AND NOT EXISTS (SELECT 1 FROM jsonb_object_keys(t) AS k WHERE k NOT IN ('by', 'time', 'note'))
       AND t ->> 'by' IN ('caregiver', 'provider', 'other')
       AND jsonb_typeof(t -> 'by') = 'string'
       AND (NOT t ? 'time' OR (jsonb_typeof(t -> 'time') = 'string'
                               AND t ->> 'time' ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'))
       AND (NOT t ? 'note' OR (jsonb_typeof(t -> 'note') = 'string'
                               AND length(btrim(t ->> 'note')) BETWEEN 1 AND 300
                               AND NOT logeer_text_has_bsn(t ->> 'note')))
$$;
COMMENT ON FUNCTION logeer_transport_valid(jsonb) IS
    'True for {"by": caregiver|provider|other, "time"?: "HH:MM", "note"?: 1..300 characters '
    'without a citizen service number}.';

ALTER TABLE stays
    ADD COLUMN companion boolean NOT NULL DEFAULT false,
    ADD COLUMN arrival jsonb,
    ADD COLUMN departure jsonb,
    ADD COLUMN cancel_days_before integer,
    ADD COLUMN cancel_late boolean,
    ADD COLUMN cancel_free_days integer,
    ADD CONSTRAINT stays_arrival_shape CHECK (arrival IS NULL OR logeer_transport_valid(arrival)),
    ADD CONSTRAINT stays_departure_shape CHECK (
        departure IS NULL OR logeer_transport_valid(departure)),
    ADD CONSTRAINT stays_cancellation_recorded CHECK (
        (cancel_late IS NULL) = (cancel_days_before IS NULL)
        AND (cancel_late IS NULL OR status = 'cancelled'));
COMMENT ON COLUMN stays.companion IS
    'The caregiver stays along: the stay takes a companion place on each of its nights while '
    'it takes a bed.';
COMMENT ON COLUMN stays.arrival IS 'Who brings the guest and when (logeer_transport_valid).';
COMMENT ON COLUMN stays.departure IS 'Who collects the guest and when (logeer_transport_valid).';
COMMENT ON COLUMN stays.cancel_days_before IS
    'For a confirmed planned stay cancelled by its requester: days from the cancellation '
    '(Europe/Amsterdam) to check-in.';
COMMENT ON COLUMN stays.cancel_late IS
    'With cancel_days_before: later than the pool''s free_cancel_days allowed (false when the '
    'pool had no limit).';
COMMENT ON COLUMN stays.cancel_free_days IS
    'The pool''s free_cancel_days when the stay was cancelled (the policy it was judged by).';

-- Reports and the arrivals list read stays by date.
CREATE INDEX stays_check_in_idx ON stays (check_in) WHERE check_in IS NOT NULL;
CREATE INDEX stays_check_out_idx ON stays (check_out) WHERE check_out IS NOT NULL;

-- The stay JSON gains companion, arrival, departure and cancellation (0014's shape otherwise
-- unchanged).
CREATE OR REPLACE FUNCTION logeer_stay_json(s stays) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', s.id,
        'status', s.status,
        'kind', s.kind,
        'pool_id', s.pool_id,
        'provider_id', s.provider_id,
        'pool_kind', s.pool_kind,
        'check_in', logeer_ymd(s.check_in),
        'check_out', logeer_ymd(s.check_out),
        'nights', s.check_out - s.check_in,
        'funding', s.funding,
        'guest_id', s.guest_id,
        'guest', jsonb_build_object(
            'alias', s.guest_alias,
            'birth_year', s.guest_birth_year,
            'care_profile', s.guest_care_profile,
            'needs', coalesce(to_jsonb(s.guest_needs), '[]'::jsonb)),
        'on_behalf_of', s.on_behalf_of,
        'requested_by_role', s.requested_by_role,
        'hold_expires_at', logeer_rfc3339(s.hold_expires_at),
        'diversion_reason', s.diversion_reason,
        'decline_reason', s.decline_reason,
        'cancel_reason', s.cancel_reason,
        'waitlist', CASE WHEN s.wait_nights IS NOT NULL THEN jsonb_build_object(
            'earliest_check_in', logeer_ymd(s.wait_earliest_check_in),
            'latest_check_out', logeer_ymd(s.wait_latest_check_out),
            'nights', s.wait_nights) END,
        'guaranteed', s.guaranteed,
        'guarantee_deadline', logeer_ymd(s.guarantee_deadline),
        'companion', s.companion,
        'arrival', s.arrival,
        'departure', s.departure,
        'cancellation', CASE WHEN s.cancel_late IS NOT NULL THEN jsonb_build_object(
            'late', s.cancel_late, 'days_before', s.cancel_days_before,
            'free_cancel_days', s.cancel_free_days) END,
        'created_at', logeer_rfc3339(s.created_at),
        'updated_at', logeer_rfc3339(s.updated_at),
        'version', s.version)
$$;

-- ---------------------------------------------------------------------------------------------
-- Companion places: taking and giving back
-- ---------------------------------------------------------------------------------------------

-- Gives back the companion places of the given stays (which took them until now and have just
-- stopped), per night. The caller holds the nights' locks. Stays without a companion are
-- ignored.
CREATE FUNCTION logeer_companion_release(p_stays uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_stays IS NULL OR cardinality(p_stays) = 0 THEN
        RETURN;
    END IF;
    UPDATE pool_nights n SET companions = n.companions - c.taken
      FROM (SELECT s.pool_id, s.check_in + i AS night, count(*)::integer AS taken
              FROM stays s
             CROSS JOIN LATERAL generate_series(0, s.check_out - s.check_in - 1) AS i
             WHERE s.id = ANY (p_stays) AND s.companion
             GROUP BY 1, 2) AS c
     WHERE n.pool_id = c.pool_id AND n.night = c.night;
END
$$;
COMMENT ON FUNCTION logeer_companion_release(uuid[]) IS
    'Gives the companion places of stays that just stopped taking a bed back to their nights, '
    'in the caller''s transaction (which holds the nights).';
-- ---------------------------------------------------------------------------------------------
-- logeer_book_stay: 0012's steps with the companion place (4a) after the nights are locked and
-- transport recorded with the stay. Lock order as in 0012; with a companion the pool is held
-- FOR SHARE instead of FOR KEY SHARE, so that a change of its companion_places waits.
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

-- ---------------------------------------------------------------------------------------------
-- Waitlist offers take the companion place too (0012's function otherwise unchanged)
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
    v_places integer;   -- companion places; 0 while a change of them holds the pool
BEGIN
    SELECT po.active, logeer_today() + po.lead_days INTO v_active, v_first
      FROM pools po WHERE po.id = pool;
    IF NOT FOUND OR NOT v_active THEN
        RETURN 0;
    END IF;
    -- Read FOR SHARE like a booking with a companion, but never waiting: while a PATCH of the
    -- pool holds it, entries with a companion are passed over this round.
    SELECT po.companion_places INTO v_places FROM pools po WHERE po.id = pool
       FOR SHARE SKIP LOCKED;
    v_places := coalesce(v_places, 0);
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
        CONTINUE WHEN v_w.companion AND v_places = 0;
        WITH free_nights AS MATERIALIZED (
            SELECT n.night, n.capacity - n.held - n.booked AS free, n.companions
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
                      FROM free_nights fn
                     WHERE fn.free > 0 AND (NOT v_w.companion OR fn.companions < v_places)) AS f
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

        UPDATE pool_nights n SET held = n.held + 1,
               companions = n.companions + CASE WHEN v_w.companion THEN 1 ELSE 0 END
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
    '(taken with the offer), an entry with a companion only nights with a companion place '
    '(taken with the offer); one that does not fit is passed over.';


-- ---------------------------------------------------------------------------------------------
-- Releases: every way a stay stops taking a bed gives its allowance nights back

-- ---------------------------------------------------------------------------------------------
-- 0012's transition; a release gives the companion place back too (2c), and a requester's
-- cancellation of a confirmed planned stay is judged against the pool's free_cancel_days (1).
-- ---------------------------------------------------------------------------------------------

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

    -- 3. History and outbox.
    PERFORM logeer_record_transition(
        v_stay, v_from, v_actor, v_role, v_reason, 'stay.' || v_to,
        CASE WHEN v_stay.cancel_late IS NOT NULL AND v_to = 'cancelled'
             THEN jsonb_build_object('late', v_stay.cancel_late,
                                     'days_before', v_stay.cancel_days_before)
             ELSE '{}'::jsonb END);

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



-- 0012's sweeper; expired holds give their companion places back too.
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
    PERFORM logeer_companion_release(v_ids);
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
    'holds (SKIP LOCKED), releases their nights (beds, companion places and allowance '
    'nights), offers them to the waitlist, and expires '
    'waitlist entries whose window has passed. Returns the number of holds expired.';


-- 0012's capacity-change cancellations give their companion places back too.
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
    PERFORM logeer_companion_release(arg.cancel_stay_ids);
    PERFORM logeer_allowance_release(arg.cancel_stay_ids);
END
$$;
COMMENT ON FUNCTION logeer_capacity_cancel(logeer_capacity_args) IS
    'Owns step 3c of logeer_set_capacity: cancels the named stays (locked by '
    'logeer_capacity_lock_cancels, nights by logeer_capacity_lock_nights), releases their '
    'nights (beds, companion places and allowance nights) and writes their history and '
    'outbox rows.';



-- ---------------------------------------------------------------------------------------------
-- Transport: changed by the requester until check-in
-- ---------------------------------------------------------------------------------------------

-- PATCH /v1/stays/{id}: p {stay_id, actor_id, version (the one the api read, or the client's
-- If-Match), arrival and/or departure (an object, or null to clear)}. The api has checked the
-- times against the pool's windows (src/core/rules.c) on the version it read; the condition on
-- that version makes the check hold for the row changed here.
CREATE FUNCTION logeer_stay_set_transport(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_stay_set_transport';
    v_id      uuid;
    v_actor   uuid;
    v_version integer;
    v_stay    stays%ROWTYPE;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_id      := logeer_arg_uuid(p, 'stay_id', fn, true);
    v_actor   := logeer_arg_uuid(p, 'actor_id', fn, true);
    v_version := logeer_arg_int(p, 'version', fn, true, 1, 2147483647);
    SELECT * INTO v_stay FROM stays s
     WHERE s.id = v_id AND s.requested_by = v_actor
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN ROW('not_found', 0, NULL, NULL)::logeer_result;
    END IF;
    IF v_stay.version <> v_version THEN
        RETURN ROW('stale', 0, NULL,
                   jsonb_build_object('current_version', v_stay.version))::logeer_result;
    END IF;
    IF v_stay.status NOT IN ('waitlisted', 'held', 'requested', 'confirmed') THEN
        RETURN ROW('too_late', 0, NULL,
                   jsonb_build_object('current_status', v_stay.status))::logeer_result;
    END IF;
    UPDATE stays s SET
        arrival = CASE WHEN p ? 'arrival' THEN nullif(p -> 'arrival', 'null'::jsonb)
                       ELSE s.arrival END,
        departure = CASE WHEN p ? 'departure' THEN nullif(p -> 'departure', 'null'::jsonb)
                         ELSE s.departure END
     WHERE s.id = v_id
    RETURNING * INTO v_stay;
    -- No personal data in the outbox: which stay, and that its transport changed.
    INSERT INTO events (type, provider_id, pool_id, stay_id, night_from, night_to, payload)
    VALUES ('stay.transport_changed', v_stay.provider_id, v_stay.pool_id, v_stay.id,
            v_stay.check_in, v_stay.check_out,
            jsonb_build_object('status', v_stay.status, 'kind', v_stay.kind,
                               'arrival_by', v_stay.arrival ->> 'by',
                               'departure_by', v_stay.departure ->> 'by'));
    RETURN ROW('ok', 200, logeer_stay_json(v_stay)::text, NULL)::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_stay_set_transport(jsonb) IS
    'PATCH /v1/stays/{id}: the requester changes arrival and departure until check-in. '
    'Outcomes: ok (200, body = stay), not_found, stale {current_version}, too_late '
    '{current_status}; a stay.transport_changed event in the outbox.';

-- ---------------------------------------------------------------------------------------------
-- GET /v1/reports/cancellations
-- ---------------------------------------------------------------------------------------------

-- Per pool and calendar month (Europe/Amsterdam) of the day it happened, over the days
-- [from, to): cancellations of stays that held or had a bed (held, requested, confirmed), by
-- whom, how many late, no-shows, and the nights they released. Waitlist withdrawals and
-- expired holds are not cancellations. p {from, to, provider_id (NULL: every provider)}.
CREATE FUNCTION logeer_report_cancellations(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fn constant text := 'logeer_report_cancellations';
    v_from     date := logeer_arg_date(p, 'from', fn, true);
    v_to       date := logeer_arg_date(p, 'to', fn, true);
    v_provider uuid := logeer_arg_uuid(p, 'provider_id', fn, false);
    v_rows     jsonb;
    v_total    jsonb;
BEGIN
    WITH facts AS (
        SELECT s.pool_id, to_char(e.at AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM') AS month,
               count(*) FILTER (WHERE e.to_status = 'cancelled')::integer AS cancelled,
               count(*) FILTER (WHERE e.to_status = 'cancelled'
                                  AND e.actor_id = s.requested_by)::integer AS by_requester,
               count(*) FILTER (WHERE e.to_status = 'cancelled'
                                  AND e.actor_role = 'provider')::integer AS by_provider,
               count(*) FILTER (WHERE e.to_status = 'cancelled' AND s.cancel_late)::integer AS late,
               count(*) FILTER (WHERE e.to_status = 'no_show')::integer AS no_shows,
               coalesce(sum(s.check_out - s.check_in), 0)::integer AS nights
          FROM stay_events e
          JOIN stays s ON s.id = e.stay_id
         WHERE e.to_status IN ('cancelled', 'no_show')
           AND e.from_status IN ('held', 'requested', 'confirmed')
           AND e.at >= logeer_local_start(v_from) AND e.at < logeer_local_start(v_to)
           AND s.pool_id IS NOT NULL
           AND (v_provider IS NULL OR s.provider_id = v_provider)
         GROUP BY 1, 2)
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'pool', jsonb_build_object('id', po.id, 'name', po.name,
                                          'free_cancel_days', po.free_cancel_days),
               'provider', jsonb_build_object('id', pv.id, 'name', pv.name),
               'month', f.month, 'cancellations', f.cancelled,
               'by_requester', f.by_requester, 'by_provider', f.by_provider, 'late', f.late,
               'no_shows', f.no_shows, 'nights_released', f.nights)
               ORDER BY pv.name, po.name, po.id, f.month), '[]'::jsonb),
           jsonb_build_object(
               'cancellations', coalesce(sum(f.cancelled), 0), 'by_requester',
               coalesce(sum(f.by_requester), 0), 'by_provider', coalesce(sum(f.by_provider), 0),
               'late', coalesce(sum(f.late), 0), 'no_shows', coalesce(sum(f.no_shows), 0),
               'nights_released', coalesce(sum(f.nights), 0))
      INTO v_rows, v_total
      FROM facts f
      JOIN pools po ON po.id = f.pool_id
      JOIN providers pv ON pv.id = po.provider_id;
    RETURN jsonb_build_object('from', logeer_ymd(v_from), 'to', logeer_ymd(v_to),
                              'provider_id', v_provider, 'rows', v_rows, 'total', v_total);
END
$$;
COMMENT ON FUNCTION logeer_report_cancellations(jsonb) IS
    'GET /v1/reports/cancellations: per pool and month, cancellations (by requester, by '
    'provider, late), no-shows and nights released, with region totals.';
