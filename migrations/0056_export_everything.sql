-- 0056: GET /v1/me/export holds everything stored about the caller (AVG art. 15). Runs inside
-- the migrator's transaction: no BEGIN/COMMIT.
--
-- The export gave the account, sessions, login attempts, the caregiver's stays with their
-- history and access log (0007) and the registered guests (0018). Stored about the person but
-- not exported were: the kennismakingen (intakes) and toekenningen (allowances) of their
-- guests, their logeerreeksen (series), the emails sent to them and their email choices, their
-- calendar links and their second factors. One new function beside those two, which stay as
-- they are; the API joins the three. Secrets are never exported: no factor secret, passkey
-- key, recovery code or link token, only what they are and when they were made and used.

-- An intake as the API answers it: logeer_intake_json with the location's name (for callers
-- who may not read /v1/locations) and, for a decided trial_first intake, the trial - the
-- guest's latest stay at the location asked after the decision and not given up (cancelled,
-- declined, expired, still waiting) - so that the provider sees when to record the outcome
-- that follows. Used by src/api/intakes.c and by the export below.
CREATE FUNCTION logeer_intake_api_json(i intakes) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT logeer_intake_json(i) || jsonb_build_object(
        'location', (SELECT jsonb_build_object('id', l.id, 'name', l.name,
                                               'municipality', l.municipality)
                       FROM locations l WHERE l.id = i.location_id),
        'trial_stay', CASE WHEN i.status = 'decided' AND i.outcome = 'trial_first' THEN (
            SELECT jsonb_build_object('id', s.id, 'check_in', logeer_ymd(s.check_in),
                                      'check_out', logeer_ymd(s.check_out), 'status', s.status)
              FROM stays s JOIN pools p ON p.id = s.pool_id
             WHERE s.guest_id = i.guest_id AND p.location_id = i.location_id
               AND s.created_at >= i.decided_at
               AND s.status NOT IN ('cancelled', 'declined', 'expired', 'waitlisted')
             ORDER BY s.check_in DESC, s.id LIMIT 1) END)
$$;
COMMENT ON FUNCTION logeer_intake_api_json(intakes) IS
    'An intake as the API shows it: logeer_intake_json with its location and its trial stay.';

CREATE FUNCTION logeer_account_export_more(p_user uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'intakes', (
            SELECT coalesce(jsonb_agg(logeer_intake_api_json(i) ORDER BY i.created_at, i.id),
                            '[]'::jsonb)
              FROM intakes i JOIN guests g ON g.id = i.guest_id
             WHERE g.caregiver_id = p_user),
        'allowances', (
            SELECT coalesce(jsonb_agg(logeer_allowance_json(a) ORDER BY a.created_at, a.id),
                            '[]'::jsonb)
              FROM allowances a JOIN guests g ON g.id = a.guest_id
             WHERE g.caregiver_id = p_user),
        'series', (
            SELECT coalesce(jsonb_agg(logeer_series_json(s.id) ORDER BY s.created_at, s.id),
                            '[]'::jsonb)
              FROM series s WHERE s.requested_by = p_user),
        'emails', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'kind', m.kind, 'state', m.state,
                       'created_at', logeer_rfc3339(m.created_at),
                       'sent_at', logeer_rfc3339(m.sent_at), 'body', m.body)
                       ORDER BY m.created_at, m.id), '[]'::jsonb)
              FROM notify_messages m
             WHERE m.recipient = p_user AND m.channel = 'email'),
        'email_choices', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'kind', n.kind, 'enabled', n.enabled,
                       'updated_at', logeer_rfc3339(n.updated_at)) ORDER BY n.kind), '[]'::jsonb)
              FROM notify_preferences n WHERE n.user_id = p_user),
        'calendar_feeds', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', f.id, 'created_at', logeer_rfc3339(f.created_at),
                       'last_used_at', logeer_rfc3339(f.last_used_at),
                       'revoked_at', logeer_rfc3339(f.revoked_at))
                       ORDER BY f.created_at, f.id), '[]'::jsonb)
              FROM calendar_feeds f WHERE f.user_id = p_user),
        'second_factors', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', f.id, 'kind', f.kind, 'label', f.label,
                       'created_at', logeer_rfc3339(f.created_at),
                       'confirmed_at', logeer_rfc3339(f.confirmed_at),
                       'last_used_at', logeer_rfc3339(f.last_used_at))
                       ORDER BY f.created_at, f.id), '[]'::jsonb)
              FROM user_factors f WHERE f.user_id = p_user),
        'recovery_codes', (
            SELECT jsonb_build_object('total', count(*), 'used', count(r.used_at))
              FROM recovery_codes r WHERE r.user_id = p_user))
$$;
COMMENT ON FUNCTION logeer_account_export_more(uuid) IS
    'Part of GET /v1/me/export: the guests'' intakes and allowances, the series, the emails '
    'and email choices, the calendar links and the second factors of the person (no secrets).';
