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
-- Intakes (kennismaking)
-- ---------------------------------------------------------------------------------------------

ALTER TABLE pools ADD COLUMN intake_required boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN pools.intake_required IS
    'Planned stays need a valid welcome or trial_first intake of the guest at the pool''s '
    'location (logeer_book_stay_check_intake).';
ALTER TABLE locations ADD COLUMN intake_valid_days integer NOT NULL DEFAULT 730;
ALTER TABLE locations ADD CONSTRAINT locations_intake_valid_days_range CHECK (
    intake_valid_days BETWEEN 1 AND 3650);
COMMENT ON COLUMN locations.intake_valid_days IS
    'Days an intake outcome stays valid after the decision or the guest''s last stay at the '
    'location, whichever is later (logeer_intake_valid_until).';

CREATE TYPE intake_status AS ENUM ('requested', 'scheduled', 'decided', 'cancelled');
CREATE TYPE intake_outcome AS ENUM ('welcome', 'trial_first', 'not_suitable');

CREATE TABLE intakes (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    guest_id          uuid NOT NULL REFERENCES guests (id),
    location_id       uuid NOT NULL,
    -- Copied from the location like pools do, so that "is this intake mine?" is a column check
    -- for provider staff; the composite key keeps the copy right.
    provider_id       uuid NOT NULL,
    requested_by      uuid NOT NULL REFERENCES users (id),
    status            intake_status NOT NULL DEFAULT 'requested',
    moments           text,
    scheduled_at      timestamptz,
    outcome           intake_outcome,
    trial_max_nights  integer,
    reason            text,
    notes             text,
    decided_at        timestamptz,
    cancel_reason     text,
    cancelled_by_role user_role,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    version           integer NOT NULL DEFAULT 1,
    CONSTRAINT intakes_location_fkey FOREIGN KEY (location_id, provider_id)
        REFERENCES locations (id, provider_id) ON UPDATE CASCADE,
    CONSTRAINT intakes_moments_length CHECK (length(btrim(moments)) BETWEEN 1 AND 500),
    CONSTRAINT intakes_notes_length CHECK (length(btrim(notes)) BETWEEN 1 AND 1000),
    CONSTRAINT intakes_reason_length CHECK (length(btrim(reason)) BETWEEN 1 AND 1000),
    CONSTRAINT intakes_cancel_reason_length CHECK (length(btrim(cancel_reason)) BETWEEN 1 AND 1000),
    -- requested -> scheduled -> decided, or cancelled before a decision.
    CONSTRAINT intakes_scheduled_has_moment CHECK (
        status NOT IN ('scheduled', 'decided') OR scheduled_at IS NOT NULL),
    CONSTRAINT intakes_decided_has_outcome CHECK (
        (status = 'decided') = (outcome IS NOT NULL AND decided_at IS NOT NULL)),
    CONSTRAINT intakes_trial_has_nights CHECK (
        (outcome IS NOT DISTINCT FROM 'trial_first') = (trial_max_nights IS NOT NULL)),
    CONSTRAINT intakes_trial_nights_range CHECK (trial_max_nights BETWEEN 1 AND 28),
    CONSTRAINT intakes_not_suitable_has_reason CHECK (
        outcome IS DISTINCT FROM 'not_suitable' OR reason IS NOT NULL),
    CONSTRAINT intakes_cancelled_has_role CHECK (
        (status = 'cancelled') = (cancelled_by_role IS NOT NULL)),
    CONSTRAINT intakes_version_positive CHECK (version >= 1)
);
COMMENT ON TABLE intakes IS
    'Intake requests (kennismaking) of a guest at a location and their outcome. One open '
    'request per guest and location (intakes_one_open).';
COMMENT ON COLUMN intakes.moments IS 'Moments that suit the caregiver, as they wrote them.';
COMMENT ON COLUMN intakes.trial_max_nights IS
    'With trial_first: the longest stay allowed until the provider records a new outcome.';

-- Asking twice for the same kennismaking is a mistake; a decided or cancelled one may be
-- followed by a new request (a lapsed outcome, a second try).
CREATE UNIQUE INDEX intakes_one_open ON intakes (guest_id, location_id)
    WHERE status IN ('requested', 'scheduled');
CREATE INDEX intakes_guest_location_idx ON intakes (guest_id, location_id, decided_at)
    WHERE status = 'decided';
CREATE INDEX intakes_provider_idx ON intakes (provider_id, created_at);

CREATE TRIGGER intakes_touch BEFORE UPDATE ON intakes
    FOR EACH ROW EXECUTE FUNCTION touch_versioned_row();

-- Every transition is an event; ids and the outcome only, no personal data.
CREATE FUNCTION logeer_intakes_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = OLD.status
       AND NEW.outcome IS NOT DISTINCT FROM OLD.outcome
       AND NEW.scheduled_at IS NOT DISTINCT FROM OLD.scheduled_at THEN
        RETURN NULL;
    END IF;
    INSERT INTO events (type, provider_id, payload)
    VALUES ('intake.' || NEW.status, NEW.provider_id,
            jsonb_build_object('intake_id', NEW.id, 'guest_id', NEW.guest_id,
                               'location_id', NEW.location_id, 'intake_status', NEW.status,
                               'previous_intake_status',
                               CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
                               'outcome', NEW.outcome));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION logeer_intakes_outbox() IS
    'Trigger: writes intake.<status> to the outbox for every new intake and every change of '
    'its status, outcome or moment.';
CREATE TRIGGER intakes_outbox AFTER INSERT OR UPDATE ON intakes
    FOR EACH ROW EXECUTE FUNCTION logeer_intakes_outbox();

-- Valid while the later of the decision and the guest's last stay at the location (that got
-- its beds: confirmed, checked in or completed) plus the location's intake_valid_days is not
-- before today. NULL for an intake without a decision.
CREATE FUNCTION logeer_intake_valid_until(i intakes) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT greatest((i.decided_at AT TIME ZONE 'Europe/Amsterdam')::date,
                    (SELECT max(s.check_out) FROM stays s JOIN pools po ON po.id = s.pool_id
                      WHERE s.guest_id = i.guest_id AND po.location_id = i.location_id
                        AND s.status IN ('confirmed', 'checked_in', 'completed')))
           + l.intake_valid_days
      FROM locations l WHERE l.id = i.location_id AND i.decided_at IS NOT NULL
$$;
COMMENT ON FUNCTION logeer_intake_valid_until(intakes) IS
    'Last day a decided intake''s outcome counts: the later of decided_at and the guest''s last '
    'stay''s check_out at the location, plus locations.intake_valid_days.';

CREATE FUNCTION logeer_intake_json(i intakes) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', i.id, 'guest_id', i.guest_id,
        'guest', (SELECT jsonb_build_object('alias', g.alias, 'birth_year', g.birth_year,
                                            'care_profile', g.care_profile,
                                            'needs', to_jsonb(g.needs))
                    FROM guests g WHERE g.id = i.guest_id),
        'location_id', i.location_id, 'provider_id', i.provider_id, 'status', i.status,
        'moments', i.moments, 'scheduled_at', logeer_rfc3339(i.scheduled_at),
        'outcome', i.outcome, 'trial_max_nights', i.trial_max_nights, 'reason', i.reason,
        'notes', i.notes, 'decided_at', logeer_rfc3339(i.decided_at),
        'valid_until', logeer_ymd(logeer_intake_valid_until(i)),
        'lapsed', CASE WHEN i.status = 'decided'
                       THEN logeer_intake_valid_until(i) < logeer_today() END,
        'cancel_reason', i.cancel_reason, 'cancelled_by_role', i.cancelled_by_role,
        'created_at', logeer_rfc3339(i.created_at), 'updated_at', logeer_rfc3339(i.updated_at),
        'version', i.version)
$$;
COMMENT ON FUNCTION logeer_intake_json(intakes) IS
    'An intake as the API shows it, with the guest''s minimal data and whether it lapsed.';

-- POST /v1/intakes/{id}/{schedule,decide,cancel}: one compare-and-set on the status. The api
-- has checked the role (schedule and decide: provider staff) and the fields.
CREATE FUNCTION logeer_intake_transition(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql AS $$
DECLARE
    fn constant text := 'logeer_intake_transition';
    v_id     uuid;
    v_action text;
    v_role   user_role;
    v_scope  uuid;
    v_from   intake_status[];
    v_i      intakes%ROWTYPE;
    v_cur    intakes%ROWTYPE;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_id     := logeer_arg_uuid(p, 'intake_id', fn, true);
    v_action := logeer_arg_text(p, 'action', fn, true, 16);
    v_role   := logeer_arg_role(p, 'actor_role', fn, true);
    v_scope  := logeer_arg_uuid(p, 'scope', fn, false);
    v_from := CASE v_action WHEN 'schedule' THEN '{requested,scheduled}'::intake_status[]
                            WHEN 'decide' THEN '{scheduled,decided}'::intake_status[]
                            WHEN 'cancel' THEN '{requested,scheduled}'::intake_status[] END;
    IF v_from IS NULL THEN
        PERFORM logeer_bad_arg(fn, 'action must be schedule, decide or cancel');
    END IF;

    SELECT i.* INTO v_cur FROM intakes i
      JOIN guests g ON g.id = i.guest_id
     WHERE i.id = v_id
       AND (v_scope IS NULL OR i.provider_id = v_scope OR g.caregiver_id = v_scope)
       FOR UPDATE OF i;
    IF NOT FOUND THEN
        RETURN ROW('not_found', 0, NULL, NULL)::logeer_result;
    END IF;
    -- A new decision on a decided intake only after a trial (docs/practice.md).
    IF NOT (v_cur.status = ANY (v_from))
       OR (v_action = 'decide' AND v_cur.status = 'decided' AND v_cur.outcome <> 'trial_first') THEN
        RETURN ROW('stale', 0, NULL,
                   jsonb_build_object('current_status', v_cur.status))::logeer_result;
    END IF;

    UPDATE intakes i SET
        status = CASE v_action WHEN 'schedule' THEN 'scheduled'::intake_status
                               WHEN 'decide' THEN 'decided'::intake_status
                               ELSE 'cancelled'::intake_status END,
        scheduled_at = CASE WHEN v_action = 'schedule'
                            THEN (p ->> 'at')::timestamptz ELSE i.scheduled_at END,
        outcome = CASE WHEN v_action = 'decide' THEN (p ->> 'outcome')::intake_outcome
                       ELSE i.outcome END,
        trial_max_nights = CASE WHEN v_action = 'decide' THEN (p ->> 'trial_max_nights')::int
                                ELSE i.trial_max_nights END,
        reason = CASE WHEN v_action = 'decide' THEN p ->> 'reason' ELSE i.reason END,
        notes = CASE WHEN p ? 'notes' THEN p ->> 'notes' ELSE i.notes END,
        decided_at = CASE WHEN v_action = 'decide' THEN now() ELSE i.decided_at END,
        cancel_reason = CASE WHEN v_action = 'cancel' THEN p ->> 'reason' ELSE i.cancel_reason END,
        cancelled_by_role = CASE WHEN v_action = 'cancel' THEN v_role ELSE i.cancelled_by_role END
     WHERE i.id = v_id
    RETURNING * INTO v_i;
    RETURN ROW('ok', 200, logeer_intake_json(v_i)::text, NULL)::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_intake_transition(jsonb) IS
    'Schedules, decides or cancels an intake the caller may see (scope: a provider or '
    'caregiver id, NULL for all). Outcomes: ok (200, body = intake), not_found, stale '
    '{current_status}.';

-- The booking step: in an intake_required pool a planned stay needs the guest's latest
-- decision at the pool's location to be welcome or trial_first and not lapsed; a trial limits
-- the stay's nights. Crisis stays (referrers, diversions) never wait for a kennismaking. The
-- decision is read FOR SHARE, so a concurrent new decision waits for this booking.
CREATE FUNCTION logeer_book_stay_check_intake(arg logeer_book_args, p_location uuid,
                                              p_required boolean)
RETURNS logeer_result
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_i     intakes%ROWTYPE;
    v_until date;
BEGIN
    IF NOT p_required OR arg.kind <> 'planned' THEN
        RETURN NULL;
    END IF;
    IF arg.guest_id IS NOT NULL THEN
        SELECT * INTO v_i FROM intakes i
         WHERE i.guest_id = arg.guest_id AND i.location_id = p_location AND i.status = 'decided'
         ORDER BY i.decided_at DESC, i.id
         LIMIT 1
           FOR SHARE;
        IF FOUND THEN
            v_until := logeer_intake_valid_until(v_i);
        END IF;
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
COMMENT ON FUNCTION logeer_book_stay_check_intake(logeer_book_args, uuid, boolean) IS
    'Owns the intake step of logeer_book_stay: NULL when the booking may go on, else the '
    'outcome intake_required {location_id, intake_id, intake_outcome, lapsed} or '
    'trial_too_long {trial_max_nights}.';

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
    SELECT po.id, po.provider_id, po.location_id, po.kind, po.active, po.care_profiles,
           po.intake_required
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
    'guest_not_found, care_profile {care_profile}, intake_required {location_id, intake_id, '
    'intake_outcome, lapsed}, trial_too_long {trial_max_nights}.';

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
    -- Free text about the guest goes too; the outcome itself stays for the figures (a
    -- not_suitable outcome must keep a reason: it says that it was erased).
    UPDATE intakes i SET moments = NULL, notes = NULL, cancel_reason = NULL,
                         reason = CASE WHEN i.reason IS NOT NULL THEN '(gewist)' END
      FROM guests g
     WHERE g.id = i.guest_id AND g.caregiver_id = p_user
       AND (i.moments IS NOT NULL OR i.notes IS NOT NULL OR i.reason IS NOT NULL
            OR i.cancel_reason IS NOT NULL);
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
