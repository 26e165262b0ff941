-- 0004: safety nets around requests: idempotency keys, the access log of personal data (NEN
-- 7513) and the log of searches behind unmet-demand reports. The access log must never be
-- changed after the fact; the search log must never hold guest data.

-- ---------------------------------------------------------------------------------------------
-- Idempotency keys
-- ---------------------------------------------------------------------------------------------

CREATE TABLE idempotency_keys (
    principal_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key              text NOT NULL,
    method           text NOT NULL,
    path             text NOT NULL,
    request_hash     bytea NOT NULL,
    state            text NOT NULL DEFAULT 'running',
    status_code      integer,
    response_body    text,
    response_headers jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    -- Keys are per principal: two users may pick the same key without seeing each other's
    -- responses. Claiming a key is INSERT ... ON CONFLICT DO NOTHING: exactly one of several
    -- concurrent retries wins the row, the others read it and answer 409 (running), 422 (other
    -- request) or the stored response (done).
    PRIMARY KEY (principal_id, key),
    CONSTRAINT idempotency_keys_key_length CHECK (length(key) BETWEEN 1 AND 255),
    CONSTRAINT idempotency_keys_method_shape CHECK (method ~ '^[A-Z]{1,16}$'),
    CONSTRAINT idempotency_keys_path_length CHECK (length(path) BETWEEN 1 AND 2048),
    CONSTRAINT idempotency_keys_request_hash_is_sha256 CHECK (octet_length(request_hash) = 32),
    CONSTRAINT idempotency_keys_state_known CHECK (state IN ('running', 'done')),
    CONSTRAINT idempotency_keys_done_has_status CHECK (state <> 'done' OR status_code IS NOT NULL),
    CONSTRAINT idempotency_keys_status_range CHECK (status_code BETWEEN 100 AND 599),
    CONSTRAINT idempotency_keys_headers_object CHECK (jsonb_typeof(response_headers) = 'object')
);
COMMENT ON TABLE idempotency_keys IS
    'Idempotency-Key per principal for creating POSTs: the first request''s fingerprint and, '
    'once done, its response to replay. Kept at least 24 hours, then pruned by created_at.';
COMMENT ON COLUMN idempotency_keys.request_hash IS
    'SHA-256 over method, path and body: same key with another request answers 422.';
COMMENT ON COLUMN idempotency_keys.state IS
    'running while the original request is in progress (a retry answers 409), done after.';
COMMENT ON COLUMN idempotency_keys.response_headers IS
    'Headers to replay with the stored response (e.g. Location, Content-Type); optional.';

CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- ---------------------------------------------------------------------------------------------
-- Access log (NEN 7513): who saw or changed whose stay data
-- ---------------------------------------------------------------------------------------------

CREATE TABLE access_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    -- No foreign keys here on purpose: writing the log must never fail on referential grounds
    -- (a user row changed, a probe for a stay id that does not exist), and the log outlives
    -- whatever it refers to.
    user_id      uuid,
    role         user_role,
    on_behalf_of text,
    stay_id      uuid,
    guest_ref    text,
    action       text NOT NULL,
    request_id   text,
    address      inet,
    route        text,
    CONSTRAINT access_log_action_shape CHECK (action ~ '^[a-z][a-z0-9_.-]{0,63}$'),
    CONSTRAINT access_log_on_behalf_of_length CHECK (length(on_behalf_of) <= 200),
    CONSTRAINT access_log_guest_ref_length CHECK (length(guest_ref) <= 100),
    CONSTRAINT access_log_request_id_length CHECK (length(request_id) <= 128),
    CONSTRAINT access_log_route_length CHECK (length(route) <= 256)
);
COMMENT ON TABLE access_log IS
    'Append-only log of every read or change of a stay''s personal data (NEN 7513): who, in '
    'which role, for whom, when, which stay, what action, from where. Kept through account '
    'erasure, because logging access to health data is a legal duty.';
COMMENT ON COLUMN access_log.guest_ref IS
    'How the guest was identified at the time (the alias), so the log stays readable after the '
    'stay''s guest data is erased.';
COMMENT ON COLUMN access_log.action IS 'What was done, e.g. stay.read, stay.list, stay.cancel.';
COMMENT ON COLUMN access_log.route IS 'Route pattern, e.g. GET /v1/stays/{id}.';

-- "Who accessed this stay" and "what did this user access" are the two questions an auditor
-- asks; time-range exports use at.
CREATE INDEX access_log_stay_idx ON access_log (stay_id, at) WHERE stay_id IS NOT NULL;
CREATE INDEX access_log_user_idx ON access_log (user_id, at) WHERE user_id IS NOT NULL;
CREATE INDEX access_log_at_idx ON access_log (at);

CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();

-- ---------------------------------------------------------------------------------------------
-- Searches: demand, including demand that found nothing
-- ---------------------------------------------------------------------------------------------

CREATE TABLE searches (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    user_id      uuid REFERENCES users (id),
    role         user_role,
    check_in     date,
    nights       integer,
    municipality text,
    care_profile text,
    funding      text,
    kind         pool_kind,
    flex_days    integer,
    radius_km    integer,
    results      integer NOT NULL,
    params       jsonb NOT NULL DEFAULT '{}',
    -- Columns rather than only JSON: the demand report groups by them. No foreign key on
    -- municipality, so that logging a search can never fail the search itself.
    CONSTRAINT searches_nights_range CHECK (nights BETWEEN 1 AND 365),
    CONSTRAINT searches_municipality_format CHECK (municipality ~ '^GM[0-9]{4}$'),
    CONSTRAINT searches_care_profile_known CHECK (
        care_profile IN ('somatic', 'dementia', 'disability', 'psychiatric', 'youth')),
    CONSTRAINT searches_funding_known CHECK (funding IN ('wmo', 'wlz', 'zvw', 'pgb', 'private')),
    CONSTRAINT searches_flex_days_range CHECK (flex_days BETWEEN 0 AND 365),
    CONSTRAINT searches_radius_km_range CHECK (radius_km BETWEEN 0 AND 1000),
    CONSTRAINT searches_results_nonnegative CHECK (results >= 0),
    CONSTRAINT searches_params_is_object CHECK (jsonb_typeof(params) = 'object')
);
COMMENT ON TABLE searches IS
    'Every availability search with its parameters and number of results: the source of '
    'unmet-demand figures (searches with no result). No guest data.';
COMMENT ON COLUMN searches.results IS 'Pools returned; 0 is unmet demand.';
COMMENT ON COLUMN searches.params IS 'Any further parameters, for analyses not foreseen here.';

CREATE INDEX searches_at_idx ON searches (at);
-- The demand report is mostly about searches that found nothing.
CREATE INDEX searches_unmet_idx ON searches (at, municipality) WHERE results = 0;
