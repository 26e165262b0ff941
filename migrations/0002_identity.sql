-- 0002: identity: accounts, login sessions and login attempts. Owns who may act and for how
-- long. Never stores a password or a session token in the clear: only their hashes.

CREATE TYPE user_role AS ENUM ('caregiver', 'provider', 'referrer', 'coordinator', 'admin');
COMMENT ON TYPE user_role IS
    'caregiver: mantelzorger; provider: staff of one provider; referrer: GP, district nurse or '
    'case manager; coordinator: the regional aanjager; admin: operator.';

-- ---------------------------------------------------------------------------------------------
-- Users
-- ---------------------------------------------------------------------------------------------

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL,
    password_hash text,
    role          user_role NOT NULL,
    provider_id   uuid REFERENCES providers (id),
    municipality  text REFERENCES municipalities (code),
    display_name  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz,
    erased_at     timestamptz,
    CONSTRAINT users_email_shape CHECK (length(email) <= 254 AND email ~ '^[^@\s]+@[^@\s]+$'),
    CONSTRAINT users_password_hash_length CHECK (length(password_hash) BETWEEN 1 AND 512),
    -- Provider staff act for exactly one provider, and nobody else is tied to one: every
    -- provider-scoped authorisation can then trust provider_id without looking at the role.
    CONSTRAINT users_provider_iff_provider_role CHECK ((role = 'provider') = (provider_id IS NOT NULL)),
    CONSTRAINT users_display_name_length CHECK (length(display_name) <= 200)
);
COMMENT ON TABLE users IS
    'Accounts. Never deleted (stays, events and the access log refer to them): disabling stops '
    'logins, erasing removes personal data but keeps the row.';
COMMENT ON COLUMN users.email IS
    'Login name; unique regardless of case (users_email_lower_key). Compare with lower().';
COMMENT ON COLUMN users.password_hash IS
    'Argon2id hash in PHC string form. NULL: no password login (erased, or not yet set).';
COMMENT ON COLUMN users.provider_id IS 'The provider a provider-role user works for; NULL for all other roles.';
COMMENT ON COLUMN users.municipality IS
    'Home municipality (CBS code) of a caregiver: decides which Wmo contracts apply.';
COMMENT ON COLUMN users.disabled_at IS 'Set: the account may not log in or act.';
COMMENT ON COLUMN users.erased_at IS
    'Set when the user''s personal data was erased on request (email replaced, hash cleared).';

-- Case-insensitive uniqueness: "Jan@X.nl" and "jan@x.nl" are one mailbox in practice and must
-- not become two accounts. Login looks up WHERE lower(email) = lower($1), served by this index.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
CREATE INDEX users_provider_idx ON users (provider_id) WHERE provider_id IS NOT NULL;

CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Sessions
-- ---------------------------------------------------------------------------------------------

CREATE TABLE sessions (
    token_hash    bytea PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    idle_timeout  interval NOT NULL DEFAULT interval '30 minutes',
    revoked_at    timestamptz,
    user_agent    text,
    address       inet,
    -- Only SHA-256 digests are stored, so a copy of this table cannot be replayed as tokens.
    CONSTRAINT sessions_token_hash_is_sha256 CHECK (octet_length(token_hash) = 32),
    CONSTRAINT sessions_expiry_after_creation CHECK (expires_at > created_at),
    CONSTRAINT sessions_idle_timeout_positive CHECK (idle_timeout > interval '0'),
    CONSTRAINT sessions_user_agent_length CHECK (length(user_agent) <= 512)
);
COMMENT ON TABLE sessions IS
    'Bearer-token sessions. A session is valid while revoked_at IS NULL AND now() < expires_at '
    'AND now() < last_seen_at + idle_timeout; the check and the last_seen_at touch can be one '
    'UPDATE ... RETURNING.';
COMMENT ON COLUMN sessions.token_hash IS 'SHA-256 of the bearer token (32 bytes).';
COMMENT ON COLUMN sessions.expires_at IS 'Absolute end of the session, whatever the activity.';
COMMENT ON COLUMN sessions.idle_timeout IS
    'Inactivity limit: the session ends at last_seen_at + idle_timeout.';
COMMENT ON COLUMN sessions.address IS 'Client IP address at login (no port).';

CREATE INDEX sessions_user_idx ON sessions (user_id);
-- Cleanup of ended sessions.
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- ---------------------------------------------------------------------------------------------
-- Login attempts (rate limiting and security review)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE login_attempts (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    email_lower text NOT NULL,
    address     inet,
    success     boolean NOT NULL,
    -- The limiter counts per lower-cased email; storing it already lowered keeps the index
    -- usable without an expression.
    CONSTRAINT login_attempts_email_is_lower CHECK (email_lower = lower(email_lower)),
    CONSTRAINT login_attempts_email_length CHECK (length(email_lower) <= 254)
);
COMMENT ON TABLE login_attempts IS
    'Every login attempt, for rate limiting per account and per address. Holds email addresses '
    'that may not belong to any user: prune after the limiter window and review period.';

-- Rate limiting asks "how many failures for this email / from this address since T".
CREATE INDEX login_attempts_email_idx ON login_attempts (email_lower, at);
CREATE INDEX login_attempts_address_idx ON login_attempts (address, at) WHERE address IS NOT NULL;
-- Pruning by age.
CREATE INDEX login_attempts_at_idx ON login_attempts (at);
