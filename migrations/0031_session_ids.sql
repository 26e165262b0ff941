-- Sessions a person can see and end (GET /v1/me/sessions): each session gets an id of its own
-- to be named by, since its key (the token's hash) must never leave the database.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

ALTER TABLE sessions ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE sessions ADD CONSTRAINT sessions_id_unique UNIQUE (id);
CREATE INDEX sessions_user_open ON sessions (user_id, last_seen_at DESC) WHERE revoked_at IS NULL;
COMMENT ON COLUMN sessions.id IS
    'How a person names a session (Mijn sessies); the token hash stays internal.';
