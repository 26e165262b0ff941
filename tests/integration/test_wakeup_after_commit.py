"""Change notifications after commit (migration 0044). logeerd's own sessions collect what they
would NOTIFY and send it after the commit, so that bookings do not commit one at a time behind
PostgreSQL's NOTIFY lock; every other session keeps NOTIFY inside its transaction. Shown here:
which transactions notify and when (a listening psql), that a rolled-back transaction sends
nothing, that receivers read a notified night again instead of trusting a value in the
payload, that a notification lost between commit and sending is repaired by the periodic
re-read, and that logeerd's bookings go through the flush (its counters). Since migration
0048 the transaction that collects wake-ups commits without waiting for the disk (its row
locks go at once) and the flush's transaction waits for it; logeerd answers only after the
flush."""

import contextlib
import datetime as dt
import os
import re
import subprocess
import threading
import time

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
RECONCILE_S = 2
LISTENER_APP = "wakeup-listener"


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.today = h.today_local(self.url)
        self.server = h.Server(self.url, keep=True,
                               env={"LOGEER_INDEX_RECONCILE_S": str(RECONCILE_S)})
        planner = self.server.login(ESDORP)
        self.pool = h.make_pool(self.server, self.url, planner, h.DEMO_PROVIDER_IDS[ESDORP], 3,
                                self.day(20), self.day(40), name="Wake-up after commit")
        email = h.add_caregivers(self.url, 1, prefix="wk")[0]
        self.token = self.server.login(email, password=h.TEST_PASSWORD)

    def day(self, offset):
        return self.today + dt.timedelta(days=offset)


def world():
    return h.once("world", World)


def set_capacity(night, beds, wakeup_after_commit=False, flush=False, pool_id=None):
    """One UPDATE of a night's capacity in a psql session of its own; in logeerd's mode the
    session may leave without sending what it collected (as a killed process would)."""
    w = world()
    lines = []
    if wakeup_after_commit:
        lines.append("SET logeer.wakeup_after_commit = on;")
    lines.append(f"UPDATE pool_nights SET capacity = {int(beds)} "
                 f"WHERE pool_id = '{pool_id or w.pool.id}' AND night = '{night}';")
    if flush:
        lines.append("SELECT logeer_wakeup_flush();")
    return run_script(lines)


def run_script(lines):
    proc = subprocess.run([h.PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                           "-d", world().url], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=60 * h.SCALE)
    if proc.returncode != 0:
        raise h.SqlError("?????", proc.stderr.strip())
    return proc


def payload(night):
    return f"n:{world().pool.id}:{night}"


def test_only_committed_transactions_notify_and_ours_only_when_flushed():
    w = world()
    nights = [w.day(21 + i) for i in range(5)]
    env = dict(os.environ, PGAPPNAME=LISTENER_APP)
    listener = subprocess.Popen(
        [h.PSQL, "-X", "-d", w.url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env=env)
    listener.stdin.write("LISTEN logeer_inventory;\nSELECT pg_sleep(600);\nSELECT 'done';\n")
    listener.stdin.flush()
    listening = h.wait_until(lambda: h.scalar(
        w.url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
        f"'{LISTENER_APP}' AND wait_event = 'PgSleep'") == "1", 20 * h.SCALE)
    if not h.check("the listening psql is waiting", listening):
        listener.kill()
        return
    # 1: logeerd's mode, committed, never flushed (a process killed after its commit).
    lost = set_capacity(nights[0], 2, wakeup_after_commit=True)
    h.check("a session in logeerd's mode is told once that it collected notifications",
            lost.stderr.count("logeer:wakeup") == 1, lost.stderr)
    # 2: any other session notifies inside its transaction, as before.
    set_capacity(nights[1], 2)
    # 3 and 4: logeerd's mode; one committed, one rolled back; then the flush.
    flushed = run_script([
        "SET logeer.wakeup_after_commit = on;",
        f"UPDATE pool_nights SET capacity = 2 WHERE pool_id = '{w.pool.id}' "
        f"AND night = '{nights[2]}';",
        "BEGIN;",
        f"UPDATE pool_nights SET capacity = 2 WHERE pool_id = '{w.pool.id}' "
        f"AND night = '{nights[3]}';",
        "ROLLBACK;",
        "SELECT logeer_wakeup_flush();",
        "SELECT logeer_wakeup_flush();",
    ])
    h.check_equal("the flush sends the committed transaction's one notification, then nothing",
                  flushed.stdout.split(), ["1", "0"])
    # 5: a transaction that changed nothing a search can see sends nothing either.
    unchanged = set_capacity(nights[4], 3, wakeup_after_commit=True, flush=True)
    h.check_equal("an update that leaves the free beds alone collects nothing to send",
                  unchanged.stdout.split(), ["0"])
    h.scalar(w.url, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                    f"WHERE application_name = '{LISTENER_APP}'")
    out, _ = listener.communicate(timeout=30 * h.SCALE)
    # 'n:<pool>:<date>:<free>': the value is for processes of the previous version only.
    got = {p.rsplit(":", 1)[0] for p in re.findall(r'payload "(n:[^"]*)"', out)}
    mine = {p for p in got if p.startswith(f"n:{w.pool.id}:")}
    h.check_equal("notified: the other session's commit and the flushed commit, nothing else",
                  sorted(mine), sorted([payload(nights[1]), payload(nights[2])]))
    h.check("the commit whose session never flushed notified nothing", payload(nights[0])
            not in got, sorted(got))
    h.check("the rolled-back transaction notified nothing", payload(nights[3]) not in got,
            sorted(got))


def free_in_search(night):
    w = world()
    return h.availability_free(w.server, w.token, w.pool.id, night, 1)


def test_a_notified_value_is_not_trusted_the_night_is_read_again():
    w = world()
    night = w.day(30)
    set_capacity(night, 2)
    h.check("the search shows the new capacity", h.wait_until(
        lambda: free_in_search(night) == 2, 10 * h.SCALE), free_in_search(night))
    # What PostgreSQL would deliver if an older commit's notification came last.
    h.psql(w.url, f"SELECT pg_notify('logeer_inventory', '{payload(night)}:3')")
    # And the shape without a value is understood the same way.
    h.psql(w.url, f"SELECT pg_notify('logeer_inventory', '{payload(night)}')")
    time.sleep(1.0 * h.SCALE)
    h.check_equal("after notifications carrying an old value the search still shows the "
                  "committed one", free_in_search(night), 2)


def differing_reads(since):
    """The periodic re-read's lines about pools whose checksums differed, after offset since."""
    return re.findall(r"reads the nights of (\d+) pool\(s\) whose checksum differed",
                      world().server.stderr_text()[since:])


def test_a_lost_notification_is_repaired_by_the_periodic_re_read():
    """The periodic re-read compares every pool's checksum of its nights, summed by PostgreSQL,
    with the index's (the same terms in SQL and in C) and reads the nights of those that differ:
    of the demo data's pools only the one whose change was never sent, in every period."""
    w = world()
    night = w.day(31)
    h.check("the search shows 3 free beds at first", h.wait_until(
        lambda: free_in_search(night) == 3, 10 * h.SCALE), free_in_search(night))
    mark = len(w.server.stderr_text())
    counted = h.metric(w.server, "logeer_index_pools_out_of_step_total")
    started = time.monotonic()
    set_capacity(night, 1, wakeup_after_commit=True)  # committed, never sent
    repaired = h.wait_until(lambda: free_in_search(night) == 1, (RECONCILE_S + 8) * h.SCALE)
    took = time.monotonic() - started
    h.info(f"lost notification repaired after {took:.1f} s "
           f"(LOGEER_INDEX_RECONCILE_S={RECONCILE_S})")
    h.check("the search shows the committed capacity after the next full re-read", repaired,
            free_in_search(night))
    pools = h.scalar(w.url, "SELECT count(*) FROM pools")
    h.check_equal(f"the re-read found that one pool of {pools} out of step, and only it",
                  differing_reads(mark), ["1"])
    h.check_equal("/metrics counts it", h.metric(w.server, "logeer_index_pools_out_of_step_total"),
                  counted + 1)
    later = len(w.server.stderr_text())
    time.sleep((2 * RECONCILE_S + 1) * h.SCALE)
    h.check_equal("the periods after it find every pool's checksum equal", differing_reads(later),
                  [])


def test_the_periodic_re_read_goes_through_every_slice_of_pools():
    """The periodic re-read reads the nights a slice of pools at a time, in id order. With one
    pool a slice it must go on from slice to slice to the last pool: lost notifications of the
    pools with the lowest and the highest id of three are repaired as well as the middle's."""
    w = world()
    planner = w.server.login(ESDORP)
    pools = sorted([w.pool.id] + [
        h.make_pool(w.server, w.url, planner, h.DEMO_PROVIDER_IDS[ESDORP], 3, w.day(20),
                    w.day(40), name=f"Re-read slice {i}").id for i in range(2)])
    total = int(h.scalar(w.url, "SELECT count(*) FROM pools"))
    server = h.Server(w.url, env={"LOGEER_INDEX_RECONCILE_S": "1",
                                  "LOGEER_TEST_RECONCILE_SLICE": "1"})
    email = h.add_caregivers(w.url, 1, prefix="wks")[0]
    token = server.login(email, password=h.TEST_PASSWORD)
    night = w.day(33)

    def free(pool_id):
        return h.availability_free(server, token, pool_id, night, 1)

    h.check("all three show 3 free beds at first", h.wait_until(
        lambda: [free(p) for p in pools] == [3, 3, 3], 10 * h.SCALE), [free(p) for p in pools])
    for beds, pool_id in zip((1, 2, 0), pools):
        set_capacity(night, beds, wakeup_after_commit=True, pool_id=pool_id)  # never sent
    repaired = h.wait_until(lambda: [free(p) for p in pools] == [1, 2, 0], 20 * h.SCALE)
    h.check(f"each pool's lost change is repaired, the lowest and highest id of {total} pools "
            "read one a statement included", repaired, [free(p) for p in pools])
    server.stop()


def metric(name):
    """The process's total over its pools (the requests' and the background jobs')."""
    body = world().server.request("GET", "/metrics").body.decode()
    found = re.findall(rf"^{name}\{{pool=\"[a-z]+\"\}} (\d+)$", body, re.M)
    return sum(int(v) for v in found) if found else None


def test_bookings_notify_through_the_flush():
    w = world()
    night = w.day(35)
    before = metric("logeer_db_wakeups_total")
    h.check("the pool counts the notifications it sent after commit", before is not None)
    resp = w.server.request("POST", "/v1/stays",
                            h.stay_body(w.pool.id, night, night + dt.timedelta(days=1)),
                            token=w.token)
    if not h.check_equal("a booking is 201", resp.status, 201):
        return
    h.check("the booking's notifications were sent after its commit",
            h.wait_until(lambda: metric("logeer_db_wakeups_total") > before, 10 * h.SCALE),
            (before, metric("logeer_db_wakeups_total")))
    h.check("the search shows the booked bed", h.wait_until(
        lambda: free_in_search(night) == 2, 10 * h.SCALE), free_in_search(night))
    h.check_equal("no notification was lost", metric("logeer_db_wakeups_lost_total"), 0)


def test_the_collecting_commit_does_not_wait_for_the_disk_and_the_flush_does():
    # Each setting read inside its transaction. The flush has a transaction id and a WAL
    # record of its own, so its commit waits for the WAL flush; the wake-ups' transaction
    # (NOTIFY) does not wait, since it holds PostgreSQL's NOTIFY lock until its commit is done.
    out = run_script([
        "SET logeer.wakeup_after_commit = on;",
        "BEGIN;",
        "SELECT logeer_wakeup('logeer_test', 'x');",
        "SELECT 'collecting ' || current_setting('synchronous_commit');",
        "COMMIT;",
        "BEGIN;",
        "SELECT 'flushed ' || logeer_commit_flush();",
        "SELECT 'flush ' || current_setting('synchronous_commit') || ' '"
        " || (pg_current_xact_id_if_assigned() IS NOT NULL);",
        "COMMIT;",
        "BEGIN;",
        "SELECT 'sent ' || logeer_wakeup_flush();",
        "SELECT 'wake-ups ' || current_setting('synchronous_commit');",
        "COMMIT;",
        "BEGIN;",
        "SELECT 'nothing collected ' || current_setting('synchronous_commit');",
        "ROLLBACK;",
        "RESET logeer.wakeup_after_commit;",
        "BEGIN;",
        "SELECT logeer_wakeup('logeer_test', 'x');",
        "SELECT 'plain ' || current_setting('synchronous_commit');",
        "COMMIT;",
    ]).stdout.split("\n")
    h.check_equal("the transaction that collected wake-ups commits asynchronously, the flush "
                  "waits for the disk with an id of its own, other sessions are as before",
                  [line for line in out if line],
                  ["collecting off", "flushed 0", "flush on true", "sent 1", "wake-ups off",
                   "nothing collected on", "plain on"])


@contextlib.contextmanager
def stand_in(name, definition):
    """Inside the block, name() is replaced in this database by a function with the given
    definition (after RETURNS integer), which may call the original as name_real()."""
    url = world().url
    h.psql(url, f"ALTER FUNCTION {name}() RENAME TO {name}_real; "
                f"CREATE FUNCTION {name}() RETURNS integer {definition};")
    try:
        yield
    finally:
        h.psql(url, f"DROP FUNCTION {name}(); ALTER FUNCTION {name}_real() RENAME TO {name};")


def test_a_booking_gives_its_night_up_before_the_flush_and_is_answered_after_it():
    """The flush is slowed down in this database: the booking's answer must wait for it, while
    the night the booking took is free for others to lock the whole time."""
    w = world()
    night = w.day(37)
    slow_s = 1.5 * h.SCALE
    with stand_in("logeer_commit_flush", "LANGUAGE sql AS "
                  f"'SELECT pg_sleep({slow_s}); SELECT logeer_commit_flush_real()'"):
        answered = {}

        def book():
            started = time.monotonic()
            answered["resp"] = w.server.request(
                "POST", "/v1/stays", h.stay_body(w.pool.id, night, night + dt.timedelta(days=1)),
                token=w.token, timeout=30 * h.SCALE)
            answered["after"] = time.monotonic() - started

        booking = threading.Thread(target=book)
        booking.start()
        taken = h.wait_until(lambda: h.scalar(w.url, f"""
            SELECT held + booked FROM pool_nights
             WHERE pool_id = '{w.pool.id}' AND night = '{night}'""") == "1", 10 * h.SCALE)
        h.check("the booking committed while its flush was still running", taken)
        locked = h.scalar(w.url, f"""
            SELECT count(*) FROM (SELECT 1 FROM pool_nights
             WHERE pool_id = '{w.pool.id}' AND night = '{night}' FOR UPDATE NOWAIT) AS n""")
        h.check_equal("meanwhile another session locks that night at once", locked, "1")
        h.check("meanwhile the booking is not answered", "resp" not in answered)
        booking.join(30 * h.SCALE)
        resp = answered.get("resp")
        h.check_equal("the booking is 201", resp.status if resp else None, 201)
        h.check(f"and answered only after the flush ({slow_s:.1f} s)",
                answered.get("after", 0) >= slow_s, answered.get("after"))


def test_a_failed_flush_is_made_good_by_a_flush_of_its_own_before_the_answer():
    """The flush fails the first time (the round trip stops there, so nothing was flushed and
    no wake-up sent): the pool flushes the commit with logeer_commit_flush() on its own, then
    answers."""
    w = world()
    night = w.day(38)
    h.psql(w.url, "CREATE SEQUENCE commit_flush_calls")
    try:
        with stand_in("logeer_commit_flush", """LANGUAGE plpgsql AS $$
                BEGIN
                    IF nextval('commit_flush_calls') = 1 THEN
                        RAISE EXCEPTION 'the first flush fails in this test';
                    END IF;
                    RETURN logeer_commit_flush_real();
                END $$"""):
            lost = metric("logeer_db_wakeups_lost_total")
            resp = w.server.request("POST", "/v1/stays",
                                    h.stay_body(w.pool.id, night, night + dt.timedelta(days=1)),
                                    token=w.token)
            h.check_equal("the booking is 201", resp.status, 201)
            h.check_equal("its commit was flushed by a second call, the statement of its own",
                          h.scalar(w.url, "SELECT last_value FROM commit_flush_calls"), "2")
            h.check_equal("the wake-ups that did not go are counted as lost", metric(
                "logeer_db_wakeups_lost_total"), lost + 1)
            h.check_equal("no session is left inside the failed round trip's transaction block",
                          h.scalar(w.url, "SELECT count(*) FROM pg_stat_activity WHERE datname "
                                          "= current_database() AND state LIKE "
                                          "'idle in transaction%'"), "0")
    finally:
        h.psql(w.url, "DROP SEQUENCE commit_flush_calls")


def test_a_cancel_writes_its_history_and_outbox_before_it_waits_for_the_night():
    """Migration 0049: a transition writes its history and outbox rows (and renders its
    answer) before it locks the nights, so the night is held only for the counters. Shown by a
    cancel that waits for a night another session holds: while it waits, it already holds the
    row locks PostgreSQL takes on the tables it has written (events, stay_events)."""
    w = world()
    night = w.day(34)
    email = h.add_caregivers(w.url, 1, prefix="wc")[0]  # the world's caregiver has 3 open
    token = w.server.login(email, password=h.TEST_PASSWORD)
    resp = w.server.request("POST", "/v1/stays",
                            h.stay_body(w.pool.id, night, night + dt.timedelta(days=1)),
                            token=token)
    if not h.check_equal("a hold to cancel", resp.status, 201):
        return
    stay_id = resp.json["id"]
    holder = subprocess.Popen(
        [h.PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", w.url],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    holder.stdin.write("BEGIN;\n"
                       f"SELECT 1 FROM pool_nights WHERE pool_id = '{w.pool.id}' "
                       f"AND night = '{night}' FOR UPDATE;\n"
                       f"SELECT pg_sleep({3 * h.SCALE});\nCOMMIT;\n")
    holder.stdin.close()
    answered = {}
    try:
        h.check("another session holds the night", h.wait_until(lambda: h.scalar(w.url, """
            SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
               AND state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()
            """) == "1", 10 * h.SCALE))
        cancel = threading.Thread(target=lambda: answered.update(resp=w.server.request(
            "POST", f"/v1/stays/{stay_id}/cancel", {"reason": "Toch zelf opgevangen"},
            token=token, timeout=30 * h.SCALE)))
        cancel.start()
        waiting = h.wait_until(lambda: h.scalar(w.url, """
            SELECT pid FROM pg_stat_activity WHERE datname = current_database()
               AND wait_event_type = 'Lock' AND query LIKE '%logeer_stay_transition%'"""),
            10 * h.SCALE)
        h.check("the cancel waits for the night", waiting)
        written = h.scalar(w.url, f"""
            SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_locks l
              JOIN pg_class c ON c.oid = l.relation
             WHERE l.pid = {int(waiting or 0)} AND l.granted AND l.mode = 'RowExclusiveLock'
               AND c.relname IN ('events', 'stay_events')""")
        h.check_equal("while waiting it has already written its history and outbox rows",
                      written, "events,stay_events")
        cancel.join(30 * h.SCALE)
    finally:
        holder.wait(30 * h.SCALE)
    resp = answered.get("resp")
    h.check_equal("the cancel is 200 once the night is free", resp.status if resp else None, 200)
    h.check_equal("its night has the bed back", h.scalar(w.url, f"""
        SELECT held + booked FROM pool_nights
         WHERE pool_id = '{w.pool.id}' AND night = '{night}'"""), "0")


h.main(globals())
