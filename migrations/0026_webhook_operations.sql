-- 0026 webhook operations: secret rotation with a grace period (both signatures), endpoints that
-- fail for days are disabled and their owner is told, and messages for a disabled endpoint are
-- parked (kept, not sent, not given up) until it is enabled again. Restates
-- logeer_notify_essential and logeer_notify_from_event from 0017, and logeer_notify_events from
-- 0005 (no NOTIFY for an insert of no rows: the workers wake on it now).

-- ---------------------------------------------------------------------------------------------
-- Columns
-- ---------------------------------------------------------------------------------------------

ALTER TABLE webhook_endpoints
    -- The secret before the last rotation, still signed with until secret_prev_until, so a
    -- receiver can switch to the new one without refusing a single delivery.
    ADD COLUMN secret_prev_sealed bytea,
    ADD COLUMN secret_prev_key_id text,
    ADD COLUMN secret_prev_until  timestamptz,
    ADD COLUMN secret_rotated_at  timestamptz,
    -- Start of the current run of failed attempts; NULL after any success.
    ADD COLUMN failing_since      timestamptz,
    -- Why enabled is false: 'manual' (PATCH) or 'failing' (failed for days, owner told).
    ADD COLUMN disabled_reason    text,
    ADD COLUMN disabled_at        timestamptz,
    ADD CONSTRAINT webhook_endpoints_prev_secret_together CHECK (
        (secret_prev_sealed IS NULL) = (secret_prev_key_id IS NULL)
        AND (secret_prev_sealed IS NULL) = (secret_prev_until IS NULL)),
    ADD CONSTRAINT webhook_endpoints_disabled_reason_known CHECK (
        disabled_reason IS NULL OR (disabled_reason IN ('manual', 'failing') AND NOT enabled));
COMMENT ON COLUMN webhook_endpoints.secret_prev_until IS
    'Until then deliveries carry a signature with the previous secret as well as the new one.';
COMMENT ON COLUMN webhook_endpoints.failing_since IS
    'First failed attempt of the current run of failures; NULL once an attempt succeeds.';

UPDATE webhook_endpoints SET disabled_reason = 'manual', disabled_at = updated_at
 WHERE NOT enabled AND deleted_at IS NULL;

-- Parked: a pending message whose next attempt is 'infinity' waits for its endpoint to be
-- enabled again. Messages of endpoints disabled before this migration are parked now.
UPDATE notify_messages m SET next_attempt_at = 'infinity'
  FROM webhook_endpoints w
 WHERE m.channel = 'webhook' AND m.state = 'pending' AND w.id = m.recipient
   AND NOT w.enabled AND w.deleted_at IS NULL;

-- ---------------------------------------------------------------------------------------------
-- Parking and the failing-endpoint rule
-- ---------------------------------------------------------------------------------------------

-- After an endpoint is enabled or disabled: park its pending messages, or send them now with a
-- fresh retry window (the days they waited do not count towards giving up).
CREATE FUNCTION logeer_webhook_endpoint_sync(ep uuid, on_ boolean) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF on_ THEN
        UPDATE notify_messages SET next_attempt_at = now(), window_start = now()
         WHERE channel = 'webhook' AND recipient = ep AND state = 'pending'
           AND next_attempt_at = 'infinity';
    ELSE
        UPDATE notify_messages SET next_attempt_at = 'infinity'
         WHERE channel = 'webhook' AND recipient = ep AND state = 'pending'
           AND next_attempt_at <> 'infinity';
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    -- Released messages are due now: wake the workers (they listen on the outbox channel).
    IF on_ AND n > 0 THEN
        PERFORM pg_notify('logeer_events', '');
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION logeer_webhook_endpoint_sync(uuid, boolean) IS
    'Parks (disabled) or releases (enabled) an endpoint''s pending messages; how many moved.';

-- One attempt's outcome for the endpoint's health. A success ends a run of failures; a failure
-- starts one or, once the run is older than disable_after_s, disables the endpoint, parks its
-- messages (except msg, whose own outcome is being recorded by the caller in this statement)
-- and writes the outbox event that tells its owner by email.
CREATE FUNCTION logeer_webhook_outcome(ep uuid, msg uuid, ok boolean, disable_after_s integer)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    w webhook_endpoints%ROWTYPE;
BEGIN
    IF ok THEN
        UPDATE webhook_endpoints SET failing_since = NULL
         WHERE id = ep AND failing_since IS NOT NULL;
        RETURN false;
    END IF;
    UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now())
     WHERE id = ep AND enabled AND deleted_at IS NULL
    RETURNING * INTO w;
    IF NOT FOUND OR w.failing_since > now() - make_interval(secs => disable_after_s) THEN
        RETURN false;
    END IF;
    UPDATE webhook_endpoints SET enabled = false, disabled_reason = 'failing',
           disabled_at = now(), updated_at = now(), version = version + 1
     WHERE id = ep;
    UPDATE notify_messages SET next_attempt_at = 'infinity'
     WHERE channel = 'webhook' AND recipient = ep AND state = 'pending' AND id <> msg
       AND next_attempt_at <> 'infinity';
    INSERT INTO events (type, provider_id, payload)
    VALUES ('webhook_endpoint.disabled', w.provider_id,
            jsonb_build_object('endpoint_id', ep, 'reason', 'failing',
                               'failing_since', logeer_rfc3339(w.failing_since)));
    RETURN true;
END
$$;
COMMENT ON FUNCTION logeer_webhook_outcome(uuid, uuid, boolean, integer) IS
    'Endpoint health after one attempt: true when this failure disabled the endpoint.';

-- ---------------------------------------------------------------------------------------------
-- Restated from 0017: the owner's email is essential, and disabled endpoints keep their
-- messages (parked) instead of losing them.
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION logeer_notify_essential(kind text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT kind IN ('request_approved', 'request_declined', 'waitlist_offer', 'stay_cancelled',
                    'request_pending', 'webhook_disabled')
$$;
COMMENT ON FUNCTION logeer_notify_essential(text) IS
    'Kinds nobody can switch off: decisions about a caregiver''s own stay, an offer that lapses, '
    'a request that waits for the provider, and a webhook endpoint that was switched off.';

CREATE OR REPLACE FUNCTION logeer_notify_from_event(e events) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s          stays%ROWTYPE;
    v_data     jsonb;
    v_hook     text;
    v_body     text;
    v_from     text := e.payload->>'from';
    v_actor    user_role;
    v_cg       uuid;
    v_ep       record;
    v_owner    uuid;
BEGIN
    -- An endpoint switched off for failing: its owner is told, or every staff member when the
    -- one who registered it is gone. No webhook: the endpoint is the thing that fails.
    IF e.type = 'webhook_endpoint.disabled' THEN
        SELECT jsonb_build_object('event_id', e.id, 'event_type', e.type,
                                  'endpoint_id', w.id, 'url', w.url,
                                  'provider_id', w.provider_id, 'provider_name', v.name,
                                  'failing_since', e.payload->>'failing_since'),
               u.id
          INTO v_data, v_owner
          FROM webhook_endpoints w
          JOIN providers v ON v.id = w.provider_id
          LEFT JOIN users u ON u.id = w.created_by AND u.role = 'provider'
                           AND u.provider_id = w.provider_id AND u.erased_at IS NULL
                           AND u.disabled_at IS NULL
         WHERE w.id = (e.payload->>'endpoint_id')::uuid;
        IF v_data IS NULL THEN
            RETURN;
        END IF;
        IF v_owner IS NOT NULL THEN
            PERFORM logeer_notify_email(e, v_owner, 'webhook_disabled', v_data);
        ELSE
            PERFORM logeer_notify_staff(e, 'webhook_disabled', v_data);
        END IF;
        RETURN;
    END IF;

    v_hook := CASE e.type
        WHEN 'stay.requested' THEN 'stay.requested'
        -- A request in an approval pool may be created requested: no transition follows.
        WHEN 'stay.created' THEN CASE e.payload->>'status'
                                      WHEN 'requested' THEN 'stay.requested'
                                      WHEN 'confirmed' THEN 'stay.confirmed' END
        WHEN 'stay.confirmed' THEN 'stay.confirmed'
        WHEN 'stay.declined' THEN 'stay.declined'
        WHEN 'stay.cancelled' THEN 'stay.cancelled'
        WHEN 'stay.checked_in' THEN 'stay.checked_in'
        WHEN 'stay.completed' THEN 'stay.completed'
        WHEN 'stay.offered' THEN 'waitlist.offered'
        WHEN 'capacity.updated' THEN 'capacity.changed'
        ELSE NULL END;

    IF e.stay_id IS NOT NULL THEN
        SELECT * INTO s FROM stays WHERE id = e.stay_id;
        -- Ids, dates, place and status only: never the guest's alias, profile or needs.
        SELECT jsonb_build_object(
                   'event_id', e.id, 'event_type', e.type, 'stay_id', s.id,
                   'status', e.payload->>'status', 'from', v_from, 'kind', s.kind,
                   'check_in', logeer_ymd(s.check_in), 'check_out', logeer_ymd(s.check_out),
                   'pool_id', s.pool_id, 'pool_name', p.name,
                   'location_id', l.id, 'location_name', l.name,
                   'municipality', m.name, 'provider_id', s.provider_id, 'provider_name', v.name,
                   'hold_expires_at', logeer_rfc3339(s.hold_expires_at),
                   'hold_expires_local',
                   to_char(s.hold_expires_at AT TIME ZONE 'Europe/Amsterdam',
                           'DD-MM-YYYY "om" HH24:MI'),
                   'decline_reason', CASE WHEN e.type = 'stay.declined' THEN s.decline_reason END)
          INTO v_data
          FROM (SELECT 1) one
          LEFT JOIN pools p ON p.id = s.pool_id
          LEFT JOIN locations l ON l.id = p.location_id
          LEFT JOIN municipalities m ON m.code = l.municipality
          LEFT JOIN providers v ON v.id = s.provider_id;
        SELECT x.id INTO v_cg FROM users x WHERE x.id = s.requested_by AND x.role = 'caregiver';
        SELECT se.actor_role INTO v_actor FROM stay_events se
         WHERE se.stay_id = s.id ORDER BY se.id DESC LIMIT 1;

        IF e.type = 'stay.requested'
           OR (e.type = 'stay.created' AND e.payload->>'status' = 'requested') THEN
            PERFORM logeer_notify_email(e, v_cg, 'request_received', v_data);
            PERFORM logeer_notify_staff(e, 'request_pending', v_data);
        ELSIF e.type = 'stay.confirmed'
              OR (e.type = 'stay.created' AND e.payload->>'status' = 'confirmed') THEN
            PERFORM logeer_notify_email(e, v_cg, CASE WHEN v_from = 'requested'
                                                      THEN 'request_approved'
                                                      ELSE 'booking_confirmed' END, v_data);
            PERFORM logeer_notify_staff(e, 'new_booking', v_data);
        ELSIF e.type = 'stay.declined' THEN
            PERFORM logeer_notify_email(e, v_cg, 'request_declined', v_data);
        ELSIF e.type = 'stay.offered' THEN
            PERFORM logeer_notify_email(e, v_cg, 'waitlist_offer', v_data);
        ELSIF e.type = 'stay.cancelled' AND v_from IN ('requested', 'confirmed', 'checked_in') THEN
            -- Nobody is told what they did themselves.
            IF v_actor IS DISTINCT FROM 'caregiver' THEN
                PERFORM logeer_notify_email(e, v_cg, 'stay_cancelled', v_data);
            END IF;
            IF v_actor IS DISTINCT FROM 'provider' THEN
                PERFORM logeer_notify_staff(e, 'stay_cancelled_staff', v_data);
            END IF;
        END IF;
    ELSE
        v_data := jsonb_build_object('event_id', e.id, 'event_type', e.type,
                                     'pool_id', e.pool_id, 'provider_id', e.provider_id,
                                     'night_from', logeer_ymd(e.night_from),
                                     'night_to', logeer_ymd(e.night_to),
                                     'ranges', e.payload->'ranges');
    END IF;

    IF v_hook IS NULL OR e.provider_id IS NULL THEN
        RETURN;
    END IF;
    -- The webhook body is fixed now, so every attempt signs and sends the same bytes.
    v_body := jsonb_build_object(
        'type', v_hook, 'timestamp', logeer_rfc3339(e.at),
        'data', CASE WHEN e.stay_id IS NOT NULL THEN
                     jsonb_build_object('event_id', e.id, 'stay_id', e.stay_id,
                                        'status', v_data->'status', 'kind', v_data->'kind',
                                        'check_in', v_data->'check_in',
                                        'check_out', v_data->'check_out',
                                        'pool_id', e.pool_id, 'location_id', v_data->'location_id',
                                        'provider_id', e.provider_id,
                                        'hold_expires_at', v_data->'hold_expires_at',
                                        'decline_reason', v_data->'decline_reason')
                ELSE v_data - 'event_type' END)::text;
    -- A disabled endpoint still gets its messages, parked until it is enabled again, so
    -- nothing that happened while it was off is lost.
    FOR v_ep IN SELECT w.id, w.enabled FROM webhook_endpoints w
                 WHERE w.provider_id = e.provider_id AND w.deleted_at IS NULL
                   AND v_hook = ANY (w.event_types) ORDER BY w.id LOOP
        INSERT INTO notify_messages (event_id, event_type, channel, recipient, kind, data, body,
                                     next_attempt_at)
        VALUES (e.id, e.type, 'webhook', v_ep.id, v_hook, jsonb_build_object('event_id', e.id),
                v_body, CASE WHEN v_ep.enabled THEN now() ELSE 'infinity' END)
        ON CONFLICT ON CONSTRAINT notify_messages_once DO NOTHING;
    END LOOP;
END
$$;
COMMENT ON FUNCTION logeer_notify_from_event(events) IS
    'Who gets what for one outbox event (docs/operations.md lists the kinds). Idempotent.';

-- ---------------------------------------------------------------------------------------------
-- Restated from 0005: the outbox NOTIFY only when rows did enter it. A statement trigger also
-- fires for an INSERT ... SELECT that inserts nothing (the hold sweeper's, every second), and
-- the notification workers now wake on this NOTIFY instead of polling: without the check an
-- idle server would wake them every second for nothing.
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION logeer_notify_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted) THEN
        PERFORM pg_notify('logeer_events', '');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION logeer_notify_events() IS
    'Statement trigger: NOTIFY logeer_events (empty payload) after rows enter the outbox; '
    'nothing when the statement inserted no row.';

DROP TRIGGER events_notify ON events;
CREATE TRIGGER events_notify AFTER INSERT ON events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION logeer_notify_events();
