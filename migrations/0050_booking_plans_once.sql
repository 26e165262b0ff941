-- 0050: a booking keeps the plans of its statements, and the stays' transport check and the
-- flush after every write are no longer parsed and planned on each call (issue 17). Runs
-- inside the migrator's transaction: no BEGIN/COMMIT.
--
-- Measured with pg_stat_statements (track = all, track_planning = on) on a hold followed by a
-- cancel, and on a refusal, each as logeerd sends them: see docs/performance.md, "Plans kept
-- for the booking (migration 0050)".
--
-- 1. logeer_book_stay gets 0046's setting. PL/pgSQL keeps custom plans for a statement whose
--    generic plan looks dearer; the quick look at the nights (0045, step 3c), the nights'
--    lock (step 4) and the counters' update (step 5) were planned again on every call, each
--    for longer than it ran (quick look: 0.041 ms of planning, 0.015 ms of executing, in every
--    booking request, refusals included). Their generic plans are the same index range scan
--    on pool_nights_pkey that the custom ones are. The setting holds for what the function
--    calls (idempotency, intake, allowance, history): lookups by key, already generic.
ALTER FUNCTION logeer_book_stay(jsonb) SET plan_cache_mode = force_generic_plan;

-- 2. The transport check of 0015, as PL/pgSQL. PostgreSQL prepares a table's CHECK
--    constraints again for every INSERT or UPDATE statement, and a CHECK that calls a SQL
--    function has that function's body parsed and analysed each time, to see whether it can
--    be inlined (it cannot: it has a subquery). stays_arrival_shape and stays_departure_shape
--    did so in every statement that writes a stay, arrival or not: about 60 of the 177 µs of
--    a stay's INSERT. A PL/pgSQL function is compiled once per session and never inlined; the
--    rule is the same, word for word.
CREATE OR REPLACE FUNCTION logeer_transport_valid(t jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN jsonb_typeof(t) = 'object'
       AND NOT EXISTS (SELECT 1 FROM jsonb_object_keys(t) AS k WHERE k NOT IN ('by', 'time', 'note'))
       AND t ->> 'by' IN ('caregiver', 'provider', 'other')
       AND jsonb_typeof(t -> 'by') = 'string'
       AND (NOT t ? 'time' OR (jsonb_typeof(t -> 'time') = 'string'
                               AND t ->> 'time' ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'))
       AND (NOT t ? 'note' OR (jsonb_typeof(t -> 'note') = 'string'
                               AND length(btrim(t ->> 'note')) BETWEEN 1 AND 300
                               AND NOT logeer_text_has_bsn(t ->> 'note')));
END
$$;

-- 3. 0048's flush, as PL/pgSQL: as a SQL function with a FROM clause it was parsed and planned
--    twice in every call (once to see whether it can be inlined, once to run it), and logeerd
--    calls it after every write.
CREATE OR REPLACE FUNCTION logeer_commit_flush() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- A transactional WAL record gives this transaction an id and a record of its own, so its
    -- commit waits for the WAL flush (a transaction with neither does not). Any role may call
    -- pg_logical_emit_message; the record is a few bytes and is ignored unless something
    -- decodes the WAL logically.
    PERFORM pg_logical_emit_message(true, 'logeer', 'flush');
    RETURN 0;
END
$$;
