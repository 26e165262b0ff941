"""The search log counts searches instead of writing a row each (issue 17): identical searches
in one minute become one row of search_counts with their number, and the unmet-demand report
and the table agree with the searches made, one for one: N identical searches count N, a
caregiver's search counts for their own municipality, anyone else's for the asked one, and
nothing about the asker but the role and that municipality is kept."""

import datetime as dt
import signal
import subprocess
import time
import urllib.parse
import uuid

import harness as h

IDENTICAL = 7


def total(url, where="true"):
    return int(h.scalar(url, f"SELECT coalesce(sum(searches), 0) FROM search_counts WHERE {where}"))


def test_identical_searches_count_one_each_in_the_table_and_the_report():
    url = h.migrated_database()
    srv = h.Server(url)
    h.add_user(url, "aanjager@sc.test", "coordinator")
    h.add_user(url, "mz@sc.test", "caregiver", municipality="GM0114")
    coord = srv.login("aanjager@sc.test", h.TEST_PASSWORD)
    caregiver = srv.login("mz@sc.test", h.TEST_PASSWORD)
    today = h.today_local(url)
    check_in = today + dt.timedelta(days=20)

    # No pools: every search finds nothing, which is the unmet demand the report counts.
    same = f"/v1/availability?check_in={check_in}&nights=3&care_profile=dementia"
    for _ in range(IDENTICAL):
        h.check_equal("a caregiver's search is answered", srv.get(same, token=caregiver).status, 200)
    other = (f"/v1/availability?check_in={check_in}&nights=2&municipality=GM0106"
             "&care_profile=youth&funding=wmo")
    h.check_equal("a visitor's search is answered", srv.get(other).status, 200)
    h.check_equal("a search with bad arguments is refused and not counted", srv.get(
        f"/v1/availability?check_in={check_in}&nights=0").status, 422)

    expected = IDENTICAL + 1
    h.check("the counts reach the database within seconds",
            h.wait_until(lambda: total(url) == expected, 10 * h.SCALE), total(url))
    h.check_equal(f"the {IDENTICAL} identical searches count {IDENTICAL}",
                  total(url, "role = 'caregiver' AND nights = 3"), IDENTICAL)
    rows = int(h.scalar(url, "SELECT count(*) FROM search_counts WHERE role = 'caregiver'"))
    h.check(f"and are kept as one row, or two when a flush or a minute fell between them "
            f"({rows})", 1 <= rows <= 2, rows)
    h.check_equal("the caregiver's rows count for their own municipality and keep what was "
                  "asked, not who asked",
                  h.psql(url, "SELECT DISTINCT municipality, care_profile, funding, kind, found "
                              "FROM search_counts WHERE role = 'caregiver'"),
                  [["GM0114", "dementia", "", "", "f"]])
    h.check_equal("the visitor's row has no role and counts for the asked municipality",
                  h.psql(url, "SELECT role, municipality, care_profile, funding, nights "
                              "FROM search_counts WHERE role IS NULL"),
                  [["", "GM0106", "youth", "wmo", "2"]])
    h.check_equal("every row's minute is a whole minute of today",
                  h.scalar(url, "SELECT count(*) FROM search_counts WHERE minute <> "
                                "date_trunc('minute', minute) OR (minute AT TIME ZONE "
                                f"'Europe/Amsterdam')::date <> '{today}'"), "0")

    params = urllib.parse.urlencode({"from": str(today), "to": str(today + dt.timedelta(days=1))})
    rep = srv.get(f"/v1/reports/demand?{params}", token=coord)
    if not h.check("the demand report answers", rep.status == 200, repr(rep)):
        srv.stop()
        return
    rows = {r["group"]["id"]: r for r in rep.json["rows"]}
    h.check_equal("the report's region total counts every search, none found anything",
                  (rep.json["total"]["searches"], rep.json["total"]["searches_without_result"]),
                  (expected, expected))
    h.check_equal("the caregiver's searches count in their own municipality (Emmen)",
                  (rows["GM0114"]["searches"], rows["GM0114"]["searches_without_result"]),
                  (IDENTICAL, IDENTICAL))
    h.check_equal("the visitor's search counts in the asked one (Assen)",
                  rows["GM0106"]["searches"], 1)

    params = urllib.parse.urlencode({"from": str(today), "to": str(today + dt.timedelta(days=1)),
                                     "group_by": "care_profile"})
    rows = {r["group"]["id"]: r for r in srv.get(f"/v1/reports/demand?{params}",
                                                 token=coord).json["rows"]}
    h.check_equal("by care profile: dementia and youth",
                  (rows["dementia"]["searches"], rows["youth"]["searches"]), (IDENTICAL, 1))
    srv.stop()


def test_many_different_searches_are_all_written_a_part_at_a_time():
    """More different searches than one statement writes (2,000 rows): at a stop they are all
    written, in parts, each counted once."""
    url = h.migrated_database()
    srv = h.Server(url)
    h.add_user(url, "aanjager2@sc.test", "coordinator")
    coord = srv.login("aanjager2@sc.test", h.TEST_PASSWORD)
    check_in = h.today_local(url) + dt.timedelta(days=20)
    munis = [r[0] for r in h.psql(url, "SELECT code FROM municipalities ORDER BY code LIMIT 12")]
    profiles = ["dementia", "somatic", "youth", "disability", "psychiatric"]
    asked = [(m, p, f, n) for m in munis for p in profiles for f in ("wmo", "wlz", "pgb")
             for n in range(1, 15)]
    refused = 0
    client = h.Client(srv.port)
    for m, p, f, n in asked:
        resp = client.request("GET", f"/v1/availability?check_in={check_in}&nights={n}"
                                     f"&municipality={m}&care_profile={p}&funding={f}",
                              token=coord)
        refused += resp.status != 200
    h.check_equal(f"{len(asked)} different searches are answered", refused, 0)
    srv.send_signal(signal.SIGTERM)
    rc = srv.wait_exit(30 * h.SCALE)
    srv.finish(rc, "stopped after the searches")
    h.check(f"more different searches than one statement's 2,000 rows ({len(asked)})",
            len(asked) > 2000)
    h.check_equal("every one is a row of its own", int(h.scalar(
        url, "SELECT count(*) FROM search_counts WHERE role = 'coordinator'")), len(asked))
    h.check_equal("counted once each", total(url, "role = 'coordinator'"), len(asked))


def test_a_stop_waits_for_the_counts_it_sent():
    """At a stop the counts go on the background connections: the process must not exit, and
    close them, while a statement is still queued or waiting there (a lock held here), or the
    counts of the last seconds are lost."""
    url = h.migrated_database()
    srv = h.Server(url, env={"LOGEER_DB_BACKGROUND_POOL_SIZE": "1"})
    h.add_user(url, "aanjager3@sc.test", "coordinator")
    coord = srv.login("aanjager3@sc.test", h.TEST_PASSWORD)
    check_in = h.today_local(url) + dt.timedelta(days=30)
    asked = range(1, 15)
    tag = f"sc-{uuid.uuid4().hex[:8]}"
    # SHARE mode lets everyone read search_counts and no one write to it.
    locker = subprocess.Popen(
        [h.PSQL, "-X", "-q", "-d", url, "-c",
         f"BEGIN; LOCK TABLE search_counts IN SHARE MODE; SELECT pg_sleep(60) /* {tag} */; "
         "COMMIT;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        h.wait_until(lambda: h.scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE "
                                           f"query LIKE '%/* {tag} */%' AND state = 'active' "
                                           "AND pid <> pg_backend_pid()") == "1",
                     10 * h.SCALE)

        def search(nights):
            resp = srv.request("GET", f"/v1/availability?check_in={check_in}&nights={nights}",
                               token=coord)
            h.check_equal(f"a search for {nights} night(s) is answered", resp.status, 200)

        # Asked with the lock held: the two-second flush sends the first half, which waits on
        # the one background connection; the stop sends the second half, queued behind it.
        for n in asked[:7]:
            search(n)
        stuck = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                 "'logeerd-background' AND wait_event_type = 'Lock' AND query LIKE "
                 "'%INSERT INTO search_counts%'")
        h.wait_until(lambda: h.scalar(url, stuck) == "1", 10 * h.SCALE)
        for n in asked[7:]:
            search(n)
        srv.send_signal(signal.SIGTERM)
        h.check_equal("the first counts wait for the lock", h.scalar(url, stuck), "1")
        time.sleep(1)
        h.check("and logeerd waits for them instead of exiting", srv.proc.poll() is None,
                f"exited with {srv.proc.returncode}")
    finally:
        h.psql(url, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                    f"WHERE query LIKE '%/* {tag} */%' AND pid <> pg_backend_pid()")
        locker.wait(timeout=60 * h.SCALE)
    rc = srv.wait_exit(30 * h.SCALE)
    srv.finish(rc, "stopped once the lock went")
    h.check_equal("every search is counted", total(url, "role = 'coordinator'"), len(asked))


h.main(globals())
