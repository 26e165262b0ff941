-- 0048: a booking's night is given up before its commit reaches the disk, and answered after
-- (issue 17, contention). Runs inside the migrator's transaction: no BEGIN/COMMIT.
--
-- PostgreSQL keeps a transaction's row locks until its commit record is flushed. In the race
-- for a night's last beds, every hold and cancel waits for the night's row, so each one's WAL
-- flush was spent by all the others waiting: sampling the lock holder while others waited found
-- it in IO:WALSync more often than on the CPU.
--
-- logeerd's sessions (logeer.wakeup_after_commit = on, 0044) already send a second statement
-- right after every transaction that changed something others watch: logeer_wakeup_flush(),
-- on the same session. Such a transaction now commits with synchronous_commit off (its locks
-- go as soon as the commit record is written). In the same round trip, before the wake-ups,
-- logeerd runs logeer_commit_flush() in a transaction of its own, which writes a WAL record and
-- commits with synchronous_commit on: its flush covers the first commit's record, which lies
-- before it in the WAL. logeerd answers the request only after that (src/db/pool.c), so no
-- answer ever reports a commit that a crash could take back; with synchronous standbys the
-- flush waits for them as any commit does. The wake-ups keep their own transaction with
-- synchronous_commit off: a transaction with NOTIFY holds PostgreSQL's cluster-wide NOTIFY
-- lock until its commit is flushed, so a flush there would make every session's flush wait
-- for the one before it (measured: sessions queued on that lock behind one in WALSync).
--
-- Why this is safe for the transactions that take the freed bed: their commit records come
-- after this one's in the WAL, so whatever flushes theirs flushes this one first. What can see
-- such a commit before it is on disk is a plain read in that fraction of a millisecond, as with
-- any asynchronous commit; everything that tells the outside world is made to wait instead:
--   * the outbox readers (live events, src/events/outbox.c) call logeer_durable_read(), which
--     flushes the WAL first when part of it is not on disk yet;
--   * a replayed Idempotency-Key answer (logeer_idempotency_claim, and the one-statement
--     creations of src/api/resource.h) does the same before it is returned;
--   * notifications and webhooks are written as rows by a transaction of their own before any
--     is sent, and that transaction's commit is after the event's in the WAL.
-- A session that sets logeer.wakeup_after_commit but never calls the flush (a test's psql)
-- commits asynchronously: PostgreSQL's WAL writer flushes it within three wal_writer_delay.

-- 0044's logeer_wakeup; the transaction that collects its first wake-up commits asynchronously.
CREATE OR REPLACE FUNCTION logeer_wakeup(channel text, payload text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    pending text;
BEGIN
    IF coalesce(current_setting('logeer.wakeup_after_commit', true), '') <> 'on' THEN
        PERFORM pg_notify(channel, payload);
        RETURN;
    END IF;
    pending := coalesce(current_setting('logeer.wakeups', true), '');
    -- Once per transaction (a transaction-local marker), even if an earlier flush failed and
    -- left lines behind: they go with this one's.
    IF coalesce(current_setting('logeer.wakeup_noticed', true), '') <> 'on' THEN
        PERFORM set_config('logeer.wakeup_noticed', 'on', true);
        -- The client flushes right after the commit and answers after that (see above).
        PERFORM set_config('synchronous_commit', 'off', true);
        RAISE NOTICE 'logeer:wakeup';
    END IF;
    PERFORM set_config('logeer.wakeups', pending || channel || E'\t' || payload || E'\n', false);
END
$$;
COMMENT ON FUNCTION logeer_wakeup(text, text) IS
    'NOTIFY channel with payload: in this transaction, or, in a session with '
    'logeer.wakeup_after_commit = on, collected for logeer_wakeup_flush() after commit; such a '
    'transaction commits with synchronous_commit off and the flush makes it durable.';

CREATE FUNCTION logeer_commit_flush() RETURNS integer
LANGUAGE sql VOLATILE AS $$
    -- A transactional WAL record gives this transaction an id and a record of its own, so its
    -- commit waits for the WAL flush (a transaction with neither does not). Any role may call
    -- pg_logical_emit_message; the record is a few bytes and is ignored unless something
    -- decodes the WAL logically.
    SELECT 0 FROM pg_logical_emit_message(true, 'logeer', 'flush')
$$;
COMMENT ON FUNCTION logeer_commit_flush() IS
    'Makes this transaction''s commit wait for the WAL flush, and so for every commit before '
    'it: logeerd''s sessions run it, in a transaction of its own, before answering a request '
    'whose transaction committed asynchronously. Returns 0.';

CREATE FUNCTION logeer_durable_read() RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- A standby replays only WAL that is on the primary's disk; a primary whose WAL is all on
    -- disk has nothing to wait for. Otherwise this read's commit flushes it: a commit this
    -- statement can see was written to the WAL before the statement began, so before the
    -- position read here. Every caller calls it once per statement (an initplan, one row).
    IF pg_is_in_recovery() OR pg_current_wal_flush_lsn() >= pg_current_wal_insert_lsn() THEN
        RETURN true;
    END IF;
    PERFORM logeer_commit_flush();
    RETURN true;
END
$$;
COMMENT ON FUNCTION logeer_durable_read() IS
    'True. Called by a statement that tells the outside world what it read (live events, a '
    'replayed answer): its commit, which the client waits for, then flushes the WAL if any of '
    'it was not on disk, so nothing it read can be undone by a crash.';

-- 0010's claim; a replayed answer is returned only once the original's commit is on disk.
CREATE OR REPLACE FUNCTION logeer_idempotency_claim(p_principal uuid, p_key text, p_hash_hex text)
RETURNS logeer_result
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_idem record;
BEGIN
    IF p_key IS NULL THEN
        RETURN NULL;
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtextextended(p_principal::text || ':' || p_key, 0)) THEN
        RETURN ROW('key_running', 0, NULL, NULL)::logeer_result;
    END IF;
    SELECT k.state, k.request_hash, k.status_code, k.response_body INTO v_idem
      FROM idempotency_keys k
     WHERE k.principal_id = p_principal AND k.key = p_key;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF v_idem.request_hash <> decode(p_hash_hex, 'hex') THEN
        RETURN ROW('key_mismatch', 0, NULL, NULL)::logeer_result;
    ELSIF v_idem.state <> 'done' THEN
        -- A placeholder written by another code path: its request is still running.
        RETURN ROW('key_running', 0, NULL, NULL)::logeer_result;
    END IF;
    -- The original may have committed a moment ago and still be on its way to the disk.
    PERFORM logeer_durable_read();
    RETURN ROW('replayed', v_idem.status_code, v_idem.response_body, NULL)::logeer_result;
END
$$;
