-- 0022: three things the provider bed board needs. Locations get a version (an ETag for
-- PATCH /v1/locations/{id} with If-Match, as pools have), so a colleague's change to a
-- location's facilities is never overwritten unseen. The access log gets a detail column, so
-- that capacity writes without a stay (POST .../capacity/confirm and the CSV import) leave an
-- entry of their own: who, which pools and nights, how many rows. And the import's refusal of
-- a line that would fall below what is held or booked names the stays on those nights.
-- Restates logeer_import_capacity (latest definition: 0019).
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.

-- ---------------------------------------------------------------------------------------------
-- Locations: a version for If-Match
-- ---------------------------------------------------------------------------------------------

ALTER TABLE locations ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE locations ADD CONSTRAINT locations_version_positive CHECK (version >= 1);
COMMENT ON COLUMN locations.version IS
    'ETag source; bumped by exactly one on every UPDATE by the locations_touch trigger.';

DROP TRIGGER locations_touch ON locations;
CREATE TRIGGER locations_touch BEFORE UPDATE ON locations
    FOR EACH ROW EXECUTE FUNCTION touch_versioned_row();

-- ---------------------------------------------------------------------------------------------
-- Access log: particulars of entries that concern no stay
-- ---------------------------------------------------------------------------------------------

ALTER TABLE access_log ADD COLUMN detail jsonb;
ALTER TABLE access_log ADD CONSTRAINT access_log_detail_size
    CHECK (detail IS NULL OR pg_column_size(detail) <= 65536);
COMMENT ON COLUMN access_log.detail IS
    'What an entry without a stay changed, e.g. for capacity.confirm and capacity.import: '
    '{provider_id, rows, nights, pools: [{pool_id, first_night, last_night, rows, nights}]}. '
    'No personal data: ids, dates and counts only.';

-- ---------------------------------------------------------------------------------------------
-- logeer_import_capacity: refusals name the stays; an applied import is logged
-- ---------------------------------------------------------------------------------------------

-- The stays that hold or book beds in pool p_pool on any of the nights in p_nights (the
-- refusal's [{date, ...}]): ids, status and dates only, no guest data. A client that may see
-- the guest reads it through GET /v1/stays, which logs that read.
CREATE FUNCTION logeer_import_stays_on(p_pool uuid, p_nights jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', s.id, 'status', s.status,
               'check_in', logeer_ymd(s.check_in), 'check_out', logeer_ymd(s.check_out))
               ORDER BY s.check_in, s.id), '[]'::jsonb)
      FROM stays s
     WHERE s.pool_id = p_pool
       AND s.status IN ('held', 'requested', 'confirmed', 'checked_in')
       AND EXISTS (SELECT 1 FROM jsonb_array_elements(p_nights) AS n
                    WHERE (n ->> 'date')::date >= s.check_in AND (n ->> 'date')::date < s.check_out)
$$;
COMMENT ON FUNCTION logeer_import_stays_on(uuid, jsonb) IS
    'The stays holding or booking beds in a pool on the given nights, as [{id, status, check_in, '
    'check_out}] (no guest data), for the import''s below_reserved refusal.';

-- The access-log particulars of an applied import: per pool its first and last night, its
-- rows and nights, and the totals.
CREATE FUNCTION logeer_import_audit_detail(p jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'provider_id', p -> 'provider_id',
               'rows', jsonb_array_length(p -> 'rows'),
               'nights', coalesce(sum(x.nights), 0),
               'pools', coalesce(jsonb_agg(jsonb_build_object(
                   'pool_id', x.pool_id, 'first_night', logeer_ymd(x.lo),
                   'last_night', logeer_ymd(x.hi - 1), 'rows', x.n, 'nights', x.nights)
                   ORDER BY x.pool_id), '[]'::jsonb))
      FROM (SELECT r ->> 'pool_id' AS pool_id, min((r ->> 'from')::date) AS lo,
                   max((r ->> 'to')::date) AS hi, count(*) AS n,
                   sum((r ->> 'to')::date - (r ->> 'from')::date) AS nights
              FROM jsonb_array_elements(p -> 'rows') AS r
             GROUP BY 1) AS x
$$;
COMMENT ON FUNCTION logeer_import_audit_detail(jsonb) IS
    'The access-log detail of an applied capacity import: {provider_id, rows, nights, pools: '
    '[{pool_id, first_night, last_night, rows, nights}]}.';

-- p: {provider_id, actor_id, actor_role, hold_ttl_s, apply, request_id, address, route,
--     rows: [{line, pool_id, from, to, beds}]}  (to exclusive, rows already checked)
-- As in 0019, and: a below_reserved line also names its stays; an applied import writes one
-- access_log row (capacity.import) in the same transaction as the counts, so there is no
-- import without its entry.
CREATE OR REPLACE FUNCTION logeer_import_capacity(p jsonb) RETURNS logeer_result
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
                    'nights', coalesce(v_res.detail -> 'nights', '[]'::jsonb),
                    'stays', CASE WHEN v_res.outcome = 'below_reserved'
                                  THEN logeer_import_stays_on((v_row ->> 'pool_id')::uuid,
                                                              v_res.detail -> 'nights')
                                  ELSE '[]'::jsonb END);
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
    INSERT INTO access_log (user_id, role, action, request_id, address, route, detail)
    VALUES ((p ->> 'actor_id')::uuid, (p ->> 'actor_role')::user_role, 'capacity.import',
            left(p ->> 'request_id', 128), (p ->> 'address')::inet, left(p ->> 'route', 256),
            logeer_import_audit_detail(p));
    RETURN ROW('ok', 200, NULL, jsonb_build_object('nights', v_nights,
               'pool_names', logeer_import_pool_names(p)))::logeer_result;
END
$$;
COMMENT ON FUNCTION logeer_import_capacity(jsonb) IS
    'POST /v1/capacity/import: applies checked CSV rows with logeer_set_capacity (no If-Match), '
    'all or none, and logs an applied import in access_log (capacity.import); with apply false '
    'everything is rolled back after the checks (a preview). Outcomes: ok {nights, pool_names}, '
    'preview {nights, pool_names}, refused {lines: [{line, outcome, nights, stays}]}.';
