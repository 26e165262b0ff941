-- 0024 account tokens: password reset and email verification (issue 14). A token is random,
-- single use and short-lived; only its SHA-256 is stored, so the database never holds a usable
-- link. The email carrying it is sent straight from the process that made the token and is
-- never queued in notify_messages, because a queued message would have to hold the token.

-- When the address was last proven by a link. Accounts made before this migration, and every
-- account an operator or admin makes, count as verified; only self-registration clears it
-- (logeer_account_token_issue with p_unverify).
ALTER TABLE users ADD COLUMN email_verified_at timestamptz DEFAULT now();
COMMENT ON COLUMN users.email_verified_at IS
    'When the owner proved the address by following a link (or an admin made the account). '
    'NULL: a self-registered caregiver who has not yet confirmed. Such an account may do '
    'everything; the portal asks for confirmation (docs/operations.md says why).';

CREATE TYPE account_token_purpose AS ENUM ('password_reset', 'email_verify');

CREATE TABLE account_tokens (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    purpose    account_token_purpose NOT NULL,
    -- The address the link went to: confirming it must not confirm a different address the
    -- account has since.
    email      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CONSTRAINT account_tokens_hash_length CHECK (length(token_hash) = 32)
);
COMMENT ON TABLE account_tokens IS
    'Password-reset and verification links: SHA-256 of the token only. used_at is set when the '
    'link is used and when a newer link of the same purpose replaces it.';
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose) WHERE used_at IS NULL;
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);

-- Every request for a link, known address or not, for the rate limit.
CREATE TABLE account_token_requests (
    id          bigserial PRIMARY KEY,
    purpose     account_token_purpose NOT NULL,
    email_lower text NOT NULL,
    address     inet,
    at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT account_token_requests_email_length CHECK (length(email_lower) <= 254)
);
COMMENT ON TABLE account_token_requests IS
    'Requests for a reset or verification link, counted per address asked for and per client '
    'address within a window, whether or not an account exists.';
CREATE INDEX account_token_requests_email_idx ON account_token_requests (email_lower, at);
CREATE INDEX account_token_requests_address_idx ON account_token_requests (address, at)
    WHERE address IS NOT NULL;
CREATE INDEX account_token_requests_at_idx ON account_token_requests (at);

-- Erasure (logeer_erase_account) forgets the account's links and the requests that name its
-- address, in the same transaction that pseudonymises the account.
CREATE FUNCTION logeer_account_tokens_forget() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM account_tokens WHERE user_id = NEW.id;
    DELETE FROM account_token_requests WHERE email_lower = lower(OLD.email);
    RETURN NEW;
END
$$;
CREATE TRIGGER users_erased_forget_account_tokens
    AFTER UPDATE OF erased_at ON users FOR EACH ROW
    WHEN (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL)
    EXECUTE FUNCTION logeer_account_tokens_forget();

-- Asks for a link. With p_email: the account with that address (password reset, or a new
-- verification link), and the request counts against the limits whether or not it exists.
-- With p_user (the caller's own account): no limit when p_limit is false (registration).
-- retry_after_s > 0: refused (429). u_id NULL: no token made, and no mail to send.
CREATE FUNCTION logeer_account_token_issue(p_purpose account_token_purpose, p_email text,
                                           p_user uuid, p_address inet, p_token_hash bytea,
                                           p_ttl_s integer, p_window_s integer,
                                           p_email_limit integer, p_address_limit integer,
                                           p_limit boolean, p_unverify boolean,
                                           OUT retry_after_s integer, OUT u_id uuid,
                                           OUT u_email text, OUT u_role text)
LANGUAGE plpgsql AS $$
DECLARE
    v_email  text;
    v_window interval := make_interval(secs => p_window_s);
    v_edge   timestamptz;
    v_wait   numeric := 0;
BEGIN
    retry_after_s := 0;
    -- Rows past any window or link lifetime are kept no longer than a day: they name
    -- addresses, and nothing reads them after that.
    DELETE FROM account_token_requests WHERE at < now() - interval '1 day';
    DELETE FROM account_tokens WHERE expires_at < now() - interval '1 day';
    IF p_user IS NOT NULL THEN
        SELECT lower(u.email) INTO v_email FROM users u WHERE u.id = p_user;
    ELSE
        v_email := lower(p_email);
    END IF;
    IF v_email IS NULL THEN
        RETURN;
    END IF;

    IF p_limit THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('logeer.token.email:' || v_email, 0));
        IF p_address IS NOT NULL THEN
            PERFORM pg_advisory_xact_lock(
                hashtextextended('logeer.token.address:' || host(p_address), 0));
        END IF;
        -- The limit-th newest request: once it is older than the window, fewer remain.
        SELECT r.at INTO v_edge FROM account_token_requests r
         WHERE r.email_lower = v_email AND r.at > now() - v_window
         ORDER BY r.at DESC OFFSET p_email_limit - 1 LIMIT 1;
        IF FOUND THEN
            v_wait := extract(epoch FROM v_edge + v_window - now());
        END IF;
        IF p_address IS NOT NULL THEN
            SELECT r.at INTO v_edge FROM account_token_requests r
             WHERE r.address = p_address AND r.at > now() - v_window
             ORDER BY r.at DESC OFFSET p_address_limit - 1 LIMIT 1;
            IF FOUND THEN
                v_wait := greatest(v_wait, extract(epoch FROM v_edge + v_window - now()));
            END IF;
        END IF;
        IF v_wait > 0 THEN
            retry_after_s := greatest(1, ceil(v_wait)::integer);
            RETURN;
        END IF;
        INSERT INTO account_token_requests (purpose, email_lower, address)
        VALUES (p_purpose, left(v_email, 254), p_address);
    END IF;

    SELECT u.id, u.email, u.role::text INTO u_id, u_email, u_role FROM users u
     WHERE (CASE WHEN p_user IS NOT NULL THEN u.id = p_user ELSE lower(u.email) = v_email END)
       AND u.erased_at IS NULL AND u.disabled_at IS NULL
     ORDER BY u.created_at LIMIT 1;
    IF u_id IS NULL THEN
        RETURN;
    END IF;
    IF p_unverify THEN
        UPDATE users SET email_verified_at = NULL WHERE id = u_id;
    ELSIF p_purpose = 'email_verify' AND EXISTS (
              SELECT 1 FROM users u WHERE u.id = u_id AND u.email_verified_at IS NOT NULL) THEN
        -- Nothing to confirm: no link, no mail.
        u_id := NULL;
        u_email := NULL;
        u_role := NULL;
        RETURN;
    END IF;
    -- Only the newest link of a purpose works: an older mail found later cannot be used.
    UPDATE account_tokens SET used_at = now()
     WHERE user_id = u_id AND purpose = p_purpose AND used_at IS NULL;
    INSERT INTO account_tokens (token_hash, user_id, purpose, email, expires_at)
    VALUES (p_token_hash, u_id, p_purpose, u_email, now() + make_interval(secs => p_ttl_s));
END
$$;
COMMENT ON FUNCTION logeer_account_token_issue(account_token_purpose, text, uuid, inet, bytea,
                                               integer, integer, integer, integer, boolean,
                                               boolean) IS
    'A reset or verification link: rate limit, then a token for the account if it exists and '
    'needs one. Same work and the same answer to the client whether or not it exists.';

-- What a link is worth right now: 'valid', 'used', 'expired' or 'unknown'.
CREATE FUNCTION logeer_account_token_state(t account_tokens) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN t.token_hash IS NULL THEN 'unknown'
                WHEN t.used_at IS NOT NULL THEN 'used'
                WHEN t.expires_at <= now() THEN 'expired'
                WHEN NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id
                                    AND u.erased_at IS NULL AND u.disabled_at IS NULL)
                    THEN 'unknown'
                ELSE 'valid' END
$$;

-- Uses a reset link: the new password, every session of the account ended, the link spent.
-- A reset also proves the address. outcome: 'reset', or the link's state when it is not valid.
CREATE FUNCTION logeer_password_reset(p_token_hash bytea, p_password_hash text,
                                      OUT outcome text, OUT u_id uuid, OUT u_role text)
LANGUAGE plpgsql AS $$
DECLARE
    t account_tokens%ROWTYPE;
BEGIN
    SELECT * INTO t FROM account_tokens
     WHERE token_hash = p_token_hash AND purpose = 'password_reset' FOR UPDATE;
    outcome := logeer_account_token_state(t);
    IF outcome <> 'valid' THEN
        RETURN;
    END IF;
    UPDATE account_tokens SET used_at = now()
     WHERE user_id = t.user_id AND purpose = 'password_reset' AND used_at IS NULL;
    UPDATE users SET password_hash = p_password_hash, updated_at = now(),
                     email_verified_at = CASE WHEN lower(email) = lower(t.email)
                                              THEN coalesce(email_verified_at, now())
                                              ELSE email_verified_at END
     WHERE id = t.user_id
    RETURNING id, role::text INTO u_id, u_role;
    UPDATE sessions SET revoked_at = now() WHERE user_id = t.user_id AND revoked_at IS NULL;
    outcome := 'reset';
END
$$;
COMMENT ON FUNCTION logeer_password_reset(bytea, text) IS
    'POST /v1/password-resets/complete: sets the password from a valid link and ends every '
    'session of the account.';

-- Uses a verification link. outcome: 'verified', or the link's state when it is not valid.
CREATE FUNCTION logeer_email_verify(p_token_hash bytea, OUT outcome text, OUT u_email text)
LANGUAGE plpgsql AS $$
DECLARE
    t account_tokens%ROWTYPE;
BEGIN
    SELECT * INTO t FROM account_tokens
     WHERE token_hash = p_token_hash AND purpose = 'email_verify' FOR UPDATE;
    outcome := logeer_account_token_state(t);
    IF outcome <> 'valid' THEN
        RETURN;
    END IF;
    UPDATE account_tokens SET used_at = now() WHERE token_hash = p_token_hash;
    UPDATE users SET email_verified_at = coalesce(email_verified_at, now()), updated_at = now()
     WHERE id = t.user_id AND lower(email) = lower(t.email)
    RETURNING email INTO u_email;
    outcome := CASE WHEN u_email IS NULL THEN 'unknown' ELSE 'verified' END;
END
$$;
COMMENT ON FUNCTION logeer_email_verify(bytea) IS
    'POST /v1/email-verifications: confirms the address the link was sent to.';
