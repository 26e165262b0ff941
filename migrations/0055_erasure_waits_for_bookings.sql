-- 0055: erasing an account and booking for it no longer overlap. Runs inside the migrator's
-- transaction: no BEGIN/COMMIT.
--
-- A caregiver's booking takes the open-stays lock of its principal (an advisory lock, 0010's
-- step 2) and holds it until it commits; the erasure (DELETE /v1/me, logeer_erase_account)
-- took no such lock. So an erasure could pass its "no open stays" check while a booking of the
-- same account was still running, and that booking then committed a held stay, with the
-- guest's alias, for an account already erased (its guest step locks the guest FOR KEY SHARE,
-- which the erasure's UPDATE of non-key columns does not wait for).
--
-- Now the erasure takes the same lock first (before the account row, the order a booking takes
-- them in: lock, then the account row through the stay's foreign key), so it waits for a
-- running booking and then sees its stay (open_stays: cancel it first). A booking that comes
-- while an erasure runs waits for the lock and then finds the account erased: account_erased,
-- nothing written. The booking's lock is taken at its entry (logeer_request_stay,
-- logeer_book_series) rather than inside logeer_book_stay, so that function is not restated;
-- an advisory lock taken twice in one transaction is simply held twice.

CREATE FUNCTION logeer_booking_account_erased(p jsonb) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_principal uuid;
BEGIN
    -- Only a caregiver's booking counts open stays (p.max_open_stays), and only a caregiver
    -- erases their own account.
    IF NOT p ? 'max_open_stays' OR jsonb_typeof(p -> 'principal_id') IS DISTINCT FROM 'string' THEN
        RETURN false;
    END IF;
    v_principal := (p ->> 'principal_id')::uuid;
    PERFORM pg_advisory_xact_lock(hashtextextended('logeer.open_stays:' || v_principal::text, 0));
    RETURN NOT EXISTS (SELECT 1 FROM users u WHERE u.id = v_principal AND u.erased_at IS NULL);
END
$$;
COMMENT ON FUNCTION logeer_booking_account_erased(jsonb) IS
    'For a caregiver''s booking (p.max_open_stays given): takes the principal''s open-stays lock '
    'and says whether the account has been erased meanwhile. False for other bookings.';

CREATE OR REPLACE FUNCTION logeer_request_stay(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    fn constant text := 'logeer_request_stay';
BEGIN
    PERFORM logeer_check_object(p, fn);
    IF logeer_booking_account_erased(p) THEN
        RETURN ROW('account_erased', 0, NULL, NULL)::logeer_result;
    END IF;
    PERFORM set_config('logeer.wait_municipality',
                       coalesce(logeer_arg_text(p, 'wait_municipality', fn, false, 6), ''), true);
    RETURN logeer_request_stay_booking(p);
END
$$;
COMMENT ON FUNCTION logeer_request_stay(jsonb) IS
    'POST /v1/stays: logeer_request_stay_booking with p.wait_municipality for a waitlist entry '
    '(stays_wait_municipality). Same outcomes as logeer_book_stay, and account_erased when the '
    'caregiver''s account was erased while the request waited (0055).';

ALTER FUNCTION logeer_book_series(jsonb) RENAME TO logeer_book_series_for_account;
COMMENT ON FUNCTION logeer_book_series_for_account(jsonb) IS
    'POST /v1/series, once the account is known to stand (logeer_book_series, 0055).';

CREATE FUNCTION logeer_book_series(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
BEGIN
    PERFORM logeer_check_object(p, 'logeer_book_series');
    IF logeer_booking_account_erased(p) THEN
        RETURN ROW('account_erased', 0, NULL, NULL)::logeer_result;
    END IF;
    RETURN logeer_book_series_for_account(p);
END
$$;
COMMENT ON FUNCTION logeer_book_series(jsonb) IS
    'POST /v1/series: logeer_book_series_for_account (0038), or account_erased when the '
    'caregiver''s account was erased while the request waited (0055).';

ALTER FUNCTION logeer_erase_account(uuid, text, inet, text) RENAME TO logeer_erase_account_locked;
COMMENT ON FUNCTION logeer_erase_account_locked(uuid, text, inet, text) IS
    'DELETE /v1/me once the open-stays lock is held (logeer_erase_account, 0055): 0011''s '
    'erasure.';

CREATE FUNCTION logeer_erase_account(p_user uuid, p_request_id text, p_address inet,
                                     p_route text) RETURNS logeer_result
LANGUAGE plpgsql AS $$
BEGIN
    -- Before the account row, as a booking takes them: a running booking of this account
    -- commits first, and its stay is then seen as open.
    PERFORM pg_advisory_xact_lock(hashtextextended('logeer.open_stays:' || p_user::text, 0));
    RETURN logeer_erase_account_locked(p_user, p_request_id, p_address, p_route);
END
$$;
COMMENT ON FUNCTION logeer_erase_account(uuid, text, inet, text) IS
    'DELETE /v1/me, last step: waits for the account''s running bookings (their open-stays lock), '
    'then logeer_erase_account_locked. Outcomes: erased (200), open_stays {stay_ids}, not_found.';
