-- TOTP second factors (RFC 6238) and recovery codes. A TOTP factor is a user_factors row
-- (0032) of kind 'totp' with its secret here, sealed under the server key (LOGEER_WEBHOOK_KEY,
-- as webhook secrets are): a leaked table gives no codes. Recovery codes are kept only as
-- SHA-256 digests of high-entropy codes, each good once.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

CREATE TABLE totp_factors (
    factor_id     uuid PRIMARY KEY REFERENCES user_factors (id) ON DELETE CASCADE,
    secret_sealed bytea NOT NULL,
    secret_key_id text NOT NULL,
    last_step     bigint NOT NULL DEFAULT -1,
    CONSTRAINT totp_factors_key_id_length CHECK (length(secret_key_id) <= 32),
    CONSTRAINT totp_factors_sealed_length CHECK (length(secret_sealed) <= 128)
);
COMMENT ON TABLE totp_factors IS
    'The secret of each TOTP factor, sealed (AES-256-GCM) under the server key.';
COMMENT ON COLUMN totp_factors.last_step IS
    'The last time step (unix time / 30) whose code was accepted; only later steps count, so '
    'a code is good once (no replay within its window). -1 before the first.';

CREATE TABLE recovery_codes (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash),
    CONSTRAINT recovery_codes_hash_length CHECK (length(code_hash) = 32)
);
COMMENT ON TABLE recovery_codes IS
    'Single-use codes for a person who lost their second factor: SHA-256 of each code, made '
    'at TOTP confirmation or on request (POST /v1/me/recovery-codes), replacing the last set.';

-- Recovery codes stand in for a factor, so they go when the last factor goes: removed by its
-- owner, reset by the admin, or erased with the account (0032 removes the factors then).
CREATE FUNCTION logeer_recovery_codes_orphaned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM user_factors f WHERE f.user_id = OLD.user_id
                   AND f.confirmed_at IS NOT NULL) THEN
        DELETE FROM recovery_codes WHERE user_id = OLD.user_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER user_factors_recovery_codes AFTER DELETE ON user_factors
    FOR EACH ROW EXECUTE FUNCTION logeer_recovery_codes_orphaned();
