"""A booking's statements are planned once per database session, not on every request
(migrations 0046 and 0050, issue 17). PL/pgSQL replans a statement for every call when its
generic plan looks dearer than a plan made for the values; on the booking path that planning
took longer than the statements ran. Seen through pg_stat_statements (track = all,
track_planning = on) on a private cluster, with logeerd on one database session so that every
request goes through the same one: holds that are cancelled at once, and refusals of a full
night (which api/stays.c's full-night check answers: a prepared statement, planned five times
for its values and then kept generic). Also: the stays' transport check (rewritten in PL/pgSQL by 0050) still accepts and refuses
exactly what it did."""

import datetime as dt
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
ROUNDS = 12


def stat(url, fragment):
    """calls and plans of the statements whose text (spaces and line breaks read as one space)
    contains fragment, summed."""
    row = h.psql(url, "SELECT coalesce(sum(calls), 0), coalesce(sum(plans), 0) "
                      "FROM pg_stat_statements WHERE regexp_replace(query, '\\s+', ' ', 'g') "
                      "LIKE '%" + fragment.replace("'", "''") + "%'")[0]
    return int(row[0]), int(row[1])


def check_planned_once(url, label, fragment):
    calls, plans = stat(url, fragment)
    h.check(f"{label}: run on every request ({calls} calls for {ROUNDS} rounds)",
            calls >= ROUNDS, (calls, plans))
    # A plan per session (and one more after an invalidation) is what keeping it means. Without
    # the setting PostgreSQL makes at least five custom plans first, and on a national data set
    # one on every call after that (docs/performance.md, "Plans kept for the booking").
    h.check(f"{label}: planned at most 3 times in {calls} calls (custom plans: 5 or more)",
            plans <= 3, (calls, plans))


def start_cluster_with_statements(cluster):
    admin = cluster.url("postgres")
    h.psql(admin, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    cluster.stop()
    cluster.start()
    url = cluster.create_database()
    h.psql(url, "CREATE EXTENSION pg_stat_statements")
    h.psql(admin, "ALTER SYSTEM SET pg_stat_statements.track = 'all'")
    h.psql(admin, "ALTER SYSTEM SET pg_stat_statements.track_planning = on")
    h.psql(admin, "SELECT pg_reload_conf()")
    return url


def book_and_refuse(srv, url):
    today = h.today_local(url)
    planner = srv.login(ESDORP)
    provider = h.DEMO_PROVIDER_IDS[ESDORP]
    night, leave = today + dt.timedelta(days=9), today + dt.timedelta(days=10)
    free = h.make_pool(srv, url, planner, provider, 4, night, leave, name="Plans free")
    full = h.make_pool(srv, url, planner, provider, 1, night, leave, name="Plans full")
    tokens = h.login_many(srv, h.add_caregivers(url, 3, prefix="pl"))

    def book(token, pool):
        return srv.request("POST", "/v1/stays", h.stay_body(pool.id, night, leave),
                           token=token, headers={"Idempotency-Key": uuid.uuid4().hex})

    h.check_equal("the full pool's one bed is held", book(tokens[2], full).status, 201)
    h.psql(url, "SELECT pg_stat_statements_reset()")
    held = cancelled = refused = 0
    for i in range(ROUNDS):
        token = tokens[i % 2]
        resp = book(token, free)
        held += resp.status == 201
        if resp.status == 201:
            done = srv.request("POST", f"/v1/stays/{resp.json['id']}/cancel",
                               {"reason": "plannen"}, token=token)
            cancelled += done.status == 200
        refused += book(token, full).status == 409
    h.check_equal("every hold is 201", held, ROUNDS)
    h.check_equal("every cancel is 200", cancelled, ROUNDS)
    h.check_equal("every request for the full night is 409", refused, ROUNDS)


def check_transport_rule(url):
    """0050 restates logeer_transport_valid in PL/pgSQL: the CHECK on stays still holds."""
    stay = h.scalar(url, "SELECT id FROM stays WHERE status = 'held' LIMIT 1")
    cases = (
        ('{"by": "caregiver", "time": "18:00"}', True),
        ('{"by": "provider", "note": "rolstoelbus, voordeur"}', True),
        ('{"by": "other"}', True),
        ('{"by": "bus"}', False),
        ('{"by": "caregiver", "time": "25:00"}', False),
        ('{"by": "caregiver", "when": "18:00"}', False),
        ('{"by": "caregiver", "note": ""}', False),
        ('{"by": "caregiver", "note": "BSN 111222333"}', False),
        ('["caregiver"]', False),
    )
    for value, accepted in cases:
        try:
            h.psql(url, f"UPDATE stays SET arrival = '{value}' WHERE id = '{stay}'")
            h.check(f"arrival {value} is accepted by stays_arrival_shape", accepted)
        except h.SqlError as e:
            h.check(f"arrival {value} is refused by stays_arrival_shape (23514)",
                    not accepted and e.sqlstate == "23514", e.sqlstate)
    h.check_equal("the departure check uses the same rule",
                  h.scalar(url, "SELECT logeer_transport_valid('{\"by\": \"provider\", "
                                "\"time\": \"9:00\"}')"), "f")


def test_booking_statements_are_planned_once_per_session():
    with h.own_cluster() as cluster:
        url = h.prepare_database(start_cluster_with_statements(cluster), seed=True)
        srv = h.Server(url, env={"LOGEER_DB_POOL_SIZE": "1"})
        book_and_refuse(srv, url)
        # 0050: the booking's quick look at the nights (every request), the nights' lock and
        # the counters' update (every hold).
        check_planned_once(url, "the quick look at the nights",
                           "SELECT count(*), jsonb_agg(logeer_ymd(n.night)")
        # api/stays.c's full-night check, a prepared statement of its own (every refusal here):
        # PostgreSQL plans it for its values five times, then keeps its generic plan.
        calls, plans = stat(url, "WITH po AS (SELECT p.active")
        h.info(f"full-night check: {calls} calls, {plans} plans")
        h.check(f"the full-night check ran for every refusal ({calls} calls for {ROUNDS} rounds)",
                calls >= ROUNDS, (calls, plans))
        h.check(f"and was planned at most 6 times in {calls} calls (five custom plans, then the "
                "generic one)", plans <= 6, (calls, plans))
        check_planned_once(url, "the nights' lock of a booking", "WITH locked AS MATERIALIZED")
        check_planned_once(url, "the counters' update of a booking",
                           "SET held = n.held + logeer_uses_held(v_status)")
        # 0050: the flush after every write (was a SQL function, parsed and planned per call).
        check_planned_once(url, "the commit flush's WAL record", "pg_logical_emit_message")
        # 0046: the status change of a transition.
        check_planned_once(url, "the status change of a cancel", "UPDATE stays s SET status = v_to")
        check_transport_rule(url)
        srv.stop()


if __name__ == "__main__":
    h.main(globals())
