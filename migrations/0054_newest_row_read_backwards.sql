-- 0054: the question "does any committed row lie after the position" reads one index entry
-- again. Restates logeer_events_held_back from 0053 with the same answer. Runs inside the
-- migrator's transaction: no BEGIN/COMMIT.
--
-- 0053 asked it as EXISTS (rows after the position). A SQL function's statement is planned
-- with its arguments unknown, and for "some row after an unknown position" the planner expects
-- a third of the table to match, so a sequential scan that stops at its first match looks
-- cheapest. At the newest row, which is where a reader that has caught up always asks, nothing
-- matches and the scan reads the whole table: the bench's outbox of 99,000 rows, 2,469 buffers
-- and 17-165 ms a call, several calls a second from the notifier during a race for beds (its
-- "next due" question asks this too), and it grows with the outbox. 0047's form had said why it
-- read backwards; 0053 lost that.
--
-- The newest row after the position, read backwards on events_txid_id_idx with ORDER BY and
-- LIMIT 1, exists exactly when any row after it does, and that plan does not depend on the
-- position: one index entry (and the entries of rows not yet committed, which are passed over).

CREATE OR REPLACE FUNCTION logeer_events_held_back(after_txid xid8, after_id bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    -- Not EXISTS: planned without knowing the position, it reads the whole table (see above).
    SELECT (SELECT e.id FROM events e
             WHERE (e.txid, e.id) > (after_txid, after_id)
             ORDER BY e.txid DESC, e.id DESC
             LIMIT 1) IS NOT NULL
$$;
COMMENT ON FUNCTION logeer_events_held_back(xid8, bigint) IS
    'True when committed outbox rows lie after the position, whether held back by an older '
    'transaction of this database or readable already: the reader must look again by itself, '
    'since no NOTIFY may follow. Reads the newest such row backwards on the index.';
