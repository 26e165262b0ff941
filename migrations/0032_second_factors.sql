-- Second factors (NEN 7510: staff who see health data sign in with two factors). What a
-- person has set up beyond the password, and when a session last proved one. Each kind of
-- factor keeps its own details (a sealed TOTP secret, a passkey's public key) in a table of
-- its own that references user_factors; this table is what the gate and the lists read.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

CREATE TABLE user_factors (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('totp', 'passkey')),
    label        text NOT NULL DEFAULT '' CHECK (length(label) <= 100),
    created_at   timestamptz NOT NULL DEFAULT now(),
    confirmed_at timestamptz,
    last_used_at timestamptz
);
CREATE INDEX user_factors_user ON user_factors (user_id);
COMMENT ON COLUMN user_factors.confirmed_at IS
    'NULL while enrolment is unfinished (a TOTP secret before its first code): such a row '
    'is no factor yet.';

-- factor_at: when this session last proved a second factor (NULL: not yet). A session whose
-- person needs a factor is held at the set-up or second-step routes until then, and sensitive
-- actions ask for a recent one (step-up). amr: the RFC 8176 methods proven in this session.
ALTER TABLE sessions ADD COLUMN factor_at timestamptz;
ALTER TABLE sessions ADD COLUMN amr text[] NOT NULL DEFAULT '{pwd}';

-- An erased person keeps no factors (their sessions already end with the erasure).
CREATE FUNCTION logeer_user_factors_erase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM user_factors WHERE user_id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER users_erase_factors AFTER UPDATE OF erased_at ON users
    FOR EACH ROW WHEN (NEW.erased_at IS NOT NULL AND OLD.erased_at IS NULL)
    EXECUTE FUNCTION logeer_user_factors_erase();
