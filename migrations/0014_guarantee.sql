-- 0014: the planned-stay guarantee (docs/practice.md). Owns stays.guaranteed and
-- stays.guarantee_deadline, the escalations table, the options an escalation offers, and the
-- functions that open (logeer_escalate_due) and resolve (logeer_escalation_resolve) them.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

-- ---------------------------------------------------------------------------------------------
-- Which requests are guaranteed
-- ---------------------------------------------------------------------------------------------

ALTER TABLE stays ADD COLUMN guaranteed boolean NOT NULL DEFAULT false;
ALTER TABLE stays ADD COLUMN guarantee_deadline date;
ALTER TABLE stays ADD CONSTRAINT stays_guarantee_has_deadline CHECK (
    guaranteed = (guarantee_deadline IS NOT NULL));
-- Only a planned request for a registered guest is guaranteed: its intake and allowance were
-- checked when it was made.
ALTER TABLE stays ADD CONSTRAINT stays_guarantee_planned_guest CHECK (
    NOT guaranteed OR (kind = 'planned' AND guest_id IS NOT NULL));
COMMENT ON COLUMN stays.guaranteed IS
    'A planned waitlist request for a registered guest asked at least the guarantee period '
    'ahead (LOGEER_GUARANTEE_DAYS): placed, or escalated to the coordinator at its deadline.';
COMMENT ON COLUMN stays.guarantee_deadline IS
    'With guaranteed: the day an unplaced request becomes an escalation (earliest check-in '
    'minus LOGEER_GUARANTEE_ESCALATE_DAYS).';

-- The escalation job: guaranteed requests still waiting, by deadline. Small: only waitlisted
-- guaranteed requests.
CREATE INDEX stays_guarantee_due_idx ON stays (guarantee_deadline)
    WHERE status = 'waitlisted' AND guaranteed;

-- The guarantee is decided when the request is made, by the settings of the process that
-- made it: logeer_request_stay puts them in transaction-local settings and this trigger reads
-- them as the waitlist entry is inserted, so logeer_book_stay stays as 0012 wrote it and the
-- stay's first JSON (and the answer stored for Idempotency-Key retries) already shows it.
CREATE FUNCTION logeer_stays_guarantee() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_days     integer := nullif(current_setting('logeer.guarantee_days', true), '')::integer;
    v_escalate integer := nullif(current_setting('logeer.guarantee_escalate_days', true), '')::integer;
BEGIN
    IF NEW.status = 'waitlisted' AND NEW.kind = 'planned' AND NEW.guest_id IS NOT NULL
       AND v_days > 0 AND v_escalate IS NOT NULL
       AND NEW.wait_earliest_check_in >= logeer_today() + v_days THEN
        NEW.guaranteed := true;
        NEW.guarantee_deadline := NEW.wait_earliest_check_in - v_escalate;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION logeer_stays_guarantee() IS
    'BEFORE INSERT on stays: marks a planned waitlist request for a registered guest whose '
    'earliest check-in is at least logeer.guarantee_days ahead as guaranteed, with deadline '
    'earliest check-in minus logeer.guarantee_escalate_days (settings of logeer_request_stay).';
CREATE TRIGGER stays_guarantee BEFORE INSERT ON stays
    FOR EACH ROW EXECUTE FUNCTION logeer_stays_guarantee();

CREATE FUNCTION logeer_request_stay(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_request_stay';
BEGIN
    PERFORM logeer_check_object(p, fn);
    PERFORM set_config('logeer.guarantee_days',
                       coalesce(logeer_arg_int(p, 'guarantee_days', fn, false, 0, 3650), 0)::text,
                       true);
    PERFORM set_config('logeer.guarantee_escalate_days',
                       coalesce(logeer_arg_int(p, 'guarantee_escalate_days', fn, false, 0, 3650),
                                0)::text, true);
    RETURN logeer_book_stay(p);
END
$$;
COMMENT ON FUNCTION logeer_request_stay(jsonb) IS
    'POST /v1/stays: logeer_book_stay with the guarantee settings p.guarantee_days (0: off) '
    'and p.guarantee_escalate_days, which the stays_guarantee trigger applies to a waitlist '
    'request. Same outcomes as logeer_book_stay.';

-- The stay JSON gains guaranteed and guarantee_deadline (0011's shape otherwise unchanged).
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
        'guaranteed', s.guaranteed,
        'guarantee_deadline', logeer_ymd(s.guarantee_deadline),
        'created_at', logeer_rfc3339(s.created_at),
        'updated_at', logeer_rfc3339(s.updated_at),
        'version', s.version)
$$;

-- ---------------------------------------------------------------------------------------------
-- Escalations
-- ---------------------------------------------------------------------------------------------

CREATE TYPE escalation_status AS ENUM ('open', 'resolved');

CREATE TABLE escalations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    stay_id     uuid NOT NULL UNIQUE REFERENCES stays (id),
    opened_at   timestamptz NOT NULL DEFAULT now(),
    deadline    date NOT NULL,
    status      escalation_status NOT NULL DEFAULT 'open',
    options     jsonb NOT NULL,
    resolution  text,
    resolved_by uuid REFERENCES users (id),
    resolved_at timestamptz,
    note        text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1,
    CONSTRAINT escalations_options_is_object CHECK (jsonb_typeof(options) = 'object'),
    CONSTRAINT escalations_resolution_known CHECK (
        resolution IN ('placed', 'offered_alternative', 'not_possible')),
    CONSTRAINT escalations_resolved_complete CHECK (
        (status = 'resolved') = (resolution IS NOT NULL AND resolved_at IS NOT NULL
                                 AND resolved_by IS NOT NULL)),
    CONSTRAINT escalations_note_length CHECK (length(btrim(note)) BETWEEN 1 AND 1000),
    -- The note is for the coordinator's reasoning, never for a citizen service number.
    CONSTRAINT escalations_note_not_bsn CHECK (NOT logeer_text_has_bsn(note)),
    CONSTRAINT escalations_version_positive CHECK (version >= 1)
);
COMMENT ON TABLE escalations IS
    'A guaranteed planned request still unplaced at its deadline, for the coordinator: the '
    'options the engine found when it was opened, and how it was resolved. One per stay.';
COMMENT ON COLUMN escalations.options IS
    '{pools: [{pool_id, provider_id, location_id, municipality, check_in, check_out}], '
    'dates: [{check_in, check_out}]}: other pools with room for the window, nearby dates in '
    'the requested pool (logeer_escalation_options), as found when opened.';

CREATE INDEX escalations_open_idx ON escalations (opened_at, id) WHERE status = 'open';

CREATE TRIGGER escalations_touch BEFORE UPDATE ON escalations
    FOR EACH ROW EXECUTE FUNCTION touch_versioned_row();

-- The earliest check-in of every run of n free nights of a pool inside [lo, hi): consecutive
-- free nights keep "night minus its rank" constant (0005's logeer_longest_free_run).
CREATE FUNCTION logeer_free_starts(p_pool uuid, lo date, hi date, n integer)
RETURNS TABLE (check_in date)
LANGUAGE sql STABLE AS $$
    SELECT i.first_night + k
      FROM (SELECT min(f.night) AS first_night, count(*)::integer AS len
              FROM (SELECT pn.night,
                           pn.night - (row_number() OVER (ORDER BY pn.night))::integer AS grp
                      FROM pool_nights pn
                     WHERE pn.pool_id = p_pool AND pn.night >= lo AND pn.night < hi
                       AND pn.capacity - pn.held - pn.booked > 0) AS f
             GROUP BY f.grp) AS i
     CROSS JOIN LATERAL generate_series(0, i.len - n) AS k
     WHERE i.len >= n
$$;
COMMENT ON FUNCTION logeer_free_starts(uuid, date, date, integer) IS
    'Every check-in d in [lo, hi - n] of the pool with a free bed on each of the n nights from d.';

-- What the coordinator can do for a request that the waitlist did not place.
CREATE FUNCTION logeer_escalation_options(s stays) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH other AS (
        SELECT po.id AS pool_id, po.provider_id, po.location_id, l.municipality,
               (SELECT min(f.check_in)
                  FROM logeer_free_starts(po.id,
                                          greatest(s.wait_earliest_check_in,
                                                   logeer_today() + po.lead_days),
                                          s.wait_latest_check_out, s.wait_nights) AS f) AS check_in
          FROM pools po
          JOIN locations l ON l.id = po.location_id
         WHERE po.active AND po.kind = 'planned' AND po.id IS DISTINCT FROM s.pool_id
           AND s.guest_care_profile = ANY (po.care_profiles)
           AND s.funding = ANY (po.funding)
           AND (s.wait_municipality IS NULL OR l.municipality = s.wait_municipality)),
    pools_found AS (
        SELECT o.* FROM other o WHERE o.check_in IS NOT NULL
         ORDER BY o.check_in, o.pool_id
         LIMIT 10),
    dates_found AS (
        SELECT f.check_in
          FROM pools po
         CROSS JOIN LATERAL logeer_free_starts(
                   po.id, greatest(s.wait_earliest_check_in - 7, logeer_today() + po.lead_days),
                   s.wait_latest_check_out + 7, s.wait_nights) AS f
         WHERE po.id = s.pool_id AND po.active
         ORDER BY abs(f.check_in - s.wait_earliest_check_in), f.check_in
         LIMIT 5)
    SELECT jsonb_build_object(
        'pools', coalesce((SELECT jsonb_agg(jsonb_build_object(
                     'pool_id', p.pool_id, 'provider_id', p.provider_id,
                     'location_id', p.location_id, 'municipality', p.municipality,
                     'check_in', logeer_ymd(p.check_in),
                     'check_out', logeer_ymd(p.check_in + s.wait_nights))
                     ORDER BY p.check_in, p.pool_id) FROM pools_found p), '[]'::jsonb),
        'dates', coalesce((SELECT jsonb_agg(jsonb_build_object(
                     'check_in', logeer_ymd(d.check_in),
                     'check_out', logeer_ymd(d.check_in + s.wait_nights))
                     ORDER BY abs(d.check_in - s.wait_earliest_check_in), d.check_in)
                     FROM dates_found d), '[]'::jsonb))
$$;
COMMENT ON FUNCTION logeer_escalation_options(stays) IS
    'Options for an unplaced request: up to 10 other active planned pools (same care profile '
    'and funding route; in the wait municipality, or the region when none) with a free bed on '
    'every night of wait_nights inside the window, earliest first; up to 5 check-ins within 7 '
    'days of the window in the requested pool, nearest first.';

-- The escalation as the coordinator reads it: the stay without guest details beyond the care
-- profile.
CREATE FUNCTION logeer_escalation_json(e escalations) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', e.id,
        'status', e.status,
        'opened_at', logeer_rfc3339(e.opened_at),
        'deadline', logeer_ymd(e.deadline),
        'options', e.options,
        'resolution', e.resolution,
        'note', e.note,
        'resolved_at', logeer_rfc3339(e.resolved_at),
        'stay', (SELECT jsonb_build_object(
                     'id', s.id,
                     'status', s.status,
                     'kind', s.kind,
                     'pool_id', s.pool_id,
                     'provider_id', s.provider_id,
                     'funding', s.funding,
                     'care_profile', s.guest_care_profile,
                     'waitlist', jsonb_build_object(
                         'earliest_check_in', logeer_ymd(s.wait_earliest_check_in),
                         'latest_check_out', logeer_ymd(s.wait_latest_check_out),
                         'nights', s.wait_nights),
                     'guaranteed', s.guaranteed,
                     'guarantee_deadline', logeer_ymd(s.guarantee_deadline))
                   FROM stays s WHERE s.id = e.stay_id),
        'version', e.version)
$$;

-- Opens an escalation for every guaranteed request still waitlisted on or after its deadline,
-- once. Several processes may run it at once: the stays are taken with SKIP LOCKED and the
-- unique stay_id makes a second escalation impossible.
CREATE FUNCTION logeer_escalate_due(p jsonb, OUT opened integer)
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_escalate_due';
    v_limit integer;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_limit := coalesce(logeer_arg_int(p, 'limit', fn, false, 1, 100000), 100);
    WITH picked AS (
        SELECT s AS st FROM stays s
         WHERE s.status = 'waitlisted' AND s.guaranteed
           AND s.guarantee_deadline <= logeer_today()
           AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.stay_id = s.id)
         ORDER BY s.guarantee_deadline, s.created_at, s.id
         LIMIT v_limit
           FOR UPDATE OF s SKIP LOCKED),
    ins AS (
        INSERT INTO escalations (stay_id, deadline, options)
        SELECT (pk.st).id, (pk.st).guarantee_deadline, logeer_escalation_options(pk.st)
          FROM picked pk
        ON CONFLICT (stay_id) DO NOTHING
        RETURNING id, stay_id),
    outbox AS (
        INSERT INTO events (type, provider_id, pool_id, stay_id, night_from, night_to, payload)
        SELECT 'escalation.opened', (pk.st).provider_id, (pk.st).pool_id, (pk.st).id,
               (pk.st).check_in, (pk.st).check_out,
               jsonb_build_object('escalation_id', i.id, 'status', (pk.st).status,
                                  'kind', (pk.st).kind)
          FROM ins i JOIN picked pk ON (pk.st).id = i.stay_id)
    SELECT count(*) INTO opened FROM ins;
END
$$;
COMMENT ON FUNCTION logeer_escalate_due(jsonb) IS
    'Guarantee job, safe from several processes: opens an escalation (with its options and an '
    'escalation.opened event) for up to p.limit guaranteed stays still waitlisted whose '
    'deadline has come. Offered, confirmed, cancelled or expired requests are never escalated. '
    'Returns how many were opened.';

-- POST /v1/escalations/{id}/resolve: once.
CREATE FUNCTION logeer_escalation_resolve(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_escalation_resolve';
    v_id    uuid;
    v_e     escalations%ROWTYPE;
    v_s     stays%ROWTYPE;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_id := logeer_arg_uuid(p, 'escalation_id', fn, true);
    UPDATE escalations e
       SET status = 'resolved',
           resolution = logeer_arg_text(p, 'resolution', fn, true, 40),
           note = nullif(btrim(logeer_arg_text(p, 'note', fn, false, 1000)), ''),
           resolved_by = logeer_arg_uuid(p, 'actor_id', fn, true),
           resolved_at = now()
     WHERE e.id = v_id AND e.status = 'open'
    RETURNING * INTO v_e;
    IF NOT FOUND THEN
        SELECT * INTO v_e FROM escalations e WHERE e.id = v_id;
        IF NOT FOUND THEN
            RETURN ROW('not_found', 0, NULL, NULL)::logeer_result;
        END IF;
        RETURN ROW('already_resolved', 0, NULL,
                   jsonb_build_object('resolution', v_e.resolution,
                                      'resolved_at', logeer_rfc3339(v_e.resolved_at)))::logeer_result;
    END IF;
    SELECT * INTO v_s FROM stays s WHERE s.id = v_e.stay_id;
    INSERT INTO events (type, provider_id, pool_id, stay_id, night_from, night_to, payload)
    VALUES ('escalation.resolved', v_s.provider_id, v_s.pool_id, v_s.id, v_s.check_in,
            v_s.check_out, jsonb_build_object('escalation_id', v_e.id, 'status', v_s.status,
                                              'kind', v_s.kind));
    RETURN ROW('ok', 200, logeer_escalation_json(v_e)::text, NULL)::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_escalation_resolve(jsonb) IS
    'Resolves an open escalation (p: escalation_id, resolution, note, actor_id) and writes '
    'escalation.resolved. Outcomes: ok (200, body = escalation), not_found, already_resolved '
    '{resolution, resolved_at}.';
