-- Waiting-list offers a pool would take. Restates logeer_offer_locked from its latest
-- definition (0023, which gave the offer its own lifetime); the only changes: the pool's row
-- is read whole, and the check-in is the earliest one inside a free island that
-- logeer_pool_takes_stay (0021) accepts, rather than the island's first night. In a pool with
-- blocks the first night could be a stay its own booking refuses (Monday to Thursday with
-- blocks ma-wo, wo-vr, vr-ma). For a pool without arrival days or blocks the offer is as before.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

CREATE OR REPLACE FUNCTION logeer_offer_locked(pool uuid, night_from date, night_to date,
                                    hold_ttl_s integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_first  date;      -- earliest check-in the pool accepts today (lead time)
    v_lo     date;      -- the candidates' windows together: [v_lo, v_hi)
    v_hi     date;
    v_run    integer;   -- longest run of free nights left in [v_lo, v_hi)
    v_w      stays%ROWTYPE;
    v_in     date;
    v_offers integer := 0;
    v_a      allowances%ROWTYPE;
    v_aid    uuid;
    v_places integer;   -- companion places; 0 while a change of them holds the pool
    v_pool   pools%ROWTYPE; -- its rules, for logeer_pool_takes_stay
    -- The offer's lifetime: the process's LOGEER_OFFER_TTL (a session setting every pool
    -- connection carries), else the caller's search hold as before 0023.
    v_ttl    integer := coalesce(nullif(current_setting('logeer.offer_ttl_s', true), '')::integer,
                                 hold_ttl_s);
BEGIN
    SELECT * INTO v_pool FROM pools po WHERE po.id = pool;
    IF NOT FOUND OR NOT v_pool.active THEN
        RETURN 0;
    END IF;
    v_first := logeer_today() + v_pool.lead_days;
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
        -- Any check-in inside a long enough island, not only its first night: a pool with
        -- arrival days or blocks takes the stay only from some weekdays (0021).
        SELECT min(i.first_night + k) INTO v_in
          FROM islands i
         CROSS JOIN LATERAL generate_series(0, i.len::integer - v_w.wait_nights) AS k
         WHERE i.len >= v_w.wait_nights
           AND i.first_night + k <= v_w.wait_latest_check_out - v_w.wait_nights
           AND logeer_pool_takes_stay(v_pool, i.first_night + k, v_w.wait_nights);
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
               hold_expires_at = now() + make_interval(secs => v_ttl),
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
    'waits for a lock. An entry is offered only a stay the pool''s rules take '
    '(logeer_pool_takes_stay: arrival days, blocks, nights, lead time, horizon), the earliest '
    'such check-in, held for logeer.offer_ttl_s (LOGEER_OFFER_TTL) when set. A registered '
    'guest''s entry is offered only nights its allowance holds (taken with the offer), an '
    'entry with a companion only nights with a companion place (taken with the offer); one '
    'that does not fit is passed over.';
