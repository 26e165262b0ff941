-- The admin right within a provider organisation (beheerder): which of a provider's staff may
-- hand its systems API keys. Every staff member plans beds; only some decide which outside
-- systems act for the organisation. The service's admin grants it (POST or PATCH /v1/users).
-- Staff who existed before this migration keep what they could do: they all get the right.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

ALTER TABLE users ADD COLUMN provider_admin boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD CONSTRAINT users_provider_admin_is_staff
    CHECK (NOT provider_admin OR role = 'provider');
UPDATE users SET provider_admin = true WHERE role = 'provider';
COMMENT ON COLUMN users.provider_admin IS
    'Provider staff with the admin right for their organisation: may make and withdraw its '
    'API keys. Granted by the service admin.';

-- Restated from 0007 with provider_admin.
CREATE OR REPLACE FUNCTION logeer_user_json(u users) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', u.id,
        'email', u.email,
        'role', u.role,
        'provider_id', u.provider_id,
        'provider_admin', u.provider_admin,
        'municipality', u.municipality,
        'display_name', u.display_name,
        'created_at', logeer_rfc3339(u.created_at),
        'disabled_at', logeer_rfc3339(u.disabled_at),
        'erased_at', logeer_rfc3339(u.erased_at))
$$;

-- Restated from 0010 with provider_admin (false unless asked; only for provider staff, which
-- users_provider_admin_is_staff enforces and the handler checks first).
CREATE OR REPLACE FUNCTION logeer_create_user(p jsonb) RETURNS logeer_result
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
    v_result    logeer_result;
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

    v_result := logeer_idempotency_claim(v_principal, v_key, v_hash_hex);
    IF v_result.outcome IS NOT NULL THEN
        RETURN v_result;
    END IF;

    IF v_provider IS NOT NULL AND NOT EXISTS (SELECT 1 FROM providers WHERE id = v_provider) THEN
        RETURN ROW('unknown_provider', 0, NULL, NULL)::logeer_result;
    END IF;
    IF v_muni IS NOT NULL AND NOT EXISTS (SELECT 1 FROM municipalities WHERE code = v_muni) THEN
        RETURN ROW('unknown_municipality', 0, NULL, NULL)::logeer_result;
    END IF;
    INSERT INTO users (email, password_hash, role, provider_id, municipality, display_name,
                       provider_admin)
    VALUES (logeer_arg_text(p, 'email', fn, true, 254),
            logeer_arg_text(p, 'password_hash', fn, true, 512), v_role, v_provider, v_muni,
            logeer_arg_text(p, 'display_name', fn, false, 200),
            logeer_arg_bool(p, 'provider_admin', fn, false))
    ON CONFLICT ((lower(email))) DO NOTHING
    RETURNING * INTO v_user;
    IF NOT FOUND THEN
        RETURN ROW('email_taken', 0, NULL, NULL)::logeer_result;
    END IF;
    v_body := logeer_user_json(v_user)::text;
    PERFORM logeer_idempotency_store(v_principal, v_key, v_hash_hex, 'POST', v_path, 201, v_body,
                                     jsonb_build_object('Location', '/v1/users/' || v_user.id));
    RETURN ROW('created', 201, v_body, NULL)::logeer_result;
END
$$;
