-- API keys for provider systems (planning software that pushes capacity or reads stays):
-- named, scoped, expiring, revocable, shown once and stored only as a SHA-256 hash. A key acts
-- for its provider with the rights of the role provider narrowed to its scopes, and on behalf
-- of the staff member who created it: when that account is disabled or erased, its keys stop.

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id  uuid NOT NULL REFERENCES providers (id),
    name         text NOT NULL,
    -- The first characters after "lk_", shown in lists so a person can tell keys apart.
    prefix       text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE,
    scopes       text[] NOT NULL,
    created_by   uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    revoked_by   uuid REFERENCES users (id),
    last_used_at timestamptz,
    CONSTRAINT api_keys_name_length CHECK (length(name) BETWEEN 1 AND 100),
    CONSTRAINT api_keys_prefix_shape CHECK (prefix ~ '^[A-Za-z0-9_-]{8}$'),
    CONSTRAINT api_keys_hash_length CHECK (length(key_hash) = 32),
    CONSTRAINT api_keys_scopes_known CHECK (
        cardinality(scopes) >= 1
        AND scopes <@ ARRAY['capacity:read', 'capacity:write', 'stays:read', 'stays:write']),
    CONSTRAINT api_keys_expiry_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX api_keys_provider ON api_keys (provider_id, created_at DESC);
COMMENT ON TABLE api_keys IS
    'Keys for provider systems; only the SHA-256 of a key is stored (docs/privacy.md).';

-- Which key made a request, in the NEN 7513 trail; user_id then names the key's creator.
ALTER TABLE access_log ADD COLUMN api_key_id uuid;
