-- 0052: an outbox event that tells nobody is done with before anything is read for it (issue
-- 17: the notification pipeline's share of the database under a burst of bookings). Restates
-- logeer_notify_from_event from 0026; who is told what is unchanged. Runs inside the
-- migrator's transaction: no BEGIN/COMMIT.
--
-- The producer (logeer_notify_produce) calls this function for every outbox event. For a stay
-- event it read the stay, its pool, location, municipality and provider, the requester and the
-- stay's last history row before deciding, and most stay events decide nothing: a hold made,
-- a hold that lapsed, a hold let go by the family send no email, and a provider with no
-- endpoint for the event's hook gets no webhook. pg_stat_statements in the bench's contention
-- race: 0.099 ms a call, one call per booking and per cancel, on the cores the bookings need.
-- Now the emails an event sends are decided first, from the event alone (type, status, the
-- status it came from: the same conditions as before, in one CASE that the branches then act
-- on), and an event with no email and no subscribed endpoint returns at once. An event that
-- does tell someone is handled exactly as before.

CREATE OR REPLACE FUNCTION logeer_notify_from_event(e events) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s          stays%ROWTYPE;
    v_data     jsonb;
    v_hook     text;
    v_body     text;
    v_from     text := e.payload->>'from';
    v_status   text := e.payload->>'status';
    v_tell     text;
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

    -- Which emails a stay event sends, from the event alone (the branches below act on it).
    v_tell := CASE
        WHEN e.stay_id IS NULL THEN NULL
        WHEN e.type = 'stay.requested'
             OR (e.type = 'stay.created' AND v_status = 'requested') THEN 'requested'
        WHEN e.type = 'stay.confirmed'
             OR (e.type = 'stay.created' AND v_status = 'confirmed') THEN 'confirmed'
        WHEN e.type = 'stay.declined' THEN 'declined'
        WHEN e.type = 'stay.offered' THEN 'offered'
        WHEN e.type = 'stay.cancelled' AND v_from IN ('requested', 'confirmed', 'checked_in')
             THEN 'cancelled'
        END;

    -- Most events tell nobody: a hold made, lapsed or let go sends no email, and a provider
    -- without an endpoint for the event's hook gets no webhook. Such an event is done here,
    -- before the stay, its place and its people are read (see the top of 0052).
    IF v_tell IS NULL
       AND (v_hook IS NULL OR e.provider_id IS NULL
            OR NOT EXISTS (SELECT 1 FROM webhook_endpoints w
                            WHERE w.provider_id = e.provider_id AND w.deleted_at IS NULL
                              AND v_hook = ANY (w.event_types))) THEN
        RETURN;
    END IF;

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

        IF v_tell = 'requested' THEN
            PERFORM logeer_notify_email(e, v_cg, 'request_received', v_data);
            PERFORM logeer_notify_staff(e, 'request_pending', v_data);
        ELSIF v_tell = 'confirmed' THEN
            PERFORM logeer_notify_email(e, v_cg, CASE WHEN v_from = 'requested'
                                                      THEN 'request_approved'
                                                      ELSE 'booking_confirmed' END, v_data);
            PERFORM logeer_notify_staff(e, 'new_booking', v_data);
        ELSIF v_tell = 'declined' THEN
            PERFORM logeer_notify_email(e, v_cg, 'request_declined', v_data);
        ELSIF v_tell = 'offered' THEN
            PERFORM logeer_notify_email(e, v_cg, 'waitlist_offer', v_data);
        ELSIF v_tell = 'cancelled' THEN
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
