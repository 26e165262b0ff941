-- 0005: the reservation core's writes: booking, stay transitions, hold expiry, waitlist
-- offers and capacity changes, plus the stay JSON and the inventory notifications. Every
-- function here is one atomic step the C service calls as a single statement. Must never
-- change a counter except through pool_nights rows locked in the global lock order below, and
-- runs inside the migrator's transaction: no BEGIN/COMMIT, no CONCURRENTLY.
--
-- Lock order (why no two of these functions can deadlock each other):
--   1. stays rows: taken with FOR UPDATE only while the transaction holds no pool_nights row;
--      a transaction that already holds nights takes stays only with SKIP LOCKED.
--   2. the pool row: bookings take FOR KEY SHARE (what their foreign keys take anyway) before
--      any night; capacity writers take FOR NO KEY UPDATE, which serialises them against each
--      other but never blocks a booking's or an event's foreign-key check.
--   3. pool_nights rows in ascending (pool_id, night) order. Every function first works out
--      the whole span of nights it may touch, including the windows of the waitlist entries
--      it may offer to, and locks that span in one ascending sweep before changing anything.
--      Nights outside that span (only a waitlist entry created meanwhile can ask for them)
--      are taken with SKIP LOCKED, never waited for.
-- The CHECK constraint pool_nights_no_overbooking stays the last line of defence: nothing
-- here catches its 23514, so if these functions were ever wrong the transaction still fails.

-- ---------------------------------------------------------------------------------------------
-- The result row shared by the functions the API calls
-- ---------------------------------------------------------------------------------------------

CREATE TYPE logeer_result AS (
    outcome text,   -- machine word; the C api layer maps it to the HTTP answer
    status  integer, -- HTTP status for a success (200/201), else 0
    body    text,   -- exact JSON text to send for a success, else NULL
    detail  jsonb   -- facts for a problem (or the new version after a capacity change)
);
COMMENT ON TYPE logeer_result IS
    'One answer of a reservation function. Call as SELECT * FROM f($1): SELECT (f($1)).* would '
    'run the function once per column.';

-- Waitlist offers walk one pool's entries first come, first served and must not scan every
-- waitlisted stay of the region to do so.
CREATE INDEX stays_waitlist_pool_idx ON stays (pool_id, created_at, id) WHERE status = 'waitlisted';
-- The open-stays limit counts a principal's held, requested and waitlisted stays on every
-- booking; the requester index would read the principal's whole history to do so.
CREATE INDEX stays_open_by_requester_idx ON stays (requested_by)
    WHERE status IN ('held', 'requested', 'waitlisted');

-- ---------------------------------------------------------------------------------------------
-- Small shared helpers
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_today() RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (now() AT TIME ZONE 'Europe/Amsterdam')::date
$$;
COMMENT ON FUNCTION logeer_today() IS
    'The service''s "today": the date in Europe/Amsterdam at transaction start, whatever the '
    'session time zone.';

CREATE FUNCTION logeer_rfc3339(ts timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;
COMMENT ON FUNCTION logeer_rfc3339(timestamptz) IS
    'An instant as RFC 3339 in UTC with whole seconds, the form every API answer uses.';

-- to_char rather than a cast: date output follows DateStyle, which a session may change.
CREATE FUNCTION logeer_ymd(d date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(d::timestamp, 'YYYY-MM-DD')
$$;
COMMENT ON FUNCTION logeer_ymd(date) IS 'A date as YYYY-MM-DD, independent of DateStyle.';

-- ---------------------------------------------------------------------------------------------
-- Argument checks. C validates every request before calling; these exist so that a bug there
-- surfaces as a clear 22023 naming the field, not as a constraint violation further down that
-- the api layer would mistake for a business answer (23514 means "no beds" to it).
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_bad_arg(fn text, msg text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%: %', fn, msg USING ERRCODE = 'invalid_parameter_value';
END
$$;
COMMENT ON FUNCTION logeer_bad_arg(text, text) IS
    'Raises 22023 invalid_parameter_value with "fn: msg".';

-- A JSON string, or NULL when the key is absent or JSON null.
CREATE FUNCTION logeer_arg_text(p jsonb, key text, fn text, required boolean,
                                max_len integer DEFAULT 1000) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v jsonb := p -> key;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF required THEN
            PERFORM logeer_bad_arg(fn, key || ' is required');
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        PERFORM logeer_bad_arg(fn, key || ' must be a string');
    END IF;
    IF length(v #>> '{}') > max_len THEN
        PERFORM logeer_bad_arg(fn, key || ' is longer than ' || max_len || ' characters');
    END IF;
    RETURN v #>> '{}';
END
$$;

CREATE FUNCTION logeer_arg_uuid(p jsonb, key text, fn text, required boolean) RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v text := logeer_arg_text(p, key, fn, required, 36);
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF v !~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN
        PERFORM logeer_bad_arg(fn, key || ' must be a UUID');
    END IF;
    RETURN v::uuid;
END
$$;

-- Only YYYY-MM-DD: the date input routine would also take 'today', 'epoch' or 'infinity', and
-- an impossible day would fail with a datetime error instead of naming the field. Checked
-- without an exception block, which would cost a subtransaction on every call.
CREATE FUNCTION logeer_arg_date(p jsonb, key text, fn text, required boolean) RETURNS date
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v text := logeer_arg_text(p, key, fn, required, 10);
    y integer;
    m integer;
    d integer;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    IF v !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        PERFORM logeer_bad_arg(fn, key || ' must be a date YYYY-MM-DD');
    END IF;
    y := substr(v, 1, 4)::integer;
    m := substr(v, 6, 2)::integer;
    d := substr(v, 9, 2)::integer;
    IF y < 1 OR m NOT BETWEEN 1 AND 12
       OR d NOT BETWEEN 1 AND extract(day FROM make_date(y, m, 1) + interval '1 month - 1 day') THEN
        PERFORM logeer_bad_arg(fn, key || ' is not a calendar date: ' || v);
    END IF;
    RETURN make_date(y, m, d);
END
$$;

CREATE FUNCTION logeer_arg_int(p jsonb, key text, fn text, required boolean,
                               lo integer, hi integer) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v jsonb := p -> key;
    n numeric;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF required THEN
            PERFORM logeer_bad_arg(fn, key || ' is required');
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'number' THEN
        PERFORM logeer_bad_arg(fn, key || ' must be a number');
    END IF;
    n := (v #>> '{}')::numeric;
    IF n <> trunc(n) OR n < lo OR n > hi THEN
        PERFORM logeer_bad_arg(fn, key || ' must be a whole number from ' || lo || ' to ' || hi);
    END IF;
    RETURN n::integer;
END
$$;

CREATE FUNCTION logeer_arg_bool(p jsonb, key text, fn text, dflt boolean) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v jsonb := p -> key;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN dflt;
    END IF;
    IF jsonb_typeof(v) <> 'boolean' THEN
        PERFORM logeer_bad_arg(fn, key || ' must be true or false');
    END IF;
    RETURN (v #>> '{}')::boolean;
END
$$;

-- An enum label given as text; a plain cast would fail with 22P02 and no field name.
CREATE FUNCTION logeer_arg_status(p jsonb, key text, fn text) RETURNS stay_status
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v text := logeer_arg_text(p, key, fn, true, 20);
BEGIN
    IF NOT v = ANY (enum_range(NULL::stay_status)::text[]) THEN
        PERFORM logeer_bad_arg(fn, key || ' is not a stay status: ' || v);
    END IF;
    RETURN v::stay_status;
END
$$;

CREATE FUNCTION logeer_arg_role(p jsonb, key text, fn text, required boolean) RETURNS user_role
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v text := logeer_arg_text(p, key, fn, required, 20);
BEGIN
    IF v IS NOT NULL AND NOT v = ANY (enum_range(NULL::user_role)::text[]) THEN
        PERFORM logeer_bad_arg(fn, key || ' is not a role: ' || v);
    END IF;
    RETURN v::user_role;
END
$$;

CREATE FUNCTION logeer_check_object(p jsonb, fn text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p IS NULL OR jsonb_typeof(p) <> 'object' THEN
        PERFORM logeer_bad_arg(fn, 'the argument must be a JSON object');
    END IF;
END
$$;

COMMENT ON FUNCTION logeer_arg_text(jsonb, text, text, boolean, integer) IS
    'Argument check: p->key as text (JSON string or null/absent), else 22023.';
COMMENT ON FUNCTION logeer_arg_uuid(jsonb, text, text, boolean) IS
    'Argument check: a UUID string, else 22023.';
COMMENT ON FUNCTION logeer_arg_date(jsonb, text, text, boolean) IS
    'Argument check: a YYYY-MM-DD calendar date, else 22023.';
COMMENT ON FUNCTION logeer_arg_int(jsonb, text, text, boolean, integer, integer) IS
    'Argument check: a whole JSON number within [lo, hi], else 22023.';
COMMENT ON FUNCTION logeer_arg_bool(jsonb, text, text, boolean) IS
    'Argument check: a JSON boolean (dflt when absent or null), else 22023.';
COMMENT ON FUNCTION logeer_arg_status(jsonb, text, text) IS
    'Argument check: a stay_status label, else 22023.';
COMMENT ON FUNCTION logeer_arg_role(jsonb, text, text, boolean) IS
    'Argument check: a user_role label, else 22023.';
COMMENT ON FUNCTION logeer_check_object(jsonb, text) IS
    'Argument check: p is a JSON object, else 22023.';

-- ---------------------------------------------------------------------------------------------
-- Night usage: the one rule both sides share (src/core/rules.c, core_status_night_use)
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_uses_held(s stay_status) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN s IN ('held', 'requested') THEN 1 ELSE 0 END
$$;
CREATE FUNCTION logeer_uses_booked(s stay_status) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN s IN ('confirmed', 'checked_in', 'completed') THEN 1 ELSE 0 END
$$;
COMMENT ON FUNCTION logeer_uses_held(stay_status) IS
    '1 when a stay in this status counts in pool_nights.held (held, requested), else 0.';
COMMENT ON FUNCTION logeer_uses_booked(stay_status) IS
    '1 when a stay in this status counts in pool_nights.booked (confirmed, checked_in, '
    'completed), else 0.';

-- The lifecycle edges of spec section 3 that logeer_stay_transition may apply. Offers
-- (waitlisted -> held) are made only by the waitlist functions, never asked for by a client.
CREATE FUNCTION logeer_transition_allowed(from_status stay_status, to_status stay_status)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (from_status, to_status) IN (
        ('held', 'requested'), ('held', 'confirmed'), ('held', 'cancelled'), ('held', 'expired'),
        ('requested', 'confirmed'), ('requested', 'declined'), ('requested', 'cancelled'),
        ('confirmed', 'checked_in'), ('confirmed', 'cancelled'), ('confirmed', 'no_show'),
        ('checked_in', 'completed'),
        ('waitlisted', 'cancelled'), ('waitlisted', 'expired'))
$$;
COMMENT ON FUNCTION logeer_transition_allowed(stay_status, stay_status) IS
    'True for the lifecycle edges a client may ask for; the database''s own guard behind the core.';

-- ---------------------------------------------------------------------------------------------
-- Stay JSON: the one shape every answer about a stay uses
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_stay_json(s stays) RETURNS jsonb
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
        'created_at', logeer_rfc3339(s.created_at),
        'updated_at', logeer_rfc3339(s.updated_at),
        'version', s.version)
$$;
COMMENT ON FUNCTION logeer_stay_json(stays) IS
    'A stay as the API shows it. Every key is always present (JSON null when empty). Never '
    'includes who requested it beyond the role: the requester''s identity is not the guest''s '
    'data to hand around.';

-- ---------------------------------------------------------------------------------------------
-- Capacity JSON
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_capacity_json(pool_id uuid, night_from date, night_to date) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT jsonb_build_object(
            'pool_id', po.id,
            'version', po.version,
            'as_of', logeer_rfc3339(po.as_of),
            'from', logeer_ymd(logeer_capacity_json.night_from),
            'to', logeer_ymd(logeer_capacity_json.night_to),
            'nights', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                           'date', logeer_ymd(g.d),
                           'capacity', coalesce(n.capacity, 0),
                           'held', coalesce(n.held, 0),
                           'booked', coalesce(n.booked, 0),
                           'free', greatest(coalesce(n.capacity - n.held - n.booked, 0), 0))
                       ORDER BY g.d)
                  FROM generate_series(0, logeer_capacity_json.night_to
                                          - logeer_capacity_json.night_from - 1) AS i
                 CROSS JOIN LATERAL (SELECT logeer_capacity_json.night_from + i AS d) AS g
                  LEFT JOIN pool_nights n ON n.pool_id = po.id AND n.night = g.d), '[]'::jsonb))
          FROM pools po
         WHERE po.id = logeer_capacity_json.pool_id);
END
$$;
COMMENT ON FUNCTION logeer_capacity_json(uuid, date, date) IS
    'GET capacity body for nights [night_from, night_to): capacity 0 where no row exists. '
    'NULL when the pool does not exist.';

-- ---------------------------------------------------------------------------------------------
-- Notifications on channel logeer_inventory
-- ---------------------------------------------------------------------------------------------

-- Deferred to commit, and reading the row again rather than NEW, on purpose. pg_notify drops
-- a payload equal to one already queued in the same transaction, keeping the first. A
-- transaction that moves a night's free count 1 -> 2 -> 3 -> 1 (a capacity change that cancels
-- two stays, then lowers the beds) would otherwise deliver "1", "2", "3" and leave every other
-- process believing 3. Fired at commit, every event of a row reports the row's final value, so
-- the duplicates collapse into the one true payload. The row lock we hold until commit means
-- the value read here is the value that commits.
CREATE FUNCTION logeer_notify_night() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_free integer;
BEGIN
    SELECT greatest(capacity - held - booked, 0) INTO v_free
      FROM pool_nights WHERE pool_id = NEW.pool_id AND night = NEW.night;
    IF FOUND THEN
        PERFORM pg_notify('logeer_inventory',
                          'n:' || NEW.pool_id || ':' || logeer_ymd(NEW.night) || ':' || v_free);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION logeer_notify_night() IS
    'Deferred trigger: NOTIFY logeer_inventory ''n:<pool>:<YYYY-MM-DD>:<free>'' with the value '
    'the night commits with.';

CREATE CONSTRAINT TRIGGER pool_nights_notify_insert
    AFTER INSERT ON pool_nights DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION logeer_notify_night();
-- An update that leaves the free count alone (held -> confirmed moves a bed from held to
-- booked) tells other processes nothing new.
CREATE CONSTRAINT TRIGGER pool_nights_notify_update
    AFTER UPDATE ON pool_nights DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.capacity - OLD.held - OLD.booked
          IS DISTINCT FROM NEW.capacity - NEW.held - NEW.booked)
    EXECUTE FUNCTION logeer_notify_night();

-- Descriptions are reloaded by the receiver, so a repeated payload loses nothing.
CREATE FUNCTION logeer_notify_described() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('logeer_inventory', TG_ARGV[0] || ':' || NEW.id);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION logeer_notify_described() IS
    'Trigger: NOTIFY logeer_inventory ''<TG_ARGV[0]>:<id>'' so other processes reload the row.';

CREATE TRIGGER pools_notify AFTER INSERT OR UPDATE ON pools
    FOR EACH ROW EXECUTE FUNCTION logeer_notify_described('p');
CREATE TRIGGER locations_notify AFTER UPDATE ON locations
    FOR EACH ROW EXECUTE FUNCTION logeer_notify_described('l');
CREATE TRIGGER providers_notify AFTER UPDATE ON providers
    FOR EACH ROW EXECUTE FUNCTION logeer_notify_described('v');

-- The events table promises its readers that a NOTIFY follows every commit that added rows,
-- but a transition that leaves every free count alone (held -> requested, a waitlist entry
-- cancelled) notifies nothing on logeer_inventory. This separate channel is that wake-up; the
-- empty payload collapses to one notification per transaction.
CREATE FUNCTION logeer_notify_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('logeer_events', '');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION logeer_notify_events() IS
    'Statement trigger: NOTIFY logeer_events (empty payload) after rows enter the outbox.';

CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION logeer_notify_events();

-- ---------------------------------------------------------------------------------------------
-- Outbox and history writers (no personal data goes into events)
-- ---------------------------------------------------------------------------------------------

-- PL/pgSQL rather than SQL for the helpers below that run on every booking or transition:
-- PL/pgSQL keeps its statement plans for the session, while a SQL function that cannot be
-- inlined is planned again on every call.
CREATE FUNCTION logeer_record_transition(s stays, from_st stay_status, actor uuid,
                                         actor_role_ user_role, why text,
                                         event_type text, info jsonb DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stay_events (stay_id, actor_id, actor_role, from_status, to_status, reason, detail)
    VALUES (s.id, actor, actor_role_, from_st, s.status, why, info);
    INSERT INTO events (type, provider_id, pool_id, stay_id, night_from, night_to, payload)
    VALUES (event_type, s.provider_id, s.pool_id, s.id, s.check_in, s.check_out,
            jsonb_build_object('status', s.status, 'from', from_st, 'kind', s.kind));
END
$$;
COMMENT ON FUNCTION
    logeer_record_transition(stays, stay_status, uuid, user_role, text, text, jsonb) IS
    'Writes the stay_events row and the outbox row for a stay that just reached s.status.';

-- ---------------------------------------------------------------------------------------------
-- Night locking and the waitlist
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_lock_nights(pool uuid, lo date, hi date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    -- LockRows runs above the sort, so rows are locked in night order whatever scan the
    -- planner picks. Rows we already hold are granted at once.
    PERFORM 1 FROM pool_nights
      WHERE pool_id = pool AND night >= lo AND night < hi
      ORDER BY night
        FOR UPDATE;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION logeer_lock_nights(uuid, date, date) IS
    'Locks the pool''s nights [lo, hi) in ascending order, waiting as needed; returns how many '
    'rows exist. Call before holding any night of this pool that lies above lo.';

-- The nights a release in [night_from, night_to) may end up offering: that range plus the
-- windows of the pool's waitlist entries that overlap it, from today on.
CREATE FUNCTION logeer_offer_span(pool uuid, night_from date, night_to date,
                                  OUT lo date, OUT hi date)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT least(night_from, min(greatest(s.wait_earliest_check_in, logeer_today()))),
           greatest(night_to, max(s.wait_latest_check_out))
      INTO lo, hi
      FROM stays s
     WHERE s.status = 'waitlisted' AND s.pool_id = pool
       AND s.wait_earliest_check_in < night_to AND s.wait_latest_check_out > night_from;
END
$$;
COMMENT ON FUNCTION logeer_offer_span(uuid, date, date) IS
    'Span of nights to lock before releasing beds in [night_from, night_to) and offering them.';

-- The longest run of consecutive nights with a free bed in [lo, hi). Consecutive free nights
-- keep "night minus its rank among the free nights" constant, so each run is one group.
CREATE FUNCTION logeer_longest_free_run(pool uuid, lo date, hi date) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(max(runs.len), 0)::integer
              FROM (SELECT count(*) AS len
                      FROM (SELECT n.night - (row_number() OVER (ORDER BY n.night))::integer AS grp
                              FROM pool_nights n
                             WHERE n.pool_id = pool AND n.night >= lo AND n.night < hi
                               AND n.capacity - n.held - n.booked > 0) AS f
                     GROUP BY f.grp) AS runs);
END
$$;
COMMENT ON FUNCTION logeer_longest_free_run(uuid, date, date) IS
    'Length of the longest run of consecutive nights with a free bed in [lo, hi).';

-- Offers free nights to the pool's waitlist. The caller holds the locks of the span that
-- logeer_offer_span named (or holds no night of this pool at all), so every night needed is
-- either already ours or taken here with SKIP LOCKED: this function never waits for a lock,
-- which is what keeps it out of deadlocks when called half-way through a transaction. A
-- night skipped because another transaction holds it counts as full for this round; that
-- transaction is changing it and, if it frees a bed, offers it itself.
CREATE FUNCTION logeer_offer_locked(pool uuid, night_from date, night_to date,
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

        UPDATE pool_nights n SET held = n.held + 1
         WHERE n.pool_id = pool AND n.night >= v_in AND n.night < v_in + v_w.wait_nights;
        UPDATE stays s
           SET status = 'held', check_in = v_in, check_out = v_in + v_w.wait_nights,
               hold_expires_at = now() + make_interval(secs => hold_ttl_s)
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
    'waits for a lock.';

CREATE FUNCTION logeer_offer_waitlist(pool_id uuid, night_from date, night_to date,
                                      hold_ttl_s integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_lo date;
    v_hi date;
BEGIN
    IF $4 IS NULL OR $4 NOT BETWEEN 1 AND 604800 THEN
        PERFORM logeer_bad_arg('logeer_offer_waitlist', 'hold_ttl_s must be 1 to 604800');
    END IF;
    IF $1 IS NULL OR $2 IS NULL OR $3 IS NULL OR $3 <= $2 THEN
        RETURN 0;
    END IF;
    SELECT s.lo, s.hi INTO v_lo, v_hi FROM logeer_offer_span($1, $2, $3) AS s;
    PERFORM logeer_lock_nights($1, v_lo, v_hi);
    RETURN logeer_offer_locked($1, $2, $3, $4);
END
$$;
COMMENT ON FUNCTION logeer_offer_waitlist(uuid, date, date, integer) IS
    'Offers free nights of the pool to waitlist entries whose window overlaps [night_from, '
    'night_to), first come first served, each as a hold of hold_ttl_s seconds; returns the '
    'number of offers. Call it holding no night of the pool (it locks its span first); the '
    'reservation functions use logeer_offer_locked after locking the span themselves.';

-- ---------------------------------------------------------------------------------------------
-- logeer_book_stay
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_book_stay(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_book_stay';
    v_principal  uuid;
    v_role       user_role;
    v_key        text;
    v_hash_hex   text;
    v_method     text;
    v_path       text;
    v_pool_id    uuid;
    v_in         date;
    v_out        date;
    v_kind_txt   text;
    v_kind       pool_kind;
    v_funding    text;
    v_guest      jsonb;
    v_alias      text;
    v_birth      integer;
    v_profile    text;
    v_needs      text[];
    v_on_behalf  text;
    v_diversion  text;
    v_initial    stay_status;
    v_ttl        integer;
    v_waitlist   boolean;
    v_w_from     date;
    v_w_to       date;
    v_w_nights   integer;
    v_max        integer;
    v_idem       record;
    v_open       integer;
    v_pool       record;
    v_nights     integer;
    v_with_bed   integer;
    v_full       jsonb;
    v_status     stay_status;
    v_stay       stays%ROWTYPE;
    v_body       text;
    v_result     logeer_result;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_principal := logeer_arg_uuid(p, 'principal_id', fn, true);
    v_role      := logeer_arg_role(p, 'principal_role', fn, true);
    v_key       := logeer_arg_text(p, 'idempotency_key', fn, false, 255);
    v_hash_hex  := logeer_arg_text(p, 'request_hash', fn, false, 64);
    v_method    := coalesce(logeer_arg_text(p, 'method', fn, false, 16), 'POST');
    v_path      := coalesce(logeer_arg_text(p, 'path', fn, false, 2048), '/v1/stays');
    v_pool_id   := logeer_arg_uuid(p, 'pool_id', fn, true);
    v_in        := logeer_arg_date(p, 'check_in', fn, true);
    v_out       := logeer_arg_date(p, 'check_out', fn, true);
    v_kind_txt  := logeer_arg_text(p, 'kind', fn, true, 20);
    v_funding   := logeer_arg_text(p, 'funding', fn, false, 20);
    v_on_behalf := logeer_arg_text(p, 'on_behalf_of', fn, false, 200);
    v_diversion := nullif(btrim(logeer_arg_text(p, 'diversion_reason', fn, false, 1000)), '');
    v_initial   := logeer_arg_status(p, 'initial_status', fn);
    v_ttl       := coalesce(logeer_arg_int(p, 'hold_ttl_s', fn, false, 1, 604800), 900);
    v_waitlist  := logeer_arg_bool(p, 'waitlist', fn, false);
    v_max       := logeer_arg_int(p, 'max_open_stays', fn, false, 0, 100000);

    IF v_key = '' THEN
        PERFORM logeer_bad_arg(fn, 'idempotency_key must not be empty');
    END IF;
    IF v_key IS NOT NULL AND (v_hash_hex IS NULL OR v_hash_hex !~ '^[0-9a-fA-F]{64}$') THEN
        PERFORM logeer_bad_arg(fn, 'request_hash must be 64 hex digits (SHA-256) with a key');
    END IF;
    IF v_method !~ '^[A-Z]{1,16}$' OR v_path = '' THEN
        PERFORM logeer_bad_arg(fn, 'method and path must name the request');
    END IF;
    IF v_role NOT IN ('caregiver', 'referrer', 'coordinator') THEN
        PERFORM logeer_bad_arg(fn, 'principal_role ' || v_role || ' may not request stays');
    END IF;
    IF v_out <= v_in THEN
        PERFORM logeer_bad_arg(fn, 'check_out must be after check_in');
    END IF;
    IF v_out - v_in > 365 THEN
        PERFORM logeer_bad_arg(fn, 'a stay is at most 365 nights');
    END IF;
    IF v_kind_txt NOT IN ('planned', 'crisis') THEN
        PERFORM logeer_bad_arg(fn, 'kind must be planned or crisis');
    END IF;
    v_kind := v_kind_txt::pool_kind;
    IF v_funding NOT IN ('wmo', 'wlz', 'zvw', 'pgb', 'private') THEN
        PERFORM logeer_bad_arg(fn, 'funding is not a known route: ' || v_funding);
    END IF;
    IF v_initial NOT IN ('held', 'requested', 'confirmed') THEN
        PERFORM logeer_bad_arg(fn, 'initial_status must be held, requested or confirmed');
    END IF;

    v_guest := p -> 'guest';
    IF v_guest IS NULL OR jsonb_typeof(v_guest) <> 'object' THEN
        PERFORM logeer_bad_arg(fn, 'guest must be an object');
    END IF;
    v_alias   := btrim(logeer_arg_text(v_guest, 'alias', fn || ' guest', true, 200));
    v_birth   := logeer_arg_int(v_guest, 'birth_year', fn || ' guest', false, 1900, 2100);
    v_profile := logeer_arg_text(v_guest, 'care_profile', fn || ' guest', true, 20);
    IF length(v_alias) NOT BETWEEN 1 AND 60 THEN
        PERFORM logeer_bad_arg(fn, 'guest.alias must be 1 to 60 characters');
    END IF;
    IF v_profile NOT IN ('somatic', 'dementia', 'disability', 'psychiatric', 'youth') THEN
        PERFORM logeer_bad_arg(fn, 'guest.care_profile is not a known profile: ' || v_profile);
    END IF;
    IF v_guest -> 'needs' IS NULL OR jsonb_typeof(v_guest -> 'needs') = 'null' THEN
        v_needs := '{}';
    ELSIF jsonb_typeof(v_guest -> 'needs') <> 'array'
          OR EXISTS (SELECT 1 FROM jsonb_array_elements(v_guest -> 'needs') AS e
                      WHERE jsonb_typeof(e) <> 'string') THEN
        PERFORM logeer_bad_arg(fn, 'guest.needs must be an array of strings');
    ELSE
        v_needs := ARRAY(SELECT jsonb_array_elements_text(v_guest -> 'needs'));
        IF NOT is_token_list(v_needs) THEN
            PERFORM logeer_bad_arg(fn, 'guest.needs must be lower snake_case tokens (at most 32)');
        END IF;
    END IF;

    IF v_waitlist THEN
        -- Without an explicit window the entry waits for exactly the nights it asked for.
        v_w_from   := coalesce(logeer_arg_date(p, 'wait_earliest_check_in', fn, false), v_in);
        v_w_to     := coalesce(logeer_arg_date(p, 'wait_latest_check_out', fn, false), v_out);
        v_w_nights := coalesce(logeer_arg_int(p, 'wait_nights', fn, false, 1, 365), v_out - v_in);
        IF v_w_to - v_w_from < v_w_nights THEN
            PERFORM logeer_bad_arg(fn, 'the waitlist window is shorter than wait_nights');
        END IF;
    END IF;

    -- 1. Idempotency. The advisory lock makes "look up the key, do the work, store the key"
    -- atomic per (principal, key) without a placeholder row: a concurrent retry cannot take it
    -- and answers key_running at once instead of queueing behind the original. Once the
    -- original commits, the lock is released only after its rows became visible, so the next
    -- retry finds the stored response.
    IF v_key IS NOT NULL THEN
        IF NOT pg_try_advisory_xact_lock(
                   hashtextextended(v_principal::text || ':' || v_key, 0)) THEN
            RETURN ROW('key_running', 0, NULL, NULL)::logeer_result;
        END IF;
        SELECT k.state, k.request_hash, k.status_code, k.response_body INTO v_idem
          FROM idempotency_keys k
         WHERE k.principal_id = v_principal AND k.key = v_key;
        IF FOUND THEN
            IF v_idem.request_hash <> decode(v_hash_hex, 'hex') THEN
                RETURN ROW('key_mismatch', 0, NULL, NULL)::logeer_result;
            ELSIF v_idem.state <> 'done' THEN
                -- A placeholder written by another code path: its request is still running.
                RETURN ROW('key_running', 0, NULL, NULL)::logeer_result;
            END IF;
            RETURN ROW('replayed', v_idem.status_code, v_idem.response_body, NULL)::logeer_result;
        END IF;
    END IF;

    -- 2. Open stays per principal. Counting alone would let two parallel requests both see
    -- max - 1; the principal's advisory lock makes count-then-insert one step. It is taken
    -- before any pool or night lock and never while holding one, so it cannot join a cycle.
    -- A hold that has lapsed but is not yet swept no longer counts as open.
    IF v_max IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(
                    hashtextextended('logeer.open_stays:' || v_principal::text, 0));
        SELECT count(*) INTO v_open
          FROM stays s
         WHERE s.requested_by = v_principal
           AND s.status IN ('held', 'requested', 'waitlisted')
           AND (s.status <> 'held' OR s.hold_expires_at > now());
        IF v_open >= v_max THEN
            RETURN ROW('too_many_open', 0, NULL,
                       jsonb_build_object('open', v_open, 'max', v_max))::logeer_result;
        END IF;
    END IF;

    -- 3. The pool, locked FOR KEY SHARE (what the stay's foreign key takes anyway) before any
    -- night, keeping the pool-then-nights order.
    SELECT po.id, po.provider_id, po.kind, po.active INTO v_pool
      FROM pools po WHERE po.id = v_pool_id
       FOR KEY SHARE;
    IF NOT FOUND OR NOT v_pool.active THEN
        RETURN ROW('pool_not_found', 0, NULL, NULL)::logeer_result;
    END IF;

    -- Separation of pathways (spec 3). The api layer decides this; checking it again here
    -- turns a bug there into a clear error instead of a CHECK violation read as "no beds".
    IF v_kind = 'planned' AND v_pool.kind = 'crisis' THEN
        PERFORM logeer_bad_arg(fn, 'a planned stay cannot take a crisis bed');
    END IF;
    IF v_kind = 'crisis' AND v_role = 'caregiver' THEN
        PERFORM logeer_bad_arg(fn, 'a caregiver cannot request a crisis stay');
    END IF;
    IF (v_kind = 'crisis' AND v_pool.kind = 'planned') <> (v_diversion IS NOT NULL) THEN
        PERFORM logeer_bad_arg(fn, 'diversion_reason is required for, and only for, '
                                   'a crisis stay in a planned pool');
    END IF;
    IF v_diversion IS NOT NULL AND v_role <> 'coordinator' THEN
        PERFORM logeer_bad_arg(fn, 'only a coordinator may divert a planned bed to a crisis');
    END IF;

    -- 4. Lock the nights in ascending order and count those with a free bed. In READ
    -- COMMITTED a row that another booking changed while we waited for its lock is re-read, so
    -- the count below is taken from the newest committed counters.
    v_nights := v_out - v_in;
    WITH locked AS MATERIALIZED (
        SELECT n.night, n.capacity - n.held - n.booked AS free
          FROM pool_nights n
         WHERE n.pool_id = v_pool_id AND n.night >= v_in AND n.night < v_out
         ORDER BY n.night
           FOR UPDATE)
    SELECT count(*) FILTER (WHERE l.free > 0) INTO v_with_bed FROM locked l;

    IF v_with_bed < v_nights THEN
        -- A night without a row has capacity 0, so it is listed too.
        SELECT jsonb_agg(logeer_ymd(g.d) ORDER BY g.d) INTO v_full
          FROM (SELECT v_in + i AS d FROM generate_series(0, v_nights - 1) AS i) AS g
          LEFT JOIN pool_nights n ON n.pool_id = v_pool_id AND n.night = g.d
         WHERE coalesce(n.capacity - n.held - n.booked, 0) <= 0;
        IF NOT v_waitlist THEN
            RETURN ROW('no_beds', 0, NULL, jsonb_build_object('nights', v_full))::logeer_result;
        END IF;
        v_status := 'waitlisted';
    ELSE
        -- 5. Take the beds. The rows are ours already, so this cannot wait; if the counts were
        -- somehow wrong, pool_nights_no_overbooking raises 23514 and everything rolls back.
        v_status := v_initial;
        UPDATE pool_nights n
           SET held = n.held + logeer_uses_held(v_status),
               booked = n.booked + logeer_uses_booked(v_status)
         WHERE n.pool_id = v_pool_id AND n.night >= v_in AND n.night < v_out;
    END IF;

    INSERT INTO stays (pool_id, provider_id, pool_kind, kind, status, check_in, check_out,
                       funding, guest_alias, guest_birth_year, guest_care_profile, guest_needs,
                       requested_by, requested_by_role, on_behalf_of, diversion_reason,
                       hold_expires_at, wait_earliest_check_in, wait_latest_check_out, wait_nights)
    VALUES (v_pool_id, v_pool.provider_id, v_pool.kind, v_kind, v_status, v_in, v_out,
            v_funding, v_alias, v_birth, v_profile, v_needs,
            v_principal, v_role, v_on_behalf, v_diversion,
            CASE WHEN v_status = 'held' THEN now() + make_interval(secs => v_ttl) END,
            CASE WHEN v_status = 'waitlisted' THEN v_w_from END,
            CASE WHEN v_status = 'waitlisted' THEN v_w_to END,
            CASE WHEN v_status = 'waitlisted' THEN v_w_nights END)
    RETURNING * INTO v_stay;

    PERFORM logeer_record_transition(
        v_stay, NULL, v_principal, v_role, v_diversion, 'stay.created',
        CASE WHEN v_status = 'waitlisted' THEN jsonb_build_object('full_nights', v_full)
             WHEN v_diversion IS NOT NULL THEN '{"diversion": true}'::jsonb
             ELSE '{}'::jsonb END);

    v_body := logeer_stay_json(v_stay)::text;
    v_result := ROW(CASE WHEN v_status = 'waitlisted' THEN 'waitlisted' ELSE 'created' END,
                    201, v_body, NULL)::logeer_result;

    -- 6. Remember the answer for retries. Only successes are stored: a no_beds, too_many_open
    -- or pool_not_found answer depends on the moment, so a retry with the same key is
    -- evaluated afresh (and may then succeed).
    IF v_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (principal_id, key, method, path, request_hash, state,
                                      status_code, response_body, completed_at)
        VALUES (v_principal, v_key, v_method, v_path, decode(v_hash_hex, 'hex'), 'done',
                v_result.status, v_body, now());
    END IF;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION logeer_book_stay(jsonb) IS
    'POST /v1/stays: takes a bed on every night or waitlists or refuses. Outcomes: created, '
    'waitlisted (201, body = stay), replayed (stored status and body), key_running, '
    'key_mismatch, too_many_open {open,max}, pool_not_found, no_beds {nights}.';

-- ---------------------------------------------------------------------------------------------
-- logeer_stay_transition
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_stay_transition(p jsonb) RETURNS logeer_result
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
    'counter deltas, history and outbox, then offers freed nights to the waitlist. Outcomes: '
    'ok (200, body = stay), stale {current_status}.';

-- ---------------------------------------------------------------------------------------------
-- logeer_expire_holds
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_expire_holds(p jsonb, OUT expired integer)
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_expire_holds';
    v_limit  integer;
    v_ttl    integer;
    v_pool   record;
    v_pools  uuid[];
    v_ins    date[];
    v_outs   date[];
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
           coalesce(array_agg(d.check_out), '{}')
      INTO expired, v_pools, v_ins, v_outs
      FROM done d;

    -- Release pool by pool in pool_id order, each pool's span locked in one ascending sweep
    -- (lock order, rule 3, across pools), then offer what was freed.
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
    'holds (SKIP LOCKED), releases their nights, offers them to the waitlist, and expires '
    'waitlist entries whose window has passed. Returns the number of holds expired.';

-- ---------------------------------------------------------------------------------------------
-- logeer_set_capacity
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_set_capacity(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_set_capacity';
    -- Three years: the longest booking horizon a pool may have (pools_horizon_days_range).
    c_max_nights constant integer := 1096;
    v_pool_id   uuid;
    v_provider  uuid;
    v_if_match  integer;
    v_actor     uuid;
    v_role      user_role;
    v_reason    text;
    v_ttl       integer;
    v_range     jsonb;
    v_from      date[] := '{}';
    v_to        date[] := '{}';
    v_beds      integer[] := '{}';
    v_cancel    uuid[] := '{}';
    v_elem      jsonb;
    v_f         date;
    v_t         date;
    v_total     integer := 0;
    v_pool      record;
    v_bad       uuid;
    v_lo        date;
    v_hi        date;
    v_old       stays%ROWTYPE;
    v_stay      stays%ROWTYPE;
    v_from_st   stay_status;
    v_below     jsonb;
    v_raised    boolean;
    v_version   integer;
    v_as_of     timestamptz;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_pool_id  := logeer_arg_uuid(p, 'pool_id', fn, true);
    v_provider := logeer_arg_uuid(p, 'provider_id', fn, false);
    v_if_match := logeer_arg_int(p, 'if_match_version', fn, false, 0, 2147483647);
    v_actor    := logeer_arg_uuid(p, 'actor_id', fn, false);
    v_role     := logeer_arg_role(p, 'actor_role', fn, false);
    v_reason   := nullif(btrim(logeer_arg_text(p, 'reason', fn, false, 1000)), '');
    v_ttl      := coalesce(logeer_arg_int(p, 'hold_ttl_s', fn, false, 1, 604800), 900);
    IF (v_actor IS NULL) <> (v_role IS NULL) THEN
        PERFORM logeer_bad_arg(fn, 'actor_id and actor_role go together');
    END IF;

    v_range := p -> 'ranges';
    IF v_range IS NULL OR jsonb_typeof(v_range) <> 'array' THEN
        PERFORM logeer_bad_arg(fn, 'ranges must be an array');
    END IF;
    FOR v_elem IN SELECT e FROM jsonb_array_elements(v_range) AS e LOOP
        IF jsonb_typeof(v_elem) <> 'object' THEN
            PERFORM logeer_bad_arg(fn, 'each range must be an object {from, to, beds}');
        END IF;
        v_f := logeer_arg_date(v_elem, 'from', fn, true);
        v_t := logeer_arg_date(v_elem, 'to', fn, true);
        IF v_t <= v_f THEN
            PERFORM logeer_bad_arg(fn, 'a range''s to must be after its from (to is exclusive)');
        END IF;
        v_total := v_total + (v_t - v_f);
        IF v_total > c_max_nights THEN
            PERFORM logeer_bad_arg(fn, 'at most ' || c_max_nights || ' nights per call');
        END IF;
        v_from := v_from || v_f;
        v_to   := v_to || v_t;
        -- 500 is pool_nights_capacity_sane; failing that CHECK would read as "no beds".
        v_beds := v_beds || logeer_arg_int(v_elem, 'beds', fn, true, 0, 500);
    END LOOP;
    -- Overlapping ranges would make the result depend on their order.
    IF EXISTS (SELECT 1
                 FROM unnest(v_from, v_to) WITH ORDINALITY AS a (f, t, o)
                 JOIN unnest(v_from, v_to) WITH ORDINALITY AS b (f, t, o)
                   ON b.o > a.o AND a.f < b.t AND b.f < a.t) THEN
        PERFORM logeer_bad_arg(fn, 'ranges overlap');
    END IF;

    IF p -> 'cancel_stay_ids' IS NOT NULL AND jsonb_typeof(p -> 'cancel_stay_ids') <> 'null' THEN
        IF jsonb_typeof(p -> 'cancel_stay_ids') <> 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(p -> 'cancel_stay_ids') AS e
                       WHERE jsonb_typeof(e) <> 'string'
                          OR e #>> '{}' !~ ('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                                            '[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')) THEN
            PERFORM logeer_bad_arg(fn, 'cancel_stay_ids must be an array of UUIDs');
        END IF;
        v_cancel := ARRAY(SELECT DISTINCT (e #>> '{}')::uuid
                            FROM jsonb_array_elements(p -> 'cancel_stay_ids') AS e
                           ORDER BY 1);
    END IF;
    IF cardinality(v_cancel) > 0 AND v_reason IS NULL THEN
        PERFORM logeer_bad_arg(fn, 'reason is required when cancelling stays');
    END IF;
    IF cardinality(v_cancel) > 0 AND v_actor IS NULL THEN
        PERFORM logeer_bad_arg(fn, 'actor_id is required when cancelling stays');
    END IF;

    -- 1. The pool. FOR NO KEY UPDATE, not FOR UPDATE: it serialises capacity writers (and the
    -- version check) just the same, but FOR UPDATE would also block the FOR KEY SHARE lock
    -- that every booking and outbox insert takes on the pool through its foreign key. A
    -- booking holding nights and waiting for that key lock, while we wait for its nights,
    -- would be a deadlock.
    SELECT po.id, po.provider_id, po.version INTO v_pool
      FROM pools po WHERE po.id = v_pool_id
       FOR NO KEY UPDATE;
    IF NOT FOUND OR (v_provider IS NOT NULL AND v_pool.provider_id <> v_provider) THEN
        RETURN ROW('pool_not_found', 0, NULL, NULL)::logeer_result;
    END IF;

    -- 2. Optimistic concurrency for the If-Match header.
    IF v_if_match IS NOT NULL AND v_if_match <> v_pool.version THEN
        RETURN ROW('version_mismatch', 0, NULL,
                   jsonb_build_object('current_version', v_pool.version))::logeer_result;
    END IF;

    -- 3a. The stays to cancel, locked (in id order) before any night: lock order, rule 1.
    -- Each must be this pool's, hold or have beds, and overlap a range being set.
    IF cardinality(v_cancel) > 0 THEN
        PERFORM 1 FROM stays s WHERE s.id = ANY (v_cancel) ORDER BY s.id FOR UPDATE;
        SELECT c.id INTO v_bad
          FROM unnest(v_cancel) AS c (id)
          LEFT JOIN stays s ON s.id = c.id
         WHERE s.id IS NULL
            OR s.pool_id IS DISTINCT FROM v_pool_id
            OR s.status NOT IN ('held', 'requested', 'confirmed')
            OR NOT EXISTS (SELECT 1 FROM unnest(v_from, v_to) AS r (f, t)
                            WHERE s.check_in < r.t AND s.check_out > r.f)
         ORDER BY c.id
         LIMIT 1;
        IF FOUND THEN
            RETURN ROW('bad_cancel', 0, NULL, jsonb_build_object('stay_id', v_bad))::logeer_result;
        END IF;
    END IF;

    -- 3b. Every night this call may touch: the ranges, the cancelled stays' nights and the
    -- windows of waitlist entries that may be offered freed beds, locked in one sweep.
    SELECT least(min(f), (SELECT min(s.check_in) FROM stays s WHERE s.id = ANY (v_cancel))),
           greatest(max(t), (SELECT max(s.check_out) FROM stays s WHERE s.id = ANY (v_cancel)))
      INTO v_lo, v_hi
      FROM unnest(v_from, v_to) AS r (f, t);
    IF v_lo IS NOT NULL THEN
        PERFORM logeer_lock_nights(v_pool_id, s.lo, s.hi)
           FROM logeer_offer_span(v_pool_id, v_lo, v_hi) AS s;
    END IF;

    -- 3c/4. Cancel, then check the new capacities against what stays reserved. Refusing
    -- must leave nothing changed, cancellations included: they run in a subtransaction that
    -- the refusal rolls back (its queued notifications and outbox rows go with it). The night
    -- locks were taken outside it and are kept.
    BEGIN
        FOR v_old IN SELECT * FROM stays s WHERE s.id = ANY (v_cancel) ORDER BY s.id LOOP
            v_from_st := v_old.status;
            UPDATE stays s
               SET status = 'cancelled', cancel_reason = v_reason, cancelled_by = v_actor,
                   hold_expires_at = NULL
             WHERE s.id = v_old.id
            RETURNING * INTO v_stay;
            UPDATE pool_nights n
               SET held = n.held - logeer_uses_held(v_from_st),
                   booked = n.booked - logeer_uses_booked(v_from_st)
             WHERE n.pool_id = v_pool_id
               AND n.night >= v_stay.check_in AND n.night < v_stay.check_out;
            PERFORM logeer_record_transition(v_stay, v_from_st, v_actor, v_role, v_reason,
                                             'stay.cancelled', '{"by": "capacity change"}');
        END LOOP;

        SELECT jsonb_agg(jsonb_build_object('date', logeer_ymd(n.night),
                                            'capacity_requested', r.beds,
                                            'held', n.held, 'booked', n.booked)
                         ORDER BY n.night)
          INTO v_below
          FROM unnest(v_from, v_to, v_beds) AS r (f, t, beds)
          JOIN pool_nights n ON n.pool_id = v_pool_id AND n.night >= r.f AND n.night < r.t
         WHERE r.beds < n.held + n.booked;
        IF v_below IS NOT NULL THEN
            RAISE EXCEPTION 'capacity below reserved' USING ERRCODE = 'LGR01';
        END IF;
    EXCEPTION WHEN SQLSTATE 'LGR01' THEN
        RETURN ROW('below_reserved', 0, NULL, jsonb_build_object('nights', v_below))::logeer_result;
    END;

    -- 4. The new capacities. Unchanged nights are not rewritten (no notification, no churn).
    SELECT coalesce(bool_or(r.beds > coalesce(n.capacity, 0)), false) INTO v_raised
      FROM (SELECT f + i AS night, beds
              FROM unnest(v_from, v_to, v_beds) AS u (f, t, beds)
             CROSS JOIN LATERAL generate_series(0, t - f - 1) AS i) AS r
      LEFT JOIN pool_nights n ON n.pool_id = v_pool_id AND n.night = r.night;
    INSERT INTO pool_nights (pool_id, night, capacity)
    SELECT v_pool_id, f + i, beds
      FROM unnest(v_from, v_to, v_beds) AS u (f, t, beds)
     CROSS JOIN LATERAL generate_series(0, t - f - 1) AS i
     ORDER BY 2
    ON CONFLICT (pool_id, night) DO UPDATE SET capacity = EXCLUDED.capacity
     WHERE pool_nights.capacity <> EXCLUDED.capacity;

    -- 5. The provider confirmed its counts: as_of moves, version bumps (pools_touch).
    UPDATE pools po SET as_of = now() WHERE po.id = v_pool_id
    RETURNING po.version, po.as_of INTO v_version, v_as_of;
    INSERT INTO events (type, provider_id, pool_id, night_from, night_to, payload)
    SELECT 'capacity.updated', v_pool.provider_id, v_pool_id, min(f), max(t),
           jsonb_build_object('ranges', coalesce(jsonb_agg(jsonb_build_object(
               'from', logeer_ymd(f), 'to', logeer_ymd(t), 'beds', beds) ORDER BY f), '[]'::jsonb),
               'cancelled', to_jsonb(v_cancel))
      FROM unnest(v_from, v_to, v_beds) AS r (f, t, beds);

    -- 6. New beds, or beds freed by cancelling, go to the waitlist.
    IF (v_raised OR cardinality(v_cancel) > 0) AND v_lo IS NOT NULL THEN
        PERFORM logeer_offer_locked(v_pool_id, v_lo, v_hi, v_ttl);
    END IF;

    RETURN ROW('ok', 200, NULL,
               jsonb_build_object('version', v_version, 'as_of', logeer_rfc3339(v_as_of)))
           ::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_set_capacity(jsonb) IS
    'PUT /v1/pools/{id}/capacity: sets beds for ranges of nights, optionally cancelling named '
    'stays first, never below what stays reserved. Outcomes: ok (200, detail {version, as_of}), '
    'pool_not_found, version_mismatch {current_version}, bad_cancel {stay_id}, '
    'below_reserved {nights: [{date, capacity_requested, held, booked}]}.';
