-- 0013: blocks and arrival rules per pool (docs/practice.md, "Blocks and arrival rules"). Owns
-- the columns pools.arrival_weekdays, blocks, check_in_window and check_out_window and the
-- checks on their shapes. Whether a stay fits them is decided in the core (src/core/rules.c),
-- like lead time and horizon: logeer_book_stay is not changed.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

-- A pool's blocks: a JSON array of at most 14 distinct {"arrive": 1..7, "nights": 1..28}, with
-- no other members. src/api/pools.c checks the same before it writes.
CREATE FUNCTION logeer_blocks_valid(b jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    e jsonb;
BEGIN
    IF jsonb_typeof(b) <> 'array' OR jsonb_array_length(b) > 14 THEN
        RETURN false;
    END IF;
    FOR e IN SELECT value FROM jsonb_array_elements(b) LOOP
        IF jsonb_typeof(e) <> 'object'
           OR (SELECT count(*) FROM jsonb_object_keys(e)) <> 2
           OR jsonb_typeof(e->'arrive') IS DISTINCT FROM 'number'
           OR jsonb_typeof(e->'nights') IS DISTINCT FROM 'number'
           OR (e->>'arrive') !~ '^[1-7]$'
           OR (e->>'nights') !~ '^[0-9]{1,2}$'
           OR (e->>'nights')::integer NOT BETWEEN 1 AND 28 THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN (SELECT count(DISTINCT value) FROM jsonb_array_elements(b)) = jsonb_array_length(b);
END
$$;
COMMENT ON FUNCTION logeer_blocks_valid(jsonb) IS
    'True for an array of at most 14 distinct objects {"arrive": ISO weekday 1..7, "nights": '
    '1..28} without other members (pools_blocks_shape).';

-- Distinct ISO weekdays, no NULL ("<@" is false for NULL elements).
CREATE FUNCTION logeer_weekdays_valid(d smallint[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT cardinality(d) = 0
           OR (array_ndims(d) = 1
               AND d <@ ARRAY[1, 2, 3, 4, 5, 6, 7]::smallint[]
               AND cardinality(d) = (SELECT count(DISTINCT x) FROM unnest(d) AS x))
$$;
COMMENT ON FUNCTION logeer_weekdays_valid(smallint[]) IS
    'True for distinct ISO weekdays 1..7 without NULL (pools_arrival_weekdays_shape).';

-- "HH:MM-HH:MM" on one day, the start before the end.
CREATE FUNCTION logeer_window_valid(w text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT w ~ '^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$'
           AND substr(w, 1, 5) < substr(w, 7, 5)
$$;
COMMENT ON FUNCTION logeer_window_valid(text) IS
    'True for a time window "HH:MM-HH:MM" (24-hour clock) whose start lies before its end.';

ALTER TABLE pools
    ADD COLUMN arrival_weekdays smallint[] NOT NULL DEFAULT '{}',
    ADD COLUMN blocks jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN check_in_window text,
    ADD COLUMN check_out_window text,
    ADD CONSTRAINT pools_arrival_weekdays_shape CHECK (logeer_weekdays_valid(arrival_weekdays)),
    ADD CONSTRAINT pools_blocks_shape CHECK (logeer_blocks_valid(blocks)),
    ADD CONSTRAINT pools_check_in_window_shape CHECK (
        check_in_window IS NULL OR logeer_window_valid(check_in_window)),
    ADD CONSTRAINT pools_check_out_window_shape CHECK (
        check_out_window IS NULL OR logeer_window_valid(check_out_window));

COMMENT ON COLUMN pools.arrival_weekdays IS
    'ISO weekdays (1 = Monday .. 7 = Sunday) on which a stay may start; empty means any day.';
COMMENT ON COLUMN pools.blocks IS
    'Stay patterns [{"arrive": ISO weekday, "nights": n}]: a stay must be one block or a chain '
    'of blocks, each arriving on the day the one before leaves; empty means any length.';
COMMENT ON COLUMN pools.check_in_window IS
    'When guests arrive, "HH:MM-HH:MM"; shown to caregivers and on the arrivals list.';
COMMENT ON COLUMN pools.check_out_window IS
    'When guests leave, "HH:MM-HH:MM"; shown to caregivers and on the arrivals list.';
