-- 0044: logeerd's own sessions send their notifications after commit, not in it (issue 17,
-- contention). Runs inside the migrator's transaction: no BEGIN/COMMIT.
--
-- PostgreSQL serialises the commits of every transaction that has NOTIFY pending: it takes one
-- cluster-wide lock before the commit record and keeps it until that record is flushed. Every
-- booking notified (each night it changed, and the outbox), so bookings committed one at a
-- time, each waiting for its own WAL flush, and group commit could not help them.
--
-- A session that sets logeer.wakeup_after_commit = on (logeerd's read-write pool does, at
-- connect) now collects what it would have notified in a session setting instead, and raises
-- the notice 'logeer:wakeup' once per transaction so that the client knows. Session settings
-- follow the transaction: on rollback the collected lines go too. After the commit the client
-- calls logeer_wakeup_flush(), a transaction of its own with synchronous_commit off, which
-- sends them: it holds the NOTIFY lock for microseconds instead of a WAL flush, and the booking
-- itself commits under group commit like any other write.
--
-- What the receivers give up is commit order: two sessions' wake-ups for one night may arrive
-- the other way round. They therefore no longer trust the value in the payload; a night's
-- payload says "this night changed, read it again" (src/events/sync.c), and a read issued after
-- a wake-up arrived sees that commit. A wake-up lost between commit and flush (logeerd killed in
-- between, its connection cut) is repaired by the receivers' periodic re-read of every night.
--
-- Every other session (psql, scripts, the migrator) keeps NOTIFY inside its transaction as
-- before: nothing is collected for a session that never flushes.

CREATE FUNCTION logeer_wakeup(channel text, payload text) RETURNS void
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
        RAISE NOTICE 'logeer:wakeup';
    END IF;
    PERFORM set_config('logeer.wakeups', pending || channel || E'\t' || payload || E'\n', false);
END
$$;
COMMENT ON FUNCTION logeer_wakeup(text, text) IS
    'NOTIFY channel with payload: in this transaction, or, in a session with '
    'logeer.wakeup_after_commit = on, collected for logeer_wakeup_flush() after commit.';

CREATE FUNCTION logeer_wakeup_flush() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    pending text := coalesce(current_setting('logeer.wakeups', true), '');
    line text;
    sent integer := 0;
BEGIN
    IF pending = '' THEN
        RETURN 0;
    END IF;
    -- A notification is not durable (a crash loses it whatever the setting), so this commit
    -- need not wait for its WAL flush; the booking it reports has already been flushed.
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM set_config('logeer.wakeups', '', false);
    FOR line IN SELECT DISTINCT l FROM unnest(string_to_array(pending, E'\n')) AS l WHERE l <> ''
    LOOP
        PERFORM pg_notify(split_part(line, E'\t', 1), split_part(line, E'\t', 2));
        sent := sent + 1;
    END LOOP;
    RETURN sent;
END
$$;
COMMENT ON FUNCTION logeer_wakeup_flush() IS
    'Sends the notifications this session collected (logeer_wakeup) in committed transactions; '
    'how many. Its own transaction, synchronous_commit off.';

-- The value, read at commit as before, is shown by receivers at once; they then read the night
-- again, and that read has the last word (see above). A process of the previous version still
-- running between `logeerd migrate` and its restart trusts the value alone. Still deferred to
-- commit, so a night changed several times in one transaction is sent once.
CREATE OR REPLACE FUNCTION logeer_notify_night() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_free integer;
BEGIN
    SELECT greatest(capacity - held - booked, 0) INTO v_free
      FROM pool_nights WHERE pool_id = NEW.pool_id AND night = NEW.night;
    IF FOUND THEN
        PERFORM logeer_wakeup('logeer_inventory',
                              'n:' || NEW.pool_id || ':' || logeer_ymd(NEW.night) || ':' || v_free);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION logeer_notify_night() IS
    'Deferred trigger: wake-up on logeer_inventory ''n:<pool>:<YYYY-MM-DD>:<free>''; receivers '
    'read the night again rather than trust the value.';

CREATE OR REPLACE FUNCTION logeer_notify_described() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM logeer_wakeup('logeer_inventory', TG_ARGV[0] || ':' || NEW.id);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION logeer_notify_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted) THEN
        PERFORM logeer_wakeup('logeer_events', '');
    END IF;
    RETURN NULL;
END
$$;
