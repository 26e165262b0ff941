-- 0017 notifications: the message store behind email and webhooks (spec section 9). Outbox
-- events become messages here, in one transaction with the producer's read position, so no
-- event is turned into messages twice and none is skipped; delivery (src/notify/) claims due
-- messages with FOR UPDATE SKIP LOCKED and a lease. Messages hold NO health data: ids, dates,
-- location, status and the provider's decline reason only (docs/privacy.md).

CREATE TYPE notify_channel AS ENUM ('email', 'webhook');
CREATE TYPE notify_state AS ENUM ('pending', 'sent', 'failed');

-- ---------------------------------------------------------------------------------------------
-- Webhook endpoints (Standard Webhooks)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE webhook_endpoints (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id   uuid NOT NULL REFERENCES providers (id),
    url           text NOT NULL,
    event_types   text[] NOT NULL,
    description   text,
    enabled       boolean NOT NULL DEFAULT true,
    -- The signing secret must be recoverable to sign, so it cannot be hashed: it is sealed with
    -- AES-256-GCM under the server key (LOGEER_WEBHOOK_KEY), nonce || ciphertext || tag.
    secret_sealed bytea NOT NULL,
    secret_key_id text NOT NULL,
    created_by    uuid REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    version       integer NOT NULL DEFAULT 1,
    CONSTRAINT webhook_endpoints_url_shape CHECK (length(url) <= 2000 AND url ~ '^https?://[^\s]+$'),
    CONSTRAINT webhook_endpoints_types_known CHECK (
        cardinality(event_types) BETWEEN 1 AND 20 AND event_types <@ ARRAY[
            'stay.requested', 'stay.confirmed', 'stay.declined', 'stay.cancelled',
            'stay.checked_in', 'stay.completed', 'waitlist.offered', 'capacity.changed']),
    CONSTRAINT webhook_endpoints_description_length CHECK (length(description) <= 500)
);
COMMENT ON TABLE webhook_endpoints IS
    'Provider systems that receive signed webhooks. Deleting sets deleted_at: the delivery log '
    'keeps pointing at the row.';
COMMENT ON COLUMN webhook_endpoints.secret_key_id IS
    'Which server key sealed the secret (a digest prefix, or "dev" for the built-in key).';
CREATE INDEX webhook_endpoints_provider_idx ON webhook_endpoints (provider_id)
    WHERE deleted_at IS NULL;

-- ---------------------------------------------------------------------------------------------
-- Messages
-- ---------------------------------------------------------------------------------------------

CREATE TABLE notify_messages (
    -- The stable message id: an email's Message-ID and a webhook's webhook-id, the same on
    -- every attempt, so a receiver can drop a repeat.
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id        bigint NOT NULL,
    event_type      text NOT NULL,
    channel         notify_channel NOT NULL,
    -- A user id for email (the address is read at delivery, so a changed or erased account is
    -- honoured), an endpoint id for webhooks.
    recipient       uuid NOT NULL,
    kind            text NOT NULL,
    state           notify_state NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_by      text,
    last_error      text,
    last_status     integer,
    data            jsonb NOT NULL,
    body            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    redeliveries    integer NOT NULL DEFAULT 0,
    -- Retries go on until window_start + LOGEER_NOTIFY_GIVE_UP_S; a redelivery starts anew.
    window_start    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notify_messages_once UNIQUE (event_id, channel, recipient, kind),
    CONSTRAINT notify_messages_sent_at CHECK ((state = 'sent') = (sent_at IS NOT NULL)),
    CONSTRAINT notify_messages_error_length CHECK (length(last_error) <= 500)
);
COMMENT ON TABLE notify_messages IS
    'One email or webhook per (event, channel, recipient, kind); at least once, with a stable id. '
    'A claim moves next_attempt_at forward by a lease: a process that dies mid-delivery leaves '
    'the message to be claimed again when the lease ends. No health data in data or body.';
COMMENT ON COLUMN notify_messages.attempts IS 'Claims so far (counted when claimed).';
COMMENT ON COLUMN notify_messages.body IS 'Webhooks: the exact JSON body signed and sent.';
CREATE INDEX notify_messages_due_idx ON notify_messages (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notify_messages_recipient_idx ON notify_messages (recipient, created_at DESC);
CREATE INDEX notify_messages_unsent_idx ON notify_messages (channel, state) WHERE state <> 'sent';

-- Where the producer is in the outbox: one row, moved in the same transaction as the messages
-- it wrote. Starts at the outbox's head: history before the upgrade is not sent.
CREATE TABLE notify_cursor (
    only_row   boolean PRIMARY KEY DEFAULT true,
    txid       xid8 NOT NULL,
    event_id   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notify_cursor_one_row CHECK (only_row)
);
COMMENT ON TABLE notify_cursor IS 'The notification producer''s position in the events outbox.';
INSERT INTO notify_cursor (txid, event_id) SELECT h.txid, h.id FROM logeer_events_head() h;

-- What a user switched off. Only kinds that are not essential can be (checked by the API, and
-- ignored here for essential kinds as a second line).
CREATE TABLE notify_preferences (
    user_id    uuid NOT NULL REFERENCES users (id),
    kind       text NOT NULL,
    enabled    boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind)
);
COMMENT ON TABLE notify_preferences IS 'Per user and message kind: on or off (absent: on).';

CREATE FUNCTION logeer_notify_essential(kind text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT kind IN ('request_approved', 'request_declined', 'waitlist_offer', 'stay_cancelled',
                    'request_pending')
$$;
COMMENT ON FUNCTION logeer_notify_essential(text) IS
    'Kinds nobody can switch off: decisions about a caregiver''s own stay, an offer that lapses, '
    'and a request that waits for the provider.';

-- ---------------------------------------------------------------------------------------------
-- Producer: events -> messages
-- ---------------------------------------------------------------------------------------------

-- One email to a user, unless the user is gone or switched the kind off.
CREATE FUNCTION logeer_notify_email(e events, u uuid, kind_ text, data_ jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF u IS NULL OR NOT EXISTS (SELECT 1 FROM users x WHERE x.id = u AND x.erased_at IS NULL
                                                        AND x.disabled_at IS NULL) THEN
        RETURN;
    END IF;
    IF NOT logeer_notify_essential(kind_) AND EXISTS (
           SELECT 1 FROM notify_preferences p WHERE p.user_id = u AND p.kind = kind_
                                                AND NOT p.enabled) THEN
        RETURN;
    END IF;
    INSERT INTO notify_messages (event_id, event_type, channel, recipient, kind, data)
    VALUES (e.id, e.type, 'email', u, kind_, data_)
    ON CONFLICT ON CONSTRAINT notify_messages_once DO NOTHING;
END
$$;

-- The same kind to every active staff member of a provider.
CREATE FUNCTION logeer_notify_staff(e events, kind_ text, data_ jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    u uuid;
BEGIN
    FOR u IN SELECT x.id FROM users x
              WHERE x.role = 'provider' AND x.provider_id = e.provider_id
                AND x.erased_at IS NULL AND x.disabled_at IS NULL ORDER BY x.id LOOP
        PERFORM logeer_notify_email(e, u, kind_, data_);
    END LOOP;
END
$$;

CREATE FUNCTION logeer_notify_from_event(e events) RETURNS void
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
BEGIN
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
    FOR v_ep IN SELECT w.id FROM webhook_endpoints w
                 WHERE w.provider_id = e.provider_id AND w.enabled AND w.deleted_at IS NULL
                   AND v_hook = ANY (w.event_types) ORDER BY w.id LOOP
        INSERT INTO notify_messages (event_id, event_type, channel, recipient, kind, data, body)
        VALUES (e.id, e.type, 'webhook', v_ep.id, v_hook, jsonb_build_object('event_id', e.id),
                v_body)
        ON CONFLICT ON CONSTRAINT notify_messages_once DO NOTHING;
    END LOOP;
END
$$;
COMMENT ON FUNCTION logeer_notify_from_event(events) IS
    'Who gets what for one outbox event (docs/operations.md lists the kinds). Idempotent.';

-- Turns up to max_rows new outbox events into messages and moves the position, in one
-- transaction. -1 when another process holds the position (it is producing right now).
CREATE FUNCTION logeer_notify_produce(max_rows integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    c    notify_cursor%ROWTYPE;
    e    events%ROWTYPE;
    n    integer := 0;
BEGIN
    SELECT * INTO c FROM notify_cursor FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN -1;
    END IF;
    FOR e IN SELECT * FROM logeer_events_after(c.txid, c.event_id, NULL, NULL, NULL, max_rows) LOOP
        PERFORM logeer_notify_from_event(e);
        c.txid := e.txid;
        c.event_id := e.id;
        n := n + 1;
    END LOOP;
    IF n > 0 THEN
        UPDATE notify_cursor SET txid = c.txid, event_id = c.event_id, updated_at = now();
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION logeer_notify_produce(integer) IS
    'Producer step: outbox events after the cursor become messages; the cursor moves with them.';
