-- 0023 time-driven notifications and the offer lifetime (spec section 9, issue 14). Messages
-- that no outbox event causes: a reminder before arrival, a nudge before a pool's counts go
-- stale and the capacity.stale webhook once they are, and the coordinators' weekly digest. One
-- process at a time runs logeer_notify_schedule (a one-row lock, like the producer's cursor);
-- a unique key on the message makes each one once per stay, pool period or week, whatever
-- the number of processes and restarts. Still no health data: ids, dates, place, counts.

-- ---------------------------------------------------------------------------------------------
-- Messages without an event: event_id 0 and a due_key naming what they are once for
-- ---------------------------------------------------------------------------------------------

ALTER TABLE notify_messages ADD COLUMN due_key text NOT NULL DEFAULT '';
COMMENT ON COLUMN notify_messages.due_key IS
    'Time-driven messages (event_id 0): what the message is once for, e.g. stay:<id>, '
    'pool:<id>:<as_of epoch>, week:2026-W49. Empty for messages from outbox events.';
-- The producer's functions name this constraint in ON CONFLICT, so it keeps its name; an
-- event's messages have due_key '' and are unique on the first four columns as before.
ALTER TABLE notify_messages DROP CONSTRAINT notify_messages_once;
ALTER TABLE notify_messages ADD CONSTRAINT notify_messages_once
    UNIQUE (event_id, channel, recipient, kind, due_key);

ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_types_known;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_types_known CHECK (
    cardinality(event_types) BETWEEN 1 AND 20 AND event_types <@ ARRAY[
        'stay.requested', 'stay.confirmed', 'stay.declined', 'stay.cancelled',
        'stay.checked_in', 'stay.completed', 'waitlist.offered', 'capacity.changed',
        'capacity.stale']);

-- When the time-driven scan last ran, whichever process ran it: the scan runs once per
-- interval for all processes together, not once per process.
CREATE TABLE notify_schedule (
    only_row    boolean PRIMARY KEY DEFAULT true,
    last_run_at timestamptz NOT NULL DEFAULT '-infinity',
    CONSTRAINT notify_schedule_one_row CHECK (only_row)
);
COMMENT ON TABLE notify_schedule IS 'The time-driven notification scan''s last run (one row).';
INSERT INTO notify_schedule DEFAULT VALUES;

-- ---------------------------------------------------------------------------------------------
-- Waitlist offers live LOGEER_OFFER_TTL (0015's function otherwise unchanged)
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
    -- The offer's lifetime: the process's LOGEER_OFFER_TTL (a session setting every pool
    -- connection carries), else the caller's search hold as before 0023.
    v_ttl    integer := coalesce(nullif(current_setting('logeer.offer_ttl_s', true), '')::integer,
                                 hold_ttl_s);
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
    'waits for a lock. A registered guest''s entry is offered only nights its allowance holds '
    '(taken with the offer), an entry with a companion only nights with a companion place '
    '(taken with the offer); one that does not fit is passed over. The offer''s hold lives '
    'logeer.offer_ttl_s seconds (LOGEER_OFFER_TTL) when the session sets it, else hold_ttl_s.';

-- ---------------------------------------------------------------------------------------------
-- The time-driven scan
-- ---------------------------------------------------------------------------------------------

-- One time-driven email, once per (recipient, kind, due_key), unless the user is gone or
-- switched the kind off. 1 when a message was made.
CREATE FUNCTION logeer_notify_due_email(u uuid, kind_ text, type_ text, data_ jsonb,
                                        key_ text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF u IS NULL OR NOT EXISTS (SELECT 1 FROM users x WHERE x.id = u AND x.erased_at IS NULL
                                                        AND x.disabled_at IS NULL) THEN
        RETURN 0;
    END IF;
    IF NOT logeer_notify_essential(kind_) AND EXISTS (
           SELECT 1 FROM notify_preferences p WHERE p.user_id = u AND p.kind = kind_
                                                AND NOT p.enabled) THEN
        RETURN 0;
    END IF;
    INSERT INTO notify_messages (event_id, event_type, channel, recipient, kind, data, due_key)
    VALUES (0, type_, 'email', u, kind_, data_, key_)
    ON CONFLICT ON CONSTRAINT notify_messages_once DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- What a reminder shows of a stay: the same fields as an event's message, never the guest.
CREATE FUNCTION logeer_notify_stay_data(s stays) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'event_id', 0, 'event_type', 'stay.reminder', 'stay_id', s.id,
               'status', s.status, 'kind', s.kind,
               'check_in', logeer_ymd(s.check_in), 'check_out', logeer_ymd(s.check_out),
               'pool_id', s.pool_id, 'pool_name', p.name,
               'location_id', l.id, 'location_name', l.name, 'municipality', m.name,
               'provider_id', s.provider_id, 'provider_name', v.name)
      FROM (SELECT 1) one
      LEFT JOIN pools p ON p.id = s.pool_id
      LEFT JOIN locations l ON l.id = p.location_id
      LEFT JOIN municipalities m ON m.code = l.municipality
      LEFT JOIN providers v ON v.id = s.provider_id
$$;

-- Reminders: confirmed stays that start within reminder_days (and not today), to the
-- caregiver who asked. A stay cancelled before the scan is no longer confirmed; a reminder
-- still waiting (no SMTP reachable) for a stay cancelled since is given up here.
CREATE FUNCTION logeer_notify_reminders(reminder_days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    s   stays%ROWTYPE;
    n   integer := 0;
    v_u uuid;
BEGIN
    UPDATE notify_messages m
       SET state = 'failed', last_error = 'the stay is no longer confirmed', claimed_by = NULL
      FROM stays st
     WHERE m.state = 'pending' AND m.channel = 'email' AND m.kind = 'stay_reminder'
       AND st.id = (m.data->>'stay_id')::uuid AND st.status <> 'confirmed';
    FOR s IN SELECT * FROM stays st
              WHERE st.check_in > logeer_today() AND st.check_in <= logeer_today() + reminder_days
                AND st.status = 'confirmed' ORDER BY st.check_in, st.id LOOP
        SELECT x.id INTO v_u FROM users x WHERE x.id = s.requested_by AND x.role = 'caregiver';
        n := n + logeer_notify_due_email(v_u, 'stay_reminder', 'stay.reminder',
                                         logeer_notify_stay_data(s), 'stay:' || s.id);
    END LOOP;
    RETURN n;
END
$$;

-- Staleness: a nudge to the provider's staff when a pool's counts go stale within
-- nudge_hours, and the capacity.stale webhook once they are stale. Both once per pool and
-- as_of: confirming the counts starts a new period.
CREATE FUNCTION logeer_notify_staleness(stale_days integer, nudge_hours integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r        record;
    u        uuid;
    n        integer := 0;
    k        integer;
    v_limit  timestamptz := now() - make_interval(days => stale_days);
    v_data   jsonb;
    v_body   text;
BEGIN
    FOR r IN SELECT po.id, po.name, po.as_of, l.id AS location_id, l.name AS location_name,
                    m.name AS municipality, l.provider_id, v.name AS provider_name,
                    po.as_of + make_interval(days => stale_days) AS stale_at
               FROM pools po
               JOIN locations l ON l.id = po.location_id
               JOIN providers v ON v.id = l.provider_id
               LEFT JOIN municipalities m ON m.code = l.municipality
              WHERE po.active AND po.as_of <= v_limit + make_interval(hours => nudge_hours)
              ORDER BY po.id LOOP
        v_data := jsonb_build_object(
            'event_id', 0, 'pool_id', r.id, 'pool_name', r.name,
            'location_id', r.location_id, 'location_name', r.location_name,
            'municipality', r.municipality, 'provider_id', r.provider_id,
            'provider_name', r.provider_name, 'as_of', logeer_rfc3339(r.as_of),
            'stale_at', logeer_rfc3339(r.stale_at),
            'stale_at_local', to_char(r.stale_at AT TIME ZONE 'Europe/Amsterdam',
                                      'DD-MM-YYYY "om" HH24:MI'));
        IF r.as_of > v_limit THEN
            FOR u IN SELECT x.id FROM users x
                      WHERE x.role = 'provider' AND x.provider_id = r.provider_id
                        AND x.erased_at IS NULL AND x.disabled_at IS NULL ORDER BY x.id LOOP
                n := n + logeer_notify_due_email(
                    u, 'capacity_stale_soon', 'capacity.stale_soon', v_data,
                    'pool:' || r.id || ':' || extract(epoch FROM r.as_of)::text);
            END LOOP;
            CONTINUE;
        END IF;
        v_body := jsonb_build_object(
            'type', 'capacity.stale', 'timestamp', logeer_rfc3339(now()),
            'data', jsonb_build_object('pool_id', r.id, 'location_id', r.location_id,
                                       'provider_id', r.provider_id,
                                       'as_of', logeer_rfc3339(r.as_of),
                                       'stale_since', logeer_rfc3339(r.stale_at)))::text;
        INSERT INTO notify_messages (event_id, event_type, channel, recipient, kind, data, body,
                                     due_key)
        SELECT 0, 'capacity.stale', 'webhook', w.id, 'capacity.stale',
               jsonb_build_object('event_id', 0, 'pool_id', r.id), v_body,
               'pool:' || r.id || ':' || extract(epoch FROM r.as_of)::text
          FROM webhook_endpoints w
         WHERE w.provider_id = r.provider_id AND w.enabled AND w.deleted_at IS NULL
           AND 'capacity.stale' = ANY (w.event_types)
        ON CONFLICT ON CONSTRAINT notify_messages_once DO NOTHING;
        GET DIAGNOSTICS k = ROW_COUNT;
        n := n + k;
    END LOOP;
    RETURN n;
END
$$;

-- The coordinators' weekly digest: once per ISO week (Amsterdam), about the 7 days before it
-- is made. Figures only: counts and provider names.
CREATE FUNCTION logeer_notify_digest(stale_days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_week  text := to_char(now() AT TIME ZONE 'Europe/Amsterdam', 'IYYY-"W"IW');
    v_since timestamptz := now() - interval '7 days';
    v_data  jsonb;
    u       uuid;
    n       integer := 0;
BEGIN
    -- The figures cost a few scans: made only while a coordinator still waits for this week's.
    IF NOT EXISTS (
        SELECT 1 FROM users x
         WHERE x.role = 'coordinator' AND x.erased_at IS NULL AND x.disabled_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM notify_preferences p WHERE p.user_id = x.id
                              AND p.kind = 'weekly_digest' AND NOT p.enabled)
           AND NOT EXISTS (SELECT 1 FROM notify_messages m
                            WHERE m.event_id = 0 AND m.channel = 'email' AND m.recipient = x.id
                              AND m.kind = 'weekly_digest' AND m.due_key = 'week:' || v_week)) THEN
        RETURN 0;
    END IF;
    SELECT jsonb_build_object(
               'event_id', 0, 'week', v_week,
               'period_from', logeer_ymd((v_since AT TIME ZONE 'Europe/Amsterdam')::date),
               'period_to', logeer_ymd((now() AT TIME ZONE 'Europe/Amsterdam')::date),
               'diversions', (SELECT count(*) FROM stays s
                               WHERE s.diversion_reason IS NOT NULL AND s.created_at >= v_since),
               'searches_without_result', (SELECT count(*) FROM searches q
                                            WHERE q.at >= v_since AND q.results = 0),
               'requests_declined', (SELECT count(*) FROM stays s
                                      WHERE s.status = 'declined' AND s.updated_at >= v_since),
               'waitlisted', (SELECT count(*) FROM stays s WHERE s.status = 'waitlisted'),
               'stale_providers', (
                   SELECT coalesce(jsonb_agg(x.name ORDER BY x.name), '[]'::jsonb)
                     FROM (SELECT DISTINCT v.name FROM pools po
                             JOIN locations l ON l.id = po.location_id
                             JOIN providers v ON v.id = l.provider_id
                            WHERE po.active
                              AND po.as_of < now() - make_interval(days => stale_days)) x))
      INTO v_data;
    FOR u IN SELECT x.id FROM users x
              WHERE x.role = 'coordinator' AND x.erased_at IS NULL AND x.disabled_at IS NULL
              ORDER BY x.id LOOP
        n := n + logeer_notify_due_email(u, 'weekly_digest', 'digest.weekly', v_data,
                                         'week:' || v_week);
    END LOOP;
    RETURN n;
END
$$;

-- One scan by one process: -1 when another process is scanning, 0 when one scanned less than
-- interval_s ago (so N processes scan once per interval together), else the messages made.
-- Arguments: {interval_s, reminder_days, stale_days, nudge_hours}.
CREATE FUNCTION logeer_notify_schedule(p jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    fn       constant text := 'logeer_notify_schedule';
    v_every  integer := logeer_arg_int(p, 'interval_s', fn, true, 1, 86400);
    v_remind integer := logeer_arg_int(p, 'reminder_days', fn, true, 1, 30);
    v_stale  integer := logeer_arg_int(p, 'stale_days', fn, true, 1, 3650);
    v_nudge  integer := logeer_arg_int(p, 'nudge_hours', fn, true, 1, 24 * 3650);
    v_last   timestamptz;
    n        integer;
BEGIN
    SELECT last_run_at INTO v_last FROM notify_schedule FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN -1;
    END IF;
    -- A little early counts: processes' timers drift against each other.
    IF v_last > now() - make_interval(secs => v_every * 0.9) THEN
        RETURN 0;
    END IF;
    n := logeer_notify_reminders(v_remind)
       + logeer_notify_staleness(v_stale, v_nudge)
       + logeer_notify_digest(v_stale);
    UPDATE notify_schedule SET last_run_at = now();
    RETURN n;
END
$$;
COMMENT ON FUNCTION logeer_notify_schedule(jsonb) IS
    'Time-driven messages (reminders, stale nudges and capacity.stale, weekly digest), once '
    'each by their unique key; at most one scan per interval_s over all processes.';
