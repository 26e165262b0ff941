-- Single sign-on (OpenID Connect) per provider organisation: the admin registers the
-- organisation's issuer (its discovery URL, the client logeerd is there, the email domains it
-- vouches for); staff then sign in there by authorization-code flow with PKCE. Accounts are
-- never created by a sign-in: the issuer only proves who an existing staff member is.

CREATE TABLE sso_issuers (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id    uuid NOT NULL REFERENCES providers (id),
    -- The issuer identifier; discovery is at issuer || '/.well-known/openid-configuration' and
    -- the ID token's iss must equal it exactly.
    issuer         text NOT NULL,
    client_id      text NOT NULL,
    -- The client secret sealed under LOGEER_WEBHOOK_KEY (AES-256-GCM, like webhook secrets);
    -- it is never shown again after it was registered.
    secret_sealed  bytea NOT NULL,
    secret_key_id  text NOT NULL,
    auth_method    text NOT NULL DEFAULT 'client_secret_basic',
    -- Lower case; a domain belongs to one issuer at most (sso_issuers_domain_taken).
    email_domains  text[] NOT NULL,
    -- Whether a factor the issuer asserts (amr mfa/otp/hwk/swk/..., or acr = factor_acr)
    -- counts as the second factor the two-factor rule asks for.
    idp_factor     boolean NOT NULL DEFAULT false,
    factor_acr     text,
    enabled        boolean NOT NULL DEFAULT true,
    created_by     uuid REFERENCES users (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        int NOT NULL DEFAULT 1,
    CONSTRAINT sso_issuers_issuer_shape CHECK (
        length(issuer) <= 500
        AND (issuer ~ '^https://[^/?#@\s]+(/[^?#\s]*)?$'
             OR issuer ~ '^http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?(/[^?#\s]*)?$')),
    CONSTRAINT sso_issuers_client_id_length CHECK (length(client_id) BETWEEN 1 AND 255),
    CONSTRAINT sso_issuers_auth_method_known CHECK (
        auth_method IN ('client_secret_basic', 'client_secret_post')),
    CONSTRAINT sso_issuers_domains_shape CHECK (
        cardinality(email_domains) BETWEEN 1 AND 20
        AND array_to_string(email_domains, ',') ~ '^[a-z0-9.-]+(,[a-z0-9.-]+)*$'),
    CONSTRAINT sso_issuers_factor_acr_length CHECK (length(factor_acr) BETWEEN 1 AND 200)
);
CREATE INDEX sso_issuers_provider ON sso_issuers (provider_id, created_at);
CREATE INDEX sso_issuers_domains ON sso_issuers USING gin (email_domains);
COMMENT ON TABLE sso_issuers IS
    'OpenID Connect issuers, one or more per provider organisation (docs/operations.md).';

-- A domain must lead to one issuer, or the sign-in page could not tell where to send a
-- person. An exclusion constraint cannot compare arrays by overlap, so a trigger checks under
-- a lock that serialises the (rare) writes to this table.
CREATE FUNCTION logeer_sso_domains_unique() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE sso_issuers IN SHARE ROW EXCLUSIVE MODE;
    IF EXISTS (SELECT 1 FROM sso_issuers o
               WHERE o.id <> NEW.id AND o.email_domains && NEW.email_domains) THEN
        RAISE EXCEPTION 'an email domain already belongs to another issuer'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'sso_issuers_domain_taken';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER sso_issuers_domains_unique BEFORE INSERT OR UPDATE OF email_domains
    ON sso_issuers FOR EACH ROW EXECUTE FUNCTION logeer_sso_domains_unique();

-- A sign-in under way: made by GET /v1/sso/start, used up by GET /v1/sso/callback. The state
-- and nonce are kept only as SHA-256 digests (the browser and the ID token bring them back);
-- the PKCE verifier must be sent to the token endpoint, so it is sealed instead of hashed.
CREATE TABLE sso_logins (
    state_hash       bytea PRIMARY KEY,
    issuer_id        uuid NOT NULL REFERENCES sso_issuers (id) ON DELETE CASCADE,
    nonce_hash       bytea NOT NULL,
    verifier_sealed  bytea NOT NULL,
    verifier_key_id  text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL DEFAULT now() + interval '10 minutes',
    CONSTRAINT sso_logins_state_is_sha256 CHECK (octet_length(state_hash) = 32),
    CONSTRAINT sso_logins_nonce_is_sha256 CHECK (octet_length(nonce_hash) = 32)
);
CREATE INDEX sso_logins_expires ON sso_logins (expires_at);
COMMENT ON TABLE sso_logins IS
    'Single sign-ons under way; single use (deleted when the callback arrives), 10 minutes.';
