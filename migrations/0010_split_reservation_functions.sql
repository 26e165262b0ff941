-- 0010: logeer_book_stay and logeer_set_capacity split into the steps they are made of, and one
-- idempotency helper pair for every function that had its own copy (logeer_book_stay from
-- 0005, logeer_create_user from 0007). Behaviour is unchanged: the entry points keep their
-- signatures and results, raise the same SQLSTATEs with the same messages in the same order,
-- take their locks in the same order (0005's lock order: stays, then the pool, then the
-- pool's nights in ascending date order) and write the same history, outbox and idempotency
-- rows. The helpers are PL/pgSQL, so their statement plans are kept for the session like the
-- entry points' own; no step adds a statement per night. Runs inside the migrator's
-- transaction: no BEGIN/COMMIT.

-- ---------------------------------------------------------------------------------------------
-- Idempotency-Key: one claim and one store for every SQL function that takes a key
-- ---------------------------------------------------------------------------------------------

-- The advisory lock makes "look up the key, do the work, store the key" atomic per (principal,
-- key) without a placeholder row: a concurrent retry cannot take it and answers key_running at
-- once instead of queueing behind the original. Once the original commits, the lock is
-- released only after its rows became visible, so the next retry finds the stored response.
-- The caller has checked the key and the hash (64 hex digits) already.
CREATE FUNCTION logeer_idempotency_claim(p_principal uuid, p_key text, p_hash_hex text)
RETURNS logeer_result
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_idem record;
BEGIN
    IF p_key IS NULL THEN
        RETURN NULL;
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtextextended(p_principal::text || ':' || p_key, 0)) THEN
        RETURN ROW('key_running', 0, NULL, NULL)::logeer_result;
    END IF;
    SELECT k.state, k.request_hash, k.status_code, k.response_body INTO v_idem
      FROM idempotency_keys k
     WHERE k.principal_id = p_principal AND k.key = p_key;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF v_idem.request_hash <> decode(p_hash_hex, 'hex') THEN
        RETURN ROW('key_mismatch', 0, NULL, NULL)::logeer_result;
    ELSIF v_idem.state <> 'done' THEN
        -- A placeholder written by another code path: its request is still running.
        RETURN ROW('key_running', 0, NULL, NULL)::logeer_result;
    END IF;
    RETURN ROW('replayed', v_idem.status_code, v_idem.response_body, NULL)::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_idempotency_claim(uuid, text, text) IS
    'Owns the first half of Idempotency-Key: claims (principal, key) for this transaction and '
    'answers key_running, key_mismatch or replayed (stored status and body) when the caller '
    'must not do the work; NULL (outcome NULL) when it should, and always for a NULL key.';

-- Only successes are stored: a refusal that depends on the moment (no beds, too many open
-- stays, an unknown pool) is evaluated afresh on a retry with the same key.
CREATE FUNCTION logeer_idempotency_store(p_principal uuid, p_key text, p_hash_hex text,
                                         p_method text, p_path text, p_status integer,
                                         p_body text, p_headers jsonb DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_key IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO idempotency_keys (principal_id, key, method, path, request_hash, state,
                                  status_code, response_body, response_headers, completed_at)
    VALUES (p_principal, p_key, p_method, p_path, decode(p_hash_hex, 'hex'), 'done',
            p_status, p_body, p_headers, now());
END
$$;
COMMENT ON FUNCTION logeer_idempotency_store(uuid, text, text, text, text, integer, text, jsonb) IS
    'Owns the second half of Idempotency-Key: stores the finished answer (status, body, headers '
    'to replay) under a key claimed with logeer_idempotency_claim. Does nothing for a NULL key.';

-- ---------------------------------------------------------------------------------------------
-- logeer_book_stay: arguments
-- ---------------------------------------------------------------------------------------------

CREATE TYPE logeer_book_args AS (
    principal_id           uuid,
    principal_role         user_role,
    idempotency_key        text,
    request_hash           text,       -- hex, as given
    method                 text,
    path                   text,
    pool_id                uuid,
    check_in               date,
    check_out              date,
    kind                   pool_kind,
    funding                text,
    guest_alias            text,
    guest_birth_year       integer,
    guest_care_profile     text,
    guest_needs            text[],
    on_behalf_of           text,
    diversion_reason       text,       -- trimmed; NULL when absent or blank
    initial_status         stay_status,
    hold_ttl_s             integer,
    waitlist               boolean,
    wait_earliest_check_in date,       -- the waitlist window, only with waitlist
    wait_latest_check_out  date,
    wait_nights            integer,
    max_open_stays         integer
);
COMMENT ON TYPE logeer_book_args IS
    'logeer_book_stay''s argument, checked and with its defaults filled in '
    '(logeer_book_stay_args).';

CREATE FUNCTION logeer_book_guest_args(guest jsonb, OUT guest_alias text,
                                       OUT guest_birth_year integer, OUT guest_care_profile text,
                                       OUT guest_needs text[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fn constant text := 'logeer_book_stay';
BEGIN
    IF guest IS NULL OR jsonb_typeof(guest) <> 'object' THEN
        PERFORM logeer_bad_arg(fn, 'guest must be an object');
    END IF;
    guest_alias        := btrim(logeer_arg_text(guest, 'alias', fn || ' guest', true, 200));
    guest_birth_year   := logeer_arg_int(guest, 'birth_year', fn || ' guest', false, 1900, 2100);
    guest_care_profile := logeer_arg_text(guest, 'care_profile', fn || ' guest', true, 20);
    IF length(guest_alias) NOT BETWEEN 1 AND 60 THEN
        PERFORM logeer_bad_arg(fn, 'guest.alias must be 1 to 60 characters');
    END IF;
    IF guest_care_profile NOT IN ('somatic', 'dementia', 'disability', 'psychiatric', 'youth') THEN
        PERFORM logeer_bad_arg(fn, 'guest.care_profile is not a known profile: ' || guest_care_profile);
    END IF;
    IF guest -> 'needs' IS NULL OR jsonb_typeof(guest -> 'needs') = 'null' THEN
        guest_needs := '{}';
    ELSIF jsonb_typeof(guest -> 'needs') <> 'array'
          OR EXISTS (SELECT 1 FROM jsonb_array_elements(guest -> 'needs') AS e
                      WHERE jsonb_typeof(e) <> 'string') THEN
        PERFORM logeer_bad_arg(fn, 'guest.needs must be an array of strings');
    ELSE
        guest_needs := ARRAY(SELECT jsonb_array_elements_text(guest -> 'needs'));
        IF NOT is_token_list(guest_needs) THEN
            PERFORM logeer_bad_arg(fn, 'guest.needs must be lower snake_case tokens (at most 32)');
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION logeer_book_guest_args(jsonb) IS
    'Owns the checks of logeer_book_stay''s guest object: alias, birth year, care profile and '
    'needs, else 22023 naming the field.';

-- C validates every request before calling; these checks exist so that a bug there surfaces
-- as a clear 22023 naming the field (see 0005's argument checks). The order of the checks is
-- the order in which a request with several faults learns of them.
CREATE FUNCTION logeer_book_stay_args(p jsonb) RETURNS logeer_book_args
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fn constant text := 'logeer_book_stay';
    a       logeer_book_args;
    v_kind  text;
    v_guest record;
BEGIN
    PERFORM logeer_check_object(p, fn);
    a.principal_id     := logeer_arg_uuid(p, 'principal_id', fn, true);
    a.principal_role   := logeer_arg_role(p, 'principal_role', fn, true);
    a.idempotency_key  := logeer_arg_text(p, 'idempotency_key', fn, false, 255);
    a.request_hash     := logeer_arg_text(p, 'request_hash', fn, false, 64);
    a.method           := coalesce(logeer_arg_text(p, 'method', fn, false, 16), 'POST');
    a.path             := coalesce(logeer_arg_text(p, 'path', fn, false, 2048), '/v1/stays');
    a.pool_id          := logeer_arg_uuid(p, 'pool_id', fn, true);
    a.check_in         := logeer_arg_date(p, 'check_in', fn, true);
    a.check_out        := logeer_arg_date(p, 'check_out', fn, true);
    v_kind             := logeer_arg_text(p, 'kind', fn, true, 20);
    a.funding          := logeer_arg_text(p, 'funding', fn, false, 20);
    a.on_behalf_of     := logeer_arg_text(p, 'on_behalf_of', fn, false, 200);
    a.diversion_reason := nullif(btrim(logeer_arg_text(p, 'diversion_reason', fn, false, 1000)), '');
    a.initial_status   := logeer_arg_status(p, 'initial_status', fn);
    a.hold_ttl_s       := coalesce(logeer_arg_int(p, 'hold_ttl_s', fn, false, 1, 604800), 900);
    a.waitlist         := logeer_arg_bool(p, 'waitlist', fn, false);
    a.max_open_stays   := logeer_arg_int(p, 'max_open_stays', fn, false, 0, 100000);

    IF a.idempotency_key = '' THEN
        PERFORM logeer_bad_arg(fn, 'idempotency_key must not be empty');
    END IF;
    IF a.idempotency_key IS NOT NULL
       AND (a.request_hash IS NULL OR a.request_hash !~ '^[0-9a-fA-F]{64}$') THEN
        PERFORM logeer_bad_arg(fn, 'request_hash must be 64 hex digits (SHA-256) with a key');
    END IF;
    IF a.method !~ '^[A-Z]{1,16}$' OR a.path = '' THEN
        PERFORM logeer_bad_arg(fn, 'method and path must name the request');
    END IF;
    IF a.principal_role NOT IN ('caregiver', 'referrer', 'coordinator') THEN
        PERFORM logeer_bad_arg(fn, 'principal_role ' || a.principal_role || ' may not request stays');
    END IF;
    IF a.check_out <= a.check_in THEN
        PERFORM logeer_bad_arg(fn, 'check_out must be after check_in');
    END IF;
    IF a.check_out - a.check_in > 365 THEN
        PERFORM logeer_bad_arg(fn, 'a stay is at most 365 nights');
    END IF;
    IF v_kind NOT IN ('planned', 'crisis') THEN
        PERFORM logeer_bad_arg(fn, 'kind must be planned or crisis');
    END IF;
    a.kind := v_kind::pool_kind;
    IF a.funding NOT IN ('wmo', 'wlz', 'zvw', 'pgb', 'private') THEN
        PERFORM logeer_bad_arg(fn, 'funding is not a known route: ' || a.funding);
    END IF;
    IF a.initial_status NOT IN ('held', 'requested', 'confirmed') THEN
        PERFORM logeer_bad_arg(fn, 'initial_status must be held, requested or confirmed');
    END IF;

    v_guest := logeer_book_guest_args(p -> 'guest');
    a.guest_alias        := v_guest.guest_alias;
    a.guest_birth_year   := v_guest.guest_birth_year;
    a.guest_care_profile := v_guest.guest_care_profile;
    a.guest_needs        := v_guest.guest_needs;

    IF a.waitlist THEN
        -- Without an explicit window the entry waits for exactly the nights it asked for.
        a.wait_earliest_check_in := coalesce(logeer_arg_date(p, 'wait_earliest_check_in', fn, false),
                                             a.check_in);
        a.wait_latest_check_out  := coalesce(logeer_arg_date(p, 'wait_latest_check_out', fn, false),
                                             a.check_out);
        a.wait_nights := coalesce(logeer_arg_int(p, 'wait_nights', fn, false, 1, 365),
                                  a.check_out - a.check_in);
        IF a.wait_latest_check_out - a.wait_earliest_check_in < a.wait_nights THEN
            PERFORM logeer_bad_arg(fn, 'the waitlist window is shorter than wait_nights');
        END IF;
    END IF;
    RETURN a;
END
$$;
COMMENT ON FUNCTION logeer_book_stay_args(jsonb) IS
    'Owns the parsing and checking of logeer_book_stay''s argument (everything that does not '
    'need the database): the checked request with defaults filled in, else 22023 naming the '
    'field.';

-- Separation of pathways (spec 3). The api layer decides this; checking it again here turns a
-- bug there into a clear error instead of a CHECK violation read as "no beds".
CREATE FUNCTION logeer_book_stay_check_pathway(arg logeer_book_args, p_pool_kind pool_kind)
RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fn constant text := 'logeer_book_stay';
BEGIN
    IF arg.kind = 'planned' AND p_pool_kind = 'crisis' THEN
        PERFORM logeer_bad_arg(fn, 'a planned stay cannot take a crisis bed');
    END IF;
    IF arg.kind = 'crisis' AND arg.principal_role = 'caregiver' THEN
        PERFORM logeer_bad_arg(fn, 'a caregiver cannot request a crisis stay');
    END IF;
    IF (arg.kind = 'crisis' AND p_pool_kind = 'planned') <> (arg.diversion_reason IS NOT NULL) THEN
        PERFORM logeer_bad_arg(fn, 'diversion_reason is required for, and only for, '
                                   'a crisis stay in a planned pool');
    END IF;
    IF arg.diversion_reason IS NOT NULL AND arg.principal_role <> 'coordinator' THEN
        PERFORM logeer_bad_arg(fn, 'only a coordinator may divert a planned bed to a crisis');
    END IF;
END
$$;
COMMENT ON FUNCTION logeer_book_stay_check_pathway(logeer_book_args, pool_kind) IS
    'Owns the checks of a booking against its pool''s kind: planned and crisis kept apart, a '
    'diversion only by a coordinator and only with a reason; else 22023.';

-- ---------------------------------------------------------------------------------------------
-- logeer_book_stay
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
BEGIN
    arg := logeer_book_stay_args(p);

    -- 1. Idempotency: a retry that must not book again is answered here.
    v_result := logeer_idempotency_claim(arg.principal_id, arg.idempotency_key, arg.request_hash);
    IF v_result.outcome IS NOT NULL THEN
        RETURN v_result;
    END IF;

    -- 2. Open stays per principal. Counting alone would let two parallel requests both see
    -- max - 1; the principal's advisory lock makes count-then-insert one step. It is taken
    -- before any pool or night lock and never while holding one, so it cannot join a cycle.
    -- A hold that has lapsed but is not yet swept no longer counts as open.
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

    -- 3. The pool, locked FOR KEY SHARE (what the stay's foreign key takes anyway) before any
    -- night, keeping the pool-then-nights order.
    SELECT po.id, po.provider_id, po.kind, po.active INTO v_pool
      FROM pools po WHERE po.id = arg.pool_id
       FOR KEY SHARE;
    IF NOT FOUND OR NOT v_pool.active THEN
        RETURN ROW('pool_not_found', 0, NULL, NULL)::logeer_result;
    END IF;
    PERFORM logeer_book_stay_check_pathway(arg, v_pool.kind);

    -- 4. Lock the nights in ascending order and count those with a free bed. In READ
    -- COMMITTED a row that another booking changed while we waited for its lock is re-read, so
    -- the count below is taken from the newest committed counters.
    v_nights := arg.check_out - arg.check_in;
    WITH locked AS MATERIALIZED (
        SELECT n.night, n.capacity - n.held - n.booked AS free
          FROM pool_nights n
         WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in AND n.night < arg.check_out
         ORDER BY n.night
           FOR UPDATE)
    SELECT count(*) FILTER (WHERE l.free > 0) INTO v_with_bed FROM locked l;

    IF v_with_bed < v_nights THEN
        -- A night without a row has capacity 0, so it is listed too.
        SELECT jsonb_agg(logeer_ymd(g.d) ORDER BY g.d) INTO v_full
          FROM (SELECT arg.check_in + i AS d FROM generate_series(0, v_nights - 1) AS i) AS g
          LEFT JOIN pool_nights n ON n.pool_id = arg.pool_id AND n.night = g.d
         WHERE coalesce(n.capacity - n.held - n.booked, 0) <= 0;
        IF NOT arg.waitlist THEN
            RETURN ROW('no_beds', 0, NULL, jsonb_build_object('nights', v_full))::logeer_result;
        END IF;
        v_status := 'waitlisted';
    ELSE
        -- 5. Take the beds. The rows are ours already, so this cannot wait; if the counts were
        -- somehow wrong, pool_nights_no_overbooking raises 23514 and everything rolls back.
        v_status := arg.initial_status;
        UPDATE pool_nights n
           SET held = n.held + logeer_uses_held(v_status),
               booked = n.booked + logeer_uses_booked(v_status)
         WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in AND n.night < arg.check_out;
    END IF;

    INSERT INTO stays (pool_id, provider_id, pool_kind, kind, status, check_in, check_out,
                       funding, guest_alias, guest_birth_year, guest_care_profile, guest_needs,
                       requested_by, requested_by_role, on_behalf_of, diversion_reason,
                       hold_expires_at, wait_earliest_check_in, wait_latest_check_out, wait_nights)
    VALUES (arg.pool_id, v_pool.provider_id, v_pool.kind, arg.kind, v_status,
            arg.check_in, arg.check_out, arg.funding, arg.guest_alias, arg.guest_birth_year,
            arg.guest_care_profile, arg.guest_needs, arg.principal_id, arg.principal_role,
            arg.on_behalf_of, arg.diversion_reason,
            CASE WHEN v_status = 'held' THEN now() + make_interval(secs => arg.hold_ttl_s) END,
            CASE WHEN v_status = 'waitlisted' THEN arg.wait_earliest_check_in END,
            CASE WHEN v_status = 'waitlisted' THEN arg.wait_latest_check_out END,
            CASE WHEN v_status = 'waitlisted' THEN arg.wait_nights END)
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
    'key_mismatch, too_many_open {open,max}, pool_not_found, no_beds {nights}.';

-- ---------------------------------------------------------------------------------------------
-- logeer_set_capacity: arguments
-- ---------------------------------------------------------------------------------------------

CREATE TYPE logeer_capacity_args AS (
    pool_id          uuid,
    provider_id      uuid,       -- when given, the pool must be this provider's
    if_match_version integer,
    actor_id         uuid,
    actor_role       user_role,
    reason           text,       -- trimmed; NULL when absent or blank
    hold_ttl_s       integer,
    range_from       date[],     -- the ranges, in the order given: [from, to) gets beds
    range_to         date[],
    range_beds       integer[],
    cancel_stay_ids  uuid[]      -- distinct, in id order; empty when none
);
COMMENT ON TYPE logeer_capacity_args IS
    'logeer_set_capacity''s argument, checked and with its defaults filled in '
    '(logeer_set_capacity_args).';

CREATE FUNCTION logeer_capacity_ranges(ranges jsonb, OUT range_from date[], OUT range_to date[],
                                       OUT range_beds integer[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fn constant text := 'logeer_set_capacity';
    -- Three years: the longest booking horizon a pool may have (pools_horizon_days_range).
    c_max_nights constant integer := 1096;
    v_elem  jsonb;
    v_f     date;
    v_t     date;
    v_total integer := 0;
BEGIN
    range_from := '{}';
    range_to   := '{}';
    range_beds := '{}';
    IF ranges IS NULL OR jsonb_typeof(ranges) <> 'array' THEN
        PERFORM logeer_bad_arg(fn, 'ranges must be an array');
    END IF;
    FOR v_elem IN SELECT e FROM jsonb_array_elements(ranges) AS e LOOP
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
        range_from := range_from || v_f;
        range_to   := range_to || v_t;
        -- 500 is pool_nights_capacity_sane; failing that CHECK would read as "no beds".
        range_beds := range_beds || logeer_arg_int(v_elem, 'beds', fn, true, 0, 500);
    END LOOP;
    -- Overlapping ranges would make the result depend on their order.
    IF EXISTS (SELECT 1
                 FROM unnest(range_from, range_to) WITH ORDINALITY AS a (f, t, o)
                 JOIN unnest(range_from, range_to) WITH ORDINALITY AS b (f, t, o)
                   ON b.o > a.o AND a.f < b.t AND b.f < a.t) THEN
        PERFORM logeer_bad_arg(fn, 'ranges overlap');
    END IF;
END
$$;
COMMENT ON FUNCTION logeer_capacity_ranges(jsonb) IS
    'Owns the checks of logeer_set_capacity''s ranges: objects {from, to, beds}, to after from, '
    'beds 0 to 500, at most 1096 nights together, no overlap; else 22023. Returns them as '
    'three arrays in the order given.';

CREATE FUNCTION logeer_set_capacity_args(p jsonb) RETURNS logeer_capacity_args
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fn constant text := 'logeer_set_capacity';
    a        logeer_capacity_args;
    v_ranges record;
BEGIN
    PERFORM logeer_check_object(p, fn);
    a.pool_id          := logeer_arg_uuid(p, 'pool_id', fn, true);
    a.provider_id      := logeer_arg_uuid(p, 'provider_id', fn, false);
    a.if_match_version := logeer_arg_int(p, 'if_match_version', fn, false, 0, 2147483647);
    a.actor_id         := logeer_arg_uuid(p, 'actor_id', fn, false);
    a.actor_role       := logeer_arg_role(p, 'actor_role', fn, false);
    a.reason           := nullif(btrim(logeer_arg_text(p, 'reason', fn, false, 1000)), '');
    a.hold_ttl_s       := coalesce(logeer_arg_int(p, 'hold_ttl_s', fn, false, 1, 604800), 900);
    IF (a.actor_id IS NULL) <> (a.actor_role IS NULL) THEN
        PERFORM logeer_bad_arg(fn, 'actor_id and actor_role go together');
    END IF;

    v_ranges     := logeer_capacity_ranges(p -> 'ranges');
    a.range_from := v_ranges.range_from;
    a.range_to   := v_ranges.range_to;
    a.range_beds := v_ranges.range_beds;

    a.cancel_stay_ids := '{}';
    IF p -> 'cancel_stay_ids' IS NOT NULL AND jsonb_typeof(p -> 'cancel_stay_ids') <> 'null' THEN
        IF jsonb_typeof(p -> 'cancel_stay_ids') <> 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(p -> 'cancel_stay_ids') AS e
                       WHERE jsonb_typeof(e) <> 'string'
                          OR e #>> '{}' !~ ('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                                            '[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')) THEN
            PERFORM logeer_bad_arg(fn, 'cancel_stay_ids must be an array of UUIDs');
        END IF;
        a.cancel_stay_ids := ARRAY(SELECT DISTINCT (e #>> '{}')::uuid
                                     FROM jsonb_array_elements(p -> 'cancel_stay_ids') AS e
                                    ORDER BY 1);
    END IF;
    IF cardinality(a.cancel_stay_ids) > 0 AND a.reason IS NULL THEN
        PERFORM logeer_bad_arg(fn, 'reason is required when cancelling stays');
    END IF;
    IF cardinality(a.cancel_stay_ids) > 0 AND a.actor_id IS NULL THEN
        PERFORM logeer_bad_arg(fn, 'actor_id is required when cancelling stays');
    END IF;
    RETURN a;
END
$$;
COMMENT ON FUNCTION logeer_set_capacity_args(jsonb) IS
    'Owns the parsing and checking of logeer_set_capacity''s argument (everything that does '
    'not need the database): the checked request with defaults filled in, else 22023 naming '
    'the field.';

-- ---------------------------------------------------------------------------------------------
-- logeer_set_capacity: the steps, in the order the entry point takes them
-- ---------------------------------------------------------------------------------------------

-- Lock order, rule 1: the stays are locked before any night, in id order.
CREATE FUNCTION logeer_capacity_lock_cancels(arg logeer_capacity_args) RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_bad uuid;
BEGIN
    IF cardinality(arg.cancel_stay_ids) > 0 THEN
        PERFORM 1 FROM stays s WHERE s.id = ANY (arg.cancel_stay_ids) ORDER BY s.id FOR UPDATE;
        SELECT c.id INTO v_bad
          FROM unnest(arg.cancel_stay_ids) AS c (id)
          LEFT JOIN stays s ON s.id = c.id
         WHERE s.id IS NULL
            OR s.pool_id IS DISTINCT FROM arg.pool_id
            OR s.status NOT IN ('held', 'requested', 'confirmed')
            OR NOT EXISTS (SELECT 1 FROM unnest(arg.range_from, arg.range_to) AS r (f, t)
                            WHERE s.check_in < r.t AND s.check_out > r.f)
         ORDER BY c.id
         LIMIT 1;
    END IF;
    RETURN v_bad;
END
$$;
COMMENT ON FUNCTION logeer_capacity_lock_cancels(logeer_capacity_args) IS
    'Owns step 3a of logeer_set_capacity: locks the stays to cancel (id order, before any '
    'night) and returns the first (by id) that is not this pool''s, holds or has no beds, or '
    'overlaps no range; NULL when all may be cancelled.';

-- Lock order, rule 3: the nights in one ascending sweep, before anything changes.
CREATE FUNCTION logeer_capacity_lock_nights(arg logeer_capacity_args, OUT lo date, OUT hi date)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    SELECT least(min(r.f), (SELECT min(s.check_in) FROM stays s
                             WHERE s.id = ANY (arg.cancel_stay_ids))),
           greatest(max(r.t), (SELECT max(s.check_out) FROM stays s
                                WHERE s.id = ANY (arg.cancel_stay_ids)))
      INTO lo, hi
      FROM unnest(arg.range_from, arg.range_to) AS r (f, t);
    IF lo IS NOT NULL THEN
        PERFORM logeer_lock_nights(arg.pool_id, span.lo, span.hi)
           FROM logeer_offer_span(arg.pool_id, lo, hi) AS span;
    END IF;
END
$$;
COMMENT ON FUNCTION logeer_capacity_lock_nights(logeer_capacity_args) IS
    'Owns step 3b of logeer_set_capacity: locks every night the call may touch (the ranges, the '
    'cancelled stays'' nights and the windows of waitlist entries that may be offered freed '
    'beds) in ascending order; returns [lo, hi), the ranges and cancelled stays together '
    '(NULL without ranges).';

CREATE FUNCTION logeer_capacity_cancel(arg logeer_capacity_args) RETURNS void
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
END
$$;
COMMENT ON FUNCTION logeer_capacity_cancel(logeer_capacity_args) IS
    'Owns step 3c of logeer_set_capacity: cancels the named stays (locked by '
    'logeer_capacity_lock_cancels, nights by logeer_capacity_lock_nights), releases their '
    'nights and writes their history and outbox rows.';

CREATE FUNCTION logeer_capacity_below_reserved(arg logeer_capacity_args) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_below jsonb;
BEGIN
    SELECT jsonb_agg(jsonb_build_object('date', logeer_ymd(n.night),
                                        'capacity_requested', r.beds,
                                        'held', n.held, 'booked', n.booked)
                     ORDER BY n.night)
      INTO v_below
      FROM unnest(arg.range_from, arg.range_to, arg.range_beds) AS r (f, t, beds)
      JOIN pool_nights n ON n.pool_id = arg.pool_id AND n.night >= r.f AND n.night < r.t
     WHERE r.beds < n.held + n.booked;
    RETURN v_below;
END
$$;
COMMENT ON FUNCTION logeer_capacity_below_reserved(logeer_capacity_args) IS
    'Owns step 4''s refusal of logeer_set_capacity: the nights whose new capacity would be '
    'below held + booked, as [{date, capacity_requested, held, booked}] in date order; NULL '
    'when there are none.';

-- Unchanged nights are not rewritten (no notification, no churn).
CREATE FUNCTION logeer_capacity_apply(arg logeer_capacity_args) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_raised boolean;
BEGIN
    SELECT coalesce(bool_or(r.beds > coalesce(n.capacity, 0)), false) INTO v_raised
      FROM (SELECT f + i AS night, beds
              FROM unnest(arg.range_from, arg.range_to, arg.range_beds) AS u (f, t, beds)
             CROSS JOIN LATERAL generate_series(0, t - f - 1) AS i) AS r
      LEFT JOIN pool_nights n ON n.pool_id = arg.pool_id AND n.night = r.night;
    INSERT INTO pool_nights (pool_id, night, capacity)
    SELECT arg.pool_id, f + i, beds
      FROM unnest(arg.range_from, arg.range_to, arg.range_beds) AS u (f, t, beds)
     CROSS JOIN LATERAL generate_series(0, t - f - 1) AS i
     ORDER BY 2
    ON CONFLICT (pool_id, night) DO UPDATE SET capacity = EXCLUDED.capacity
     WHERE pool_nights.capacity <> EXCLUDED.capacity;
    RETURN v_raised;
END
$$;
COMMENT ON FUNCTION logeer_capacity_apply(logeer_capacity_args) IS
    'Owns step 4 of logeer_set_capacity: writes the new capacities (creating missing nights, '
    'leaving unchanged ones alone); returns whether any night gained beds.';

-- The provider confirmed its counts: as_of moves, version bumps (pools_touch).
CREATE FUNCTION logeer_capacity_record(arg logeer_capacity_args, p_provider uuid,
                                       OUT new_version integer, OUT new_as_of timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    UPDATE pools po SET as_of = now() WHERE po.id = arg.pool_id
    RETURNING po.version, po.as_of INTO new_version, new_as_of;
    INSERT INTO events (type, provider_id, pool_id, night_from, night_to, payload)
    SELECT 'capacity.updated', p_provider, arg.pool_id, min(f), max(t),
           jsonb_build_object('ranges', coalesce(jsonb_agg(jsonb_build_object(
               'from', logeer_ymd(f), 'to', logeer_ymd(t), 'beds', beds) ORDER BY f), '[]'::jsonb),
               'cancelled', to_jsonb(arg.cancel_stay_ids))
      FROM unnest(arg.range_from, arg.range_to, arg.range_beds) AS r (f, t, beds);
END
$$;
COMMENT ON FUNCTION logeer_capacity_record(logeer_capacity_args, uuid) IS
    'Owns step 5 of logeer_set_capacity: moves the pool''s as_of (bumping its version) and '
    'writes the capacity.updated outbox row; returns the new version and as_of.';

-- ---------------------------------------------------------------------------------------------
-- logeer_set_capacity
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION logeer_set_capacity(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    arg       logeer_capacity_args;
    v_pool    record;
    v_bad     uuid;
    v_span    record;     -- lo, hi: the nights of the ranges and the cancelled stays
    v_below   jsonb;
    v_raised  boolean;
    v_new     record;     -- new_version, new_as_of
BEGIN
    arg := logeer_set_capacity_args(p);

    -- 1. The pool. FOR NO KEY UPDATE, not FOR UPDATE: it serialises capacity writers (and the
    -- version check) just the same, but FOR UPDATE would also block the FOR KEY SHARE lock
    -- that every booking and outbox insert takes on the pool through its foreign key. A
    -- booking holding nights and waiting for that key lock, while we wait for its nights,
    -- would be a deadlock.
    SELECT po.id, po.provider_id, po.version INTO v_pool
      FROM pools po WHERE po.id = arg.pool_id
       FOR NO KEY UPDATE;
    IF NOT FOUND OR (arg.provider_id IS NOT NULL AND v_pool.provider_id <> arg.provider_id) THEN
        RETURN ROW('pool_not_found', 0, NULL, NULL)::logeer_result;
    END IF;

    -- 2. Optimistic concurrency for the If-Match header.
    IF arg.if_match_version IS NOT NULL AND arg.if_match_version <> v_pool.version THEN
        RETURN ROW('version_mismatch', 0, NULL,
                   jsonb_build_object('current_version', v_pool.version))::logeer_result;
    END IF;

    -- 3a. The stays to cancel, locked before any night.
    v_bad := logeer_capacity_lock_cancels(arg);
    IF v_bad IS NOT NULL THEN
        RETURN ROW('bad_cancel', 0, NULL, jsonb_build_object('stay_id', v_bad))::logeer_result;
    END IF;

    -- 3b. Every night this call may touch, locked in one ascending sweep.
    v_span := logeer_capacity_lock_nights(arg);

    -- 3c/4. Cancel, then check the new capacities against what stays reserved. Refusing
    -- must leave nothing changed, cancellations included: they run in a subtransaction that
    -- the refusal rolls back (its queued notifications and outbox rows go with it). The night
    -- locks were taken outside it and are kept.
    BEGIN
        PERFORM logeer_capacity_cancel(arg);
        v_below := logeer_capacity_below_reserved(arg);
        IF v_below IS NOT NULL THEN
            RAISE EXCEPTION 'capacity below reserved' USING ERRCODE = 'LGR01';
        END IF;
    EXCEPTION WHEN SQLSTATE 'LGR01' THEN
        RETURN ROW('below_reserved', 0, NULL, jsonb_build_object('nights', v_below))::logeer_result;
    END;

    -- 4. The new capacities.
    v_raised := logeer_capacity_apply(arg);

    -- 5. as_of, version and the outbox row.
    v_new := logeer_capacity_record(arg, v_pool.provider_id);

    -- 6. New beds, or beds freed by cancelling, go to the waitlist.
    IF (v_raised OR cardinality(arg.cancel_stay_ids) > 0) AND v_span.lo IS NOT NULL THEN
        PERFORM logeer_offer_locked(arg.pool_id, v_span.lo, v_span.hi, arg.hold_ttl_s);
    END IF;

    RETURN ROW('ok', 200, NULL,
               jsonb_build_object('version', v_new.new_version,
                                  'as_of', logeer_rfc3339(v_new.new_as_of)))
           ::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_set_capacity(jsonb) IS
    'PUT /v1/pools/{id}/capacity: sets beds for ranges of nights, optionally cancelling named '
    'stays first, never below what stays reserved. Outcomes: ok (200, detail {version, as_of}), '
    'pool_not_found, version_mismatch {current_version}, bad_cancel {stay_id}, '
    'below_reserved {nights: [{date, capacity_requested, held, booked}]}.';

-- ---------------------------------------------------------------------------------------------
-- logeer_create_user: the same idempotency helpers as logeer_book_stay
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION logeer_create_user(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql AS $$
DECLARE
    fn constant text := 'logeer_create_user';
    v_role      user_role;
    v_provider  uuid;
    v_muni      text;
    v_principal uuid;
    v_key       text;
    v_hash_hex  text;
    v_path      text;
    v_result    logeer_result;
    v_user      users%ROWTYPE;
    v_body      text;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_role := logeer_arg_role(p, 'role', fn, true);
    v_provider := logeer_arg_uuid(p, 'provider_id', fn, false);
    v_muni := logeer_arg_text(p, 'municipality', fn, false, 6);
    v_principal := logeer_arg_uuid(p, 'principal_id', fn, false);
    v_key := logeer_arg_text(p, 'idempotency_key', fn, false, 255);
    v_hash_hex := logeer_arg_text(p, 'request_hash', fn, false, 64);
    v_path := coalesce(logeer_arg_text(p, 'path', fn, false, 2048), '/v1/users');
    IF v_key IS NOT NULL AND (v_principal IS NULL OR v_key = ''
                              OR v_hash_hex IS NULL OR v_hash_hex !~ '^[0-9a-f]{64}$') THEN
        PERFORM logeer_bad_arg(fn, 'idempotency_key needs principal_id and a request_hash');
    END IF;

    v_result := logeer_idempotency_claim(v_principal, v_key, v_hash_hex);
    IF v_result.outcome IS NOT NULL THEN
        RETURN v_result;
    END IF;

    IF v_provider IS NOT NULL AND NOT EXISTS (SELECT 1 FROM providers WHERE id = v_provider) THEN
        RETURN ROW('unknown_provider', 0, NULL, NULL)::logeer_result;
    END IF;
    IF v_muni IS NOT NULL AND NOT EXISTS (SELECT 1 FROM municipalities WHERE code = v_muni) THEN
        RETURN ROW('unknown_municipality', 0, NULL, NULL)::logeer_result;
    END IF;
    INSERT INTO users (email, password_hash, role, provider_id, municipality, display_name)
    VALUES (logeer_arg_text(p, 'email', fn, true, 254),
            logeer_arg_text(p, 'password_hash', fn, true, 512), v_role, v_provider, v_muni,
            logeer_arg_text(p, 'display_name', fn, false, 200))
    ON CONFLICT ((lower(email))) DO NOTHING
    RETURNING * INTO v_user;
    IF NOT FOUND THEN
        RETURN ROW('email_taken', 0, NULL, NULL)::logeer_result;
    END IF;
    v_body := logeer_user_json(v_user)::text;
    PERFORM logeer_idempotency_store(v_principal, v_key, v_hash_hex, 'POST', v_path, 201, v_body,
                                     jsonb_build_object('Location', '/v1/users/' || v_user.id));
    RETURN ROW('created', 201, v_body, NULL)::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_create_user(jsonb) IS
    'POST /v1/users and POST /v1/caregivers: outcomes created (201, body = user), replayed, '
    'key_mismatch, key_running, email_taken, unknown_provider, unknown_municipality.';
