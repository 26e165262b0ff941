-- Open figures and calendar feeds (docs/open-data.md). Owns the location's choice to show its
-- own free planned nights in the public figures, and the secret calendar feed URLs of
-- caregivers and locations. Stores only a hash of a feed's secret, never the secret.

-- The public figures (GET /v1/open/availability) are per municipality. A provider may choose
-- to show a location's own row as well; nobody else may make that choice for it.
ALTER TABLE locations ADD COLUMN open_data_detail boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN locations.open_data_detail IS
    'The provider chose to show this location''s free planned nights per week in the public '
    'open figures (GET /v1/open/availability); otherwise it counts only in its municipality.';

-- A feed is a secret URL a calendar app polls without logging in. One live feed per owner:
-- renewing revokes the old one in the same transaction, so a leaked URL stops at once.
CREATE TABLE calendar_feeds (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- SHA-256 of the secret token (auth_token_hash); the token itself is shown once.
    token_hash   bytea NOT NULL UNIQUE,
    -- Exactly one owner: a caregiver's own stays, or a location's arrivals and departures.
    user_id      uuid REFERENCES users (id),
    location_id  uuid REFERENCES locations (id),
    -- Who made it: the feed acts on their behalf and stops when their account stops (or, for
    -- a location, when they no longer work for its provider).
    created_by   uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT calendar_feeds_one_owner CHECK ((user_id IS NULL) <> (location_id IS NULL)),
    CONSTRAINT calendar_feeds_hash_length CHECK (length(token_hash) = 32)
);
COMMENT ON TABLE calendar_feeds IS
    'Secret iCalendar subscription URLs (GET /v1/feeds/{token}.ics); only the SHA-256 of the '
    'token is kept. Revoked rows stay as history of who could read what.';

CREATE UNIQUE INDEX calendar_feeds_live_user ON calendar_feeds (user_id)
    WHERE revoked_at IS NULL AND user_id IS NOT NULL;
CREATE UNIQUE INDEX calendar_feeds_live_location ON calendar_feeds (location_id)
    WHERE revoked_at IS NULL AND location_id IS NOT NULL;
