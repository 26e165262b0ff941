"""The Drenthe demo tells the region's story: planned beds mostly taken for the coming weeks
with free nights further out, caregivers waiting, searches that found nothing, diversions,
intakes in every state (one still asked at Zorggroep Esdorp, for its planner's board), allowances,
one open escalation, a caregiver staying along with transport both ways, cancellation policies and
a late cancellation. Proves that the seed's bookings went
through the core (every pool night's held and booked counts equal the stays that cover it and
never exceed capacity; allowance usage equals the nights of the stays that count against it)
and that running seed-demo again books nothing more."""

import harness as h

PLANNED = "kind = 'planned'"


def counter_mismatches(url):
    """Pool nights whose counters differ from the stays covering them, or that overbook."""
    return h.psql(url, """
        SELECT n.pool_id, n.night, n.capacity, n.held, n.booked, c.held, c.booked
          FROM pool_nights n
          LEFT JOIN LATERAL (
              SELECT count(*) FILTER (WHERE s.status IN ('held', 'requested')) AS held,
                     count(*) FILTER (WHERE s.status IN ('confirmed', 'checked_in',
                                                          'completed')) AS booked
                FROM stays s
               WHERE s.pool_id = n.pool_id AND s.check_in <= n.night
                 AND n.night < s.check_out) AS c ON true
         WHERE n.held <> c.held OR n.booked <> c.booked OR n.held + n.booked > n.capacity
         ORDER BY 1, 2 LIMIT 10""")


def usage_mismatches(url):
    """Allowance usage rows whose used count differs from the nights of the stays that count."""
    return h.psql(url, """
        SELECT u.allowance_id, u.period_start, u.used, coalesce(c.nights, 0)
          FROM allowance_usage u
          LEFT JOIN LATERAL (
              SELECT count(*) AS nights
                FROM stays s
               CROSS JOIN LATERAL generate_series(s.check_in, s.check_out - 1,
                                                  interval '1 day') AS g (night)
               WHERE s.allowance_id = u.allowance_id
                 AND s.status IN ('held', 'requested', 'confirmed', 'checked_in', 'completed')
                 AND g.night >= u.period_start
                 AND g.night < u.period_start + CASE u.kind WHEN 'week' THEN interval '7 days'
                                                           ELSE interval '1 year' END) AS c ON true
         WHERE u.used <> coalesce(c.nights, 0)
         LIMIT 10""")


def occupancy(url, lo, hi):
    """Booked + held share of planned beds over days [lo, hi) from today, in percent."""
    return float(h.scalar(url, f"""
        SELECT round(100.0 * sum(n.held + n.booked) / nullif(sum(n.capacity), 0), 1)
          FROM pool_nights n JOIN pools p ON p.id = n.pool_id
         WHERE p.{PLANNED} AND n.night >= logeer_today() + {lo}
           AND n.night < logeer_today() + {hi}"""))


def test_demo_counters_match_the_stays_and_a_second_run_books_nothing():
    url = h.migrated_database(seed=True)
    h.check_equal("after seed-demo every pool night's held and booked equal the stays covering "
                  "it, within capacity", counter_mismatches(url), [])
    h.check_equal("every allowance usage row equals the nights of the stays counting against it",
                  usage_mismatches(url), [])
    before = h.psql(url, "SELECT (SELECT count(*) FROM stays), (SELECT count(*) FROM stay_events),"
                         " (SELECT count(*) FROM events), (SELECT count(*) FROM escalations),"
                         " (SELECT count(*) FROM searches), (SELECT sum(held + booked) "
                         "FROM pool_nights), (SELECT coalesce(sum(used), 0) FROM allowance_usage)")
    proc = h.seed_demo(url)
    h.check("a second seed-demo exits 0", proc.returncode == 0, h._describe(proc))
    after = h.psql(url, "SELECT (SELECT count(*) FROM stays), (SELECT count(*) FROM stay_events),"
                        " (SELECT count(*) FROM events), (SELECT count(*) FROM escalations),"
                        " (SELECT count(*) FROM searches), (SELECT sum(held + booked) "
                        "FROM pool_nights), (SELECT coalesce(sum(used), 0) FROM allowance_usage)")
    h.check_equal("a second run adds no stay, history, event, escalation or search and takes no "
                  "bed or allowance night", after, before)
    h.check_equal("the counters still match the stays after the second run",
                  counter_mismatches(url), [])
    behind = h.scalar(url, "SELECT count(*) FROM events e, notify_cursor c "
                           "WHERE (e.txid, e.id) > (c.txid, c.event_id)")
    h.check_equal("the notification producer starts after the demo's history (no mail about "
                  "stays the seed made)", int(behind), 0)


def test_demo_shows_the_shortage_and_free_nights_further_out():
    url = h.migrated_database(seed=True)
    soon = occupancy(url, 0, 42)
    h.check(f"planned beds are mostly taken for the next 6 weeks ({soon} %, want > 70 %)",
            soon > 70)
    later = occupancy(url, 70, 112)
    h.check(f"planned beds are mostly free from week 10 on ({later} %, want < 30 %)", later < 30)
    free_later = int(h.scalar(url, f"""
        SELECT count(*) FROM pool_nights n JOIN pools p ON p.id = n.pool_id
         WHERE p.{PLANNED} AND n.night >= logeer_today() + 56
           AND n.capacity > n.held + n.booked"""))
    h.check(f"free planned nights exist after 8 weeks ({free_later})", free_later > 100)
    past = occupancy(url, -28, 0)
    h.check(f"the past four weeks have history ({past} % of planned beds used)", past > 50)
    states = dict(h.psql(url, "SELECT status, count(*) FROM stays GROUP BY 1"))
    for status in ("confirmed", "requested", "checked_in", "completed", "waitlisted",
                   "cancelled", "no_show", "held"):
        h.check(f"the demo has {status} stays ({states.get(status, 0)})",
                int(states.get(status, 0)) >= 1)
    h.info(f"occupancy: past 4 weeks {past} %, next 6 weeks {soon} %, weeks 10-16 {later} %; "
           f"stays by status {states}")


def companion_mismatches(url):
    """Pool nights whose companion count differs from the stays with a caregiver along that
    cover them, or exceeds the pool's companion places."""
    return h.psql(url, """
        SELECT n.pool_id, n.night, n.companions, c.taken, p.companion_places
          FROM pool_nights n JOIN pools p ON p.id = n.pool_id
          LEFT JOIN LATERAL (
              SELECT count(*) AS taken FROM stays s
               WHERE s.pool_id = n.pool_id AND s.companion AND s.check_in <= n.night
                 AND n.night < s.check_out
                 AND s.status IN ('held', 'requested', 'confirmed', 'checked_in')) AS c ON true
         WHERE n.companions <> c.taken OR n.companions > p.companion_places
         ORDER BY 1, 2 LIMIT 10""")


def practice_checks(url):
    """Companion places, transport and cancellation policies in the demo (docs/practice.md)."""
    h.check("a pool offers a place for a caregiver staying along",
            int(h.scalar(url, "SELECT count(*) FROM pools WHERE companion_places > 0")) >= 1)
    policies = int(h.scalar(url, "SELECT count(*) FROM pools WHERE free_cancel_days IS NOT NULL"))
    h.check(f"several pools cancel free until some days before ({policies})", policies >= 2)
    along = h.psql(url, "SELECT s.id, s.arrival ->> 'by', s.arrival ->> 'time', "
                        "s.departure ->> 'by', s.departure ->> 'time' FROM stays s "
                        "WHERE s.companion AND s.status = 'confirmed' AND s.check_in > logeer_today() "
                        "AND s.check_in <= logeer_today() + 7 AND s.arrival IS NOT NULL "
                        "AND s.departure IS NOT NULL")
    h.check(f"a stay in the coming week has the caregiver along and transport both ways ({along})",
            len(along) >= 1 and all(r[2] and r[4] for r in along))
    h.check_equal("every pool night's companion count equals the stays with a caregiver along, "
                  "within the places", companion_mismatches(url), [])
    late = h.psql(url, "SELECT cancel_days_before, cancel_free_days, cancelled_by = requested_by "
                       "FROM stays WHERE status = 'cancelled' AND cancel_late")
    h.check(f"a family cancelled late, inside the pool's free period ({late})",
            len(late) >= 1 and all(int(d) < int(f) and by == "t" for d, f, by in late))
    return along[0][0] if along else None


def test_demo_has_waiting_unmet_demand_diversions_crises_and_practice():
    url = h.migrated_database(seed=True)
    waiting = int(h.scalar(url, "SELECT count(DISTINCT requested_by) FROM stays "
                                "WHERE status = 'waitlisted'"))
    h.check(f"several caregivers wait ({waiting})", waiting >= 4)
    unmet = int(h.scalar(url, "SELECT count(*) FROM searches WHERE results = 0 "
                              "AND at >= logeer_local_start(logeer_today() - 28)"))
    h.check(f"searches that found nothing in the past four weeks ({unmet})", unmet >= 20)
    report = h.scalar(url, "SELECT logeer_report_demand(jsonb_build_object("
                           "'from', logeer_ymd(logeer_today() - 28), "
                           "'to', logeer_ymd(logeer_today() + 1), 'group_by', 'municipality'))"
                           " -> 'total'")
    h.check("the demand report counts them as searches without result",
            '"searches_without_result": ' + str(unmet) in report, report)
    diversions = int(h.scalar(url, "SELECT count(*) FROM stays WHERE kind = 'crisis' "
                                   "AND pool_kind = 'planned' AND diversion_reason IS NOT NULL "
                                   "AND requested_by_role = 'coordinator'"))
    h.check(f"diversions by the coordinator, with a reason ({diversions})", diversions >= 2)
    crisis = int(h.scalar(url, "SELECT count(*) FROM stays WHERE pool_kind = 'crisis' "
                               "AND status = 'checked_in'"))
    h.check(f"crisis beds are in use today ({crisis})", crisis >= 2)

    intakes = dict(h.psql(url, "SELECT coalesce(outcome::text, status::text), count(*) "
                               "FROM intakes GROUP BY 1"))
    for state in ("requested", "scheduled", "welcome", "trial_first", "not_suitable"):
        h.check(f"an intake in state {state} ({intakes.get(state, 0)})",
                int(intakes.get(state, 0)) >= 1)
    h.check("the not-suitable intake says why",
            h.scalar(url, "SELECT bool_and(length(reason) > 20) FROM intakes "
                          "WHERE outcome = 'not_suitable'") == "t")
    h.check("a pool asks for a kennismaking first",
            int(h.scalar(url, "SELECT count(*) FROM pools WHERE intake_required")) >= 1)
    routes = {tuple(r) for r in h.psql(url, "SELECT funding, coalesce(municipality, '-') "
                                            "FROM allowances")}
    wmo_munis = {m for f, m in routes if f == "wmo"}
    h.check(f"Wmo allowances from several municipalities ({sorted(wmo_munis)})",
            len(wmo_munis) >= 3)
    h.check("a Wlz allowance exists", any(f == "wlz" for f, _ in routes), routes)
    used = int(h.scalar(url, "SELECT coalesce(sum(used), 0) FROM allowance_usage"))
    h.check(f"demo stays count against allowances ({used} period-nights)", used > 0)
    h.check("a pool books in fixed blocks",
            int(h.scalar(url, "SELECT count(*) FROM pools WHERE blocks <> '[]'::jsonb")) >= 1)

    practice_checks(url)

    esc = h.psql(url, "SELECT e.status, e.deadline < logeer_today(), s.status, s.guaranteed, "
                      "jsonb_typeof(e.options -> 'pools') FROM escalations e "
                      "JOIN stays s ON s.id = e.stay_id")
    h.check_equal("one open escalation: a guaranteed request still waiting past its deadline",
                  esc, [["open", "t", "waitlisted", "t", "array"]])

    server = h.Server(url)
    token = server.login("aanjager@demo.logeer.nl", h.DEMO_PASSWORD)
    resp = server.request("GET", "/v1/escalations?status=open", token=token)
    items = (resp.json or {}).get("items") or (resp.json or {}).get("escalations") or []
    h.check("the coordinator sees the open escalation through the API",
            resp.status == 200 and len(items) == 1, repr(resp))

    # The Esdorp planner's arrivals list shows the stay with the caregiver along and transport.
    along = h.psql(url, "SELECT id FROM stays WHERE companion AND arrival IS NOT NULL "
                        "AND status = 'confirmed' ORDER BY check_in LIMIT 1")
    token = server.login("planner@esdorp.demo.logeer.nl", h.DEMO_PASSWORD)
    resp = server.request("GET", "/v1/arrivals?days=8&limit=500", token=token)
    shown = [a for a in (resp.json or {}).get("arrivals", [])
             if along and a.get("stay_id") == along[0][0] and a.get("movement") == "arrival"]
    h.check("the planner's arrivals list shows that stay with the companion and who brings the "
            "guest when", resp.status == 200 and len(shown) == 1 and shown[0]["companion"] is True
            and (shown[0].get("transport") or {}).get("time") == "15:00", repr(shown or resp))

    # The same planner's board has a kennismaking to plan: one asked (no date yet) for a demo
    # guest at one of Esdorp's own locations, made once however often the seed runs.
    resp = server.request("GET", "/v1/intakes?status=requested&limit=100", token=token)
    asked = (resp.json or {}).get("intakes", [])
    esdorp = h.DEMO_PROVIDER_IDS["planner@esdorp.demo.logeer.nl"]
    h.check("the Esdorp planner sees an asked kennismaking at an Esdorp location",
            resp.status == 200 and len(asked) >= 1
            and all(i["provider_id"] == esdorp and i["status"] == "requested"
                    and i["scheduled_at"] is None for i in asked), repr(resp))
    h.check_equal("that kennismaking is the demo's, for a demo guest, stored once",
                  h.psql(url, "SELECT i.status, g.alias, count(*) OVER () FROM intakes i "
                              "JOIN guests g ON g.id = i.guest_id "
                              "WHERE i.id = 'd6000000-0000-4000-a000-000000000007'"),
                  [["requested", "mevr. T.", "1"]])
    server.stop()


h.main(globals())
