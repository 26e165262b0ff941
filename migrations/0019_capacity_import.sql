-- 0019: the capacity import (POST /v1/capacity/import). Owns logeer_import_capacity, which
-- applies checked rows of a provider's CSV with the same function as PUT capacity, all of them
-- or none. Parsing and the checks that need no database (dates, beds, own pool, overlaps) are
-- the api layer's; this adds the ones that do (never below what is held or booked).
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

-- The names of the provider's pools that the rows name: {pool id: name}.
CREATE FUNCTION logeer_import_pool_names(p jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_object_agg(po.id, po.name), '{}'::jsonb)
      FROM pools po
     WHERE po.provider_id = (p ->> 'provider_id')::uuid
       AND po.id IN (SELECT (r ->> 'pool_id')::uuid FROM jsonb_array_elements(p -> 'rows') AS r)
$$;

-- p: {provider_id, actor_id, actor_role, hold_ttl_s, apply,
--     rows: [{line, pool_id, from, to, beds}]}  (to exclusive, rows already checked)
-- Every row is one logeer_set_capacity call without If-Match (an import states the counts, as
-- PUT with If-Match: *). Rows are applied in (pool, from) order so that two imports lock the
-- pools' nights in the same order. Every row is tried, so that one answer names every refused
-- line; then everything is rolled back when any row was refused or when only a preview was
-- asked (apply false). Outcomes: ok and preview {nights, pool_names}, refused {lines: [{line,
-- outcome, nights}]}.
CREATE FUNCTION logeer_import_capacity(p jsonb) RETURNS logeer_result
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    v_row    jsonb;
    v_res    logeer_result;
    v_lines  jsonb := '[]'::jsonb;   -- kept when the block below rolls back
    v_nights integer := 0;
BEGIN
    BEGIN
        FOR v_row IN SELECT r FROM jsonb_array_elements(p -> 'rows') AS r
                      ORDER BY r ->> 'pool_id', r ->> 'from'
        LOOP
            v_res := logeer_set_capacity(jsonb_build_object(
                'pool_id', v_row -> 'pool_id',
                'provider_id', p -> 'provider_id',
                'ranges', jsonb_build_array(jsonb_build_object(
                    'from', v_row -> 'from', 'to', v_row -> 'to', 'beds', v_row -> 'beds')),
                'actor_id', p -> 'actor_id',
                'actor_role', p -> 'actor_role',
                'hold_ttl_s', p -> 'hold_ttl_s'));
            IF v_res.outcome = 'ok' THEN
                v_nights := v_nights + ((v_row ->> 'to')::date - (v_row ->> 'from')::date);
            ELSE
                v_lines := v_lines || jsonb_build_object(
                    'line', v_row -> 'line', 'outcome', v_res.outcome,
                    'nights', coalesce(v_res.detail -> 'nights', '[]'::jsonb));
            END IF;
        END LOOP;
        IF v_lines <> '[]'::jsonb OR NOT coalesce((p ->> 'apply')::boolean, false) THEN
            RAISE EXCEPTION 'capacity import rolled back' USING ERRCODE = 'LGR02';
        END IF;
    EXCEPTION WHEN SQLSTATE 'LGR02' THEN
        IF v_lines <> '[]'::jsonb THEN
            RETURN ROW('refused', 0, NULL,
                       jsonb_build_object('lines', (SELECT jsonb_agg(l ORDER BY (l ->> 'line')::int)
                                                      FROM jsonb_array_elements(v_lines) AS l)))
                   ::logeer_result;
        END IF;
        RETURN ROW('preview', 200, NULL, jsonb_build_object('nights', v_nights,
                   'pool_names', logeer_import_pool_names(p)))::logeer_result;
    END;
    RETURN ROW('ok', 200, NULL, jsonb_build_object('nights', v_nights,
               'pool_names', logeer_import_pool_names(p)))::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_import_capacity(jsonb) IS
    'POST /v1/capacity/import: applies checked CSV rows with logeer_set_capacity (no If-Match), '
    'all or none; with apply false everything is rolled back after the checks (a preview). '
    'Outcomes: ok {nights, pool_names}, preview {nights, pool_names}, refused {lines: [{line, outcome, nights}]}.';
