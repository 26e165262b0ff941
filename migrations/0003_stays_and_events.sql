-- 0003: stays (bookings, requests, holds, waitlist entries), their append-only history, and
-- the domain-event outbox. Owns the lifecycle's data rules; the transitions themselves are
-- decided by the core. History tables here must never be updated or deleted.

-- Waitlist design: a waitlist entry is a stay in status 'waitlisted' carrying its acceptable
-- window. When nights free up the core turns that same row into a hold ('waitlisted' ->
-- 'held', with pool, dates and hold_expires_at filled in), so an offer needs no status of its
-- own: it is a hold whose history starts at 'waitlisted'. A lapsed offer becomes 'expired'
-- like any hold and the next entry in line is offered the nights.
CREATE TYPE stay_status AS ENUM (
    'waitlisted',  -- waiting for nights within its window; reserves nothing
    'held',        -- holds beds until hold_expires_at
    'requested',   -- approval pool: waiting for the provider; keeps beds in reserve (held)
    'confirmed',   -- has its beds (booked)
    'declined',    -- provider said no (terminal)
    'checked_in',  -- guest arrived (booked)
    'completed',   -- guest left (terminal; its nights stay booked: the bed was used)
    'cancelled',   -- by requester or provider, with a reason (terminal)
    'expired',     -- hold or waitlist window lapsed (terminal)
    'no_show'      -- guest never arrived (terminal)
);
COMMENT ON TYPE stay_status IS
    'Stay lifecycle. A waitlist offer is a hold reached from waitlisted, not a separate status.';

-- ---------------------------------------------------------------------------------------------
-- Stays
-- ---------------------------------------------------------------------------------------------

CREATE TABLE stays (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- pool_id, provider_id and pool_kind are one composite reference to the pool (MATCH FULL:
    -- all three or none). Copying provider and kind into the stay makes ownership checks and
    -- the diversion rule below plain column checks, and the foreign key guarantees the copies
    -- are right. They are NULL only for a waitlist entry not yet tied to a pool.
    pool_id                uuid,
    provider_id            uuid,
    pool_kind              pool_kind,
    kind                   pool_kind NOT NULL,
    status                 stay_status NOT NULL,
    check_in               date,
    check_out              date,
    funding                text,
    guest_alias            text,
    guest_birth_year       integer,
    guest_care_profile     text NOT NULL,
    guest_needs            text[] NOT NULL DEFAULT '{}',
    requested_by           uuid NOT NULL REFERENCES users (id),
    requested_by_role      user_role NOT NULL,
    on_behalf_of           text,
    diversion_reason       text,
    hold_expires_at        timestamptz,
    wait_earliest_check_in date,
    wait_latest_check_out  date,
    wait_nights            integer,
    wait_municipality      text REFERENCES municipalities (code),
    decline_reason         text,
    cancel_reason          text,
    cancelled_by           uuid REFERENCES users (id),
    guest_erased_at        timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    version                integer NOT NULL DEFAULT 1,

    -- ON UPDATE NO ACTION on purpose: a pool that has stays may not change kind or owner,
    -- because the stays' pathway and owner are history.
    CONSTRAINT stays_pool_fkey FOREIGN KEY (pool_id, provider_id, pool_kind)
        REFERENCES pools (id, provider_id, kind) MATCH FULL,

    -- Every stay beyond the waitlist occupies a pool for a range of nights.
    CONSTRAINT stays_placed_has_pool_and_dates CHECK (
        status IN ('waitlisted', 'cancelled', 'expired')
        OR (pool_id IS NOT NULL AND check_in IS NOT NULL AND check_out IS NOT NULL)),
    CONSTRAINT stays_dates_together CHECK ((check_in IS NULL) = (check_out IS NULL)),
    -- Half-open range [check_in, check_out): the nights are check_in .. check_out - 1.
    CONSTRAINT stays_dates_order CHECK (check_out > check_in),
    CONSTRAINT stays_length_sane CHECK (check_out - check_in <= 365),

    -- Separation of pathways: a planned stay never takes a crisis bed; a crisis stay in a
    -- planned pool is a diversion and must say why; only a coordinator may divert; crisis
    -- pools never serve caregivers directly.
    CONSTRAINT stays_planned_not_in_crisis_pool CHECK (NOT (kind = 'planned' AND pool_kind = 'crisis')),
    CONSTRAINT stays_diversion_iff_crisis_in_planned CHECK (
        (kind = 'crisis' AND pool_kind IS NOT DISTINCT FROM 'planned') = (diversion_reason IS NOT NULL)),
    CONSTRAINT stays_diversion_by_coordinator CHECK (
        diversion_reason IS NULL OR requested_by_role = 'coordinator'),
    CONSTRAINT stays_crisis_not_by_caregiver CHECK (
        NOT (kind = 'crisis' AND requested_by_role = 'caregiver')),
    CONSTRAINT stays_requester_role CHECK (
        requested_by_role IN ('caregiver', 'referrer', 'coordinator')),

    CONSTRAINT stays_funding_known CHECK (funding IN ('wmo', 'wlz', 'zvw', 'pgb', 'private')),

    -- Guest data is deliberately minimal: a pseudonym or initials, birth year, care profile,
    -- needs. There is no column for a citizen service number (BSN) and there must never be.
    CONSTRAINT stays_guest_alias_length CHECK (length(btrim(guest_alias)) BETWEEN 1 AND 60),
    -- A CHECK must be immutable, so "not in the future" cannot be written here; the API
    -- refuses birth years after the current year, the database refuses the absurd.
    CONSTRAINT stays_guest_birth_year_range CHECK (guest_birth_year BETWEEN 1900 AND 2100),
    CONSTRAINT stays_guest_care_profile_known CHECK (
        guest_care_profile IN ('somatic', 'dementia', 'disability', 'psychiatric', 'youth')),
    CONSTRAINT stays_guest_needs_tokens CHECK (is_token_list(guest_needs)),

    CONSTRAINT stays_on_behalf_of_length CHECK (length(on_behalf_of) <= 200),
    CONSTRAINT stays_diversion_reason_length CHECK (length(btrim(diversion_reason)) BETWEEN 1 AND 1000),
    CONSTRAINT stays_decline_reason_length CHECK (length(decline_reason) <= 1000),
    CONSTRAINT stays_cancel_reason_length CHECK (length(btrim(cancel_reason)) BETWEEN 1 AND 1000),

    -- A hold without an expiry would keep a bed forever.
    CONSTRAINT stays_held_has_expiry CHECK (status <> 'held' OR hold_expires_at IS NOT NULL),
    -- The spec: cancelled "by caregiver or provider, with reason".
    CONSTRAINT stays_cancel_has_reason CHECK (status <> 'cancelled' OR cancel_reason IS NOT NULL),

    -- A waitlist entry must say what it waits for; the window must fit the nights asked.
    CONSTRAINT stays_waitlisted_has_window CHECK (
        status <> 'waitlisted'
        OR (wait_earliest_check_in IS NOT NULL AND wait_latest_check_out IS NOT NULL
            AND wait_nights IS NOT NULL)),
    CONSTRAINT stays_wait_nights_range CHECK (wait_nights BETWEEN 1 AND 365),
    CONSTRAINT stays_wait_window_fits CHECK (
        wait_latest_check_out - wait_earliest_check_in >= wait_nights),

    CONSTRAINT stays_version_positive CHECK (version >= 1)
);
COMMENT ON TABLE stays IS
    'A logeer stay in any state from waitlist entry to completion. Never deleted; personal '
    'guest fields are cleared on erasure (guest_erased_at).';
COMMENT ON COLUMN stays.kind IS
    'Pathway of the stay itself (planned or crisis); pool_kind is the pool''s. They differ only '
    'for a diversion: a crisis stay in a planned pool.';
COMMENT ON COLUMN stays.pool_kind IS
    'Copy of pools.kind, guaranteed by stays_pool_fkey; lets a CHECK see the pool''s kind.';
COMMENT ON COLUMN stays.provider_id IS 'Copy of pools.provider_id, guaranteed by stays_pool_fkey.';
COMMENT ON COLUMN stays.check_in IS 'First night (Europe/Amsterdam date).';
COMMENT ON COLUMN stays.check_out IS 'Departure day; not a night of the stay (half-open range).';
COMMENT ON COLUMN stays.guest_alias IS
    'Pseudonym or initials of the guest, never a full name or BSN. NULL after erasure.';
COMMENT ON COLUMN stays.requested_by_role IS
    'Role of the requester at request time; roles can change later, history must not.';
COMMENT ON COLUMN stays.on_behalf_of IS
    'Free text: for whom a referrer or coordinator acts (e.g. the caregiver), for the access log.';
COMMENT ON COLUMN stays.diversion_reason IS
    'Why a crisis stay was placed in a planned pool; required exactly for such diversions.';
COMMENT ON COLUMN stays.hold_expires_at IS
    'When a hold lapses; required while held, kept afterwards as history.';
COMMENT ON COLUMN stays.wait_municipality IS
    'Area of a waitlist entry: offers come first from pools in or near this municipality.';
COMMENT ON COLUMN stays.version IS
    'ETag source; bumped by exactly one on every UPDATE by the stays_touch trigger.';

-- Which stays cover nights of a pool (counter rebuilds, capacity lowering, provider lists).
CREATE INDEX stays_pool_dates_idx ON stays (pool_id, check_in, check_out);
-- The hold sweeper: "held and expired by now", oldest first. Tiny, because holds are short.
CREATE INDEX stays_hold_expiry_idx ON stays (hold_expires_at) WHERE status = 'held';
-- A caregiver's own stays, newest first.
CREATE INDEX stays_requested_by_idx ON stays (requested_by, created_at);
-- Provider staff list stays in their own pools by date.
CREATE INDEX stays_provider_idx ON stays (provider_id, check_in);
-- The waitlist: first come, first served (id breaks ties between equal timestamps).
CREATE INDEX stays_waitlist_idx ON stays (created_at, id) WHERE status = 'waitlisted';
-- Reports: every diversion of a plannable bed to a crisis.
CREATE INDEX stays_diversion_idx ON stays (created_at) WHERE diversion_reason IS NOT NULL;

CREATE TRIGGER stays_touch BEFORE UPDATE ON stays
    FOR EACH ROW EXECUTE FUNCTION touch_versioned_row();

-- ---------------------------------------------------------------------------------------------
-- Append-only enforcement
-- ---------------------------------------------------------------------------------------------

-- History that can be rewritten is not evidence. UPDATE, DELETE and TRUNCATE are refused for
-- every role, including the service's own. A retention purge is a deliberate operator act:
-- the table owner disables the trigger inside the purge transaction and enables it again.
CREATE FUNCTION refuse_history_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'History rows are never changed; insert a new row instead.';
END
$$;
COMMENT ON FUNCTION refuse_history_change() IS
    'Trigger for append-only tables: raises 42501 on UPDATE, DELETE and TRUNCATE.';

-- ---------------------------------------------------------------------------------------------
-- Stay events: the lifecycle history
-- ---------------------------------------------------------------------------------------------

CREATE TABLE stay_events (
    id          bigserial PRIMARY KEY,
    stay_id     uuid NOT NULL REFERENCES stays (id),
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid REFERENCES users (id),
    actor_role  user_role,
    from_status stay_status,
    to_status   stay_status NOT NULL,
    reason      text,
    detail      jsonb NOT NULL DEFAULT '{}',
    -- Both NULL means the system acted (a hold expired, a waitlist offer was made).
    CONSTRAINT stay_events_actor_complete CHECK ((actor_id IS NULL) = (actor_role IS NULL)),
    CONSTRAINT stay_events_reason_length CHECK (length(reason) <= 1000),
    CONSTRAINT stay_events_detail_is_object CHECK (jsonb_typeof(detail) = 'object')
);
COMMENT ON TABLE stay_events IS
    'Append-only history of every stay transition: who (actor, role), when, from, to, why. '
    'from_status is NULL for the event that created the stay.';
COMMENT ON COLUMN stay_events.actor_id IS 'NULL together with actor_role when the system acted.';

CREATE INDEX stay_events_stay_idx ON stay_events (stay_id, id);

CREATE TRIGGER stay_events_append_only BEFORE UPDATE OR DELETE ON stay_events
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER stay_events_no_truncate BEFORE TRUNCATE ON stay_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();

-- ---------------------------------------------------------------------------------------------
-- Domain events: the outbox behind Server-Sent Events and cross-process sync
-- ---------------------------------------------------------------------------------------------

CREATE TABLE events (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    type        text NOT NULL,
    provider_id uuid REFERENCES providers (id),
    pool_id     uuid REFERENCES pools (id),
    stay_id     uuid REFERENCES stays (id),
    night_from  date,
    night_to    date,
    payload     jsonb NOT NULL DEFAULT '{}',
    -- Ids come from a sequence when the row is inserted, but transactions commit in any order:
    -- a reader resuming with "id > Last-Event-ID" could step over an event whose transaction
    -- was still open when it read. Readers therefore only hand out rows whose transaction is
    -- older than every transaction still running:
    --   WHERE id > $last AND txid < pg_snapshot_xmin(pg_current_snapshot())
    -- and pick up the rest on the next read (a NOTIFY always follows a commit).
    txid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT events_type_shape CHECK (type ~ '^[a-z][a-z0-9_.-]{0,63}$'),
    CONSTRAINT events_nights_together CHECK ((night_from IS NULL) = (night_to IS NULL)),
    -- Half-open like stays and capacity ranges: the nights night_from .. night_to - 1.
    CONSTRAINT events_nights_order CHECK (night_to > night_from),
    CONSTRAINT events_payload_is_object CHECK (jsonb_typeof(payload) = 'object')
);
COMMENT ON TABLE events IS
    'Append-only domain-event outbox, written in the same transaction as the change it '
    'describes. Feeds Server-Sent Events (id is the SSE id, so Last-Event-ID resumes) and '
    'keeps other engine processes'' in-memory indexes exact. Holds NO personal data: ids, '
    'nights and counts only, because providers and coordinators stream it.';
COMMENT ON COLUMN events.type IS 'Dotted lower-case event name, e.g. stay.held, capacity.changed.';
COMMENT ON COLUMN events.provider_id IS
    'Owner of the affected pool or location, so a provider''s stream filters without a join.';
COMMENT ON COLUMN events.night_from IS 'First night affected (inclusive).';
COMMENT ON COLUMN events.night_to IS 'End of the affected nights (exclusive).';
COMMENT ON COLUMN events.txid IS
    'Writing transaction; lets readers skip rows of transactions that may still commit out of '
    'id order (see the table definition).';

CREATE INDEX events_at_idx ON events (at);

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();
