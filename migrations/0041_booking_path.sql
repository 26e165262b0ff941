-- 0041: the booking path made cheaper (issue 17), without changing what it guarantees. Owns
-- the plan-friendly forms of logeer_ymd and logeer_stay_json. Every change here is about how
-- PostgreSQL runs the same work, never about what the work is: answers, counters, history
-- and outbox rows stay byte for byte what they were. Runs inside the migrator's transaction:
-- no BEGIN/COMMIT.

-- ---------------------------------------------------------------------------------------------
-- logeer_ymd in PL/pgSQL. Declared IMMUTABLE over to_char (which is only STABLE), the SQL
-- version could never be inlined, so every call site parsed and planned its body again in
-- every transaction (a booking has six such sites: the stay's JSON and each night's NOTIFY).
-- PL/pgSQL keeps the plan for the session, the same cure as is_token_list got in 0009.
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION logeer_ymd(d date) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN to_char(d::timestamp, 'YYYY-MM-DD');
END
$$;
COMMENT ON FUNCTION logeer_ymd(date) IS 'A date as YYYY-MM-DD, independent of DateStyle.';

-- ---------------------------------------------------------------------------------------------
-- logeer_stay_json in one piece. 0016 and 0038 each wrapped the earlier shape in a new SQL
-- function with a FROM, which cannot be inlined: every booking planned three nested
-- functions to shape one answer. The same object is now built in one expression (jsonb
-- keeps its keys sorted, so the text of an answer does not depend on the order they are
-- added in), which the caller's plan inlines and keeps.
-- ---------------------------------------------------------------------------------------------

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
            'nights', s.wait_nights,
            'municipality', s.wait_municipality) END,
        'guaranteed', s.guaranteed,
        'guarantee_deadline', logeer_ymd(s.guarantee_deadline),
        'companion', s.companion,
        'arrival', s.arrival,
        'departure', s.departure,
        'cancellation', CASE WHEN s.cancel_late IS NOT NULL THEN jsonb_build_object(
            'late', s.cancel_late, 'days_before', s.cancel_days_before,
            'free_cancel_days', s.cancel_free_days) END,
        'created_at', logeer_rfc3339(s.created_at),
        'updated_at', logeer_rfc3339(s.updated_at),
        'version', s.version,
        'allowance_id', s.allowance_id,
        'series_id', s.series_id)
$$;
COMMENT ON FUNCTION logeer_stay_json(stays) IS
    'The one shape of a stay in answers (0015''s fields, allowance_id and '
    'waitlist.municipality of 0016, series_id of 0038), in one inlinable expression.';

-- The layers it replaces; nothing else called them.
DROP FUNCTION logeer_stay_json_before_series(stays);
DROP FUNCTION logeer_stay_json_base(stays);
