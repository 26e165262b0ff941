-- 0053: a reader of the outbox looks again while any committed row lies after its position, not
-- only while such a row is held back. Restates logeer_events_held_back from 0047. Runs inside
-- the migrator's transaction: no BEGIN/COMMIT.
--
-- After a read that ended short, the live feed (src/events/outbox.c) and the notification
-- producer (src/notify/notify.c) ask whether rows wait after their position; if so they read
-- again 200 ms later, if not they wait for the next NOTIFY. 0047's question was "is the newest
-- row after the position at or above the horizon", and it raced with the horizon itself: a row
-- held back at the read (an older transaction of this database still running) was readable by
-- the time of the question, if that transaction ended in between, so the answer was "nothing
-- held back", and the row waited for a NOTIFY that no one would send (the older transaction
-- need not write an event) until the feed's 30-s safety poll. Seen twice in CI as a booking's
-- event that a live stream had not received after 5 s, once while an open psql transaction
-- held it back and was then committed (test_metrics_promtool), once without one
-- (test_events_sse; logeerd's own short transactions hold the horizon too).
--
-- The answer is now "is there any committed row after the position": a row readable now is
-- read at the next look, a row held back is looked for again until it is readable, and only
-- when none is left does the reader wait for a NOTIFY. Every row after the position is handed
-- out once it is below the horizon, so the looks end. One index entry on events_txid_id_idx.

CREATE OR REPLACE FUNCTION logeer_events_held_back(after_txid xid8, after_id bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM events e WHERE (e.txid, e.id) > (after_txid, after_id))
$$;
COMMENT ON FUNCTION logeer_events_held_back(xid8, bigint) IS
    'True when committed outbox rows lie after the position, whether held back by an older '
    'transaction of this database or readable already: the reader must look again by itself, '
    'since no NOTIFY may follow.';
