"""The database queue's two lanes: a request's second statement goes ahead of statements that
start new work (db_query_next), so that a request of two statements waits in the queue about
once, not twice. Shown with one database connection whose only session is held up by a night
locked from psql: a cancel (read the stay, then its transition) queued before five new
bookings commits before four of them; in one FIFO it would commit after all five."""

import datetime as dt
import re
import subprocess
import threading
import time
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
BOOKINGS = 5


def queued(server):
    """logeer_db_pool_queued from /metrics: queries waiting for the one connection."""
    m = re.search(r'^logeer_db_pool_queued\{pool="api"\} (\d+)', server.get("/metrics").text,
                  re.M)
    return int(m.group(1)) if m else -1


def in_background(fn):
    """Runs fn in a thread; returns a function that waits for it and gives its result."""
    box = {}

    def run():
        try:
            box["result"] = fn()
        except Exception as e:  # reported by the caller as a failed request
            box["result"] = e

    t = threading.Thread(target=run)
    t.start()

    def join():
        t.join(60 * h.SCALE)
        return box.get("result")
    return join


def test_a_requests_second_statement_goes_before_new_work():
    url = h.migrated_database(seed=True)
    today = h.today_local(url)
    server = h.Server(url, env={"LOGEER_DB_POOL_SIZE": "1"})
    planner = server.login(ESDORP)
    provider = h.DEMO_PROVIDER_IDS[ESDORP]
    night = today + dt.timedelta(days=20)
    after = night + dt.timedelta(days=1)
    locked = h.make_pool(server, url, planner, provider, 2, night, after, name="Lanes locked")
    open_pool = h.make_pool(server, url, planner, provider, 20, night, after, name="Lanes open")
    emails = h.add_caregivers(url, BOOKINGS + 2, prefix="lane")
    tokens = h.login_many(server, emails)
    # Every session is known to the process before the test, so each request below is one
    # statement (a booking) or two (the cancel's read, then its transition), none a session
    # lookup first.
    for token in tokens:
        h.check_equal("the caregiver's session answers",
                      server.request("GET", "/v1/stays", token=token).status, 200)
    held = server.request("POST", "/v1/stays", h.stay_body(open_pool.id, night, after),
                          token=tokens[0])
    if not h.check("the stay to cancel is held (201)", held.status == 201, repr(held)):
        return
    stay_id = held.json["id"]

    tag = f"lanes-{uuid.uuid4().hex[:8]}"
    locker = subprocess.Popen(
        [h.PSQL, "-X", "-q", "-d", url, "-c",
         f"BEGIN; SELECT 1 FROM pool_nights WHERE pool_id = '{locked.id}' AND night = '{night}' "
         f"FOR UPDATE; SELECT pg_sleep(60) /* {tag} */; COMMIT;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        h.wait_until(lambda: h.scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE "
                                           f"query LIKE '%/* {tag} */%' AND state = 'active' "
                                           "AND pid <> pg_backend_pid()") == "1",
                     10 * h.SCALE)
        # The one connection waits for the locked night.
        blocked = in_background(lambda: server.request(
            "POST", "/v1/stays", h.stay_body(locked.id, night, after), token=tokens[1],
            timeout=60 * h.SCALE))
        h.wait_until(lambda: h.scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE "
                                           "wait_event_type = 'Lock' AND query LIKE "
                                           "'%logeer_request_stay%'") == "1", 10 * h.SCALE)
        cancel = in_background(lambda: server.request(
            "POST", f"/v1/stays/{stay_id}/cancel", {"reason": "lanes"}, token=tokens[0],
            timeout=60 * h.SCALE))
        h.wait_until(lambda: queued(server) >= 1, 10 * h.SCALE)
        # The queue may also hold a background job's statement: give the cancel time to
        # arrive before any booking is sent.
        time.sleep(0.5 * h.SCALE)
        bookings = []
        for i in range(BOOKINGS):
            token = tokens[2 + i]
            bookings.append(in_background(lambda token=token: server.request(
                "POST", "/v1/stays", h.stay_body(open_pool.id, night, after), token=token,
                timeout=60 * h.SCALE)))
        h.wait_until(lambda: queued(server) >= 1 + BOOKINGS, 10 * h.SCALE)
        h.info(f"queued behind the locked night: {queued(server)} statements")
    finally:
        h.psql(url, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                    f"WHERE query LIKE '%/* {tag} */%' AND pid <> pg_backend_pid()")
        locker.wait(timeout=60 * h.SCALE)

    first = blocked()
    h.check("the booking that waited for the lock is held (201)",
            getattr(first, "status", None) == 201, repr(first))
    cancelled = cancel()
    h.check("the cancel answers 200", getattr(cancelled, "status", None) == 200, repr(cancelled))
    booked = [b() for b in bookings]
    h.check("the five bookings are held (201)",
            all(getattr(b, "status", None) == 201 for b in booked), repr(booked))
    ids = [b.json["id"] for b in booked if getattr(b, "status", None) == 201]
    if not ids or getattr(cancelled, "status", None) != 200:
        return
    cancel_event = int(h.scalar(url, f"SELECT max(id) FROM events WHERE stay_id = '{stay_id}'"))
    id_list = ", ".join(f"'{i}'" for i in ids)
    created = [int(row[0]) for row in h.psql(url, f"SELECT min(id) FROM events WHERE stay_id "
                                                  f"IN ({id_list}) GROUP BY stay_id ORDER BY 1")]
    h.info(f"event ids: the cancel {cancel_event}, the bookings {created}")
    # When the cancel's read is answered, the connection takes the oldest waiting statement
    # (the first booking) before the read's callback queues the transition: so one booking
    # may go first, and the transition comes next, ahead of the other four.
    h.check("the cancel, queued before the five bookings, committed before four of them",
            cancel_event < created[1], f"cancel {cancel_event}, bookings {created}")
    h.check_counters_match_stays("after the lanes", url, open_pool.id)


if __name__ == "__main__":
    h.main(globals())
