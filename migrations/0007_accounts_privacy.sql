-- 0007: accounts and privacy: the login rate limiter, account creation, the data export,
-- account erasure and the retention purge (spec sections 1, 5; docs/privacy.md). Must never
-- delete a stay, a stay event or an access-log row: erasure and retention clear personal fields
-- in place, so every count a report makes stays what it was. Runs inside the migrator's
-- transaction: no BEGIN/COMMIT, no CONCURRENTLY.

-- ---------------------------------------------------------------------------------------------
-- Login attempts: rate limiting per account and per address
-- ---------------------------------------------------------------------------------------------

-- An attempt refused by the limiter is recorded too (every attempt is), but it must not count
-- as a failure: otherwise a client that keeps knocking would keep itself locked out forever
-- and Retry-After would be a lie.
ALTER TABLE login_attempts ADD COLUMN rate_limited boolean NOT NULL DEFAULT false;
ALTER TABLE login_attempts ADD CONSTRAINT login_attempts_limited_is_not_success
    CHECK (NOT (rate_limited AND success));
COMMENT ON COLUMN login_attempts.rate_limited IS
    'The attempt was refused with 429 before any password check; not counted as a failure.';
COMMENT ON COLUMN login_attempts.success IS
    'false from the moment the attempt starts (so concurrent guesses count at once), set true '
    'when the password was right and a session was made.';

-- The limiter only ever counts failures; partial indexes keep that cheap whatever the share
-- of successful logins.
CREATE INDEX login_attempts_email_failures_idx ON login_attempts (email_lower, at)
    WHERE NOT success AND NOT rate_limited;
CREATE INDEX login_attempts_address_failures_idx ON login_attempts (address, at)
    WHERE NOT success AND NOT rate_limited AND address IS NOT NULL;

-- One round trip before the password check: waits for earlier attempts on the same email and
-- address (advisory locks, always email first, so two attempts cannot deadlock), counts the
-- failures in the window, records this attempt and, unless it is refused, returns the account
-- to verify against. The attempt is recorded as a failure at once and turned into a success
-- only after the password proved right, so a burst of concurrent guesses is counted exactly.
-- retry_after_s > 0 means refused: the seconds until the oldest failure that keeps the count
-- at the limit leaves the window.
CREATE FUNCTION logeer_login_begin(p_email text, p_address inet, p_window_s integer,
                                   p_email_limit integer, p_address_limit integer,
                                   OUT attempt_id bigint, OUT retry_after_s integer,
                                   OUT u_id uuid, OUT u_hash text, OUT u_role text,
                                   OUT u_provider text, OUT u_municipality text,
                                   OUT u_email text)
LANGUAGE plpgsql AS $$
DECLARE
    v_email  text := lower(p_email);
    v_window interval := make_interval(secs => p_window_s);
    v_edge   timestamptz;
    v_wait   numeric := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('logeer.login.email:' || v_email, 0));
    IF p_address IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('logeer.login.address:' || host(p_address), 0));
    END IF;

    -- The limit-th newest failure: once it is older than the window, fewer than limit remain.
    SELECT a.at INTO v_edge FROM login_attempts a
     WHERE a.email_lower = v_email AND NOT a.success AND NOT a.rate_limited
       AND a.at > now() - v_window
     ORDER BY a.at DESC OFFSET p_email_limit - 1 LIMIT 1;
    IF FOUND THEN
        v_wait := extract(epoch FROM v_edge + v_window - now());
    END IF;
    IF p_address IS NOT NULL THEN
        SELECT a.at INTO v_edge FROM login_attempts a
         WHERE a.address = p_address AND NOT a.success AND NOT a.rate_limited
           AND a.at > now() - v_window
         ORDER BY a.at DESC OFFSET p_address_limit - 1 LIMIT 1;
        IF FOUND THEN
            v_wait := greatest(v_wait, extract(epoch FROM v_edge + v_window - now()));
        END IF;
    END IF;
    retry_after_s := CASE WHEN v_wait > 0 THEN greatest(1, ceil(v_wait)::integer) ELSE 0 END;

    INSERT INTO login_attempts (email_lower, address, success, rate_limited)
    VALUES (left(v_email, 254), p_address, false, retry_after_s > 0)
    RETURNING id INTO attempt_id;
    IF retry_after_s > 0 THEN
        RETURN;
    END IF;

    SELECT u.id, u.password_hash, u.role::text, coalesce(u.provider_id::text, ''),
           coalesce(u.municipality, ''), u.email
      INTO u_id, u_hash, u_role, u_provider, u_municipality, u_email
      FROM users u
     WHERE lower(u.email) = v_email AND u.disabled_at IS NULL AND u.erased_at IS NULL
       AND u.password_hash IS NOT NULL;
END
$$;
COMMENT ON FUNCTION logeer_login_begin(text, inet, integer, integer, integer) IS
    'POST /v1/sessions, before the password check: rate limit (failures per email and per '
    'address within the window), record the attempt as a failure, return the account. '
    'retry_after_s > 0: refused (429). u_id NULL: no such account (verify against a dummy).';

-- ---------------------------------------------------------------------------------------------
-- Accounts
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_user_json(u users) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', u.id,
        'email', u.email,
        'role', u.role,
        'provider_id', u.provider_id,
        'municipality', u.municipality,
        'display_name', u.display_name,
        'created_at', logeer_rfc3339(u.created_at),
        'disabled_at', logeer_rfc3339(u.disabled_at),
        'erased_at', logeer_rfc3339(u.erased_at))
$$;
COMMENT ON FUNCTION logeer_user_json(users) IS
    'An account as the API shows it. Never includes the password hash.';

-- Creates an account whose password the caller already hashed (hashing is the worker pool's
-- job, never the database's or the event loop's). Unknown references are answered as
-- outcomes naming the field rather than as foreign-key errors, so the client learns which
-- field to fix. With principal_id and idempotency_key (the admin's POST /v1/users), a retry
-- with the same key and request replays the stored 201, another request with that key is
-- key_mismatch and a retry while the original runs is key_running, as for stays (0005).
-- request_hash must not cover the password: a hash of it would be an unsalted password hash.
CREATE FUNCTION logeer_create_user(p jsonb) RETURNS logeer_result
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
    v_idem      record;
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

    IF v_key IS NOT NULL THEN
        IF NOT pg_try_advisory_xact_lock(hashtextextended(v_principal::text || ':' || v_key, 0)) THEN
            RETURN ROW('key_running', 0, NULL, NULL)::logeer_result;
        END IF;
        SELECT k.state, k.request_hash, k.status_code, k.response_body INTO v_idem
          FROM idempotency_keys k WHERE k.principal_id = v_principal AND k.key = v_key;
        IF FOUND THEN
            IF v_idem.request_hash <> decode(v_hash_hex, 'hex') THEN
                RETURN ROW('key_mismatch', 0, NULL, NULL)::logeer_result;
            ELSIF v_idem.state <> 'done' THEN
                RETURN ROW('key_running', 0, NULL, NULL)::logeer_result;
            END IF;
            RETURN ROW('replayed', v_idem.status_code, v_idem.response_body, NULL)::logeer_result;
        END IF;
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
    IF v_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (principal_id, key, method, path, request_hash, state,
                                      status_code, response_body, response_headers, completed_at)
        VALUES (v_principal, v_key, 'POST', v_path, decode(v_hash_hex, 'hex'), 'done', 201,
                v_body, jsonb_build_object('Location', '/v1/users/' || v_user.id), now());
    END IF;
    RETURN ROW('created', 201, v_body, NULL)::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_create_user(jsonb) IS
    'POST /v1/users and POST /v1/caregivers: outcomes created (201, body = user), replayed, '
    'key_mismatch, key_running, email_taken, unknown_provider, unknown_municipality.';

-- ---------------------------------------------------------------------------------------------
-- Open stays: what erasure must cancel first
-- ---------------------------------------------------------------------------------------------

-- A lapsed hold is not open: the sweeper expires it and releases its beds. A confirmed stay
-- is open until its first night has passed; after that the guest is (or should be) there and
-- only the provider can end it (check-in, no-show).
CREATE FUNCTION logeer_stay_is_open(s stays) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT s.status IN ('requested', 'waitlisted')
        OR (s.status = 'held' AND s.hold_expires_at > now())
        OR (s.status = 'confirmed' AND s.check_in >= logeer_today())
$$;
COMMENT ON FUNCTION logeer_stay_is_open(stays) IS
    'True for a stay that still reserves or may still get beds: requested, waitlisted, a live '
    'hold, or confirmed for today or later.';

-- ---------------------------------------------------------------------------------------------
-- Export (right of access, AVG art. 15)
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION logeer_account_export(p_user uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'exported_at', logeer_rfc3339(now()),
        'account', logeer_user_json(u),
        'sessions', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'created_at', logeer_rfc3339(se.created_at),
                       'last_seen_at', logeer_rfc3339(se.last_seen_at),
                       'expires_at', logeer_rfc3339(se.expires_at),
                       'revoked_at', logeer_rfc3339(se.revoked_at),
                       'address', host(se.address),
                       'user_agent', se.user_agent) ORDER BY se.created_at), '[]'::jsonb)
              FROM sessions se WHERE se.user_id = u.id),
        'login_attempts', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'at', logeer_rfc3339(a.at), 'address', host(a.address),
                       'success', a.success, 'rate_limited', a.rate_limited) ORDER BY a.at), '[]'::jsonb)
              FROM login_attempts a WHERE a.email_lower = lower(u.email)),
        'stays', (
            SELECT coalesce(jsonb_agg(logeer_stay_json(s) || jsonb_build_object(
                       'guest_erased_at', logeer_rfc3339(s.guest_erased_at),
                       'history', (
                           SELECT coalesce(jsonb_agg(jsonb_build_object(
                                      'at', logeer_rfc3339(e.at), 'from', e.from_status,
                                      'to', e.to_status, 'actor_role', e.actor_role,
                                      'by_you', e.actor_id IS NOT DISTINCT FROM u.id,
                                      'reason', e.reason) ORDER BY e.id), '[]'::jsonb)
                             FROM stay_events e WHERE e.stay_id = s.id))
                       ORDER BY s.created_at, s.id), '[]'::jsonb)
              FROM stays s WHERE s.requested_by = u.id AND u.role = 'caregiver'),
        -- Who looked at or changed the caregiver's stays: staff are shown by role, not by
        -- name, as the log's own subjects are other people.
        'access_log', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'at', logeer_rfc3339(l.at), 'stay_id', l.stay_id, 'action', l.action,
                       'role', l.role, 'by_you', l.user_id IS NOT DISTINCT FROM u.id)
                       ORDER BY l.id), '[]'::jsonb)
              FROM access_log l
             WHERE u.role = 'caregiver'
               AND l.stay_id IN (SELECT s.id FROM stays s WHERE s.requested_by = u.id)))
      FROM users u WHERE u.id = p_user
$$;
COMMENT ON FUNCTION logeer_account_export(uuid) IS
    'GET /v1/me/export: everything stored about one account as one JSON document. Stays and '
    'their access log only for caregivers: the stays a referrer or coordinator requested are '
    'the guests'' data, not the requester''s.';

-- ---------------------------------------------------------------------------------------------
-- Erasure (right to erasure, AVG art. 17)
-- ---------------------------------------------------------------------------------------------

-- The last step of DELETE /v1/me. The api layer first cancels the open stays one by one
-- through logeer_stay_transition (the same path, rules and counters as a caregiver's own
-- cancel); this function refuses with open_stays if one was opened meanwhile, so erasure
-- never leaves beds reserved for a guest nobody can name any more. Rows are kept and their
-- personal fields cleared: stays, history and the access log still count and still refer to
-- a (now pseudonymous) account.
-- The access-log rows for the erased stays are written here, in the same transaction and
-- while the guest reference is still readable: the log then shows exactly what was erased,
-- when and from where, and has a row if and only if the erasure happened.
CREATE FUNCTION logeer_erase_account(p_user uuid, p_request_id text, p_address inet,
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

    v_pseudo := 'erased-' || p_user || '@invalid';
    -- The municipality stays: Wmo figures per municipality need it and, without name, email
    -- or guest data, one of twelve municipalities identifies nobody.
    UPDATE users SET email = v_pseudo, password_hash = NULL, display_name = NULL,
                     erased_at = now()
     WHERE id = p_user;
    UPDATE sessions SET revoked_at = coalesce(revoked_at, now()), address = NULL,
                        user_agent = NULL
     WHERE user_id = p_user;
    -- Failed-login history stays countable for security review, under the pseudonym.
    UPDATE login_attempts SET email_lower = v_pseudo WHERE email_lower = lower(v_user.email);
    -- Stored responses would replay guest data; the keys are only a retry aid.
    DELETE FROM idempotency_keys WHERE principal_id = p_user;
    UPDATE stays SET guest_alias = NULL, guest_birth_year = NULL, guest_needs = '{}',
                     guest_erased_at = now()
     WHERE requested_by = p_user AND guest_erased_at IS NULL;
    GET DIAGNOSTICS v_stays = ROW_COUNT;
    RETURN ROW('erased', 200, jsonb_build_object(
                   'id', p_user, 'erased_at', logeer_rfc3339(now()),
                   'stays_erased', v_stays)::text, NULL)::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_erase_account(uuid, text, inet, text) IS
    'DELETE /v1/me, last step: pseudonymise the account, revoke its sessions, clear the guest '
    'data of all its stays. Outcomes: erased (200), open_stays {stay_ids} (cancel them first), '
    'not_found.';

-- ---------------------------------------------------------------------------------------------
-- Retention
-- ---------------------------------------------------------------------------------------------

-- A stay has ended when it reached a final status; it ended at the time of that transition.
-- Guest data is needed until then (and for a while after, for questions and invoices), never
-- longer than guest_days after it.
CREATE FUNCTION logeer_stay_ended_at(s stays) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN s.status IN ('completed', 'cancelled', 'declined', 'expired', 'no_show')
                THEN coalesce((SELECT max(e.at) FROM stay_events e WHERE e.stay_id = s.id),
                              s.updated_at) END
$$;
COMMENT ON FUNCTION logeer_stay_ended_at(stays) IS
    'When a stay reached its final status (NULL while it is not final).';

-- Index for the purge: final stays whose guest data is still there.
CREATE INDEX stays_guest_retained_idx ON stays (updated_at)
    WHERE guest_erased_at IS NULL
      AND status IN ('completed', 'cancelled', 'declined', 'expired', 'no_show');

-- p: {"guest_days": n, "batch": n}. Clears guest data of at most batch stays per call (the
-- caller calls again while a batch comes back full, so one run never holds many row locks),
-- and prunes what exists only for a short while: login attempts and ended sessions after 30
-- days, stored idempotent responses (which copy guest data) after guest_days, at least one day.
CREATE FUNCTION logeer_retention_purge(p jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    fn constant text := 'logeer_retention_purge';
    v_days   integer;
    v_batch  integer;
    v_stays  integer;
    v_tries  integer;
    v_sess   integer;
    v_keys   integer;
BEGIN
    PERFORM logeer_check_object(p, fn);
    v_days := logeer_arg_int(p, 'guest_days', fn, true, 0, 36500);
    v_batch := coalesce(logeer_arg_int(p, 'batch', fn, false, 1, 100000), 1000);

    -- SKIP LOCKED: a stay in the middle of a transition is simply purged on the next run.
    WITH due AS (
        SELECT s.id FROM stays s
         WHERE s.guest_erased_at IS NULL
           AND s.status IN ('completed', 'cancelled', 'declined', 'expired', 'no_show')
           AND logeer_stay_ended_at(s) < now() - make_interval(days => v_days)
         ORDER BY s.updated_at
         LIMIT v_batch
         FOR UPDATE SKIP LOCKED)
    UPDATE stays s SET guest_alias = NULL, guest_birth_year = NULL, guest_needs = '{}',
                       guest_erased_at = now()
      FROM due WHERE s.id = due.id;
    GET DIAGNOSTICS v_stays = ROW_COUNT;

    DELETE FROM login_attempts WHERE at < now() - interval '30 days';
    GET DIAGNOSTICS v_tries = ROW_COUNT;
    -- least() skips NULLs: a session ended at the first of revocation, expiry and idling.
    DELETE FROM sessions
     WHERE least(revoked_at, expires_at, last_seen_at + idle_timeout) < now() - interval '30 days';
    GET DIAGNOSTICS v_sess = ROW_COUNT;
    DELETE FROM idempotency_keys
     WHERE created_at < now() - make_interval(days => greatest(v_days, 1));
    GET DIAGNOSTICS v_keys = ROW_COUNT;

    RETURN jsonb_build_object('stays', v_stays, 'batch_full', v_stays >= v_batch,
                              'login_attempts', v_tries, 'sessions', v_sess,
                              'idempotency_keys', v_keys);
END
$$;
COMMENT ON FUNCTION logeer_retention_purge(jsonb) IS
    'Daily retention job: clears guest data of stays that ended more than guest_days ago (at '
    'most batch per call), prunes login attempts and ended sessions after 30 days and stored '
    'idempotent responses after guest_days. Returns the counts.';
