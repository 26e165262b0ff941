"""LOGEER_REPLICA_URL: reports and the open figures are read from the replica pool, and from
the primary when the replica cannot be reached. Without a failover formation: the "replica"
is a copy of the seeded database (CREATE DATABASE ... TEMPLATE) whose capacity differs, so an
answer shows by its numbers which database it came from, and its sessions carry the
application_name logeerd-replica in pg_stat_activity."""

import json
import re

import harness as h

COORDINATOR = "aanjager@demo.logeer.nl"
EXTRA_BEDS = 5


def open_figures(srv):
    resp = srv.request("GET", "/v1/open/availability")
    return resp.status, resp.body


def occupancy(srv, token):
    """Status and body without generated_at (the clock's second, not the database's data)."""
    resp = srv.request("GET", "/v1/reports/occupancy", token=token)
    try:
        body = json.loads(resp.body)
        body.pop("generated_at", None)
    except ValueError:
        body = resp.body
    return resp.status, body


def test_reports_and_open_figures_come_from_the_replica_and_fall_back_to_the_primary():
    url = h.migrated_database(seed=True)
    dbname = re.search(r"dbname=(\S+)", url).group(1)
    copy = f"{dbname}_replica"
    admin = h.pg_url(h.PGDIR, "postgres")
    h.psql(admin, f'CREATE DATABASE "{copy}" TEMPLATE "{dbname}"')
    try:
        copy_url = h.pg_url(h.PGDIR, copy)
        # More beds on every planned night of the copy: its figures differ from the primary's.
        h.psql(copy_url, f"UPDATE pool_nights SET capacity = capacity + {EXTRA_BEDS}")
        primary_only = h.Server(url)
        with_replica = h.Server(url, env={"LOGEER_REPLICA_URL": copy_url})
        unreachable = h.Server(url, env={"LOGEER_REPLICA_URL":
                                         h.pg_url(h.PGDIR, f"{dbname}_missing")})

        # /readyz follows the primary's pool only; a read asked before the replica pool has
        # connected is answered by the primary (the fallback), so wait for its sessions.
        h.check("the replica pool has connected",
                h.wait_until(lambda: int(h.scalar(admin, "SELECT count(*) FROM pg_stat_activity "
                                                  f"WHERE datname = '{copy}' AND application_name "
                                                  "= 'logeerd-replica' AND state = 'idle'")) > 0,
                             15 * h.SCALE))
        base = open_figures(primary_only)
        # A session shows as idle between the statements the pool prepares on it, before the
        # pool counts it ready: until then the fallback answers. Ask until the copy answers.
        h.wait_until(lambda: open_figures(with_replica) != base, 15 * h.SCALE)
        via_replica = open_figures(with_replica)
        fallback = open_figures(unreachable)
        h.check_equal("open figures without a replica are 200", base[0], 200)
        h.check("open figures with a replica are 200 and differ (they come from the copy)",
                via_replica[0] == 200 and via_replica[1] != base[1], via_replica[0])
        h.check("with the replica unreachable the open figures are the primary's",
                fallback == base, fallback[0])

        token = primary_only.login(COORDINATOR)
        report_base = occupancy(primary_only, token)
        report_replica = occupancy(with_replica, token)
        report_fallback = occupancy(unreachable, token)
        h.check_equal("the occupancy report without a replica is 200", report_base[0], 200)
        h.check("the occupancy report with a replica is 200 and comes from the copy",
                report_replica[0] == 200 and report_replica[1] != report_base[1],
                report_replica[0])
        h.check("with the replica unreachable the report is the primary's",
                report_fallback == report_base, report_fallback[0])

        sessions = h.scalar(admin, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                   f"'{copy}' AND application_name = 'logeerd-replica'")
        h.check("the replica's sessions are named logeerd-replica in pg_stat_activity",
                int(sessions) > 0, sessions)
        # A write never goes to the replica: booking-side reads and writes stay on the primary.
        h.check_equal("/readyz with a replica is 200",
                      with_replica.request("GET", "/readyz").status, 200)
        for srv, label in ((primary_only, "without a replica"), (with_replica, "with a replica"),
                           (unreachable, "with an unreachable replica")):
            srv.stop(label=f"logeerd {label}")
    finally:
        h.psql(admin, f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


h.main(globals())
