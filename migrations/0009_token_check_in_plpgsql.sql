-- 0009: is_token_list in PL/pgSQL. As a SQL function with a FROM clause it cannot be inlined,
-- so every INSERT or UPDATE of a stay (the CHECK stays_guest_needs_tokens) and every booking
-- (logeer_book_stay checks the needs first) parsed and planned its body again: PL/pgSQL
-- keeps its plan for the session. Same answers: true for a one-dimensional array of at most
-- 32 lower snake_case tokens without NULLs (the empty array included), NULL for NULL.
-- Measured with tests/bench's booking ceiling (pgbench -c16 on logeer_book_stay, national
-- data): 402-415 tps before, 452-454 after, on the same machine and cluster.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

CREATE OR REPLACE FUNCTION is_token_list(tokens text[]) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    t text;
BEGIN
    IF cardinality(tokens) > 32 OR coalesce(array_ndims(tokens), 1) <> 1 THEN
        RETURN false;
    END IF;
    FOREACH t IN ARRAY tokens LOOP
        IF t IS NULL OR t !~ '^[a-z][a-z0-9_]{0,47}$' THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END
$$;
