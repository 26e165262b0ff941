-- Passkeys (WebAuthn): a second factor and a way to sign in without a password. A passkey is
-- a user_factors row of kind 'passkey' (migration 0032) with its public key and counter here;
-- the challenges the server issued wait here, hashed, until used once or expired; failed
-- attempts are counted here for the rate limit.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

CREATE TABLE passkeys (
    factor_id          uuid PRIMARY KEY REFERENCES user_factors (id) ON DELETE CASCADE,
    credential_id      bytea NOT NULL,
    public_key         bytea NOT NULL,
    alg                integer NOT NULL,
    sign_count         bigint NOT NULL DEFAULT 0,
    aaguid             uuid NOT NULL,
    transports         text[] NOT NULL DEFAULT '{}',
    backup_eligible    boolean NOT NULL DEFAULT false,
    backed_up          boolean NOT NULL DEFAULT false,
    attestation_format text NOT NULL,
    -- One credential, one account: a credential id is how a passwordless sign-in finds its
    -- person, so it must name exactly one.
    CONSTRAINT passkeys_credential_unique UNIQUE (credential_id),
    CONSTRAINT passkeys_credential_length CHECK (octet_length(credential_id) BETWEEN 1 AND 1023),
    CONSTRAINT passkeys_public_key_length CHECK (octet_length(public_key) BETWEEN 32 AND 2048),
    CONSTRAINT passkeys_alg_known CHECK (alg IN (-7, -8, -257)),
    CONSTRAINT passkeys_sign_count_u32 CHECK (sign_count BETWEEN 0 AND 4294967295),
    CONSTRAINT passkeys_transports_few CHECK (cardinality(transports) <= 8),
    CONSTRAINT passkeys_format_known CHECK (attestation_format IN ('none', 'packed'))
);
COMMENT ON TABLE passkeys IS
    'The WebAuthn credential behind a user_factors row of kind passkey: its id, its public key '
    '(DER SubjectPublicKeyInfo) and COSE algorithm, and the signature counter that exposes a '
    'cloned authenticator.';
COMMENT ON COLUMN passkeys.sign_count IS
    'The authenticator''s counter at its last use; a later assertion must carry a higher one '
    'unless both are 0 (authenticators that keep none).';

-- A challenge is sent once and kept only as its SHA-256, bound to its purpose and, for
-- registration and the second step, to the person and the session that asked for it. Using
-- it deletes it, so it cannot be replayed.
CREATE TABLE webauthn_challenges (
    challenge_hash bytea PRIMARY KEY,
    purpose        text NOT NULL,
    user_id        uuid REFERENCES users (id) ON DELETE CASCADE,
    session_hash   bytea,
    address        inet,
    expires_at     timestamptz NOT NULL,
    CONSTRAINT webauthn_challenges_sha256 CHECK (octet_length(challenge_hash) = 32),
    CONSTRAINT webauthn_challenges_purpose CHECK (purpose IN ('register', 'signin', 'factor')),
    CONSTRAINT webauthn_challenges_bound CHECK
        (purpose = 'signin' OR (user_id IS NOT NULL AND session_hash IS NOT NULL))
);
CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at);
CREATE INDEX webauthn_challenges_address ON webauthn_challenges (address, expires_at);

-- Failed registrations, sign-ins and second steps, for the rate limit (per address and per
-- person); the access log keeps the lasting record.
CREATE TABLE passkey_failures (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    user_id uuid,
    address inet
);
CREATE INDEX passkey_failures_address ON passkey_failures (address, at);
CREATE INDEX passkey_failures_user ON passkey_failures (user_id, at) WHERE user_id IS NOT NULL;
