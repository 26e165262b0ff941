-- 0011: logeerzorg as it is practised (docs/practice.md): guests as people of their own, the
-- intake (kennismaking) per guest and location, and allowances (grants of nights) with their
-- usage counters. Owns the tables, their constraints and outbox triggers, and the steps added
-- to logeer_book_stay (0010's structure: args -> guest -> ... -> pathway -> intake -> nights).
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

-- ---------------------------------------------------------------------------------------------
-- Guests
-- ---------------------------------------------------------------------------------------------

-- The same minimal data a stay carried inline (0003): a pseudonym or initials, birth year,
-- care profile, needs; plus the municipality the guest lives in (Wmo is granted by it).
-- Never a full name, never a citizen service number: there is no column for one.
CREATE TABLE guests (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    caregiver_id  uuid NOT NULL REFERENCES users (id),
    alias         text,
    birth_year    integer,
    care_profile  text NOT NULL,
    needs         text[] NOT NULL DEFAULT '{}',
    municipality  text REFERENCES municipalities (code),
    erased_at     timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    version       integer NOT NULL DEFAULT 1,
    CONSTRAINT guests_alias_length CHECK (length(btrim(alias)) BETWEEN 1 AND 60),
    -- An erased guest keeps its row (stays, intakes and allowances refer to it) but no alias.
    CONSTRAINT guests_alias_unless_erased CHECK ((alias IS NULL) = (erased_at IS NOT NULL)),
    CONSTRAINT guests_birth_year_range CHECK (birth_year BETWEEN 1900 AND 2100),
    CONSTRAINT guests_care_profile_known CHECK (
        care_profile IN ('somatic', 'dementia', 'disability', 'psychiatric', 'youth')),
    CONSTRAINT guests_needs_tokens CHECK (is_token_list(needs)),
    CONSTRAINT guests_version_positive CHECK (version >= 1)
);
COMMENT ON TABLE guests IS
    'The people a caregiver cares for, who stay. Holds the minimal guest data stays used to '
    'carry inline; personal fields are cleared on erasure (erased_at), the row is kept.';
COMMENT ON COLUMN guests.caregiver_id IS 'The caregiver account the guest belongs to.';
COMMENT ON COLUMN guests.municipality IS 'Where the guest lives (CBS code): grants Wmo.';

CREATE INDEX guests_caregiver_idx ON guests (caregiver_id, created_at);

CREATE TRIGGER guests_touch BEFORE UPDATE ON guests
    FOR EACH ROW EXECUTE FUNCTION touch_versioned_row();

-- Only caregivers have guests. A CHECK cannot look at users, so a trigger does, and raises
-- the error a CHECK would (the api maps it by name).
CREATE FUNCTION logeer_guests_owner_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM users u WHERE u.id = NEW.caregiver_id AND u.role = 'caregiver') THEN
        RAISE EXCEPTION 'guests.caregiver_id must be a caregiver account'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'guests_owner_is_caregiver',
                  TABLE = 'guests';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION logeer_guests_owner_check() IS
    'Trigger: refuses a guest whose owner is not a caregiver (23514 guests_owner_is_caregiver).';
CREATE TRIGGER guests_owner_is_caregiver BEFORE INSERT OR UPDATE OF caregiver_id ON guests
    FOR EACH ROW EXECUTE FUNCTION logeer_guests_owner_check();

-- Every change of a guest is an event; the outbox holds no personal data, only the id.
CREATE FUNCTION logeer_guests_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, payload)
    VALUES (CASE WHEN TG_OP = 'INSERT' THEN 'guest.created'
                 WHEN NEW.erased_at IS NOT NULL AND OLD.erased_at IS NULL THEN 'guest.erased'
                 ELSE 'guest.updated' END,
            jsonb_build_object('guest_id', NEW.id));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION logeer_guests_outbox() IS
    'Trigger: writes guest.created, guest.updated or guest.erased (payload {guest_id}) to the '
    'outbox in the transaction that changed the guest.';
CREATE TRIGGER guests_outbox AFTER INSERT OR UPDATE ON guests
    FOR EACH ROW EXECUTE FUNCTION logeer_guests_outbox();

-- A stay for a registered guest refers to it; the guest fields are still copied into the stay
-- (everything downstream reads them there, and the stay keeps what was true when booked).
ALTER TABLE stays ADD COLUMN guest_id uuid REFERENCES guests (id);
ALTER TABLE stays ADD CONSTRAINT stays_guest_id_by_caregiver CHECK (
    guest_id IS NULL OR requested_by_role = 'caregiver');
COMMENT ON COLUMN stays.guest_id IS
    'The registered guest the stay is for (caregivers only); NULL for a guest given inline.';
CREATE INDEX stays_guest_idx ON stays (guest_id, check_out) WHERE guest_id IS NOT NULL;

-- Reads of a guest (not through a stay) are logged with the guest's id.
ALTER TABLE access_log ADD COLUMN guest_id uuid;
COMMENT ON COLUMN access_log.guest_id IS
    'The guest whose data was read or changed, for accesses through /v1/guests, intakes and '
    'allowances (stay_id is NULL then).';
CREATE INDEX access_log_guest_idx ON access_log (guest_id, at) WHERE guest_id IS NOT NULL;

-- The stay JSON gains guest_id (0005's shape otherwise unchanged).
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
        'created_at', logeer_rfc3339(s.created_at),
        'updated_at', logeer_rfc3339(s.updated_at),
        'version', s.version)
$$;

-- ---------------------------------------------------------------------------------------------
-- logeer_book_stay: a registered guest
-- ---------------------------------------------------------------------------------------------

ALTER TYPE logeer_book_args ADD ATTRIBUTE guest_id uuid;

-- 0010's argument step, with guest_id as the alternative to the inline guest: exactly one of
-- the two. The guest's fields are filled in by logeer_book_stay_guest, which needs the table.
CREATE OR REPLACE FUNCTION logeer_book_stay_args(p jsonb) RETURNS logeer_book_args
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
    a.guest_id         := logeer_arg_uuid(p, 'guest_id', fn, false);

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

    IF a.guest_id IS NOT NULL THEN
        IF p ? 'guest' THEN
            PERFORM logeer_bad_arg(fn, 'give guest or guest_id, not both');
        END IF;
        IF a.principal_role <> 'caregiver' THEN
            PERFORM logeer_bad_arg(fn, 'only a caregiver books for a registered guest');
        END IF;
    ELSE
        v_guest := logeer_book_guest_args(p -> 'guest');
        a.guest_alias        := v_guest.guest_alias;
        a.guest_birth_year   := v_guest.guest_birth_year;
        a.guest_care_profile := v_guest.guest_care_profile;
        a.guest_needs        := v_guest.guest_needs;
    END IF;

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

-- The registered guest: the principal's own, not erased. Locked FOR KEY SHARE (what the
-- stay's foreign key takes anyway) so that it cannot be erased while the stay is booked.
CREATE FUNCTION logeer_book_stay_guest(arg logeer_book_args)
RETURNS logeer_book_args
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_g guests%ROWTYPE;
BEGIN
    SELECT * INTO v_g FROM guests g
     WHERE g.id = arg.guest_id AND g.caregiver_id = arg.principal_id AND g.erased_at IS NULL
       FOR KEY SHARE;
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
COMMENT ON FUNCTION logeer_book_stay_guest(logeer_book_args) IS
    'Owns the registered-guest step of logeer_book_stay: locks the principal''s guest (FOR KEY '
    'SHARE) and copies its fields into the argument; NULL when there is no such guest.';

-- ---------------------------------------------------------------------------------------------
-- logeer_book_stay: 0010's steps, with the registered guest (and, below, intake and
-- allowance) in their place. Lock order: the guest row (key share), the open-stays advisory
-- lock, the pool (key share), the pool's nights ascending.
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
    SELECT po.id, po.provider_id, po.location_id, po.kind, po.active, po.care_profiles
      INTO v_pool
      FROM pools po WHERE po.id = arg.pool_id
       FOR KEY SHARE;
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
        -- 5. Take the beds (pool_nights_no_overbooking is the last line of defence).
        v_status := arg.initial_status;
        UPDATE pool_nights n
           SET held = n.held + logeer_uses_held(v_status),
               booked = n.booked + logeer_uses_booked(v_status)
         WHERE n.pool_id = arg.pool_id AND n.night >= arg.check_in AND n.night < arg.check_out;
    END IF;

    INSERT INTO stays (pool_id, provider_id, pool_kind, kind, status, check_in, check_out,
                       funding, guest_id, guest_alias, guest_birth_year, guest_care_profile,
                       guest_needs, requested_by, requested_by_role, on_behalf_of,
                       diversion_reason, hold_expires_at, wait_earliest_check_in,
                       wait_latest_check_out, wait_nights)
    VALUES (arg.pool_id, v_pool.provider_id, v_pool.kind, arg.kind, v_status,
            arg.check_in, arg.check_out, arg.funding, arg.guest_id, arg.guest_alias,
            arg.guest_birth_year, arg.guest_care_profile, arg.guest_needs, arg.principal_id,
            arg.principal_role, arg.on_behalf_of, arg.diversion_reason,
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
    'key_mismatch, too_many_open {open,max}, pool_not_found, no_beds {nights}, '
    'guest_not_found, care_profile {care_profile}.';

-- ---------------------------------------------------------------------------------------------
-- Erasure: 0007's function, erasing the account's guests as well
-- ---------------------------------------------------------------------------------------------

-- The guests' personal fields go; the rows stay (stays, intakes, allowances refer to them).
CREATE FUNCTION logeer_erase_guests(p_user uuid) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
BEGIN
    UPDATE guests SET alias = NULL, birth_year = NULL, needs = '{}', erased_at = now()
     WHERE caregiver_id = p_user AND erased_at IS NULL;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION logeer_erase_guests(uuid) IS
    'Part of logeer_erase_account: clears the personal fields of the caregiver''s guests '
    '(erased_at set); returns how many.';

CREATE OR REPLACE FUNCTION logeer_erase_account(p_user uuid, p_request_id text, p_address inet,
                                                p_route text) RETURNS logeer_result
LANGUAGE plpgsql AS $$
DECLARE
    v_user   users%ROWTYPE;
    v_open   jsonb;
    v_stays  integer;
    v_pseudo text;
BEGIN
    SELECT * INTO v_user FROM users WHERE id = p_user AND erased_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RETURN ROW('not_found', 0, NULL, NULL)::logeer_result;
    END IF;
    SELECT jsonb_agg(s.id) INTO v_open FROM stays s
     WHERE s.requested_by = p_user AND logeer_stay_is_open(s);
    IF v_open IS NOT NULL THEN
        RETURN ROW('open_stays', 0, NULL, jsonb_build_object('stay_ids', v_open))::logeer_result;
    END IF;

    INSERT INTO access_log (user_id, role, stay_id, guest_ref, action, request_id, address, route)
    SELECT p_user, v_user.role, s.id, s.guest_alias, 'stay.erase', left(p_request_id, 128),
           p_address, left(p_route, 256)
      FROM stays s WHERE s.requested_by = p_user AND s.guest_erased_at IS NULL;
    INSERT INTO access_log (user_id, role, guest_id, guest_ref, action, request_id, address, route)
    SELECT p_user, v_user.role, g.id, g.alias, 'guest.erase', left(p_request_id, 128),
           p_address, left(p_route, 256)
      FROM guests g WHERE g.caregiver_id = p_user AND g.erased_at IS NULL;

    v_pseudo := 'erased-' || p_user || '@invalid';
    UPDATE users SET email = v_pseudo, password_hash = NULL, display_name = NULL,
                     erased_at = now()
     WHERE id = p_user;
    UPDATE sessions SET revoked_at = coalesce(revoked_at, now()), address = NULL,
                        user_agent = NULL
     WHERE user_id = p_user;
    UPDATE login_attempts SET email_lower = v_pseudo WHERE email_lower = lower(v_user.email);
    DELETE FROM idempotency_keys WHERE principal_id = p_user;
    UPDATE stays SET guest_alias = NULL, guest_birth_year = NULL, guest_needs = '{}',
                     guest_erased_at = now()
     WHERE requested_by = p_user AND guest_erased_at IS NULL;
    GET DIAGNOSTICS v_stays = ROW_COUNT;
    PERFORM logeer_erase_guests(p_user);
    RETURN ROW('erased', 200, jsonb_build_object(
                   'id', p_user, 'erased_at', logeer_rfc3339(now()),
                   'stays_erased', v_stays)::text, NULL)::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_erase_account(uuid, text, inet, text) IS
    'DELETE /v1/me, last step: pseudonymise the account, revoke its sessions, clear the guest '
    'data of all its stays and of its registered guests (logeer_erase_guests). Outcomes: '
    'erased (200), open_stays {stay_ids} (cancel them first), not_found.';
