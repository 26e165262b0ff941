-- 0047: the outbox's readers no longer wait for transactions of other databases.
-- Runs inside the migrator's transaction: no BEGIN/COMMIT.
--
-- Readers hand out only rows whose writing transaction is older than every transaction still
-- running (see 0008). They took that bound from pg_snapshot_xmin(pg_current_snapshot()), but
-- transaction ids belong to the whole cluster: a write transaction left open in ANOTHER database
-- of the same cluster (a long import, a forgotten psql session, a hosted server shared with
-- other applications) held back every live event, webhook and e-mail here until it ended,
-- although it can never write a row into this database's outbox.
--
-- The bound is now the oldest running transaction that may be this database's, and never more
-- than the snapshot's xmax. A running transaction counts as another database's only when
-- pg_stat_get_activity shows it there (every role sees each session's database and transaction
-- id; they are not among the details kept from other roles); everything else (a prepared
-- transaction, one that ended between the snapshot and the look) still holds the bound back,
-- exactly as before. That is safe in either order of the two reads: an xid never changes
-- database, so "running in another database" stays true for as long as it runs, and a
-- transaction that ended cannot write a row any more. The bound is never later than xmin was.
--
-- Every row a reader has not handed out yet still belongs to a transaction that may be this
-- database's and was running at its last read (txid >= the bound) or began after it
-- (txid >= xmax >= the bound), so it sorts after every row already handed out: 0008's argument
-- holds with the new bound in place of xmin.

CREATE FUNCTION logeer_events_horizon() RETURNS xid8
LANGUAGE plpgsql STABLE AS $$
DECLARE
    snap pg_snapshot := pg_current_snapshot();
BEGIN
    -- PL/pgSQL keeps the plan for the session; the other databases' transactions are read once
    -- (a hashed NOT IN), not once per running transaction.
    RETURN coalesce((SELECT min(r.xid)
                       FROM pg_snapshot_xip(snap) AS r(xid)
                      WHERE r.xid::xid NOT IN (
                            SELECT a.backend_xid FROM pg_stat_get_activity(NULL) AS a
                             WHERE a.backend_xid IS NOT NULL
                               AND a.datid <> (SELECT d.oid FROM pg_database d
                                                WHERE d.datname = current_database()))),
                    pg_snapshot_xmax(snap));
END
$$;
COMMENT ON FUNCTION logeer_events_horizon() IS
    'Outbox rows written by transactions below this bound are committed (or gone) and visible: '
    'the oldest running transaction that may belong to this database, else the snapshot''s '
    'xmax. Transactions pg_stat_activity shows in other databases do not hold it back.';

CREATE OR REPLACE FUNCTION logeer_events_after(after_txid xid8, after_id bigint, upto_txid xid8,
                                               upto_id bigint, provider uuid, max_rows integer)
RETURNS SETOF events
LANGUAGE sql STABLE AS $$
    SELECT e.*
      FROM events e
     WHERE (e.txid, e.id) > (after_txid, after_id)
       AND e.txid < (SELECT logeer_events_horizon())
       AND (upto_txid IS NULL OR (e.txid, e.id) <= (upto_txid, upto_id))
       AND (provider IS NULL OR e.provider_id = provider)
     ORDER BY e.txid, e.id
     LIMIT max_rows
$$;
COMMENT ON FUNCTION logeer_events_after(xid8, bigint, xid8, bigint, uuid, integer) IS
    'Outbox rows after position (after_txid, after_id) whose transaction is below '
    'logeer_events_horizon(), in (txid, id) order; optionally only up to (upto_txid, upto_id) '
    'and of one provider. Rows it does not return yet will all sort after the last it returned.';

CREATE OR REPLACE FUNCTION logeer_events_held_back(after_txid xid8, after_id bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    -- The newest row after the position, read backwards on events_txid_id_idx, is at or above
    -- the bound exactly when any is: one index entry, where "EXISTS ... txid >= bound" would
    -- be planned without knowing the bound and read the whole table.
    SELECT coalesce((SELECT e.txid FROM events e
                      WHERE (e.txid, e.id) > (after_txid, after_id)
                      ORDER BY e.txid DESC, e.id DESC
                      LIMIT 1) >= logeer_events_horizon(), false)
$$;
COMMENT ON FUNCTION logeer_events_held_back(xid8, bigint) IS
    'True when committed outbox rows after the position wait for an older transaction of this '
    'database to end: no NOTIFY may follow that one, so the reader must look again by itself.';

CREATE OR REPLACE FUNCTION logeer_events_head() RETURNS TABLE (txid xid8, id bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(max(h.txid), '0'::xid8), coalesce(max(h.id), 0)
      FROM (SELECT e.txid, e.id FROM events e
             WHERE e.txid < (SELECT logeer_events_horizon())
             ORDER BY e.txid DESC, e.id DESC LIMIT 1) AS h
$$;
COMMENT ON COLUMN events.txid IS
    'Writing transaction. Readers walk the outbox in (txid, id) order and hand out only rows '
    'whose txid is below logeer_events_horizon(); see logeer_events_after.';
