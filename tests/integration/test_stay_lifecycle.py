"""Stay lifecycle: every transition (confirm, accept, decline, cancel, check-in, check-out,
no-show) works from the right status and moves the per-night counters exactly as the rules say
(held/requested hold a bed; confirmed/checked_in/completed book one; the rest release it). Every
illegal transition is a 409 naming current_status; a role never allowed is 403; another
caregiver's or another provider's stay is 404; the history lists every transition with the
actor's role. Runs against the demo data plus two pools made for the test (instant, approval)."""

import datetime as dt
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"
BEDS = 3
WINDOW = 30  # nights from today that the test pools have beds

# Which counter a status occupies (the rules of src/core/rules.c and the SQL functions).
HELD_STATUSES = ("held", "requested")
BOOKED_STATUSES = ("confirmed", "checked_in", "completed")


class World:
    """Everything the tests share: one server, tokens, the two pools and a ledger of the stays
    made, from which the expected counters of every night follow."""

    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        emails = h.add_caregivers(self.url, 3, prefix="lc")
        self.cg = dict(zip(("cg1", "cg2", "cg3"), h.login_many(self.srv, emails)))
        self.esdorp = self.srv.login(ESDORP)
        self.hunzehof = self.srv.login(HUNZEHOF)
        provider = h.DEMO_PROVIDER_IDS[ESDORP]
        end = self.today + dt.timedelta(days=WINDOW)
        self.instant = h.make_pool(self.srv, self.url, self.esdorp, provider, BEDS, self.today,
                                   end, booking_mode="instant", name="Lifecycle instant")
        self.approval = h.make_pool(self.srv, self.url, self.esdorp, provider, BEDS, self.today,
                                    end, booking_mode="approval",
                                    location_id=self.instant.location_id,
                                    name="Lifecycle approval")
        self.stays = {}  # id -> [pool_id, check_in, check_out, status]
        self.owner = {}  # id -> "cg1" | "cg2" | "cg3"
        self.capacity_api_ok = None

    def day(self, offset):
        return self.today + dt.timedelta(days=offset)

    def book(self, who, pool, first, last, expect):
        body = h.stay_body(pool.id, self.day(first), self.day(last), alias=f"{who} {first}")
        resp = self.srv.request("POST", "/v1/stays", body, token=self.cg[who],
                                headers={"Idempotency-Key": uuid.uuid4().hex})
        ok = h.check(f"{who} requests {first}..{last} in the {pool_name(self, pool)} pool: 201 "
                     f"{expect}", resp.status == 201 and (resp.json or {}).get("status") == expect,
                     repr(resp))
        if not ok:
            raise RuntimeError("could not create the stay the next checks need")
        stay = resp.json
        self.stays[stay["id"]] = [pool.id, self.day(first), self.day(last), expect]
        self.owner[stay["id"]] = who
        self.check_counters(f"after creating a {expect} stay")
        return stay["id"]

    def act(self, token, stay_id, action, reason=None):
        body = {"reason": reason} if reason is not None else None
        return self.srv.request("POST", f"/v1/stays/{stay_id}/{action}", body, token=token)

    def transition(self, label, token, stay_id, action, to, reason=None):
        """A legal transition: 200 with the new status, then the counters are checked."""
        resp = self.act(token, stay_id, action, reason)
        ok = h.check(f"{label}: {action} answers 200 with status {to}",
                     resp.status == 200 and (resp.json or {}).get("status") == to, repr(resp))
        if ok:
            self.stays[stay_id][3] = to
        self.check_counters(f"after {action} -> {to}")
        return resp

    def illegal(self, label, token, stay_id, action, current, reason="test"):
        """An illegal transition: 409 invalid-transition naming the current status, nothing
        changes."""
        resp = self.act(token, stay_id, action, reason)
        body = resp.json if isinstance(resp.json, dict) else {}
        h.check(f"{label}: {action} on a {current} stay is 409 with current_status {current}",
                h.is_problem(resp, 409) and body.get("current_status") == current, repr(resp))
        h.check(f"{label}: the 409 for {action} is of type invalid-transition",
                h.problem_type(resp) == "invalid-transition", h.problem_type(resp))
        self.check_counters(f"after the refused {action}")

    def expected(self):
        exp = {}
        for pool_id, first, last, status in self.stays.values():
            d = first
            while d < last:
                held, booked = exp.get((pool_id, str(d)), (0, 0))
                if status in HELD_STATUSES:
                    held += 1
                elif status in BOOKED_STATUSES:
                    booked += 1
                exp[(pool_id, str(d))] = (held, booked)
                d += dt.timedelta(days=1)
        return exp

    def check_counters(self, when):
        """Every night of both pools, read through GET capacity (and from pool_nights when that
        route is missing), must equal the ledger's expectation."""
        exp = self.expected()
        mismatches = []
        for pool in (self.instant, self.approval):
            nights = h.capacity_nights(self.srv, self.esdorp, pool.id, self.today,
                                       self.day(WINDOW))
            if self.capacity_api_ok is None:
                self.capacity_api_ok = h.check(
                    "GET /v1/pools/{id}/capacity answers 200 with nights for the provider",
                    nights is not None and len(nights) == WINDOW, repr(nights)[:300])
            if nights is None:
                nights = {d: (c, held, booked, c - held - booked)
                          for d, (c, held, booked) in h.db_nights(self.url, pool.id).items()}
            for offset in range(WINDOW):
                d = str(self.day(offset))
                cap, held, booked, free = nights.get(d, (None, None, None, None))
                want = exp.get((pool.id, d), (0, 0))
                if (held, booked) != want or cap != BEDS or free != BEDS - sum(want):
                    mismatches.append(f"{pool_name(self, pool)} {d}: capacity {cap} held "
                                      f"{held} booked {booked} free {free}, want held "
                                      f"{want[0]} booked {want[1]}")
        h.check(f"counters {when} are exactly what the stays imply (held/booked/free per "
                f"night)", not mismatches, "; ".join(mismatches[:6]))

    def history(self, token, stay_id):
        resp = self.srv.request("GET", f"/v1/stays/{stay_id}", token=token)
        body = resp.json if isinstance(resp.json, dict) else {}
        hist = body.get("history") if isinstance(body.get("history"), list) else None
        return resp, body, hist


def pool_name(world, pool):
    return "instant" if pool is world.instant else "approval"


def world():
    return h.once("world", World)


def check_history(label, w, token, stay_id, expected):
    """The history of a stay lists exactly the expected (from, to, actor_role) in order."""
    resp, body, hist = w.history(token, stay_id)
    h.check_equal(f"{label}: GET /v1/stays/{{id}} is 200 for the owner", resp.status, 200)
    got = [(e.get("from"), e.get("to"), e.get("actor_role")) for e in (hist or [])]
    h.check_equal(f"{label}: history lists every transition with its actor role", got, expected)
    h.check(f"{label}: every history entry has an instant 'at'",
            bool(hist) and all(isinstance(e.get("at"), str) and "T" in e.get("at", "")
                               for e in hist), hist)
    return hist


def test_fixture_pools_are_made_through_the_inventory_api():
    w = world()
    h.check("the instant test pool was created with POST /v1/locations, POST /v1/pools and PUT "
            "capacity (If-Match: *)", w.instant.via == "api", w.instant.via)
    w.check_counters("before any stay")


def test_hold_confirm_cancel_by_caregiver_moves_counters():
    w = world()
    sid = w.book("cg1", w.instant, 3, 5, "held")
    resp, body, _ = w.history(w.cg["cg1"], sid)
    h.check("a held stay has hold_expires_at in the future",
            isinstance(body.get("hold_expires_at"), str), body.get("hold_expires_at"))
    w.illegal("held stay", w.esdorp, sid, "check-out", "held")
    w.transition("held stay", w.cg["cg1"], sid, "confirm", "confirmed")
    w.illegal("confirmed stay", w.cg["cg1"], sid, "confirm", "confirmed")
    w.illegal("confirmed stay", w.esdorp, sid, "accept", "confirmed")
    w.illegal("confirmed stay", w.esdorp, sid, "decline", "confirmed")
    w.illegal("confirmed stay", w.esdorp, sid, "check-out", "confirmed")
    w.transition("confirmed stay", w.cg["cg1"], sid, "cancel", "cancelled",
                 reason="Plannen gewijzigd")
    w.illegal("cancelled stay", w.cg["cg1"], sid, "cancel", "cancelled")
    w.illegal("cancelled stay", w.cg["cg1"], sid, "confirm", "cancelled")
    w.illegal("cancelled stay", w.esdorp, sid, "check-in", "cancelled")
    _, body, _ = w.history(w.cg["cg1"], sid)
    h.check_equal("the cancelled stay carries its cancel_reason", body.get("cancel_reason"),
                  "Plannen gewijzigd")
    check_history("caregiver hold -> confirm -> cancel", w, w.cg["cg1"], sid,
                  [(None, "held", "caregiver"), ("held", "confirmed", "caregiver"),
                   ("confirmed", "cancelled", "caregiver")])


def test_caregiver_may_cancel_a_hold_without_reason():
    w = world()
    sid = w.book("cg1", w.instant, 12, 13, "held")
    w.transition("held stay, no reason given", w.cg["cg1"], sid, "cancel", "cancelled")
    check_history("caregiver hold -> cancel", w, w.cg["cg1"], sid,
                  [(None, "held", "caregiver"), ("held", "cancelled", "caregiver")])


def test_approval_request_accept_then_provider_cancel():
    w = world()
    sid = w.book("cg1", w.approval, 6, 8, "requested")
    resp = w.act(w.cg["cg1"], sid, "accept")
    h.check_problem("a caregiver accepting a request is 403", resp, 403)
    resp = w.act(w.hunzehof, sid, "accept")
    h.check_problem("another provider accepting the request is 404 (not its pool)", resp, 404)
    w.illegal("requested stay", w.cg["cg1"], sid, "confirm", "requested")
    w.illegal("requested stay", w.esdorp, sid, "check-in", "requested")
    w.check_counters("after the refused accepts")
    w.transition("requested stay", w.esdorp, sid, "accept", "confirmed")
    w.illegal("accepted stay", w.esdorp, sid, "accept", "confirmed")
    resp = w.act(w.esdorp, sid, "cancel")
    h.check_problem("a provider cancelling without a reason is 422", resp, 422)
    w.check_counters("after the refused provider cancel")
    w.transition("accepted stay", w.esdorp, sid, "cancel", "cancelled",
                 reason="Personeelstekort: kamer gesloten")
    check_history("request -> accept -> provider cancel", w, w.cg["cg1"], sid,
                  [(None, "requested", "caregiver"), ("requested", "confirmed", "provider"),
                   ("confirmed", "cancelled", "provider")])
    _, _, hist = w.history(w.esdorp, sid)
    h.check("the provider sees the same history on its own pool's stay",
            hist is not None and len(hist) == 3, hist)


def test_approval_request_decline_needs_reason():
    w = world()
    sid = w.book("cg2", w.approval, 9, 11, "requested")
    resp = w.act(w.esdorp, sid, "decline")
    h.check_problem("declining without a reason is 422", resp, 422)
    w.check_counters("after the refused decline")
    resp = w.act(w.cg["cg2"], sid, "decline", "no")
    h.check_problem("a caregiver declining is 403", resp, 403)
    w.transition("requested stay", w.esdorp, sid, "decline", "declined",
                 reason="Geen passende zorg voor dit profiel")
    _, body, _ = w.history(w.cg["cg2"], sid)
    h.check_equal("the declined stay carries its decline_reason", body.get("decline_reason"),
                  "Geen passende zorg voor dit profiel")
    w.illegal("declined stay", w.esdorp, sid, "accept", "declined")
    w.illegal("declined stay", w.cg["cg2"], sid, "cancel", "declined")
    check_history("request -> decline", w, w.cg["cg2"], sid,
                  [(None, "requested", "caregiver"), ("requested", "declined", "provider")])


def test_caregiver_cancels_own_request():
    w = world()
    sid = w.book("cg3", w.approval, 14, 16, "requested")
    w.transition("requested stay", w.cg["cg3"], sid, "cancel", "cancelled",
                 reason="Toch niet nodig")
    check_history("request -> caregiver cancel", w, w.cg["cg3"], sid,
                  [(None, "requested", "caregiver"), ("requested", "cancelled", "caregiver")])


def test_check_in_and_check_out_on_the_day():
    w = world()
    sid = w.book("cg2", w.instant, 0, 2, "held")
    w.illegal("held stay", w.esdorp, sid, "check-in", "held")
    w.illegal("held stay", w.esdorp, sid, "no-show", "held")
    w.transition("held stay for today", w.cg["cg2"], sid, "confirm", "confirmed")
    resp = w.act(w.cg["cg2"], sid, "check-in")
    h.check_problem("a caregiver checking in is 403", resp, 403)
    resp = w.act(w.hunzehof, sid, "check-in")
    h.check_problem("another provider checking in is 404", resp, 404)
    w.transition("confirmed stay for today", w.esdorp, sid, "check-in", "checked_in")
    w.illegal("checked-in stay", w.esdorp, sid, "check-in", "checked_in")
    w.illegal("checked-in stay", w.esdorp, sid, "no-show", "checked_in")
    w.illegal("checked-in stay", w.cg["cg2"], sid, "confirm", "checked_in")
    w.illegal("checked-in stay", w.cg["cg2"], sid, "cancel", "checked_in")
    resp = w.act(w.cg["cg2"], sid, "check-out")
    h.check_problem("a caregiver checking out is 403", resp, 403)
    w.transition("checked-in stay", w.esdorp, sid, "check-out", "completed")
    w.illegal("completed stay", w.esdorp, sid, "check-out", "completed")
    w.illegal("completed stay", w.esdorp, sid, "cancel", "completed")
    check_history("hold -> confirm -> check-in -> check-out", w, w.cg["cg2"], sid,
                  [(None, "held", "caregiver"), ("held", "confirmed", "caregiver"),
                   ("confirmed", "checked_in", "provider"),
                   ("checked_in", "completed", "provider")])


def test_no_show_releases_the_nights():
    w = world()
    sid = w.book("cg3", w.instant, 0, 1, "held")
    w.transition("held stay for today", w.cg["cg3"], sid, "confirm", "confirmed")
    resp = w.act(w.cg["cg3"], sid, "no-show")
    h.check_problem("a caregiver marking a no-show is 403", resp, 403)
    w.transition("confirmed stay for today", w.esdorp, sid, "no-show", "no_show")
    w.illegal("no-show stay", w.esdorp, sid, "check-in", "no_show")
    w.illegal("no-show stay", w.cg["cg3"], sid, "cancel", "no_show")
    check_history("hold -> confirm -> no-show", w, w.cg["cg3"], sid,
                  [(None, "held", "caregiver"), ("held", "confirmed", "caregiver"),
                   ("confirmed", "no_show", "provider")])


def test_check_in_before_the_check_in_date_is_409():
    w = world()
    sid = w.book("cg3", w.instant, 2, 3, "held")
    w.transition("held stay in two days", w.cg["cg3"], sid, "confirm", "confirmed")
    resp = w.act(w.esdorp, sid, "check-in")
    h.check("checking in before the check-in date is 409",
            h.is_problem(resp, 409), repr(resp))
    resp = w.act(w.esdorp, sid, "no-show")
    h.check("a no-show before the check-in date is 409", h.is_problem(resp, 409), repr(resp))
    w.check_counters("after the early check-in and no-show")
    w.transition("confirmed stay", w.esdorp, sid, "cancel", "cancelled",
                 reason="Locatie tijdelijk dicht")


def test_other_caregivers_and_providers_get_404():
    w = world()
    sid = w.book("cg1", w.instant, 20, 22, "held")
    for action in ("confirm", "cancel"):
        resp = w.act(w.cg["cg2"], sid, action, "x")
        h.check_problem(f"another caregiver's {action} on the stay is 404", resp, 404)
    resp = w.srv.request("GET", f"/v1/stays/{sid}", token=w.cg["cg2"])
    h.check_problem("another caregiver reading the stay is 404", resp, 404)
    resp = w.srv.request("GET", f"/v1/stays/{sid}", token=w.hunzehof)
    h.check_problem("another provider reading the stay is 404", resp, 404)
    for action in ("cancel", "check-in", "no-show", "accept", "decline"):
        resp = w.act(w.hunzehof, sid, action, "Niet onze gast")
        h.check_problem(f"another provider's {action} on the stay is 404", resp, 404)
    w.check_counters("after the refused actions by others")
    resp = w.srv.request("GET", f"/v1/stays/{uuid.uuid4()}", token=w.cg["cg1"])
    h.check_problem("an unknown stay id is 404", resp, 404)
    resp = w.act(w.cg["cg1"], sid, "teleport")
    h.check("an unknown action is 404 or 422",
            h.is_problem(resp, 404) or h.is_problem(resp, 422), repr(resp))
    w.transition("held stay", w.cg["cg1"], sid, "confirm", "confirmed")
    w.transition("confirmed stay", w.cg["cg1"], sid, "cancel", "cancelled", reason="klaar")


def test_lists_show_own_stays_only():
    w = world()
    mine = set(w.stays)

    def listed(token, query=""):
        resp = w.srv.request("GET", f"/v1/stays?limit=100{query}", token=token)
        body = resp.json if isinstance(resp.json, dict) else {}
        return resp, {s.get("id") for s in body.get("stays", []) if isinstance(s, dict)}, body

    resp, ids, body = listed(w.cg["cg1"])
    h.check_equal("GET /v1/stays as a caregiver is 200", resp.status, 200)
    cg1_stays = {sid for sid in mine if w.owner[sid] == "cg1"}
    h.check("caregiver cg1's list holds every stay of cg1 and none of cg2/cg3",
            bool(cg1_stays) and cg1_stays <= ids and not (ids & (mine - cg1_stays)),
            f"{len(ids)} listed; missing {cg1_stays - ids}; foreign {ids & (mine - cg1_stays)}")
    h.check("the list carries a total", isinstance(body.get("total"), int), body.get("total"))
    resp, ids, _ = listed(w.esdorp, f"&pool_id={w.instant.id}")
    instant_ids = {sid for sid, v in w.stays.items() if v[0] == w.instant.id}
    h.check("the pool's provider lists every stay of the pool (filtered by pool_id)",
            instant_ids <= ids, f"missing {instant_ids - ids}")
    resp, ids, _ = listed(w.hunzehof)
    h.check("another provider's list holds none of these stays", not (ids & mine),
            f"{len(ids & mine)} leaked")
    resp, ids, _ = listed(w.esdorp, "&status=cancelled")
    h.check("a status filter returns only stays with that status",
            all(w.stays[s][3] == "cancelled" for s in ids & mine) and bool(ids & mine),
            sorted(ids & mine))


def test_counters_equal_stays_table_at_the_end():
    w = world()
    for pool in (w.instant, w.approval):
        h.check_counters_match_stays(f"{pool_name(w, pool)} pool", w.url, pool.id)
    info_counts = {}
    for v in w.stays.values():
        info_counts[v[3]] = info_counts.get(v[3], 0) + 1
    h.info(f"stays made by this test by final status: {info_counts}")


h.main(globals())
