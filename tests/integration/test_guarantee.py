"""The planned-stay guarantee (docs/practice.md). A planned waitlist request for a registered
guest at least LOGEER_GUARANTEE_DAYS (42) ahead is guaranteed, with deadline earliest check-in
minus LOGEER_GUARANTEE_ESCALATE_DAYS (14); a short-notice or anonymous request is not. When the
deadline comes (moved to today in the database here) and the request is still waitlisted, the
escalation job (every LOGEER_GUARANTEE_CHECK_S=1 s) opens one escalation with options: another
pool with room for the window, nearby dates in the requested pool. A request the waitlist
placed, or one that was cancelled, is never escalated. Only the coordinator reads and resolves
escalations; a resolution is recorded once (a second is 409)."""

import datetime as dt

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"
# A care profile and funding route no demo pool combines, so that the options list only the
# pools made here.
GUEST = {"alias": "J.", "birth_year": 2012, "care_profile": "youth", "needs": []}
ENV = {"LOGEER_GUARANTEE_CHECK_S": "1", "LOGEER_MAX_OPEN_STAYS": "50"}
ESCALATE_WITHIN = 10


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.srv = h.Server(self.url, env=ENV, keep=True)
        self.today = h.today_local(self.url)
        self.cg, self.filler = h.login_many(self.srv, h.add_caregivers(self.url, 2, prefix="gu"))
        self.esdorp = self.srv.login(ESDORP)
        self.coord = self.srv.login(COORDINATOR)
        self.provider = h.DEMO_PROVIDER_IDS[ESDORP]
        self.guest = self.srv.request("POST", "/v1/guests", GUEST, token=self.cg).json["id"]

    def day(self, offset):
        return self.today + dt.timedelta(days=offset)

    def pool(self, beds, first, last, name):
        return h.make_pool(self.srv, self.url, self.esdorp, self.provider, beds, self.day(first),
                           self.day(last), care_profiles=("youth",), name=name)

    def fill(self, pool, first, last):
        resp = self.srv.request("POST", "/v1/stays", h.stay_body(
            pool.id, self.day(first), self.day(last), funding="zvw", care_profile="youth"),
            token=self.filler)
        if resp.status != 201:
            raise RuntimeError(f"the filler stay was refused: {resp!r}")
        return resp.json["id"]

    def request(self, pool, first, last, guest=True):
        body = {"pool_id": pool.id, "check_in": str(self.day(first)),
                "check_out": str(self.day(last)), "funding": "zvw", "waitlist": True}
        if guest:
            body["guest_id"] = self.guest
        else:
            body["guest"] = dict(GUEST)
        return self.srv.request("POST", "/v1/stays", body, token=self.cg)

    def deadline_today(self, stay_id):
        h.psql(self.url, "UPDATE stays SET guarantee_deadline = logeer_today() "
                         f"WHERE id = '{stay_id}'")

    def escalations_of(self, stay_id):
        return int(h.scalar(self.url,
                            f"SELECT count(*) FROM escalations WHERE stay_id = '{stay_id}'"))


def world():
    return h.once("world", World)


def test_unplaced_request_becomes_one_escalation_with_options():
    w = world()
    full = w.pool(1, 0, 120, "Guarantee full")
    room = w.pool(2, 0, 120, "Guarantee room")
    w.fill(full, 50, 53)
    resp = w.request(full, 50, 53)
    body = resp.json or {}
    h.check("a request 50 days ahead for a full pool waits (201 waitlisted)",
            resp.status == 201 and body.get("status") == "waitlisted", repr(resp))
    h.check("it is guaranteed with deadline earliest check-in minus 14 days",
            body.get("guaranteed") is True
            and body.get("guarantee_deadline") == str(w.day(36)), body)
    sid = body["id"]
    read = w.srv.get(f"/v1/stays/{sid}", token=w.cg)
    h.check("the stay read later shows the guarantee too",
            read.status == 200 and read.json.get("guaranteed") is True, repr(read))

    w.deadline_today(sid)
    opened = h.wait_until(lambda: w.escalations_of(sid) == 1, ESCALATE_WITHIN)
    h.check(f"the job opens an escalation within {ESCALATE_WITHIN} s of the deadline", opened)
    h.wait_until(lambda: False, 2.5)  # a few more runs of the job
    h.check_equal("it is opened once, however often the job runs", w.escalations_of(sid), 1)
    h.check_equal("escalation.opened is in the outbox once", h.scalar(
        w.url, f"SELECT count(*) FROM events WHERE type = 'escalation.opened' "
               f"AND stay_id = '{sid}'"), "1")

    listed = w.srv.get("/v1/escalations?status=open", token=w.coord)
    mine = [e for e in (listed.json or {}).get("escalations", []) if e["stay"]["id"] == sid]
    h.check("the coordinator's list of open escalations has it",
            listed.status == 200 and len(mine) == 1, repr(listed))
    esc = mine[0] if mine else {"id": "x", "options": {"pools": [], "dates": []}, "stay": {}}
    pools = esc["options"]["pools"]
    h.check("its options list the other pool with room for the same nights",
            [(p["pool_id"], p["check_in"], p["check_out"]) for p in pools]
            == [(room.id, str(w.day(50)), str(w.day(53)))], pools)
    dates = esc["options"]["dates"]
    h.check("its options list nearby dates in the requested pool, nearest first",
            [d["check_in"] for d in dates] == [str(w.day(n)) for n in (47, 53, 46, 54, 45)]
            and all(d["check_out"] == str(dt.date.fromisoformat(d["check_in"])
                                          + dt.timedelta(days=3)) for d in dates), dates)
    h.check("the stay shows the care profile and no other guest details",
            esc["stay"].get("care_profile") == "youth"
            and not {"guest", "guest_id", "alias"} & set(esc["stay"]), esc["stay"])

    eid = esc["id"]
    one = w.srv.get(f"/v1/escalations/{eid}", token=w.coord)
    h.check("GET /v1/escalations/{id} answers it", one.status == 200
            and one.json.get("status") == "open" and one.json.get("deadline") == str(w.today),
            repr(one))
    h.check("reads are in the access log", int(h.scalar(
        w.url, f"SELECT count(*) FROM access_log WHERE stay_id = '{sid}' "
               "AND action LIKE 'escalation.%'")) >= 2)

    for email, token in (("caregiver", w.cg), ("provider staff", w.esdorp)):
        h.check_problem(f"{email} may not list escalations",
                        w.srv.get("/v1/escalations", token=token), 403)
        h.check_problem(f"{email} may not read one", w.srv.get(f"/v1/escalations/{eid}",
                                                               token=token), 403)
        h.check_problem(f"{email} may not resolve one", w.srv.request(
            "POST", f"/v1/escalations/{eid}/resolve", {"resolution": "placed"}, token=token), 403)

    bad = w.srv.request("POST", f"/v1/escalations/{eid}/resolve", {"resolution": "maybe"},
                        token=w.coord)
    h.check_problem("an unknown resolution is 422", bad, 422)
    bad = w.srv.request("POST", f"/v1/escalations/{eid}/resolve",
                        {"resolution": "placed", "note": "BSN 123456782"}, token=w.coord)
    h.check_problem("a note with a citizen service number is 422", bad, 422)
    h.check_problem("a status filter other than open or resolved is 422",
                    w.srv.get("/v1/escalations?status=closed", token=w.coord), 422)
    done = w.srv.request("POST", f"/v1/escalations/{eid}/resolve",
                         {"resolution": "offered_alternative",
                          "note": "Andere locatie aangeboden"}, token=w.coord)
    h.check("the coordinator resolves it (200, resolved)", done.status == 200
            and done.json.get("status") == "resolved"
            and done.json.get("resolution") == "offered_alternative", repr(done))
    again = w.srv.request("POST", f"/v1/escalations/{eid}/resolve", {"resolution": "placed"},
                          token=w.coord)
    h.check("resolving twice is 409 naming the first resolution", h.is_problem(again, 409)
            and (again.json or {}).get("resolution") == "offered_alternative", repr(again))
    h.check_equal("escalation.resolved is in the outbox once", h.scalar(
        w.url, f"SELECT count(*) FROM events WHERE type = 'escalation.resolved' "
               f"AND stay_id = '{sid}'"), "1")
    resolved = w.srv.get("/v1/escalations?status=resolved", token=w.coord)
    h.check("it is listed as resolved", any(
        e["id"] == eid for e in (resolved.json or {}).get("escalations", [])), repr(resolved))
    h.check_problem("an unknown escalation is 404", w.srv.get(
        "/v1/escalations/00000000-0000-4000-a000-000000000000", token=w.coord), 404)


def test_placed_or_cancelled_requests_are_never_escalated():
    w = world()
    pool = w.pool(1, 0, 120, "Guarantee placed")
    w.fill(pool, 60, 63)
    wait = w.request(pool, 60, 63)
    h.check("a guaranteed request waits (201)", wait.status == 201
            and wait.json.get("guaranteed") is True, repr(wait))
    sid = wait.json["id"]
    resp = h.put_capacity(w.srv, w.esdorp, pool.id,
                          [{"from": w.day(60), "to": w.day(63), "beds": 2}])
    h.check_equal("the provider adds a bed (PUT capacity 200)", resp.status, 200)
    offered = h.wait_until(lambda: h.scalar(
        w.url, f"SELECT status FROM stays WHERE id = '{sid}'") == "held", 10)
    h.check("the waitlist offers it the freed nights (held)", offered)
    w.deadline_today(sid)

    w.fill(pool, 70, 73)
    cancelled = w.request(pool, 70, 73)
    h.check("a second guaranteed request waits (201)", cancelled.status == 201
            and cancelled.json.get("guaranteed") is True, repr(cancelled))
    cid = cancelled.json["id"]
    resp = w.srv.request("POST", f"/v1/stays/{cid}/cancel", {"reason": "niet meer nodig"},
                         token=w.cg)
    h.check_equal("a second guaranteed request is cancelled (200)", resp.status, 200)
    w.deadline_today(cid)

    h.wait_until(lambda: False, 3.5)  # several runs of the job
    h.check_equal("the offered request is not escalated", w.escalations_of(sid), 0)
    h.check_equal("the cancelled request is not escalated", w.escalations_of(cid), 0)


def test_short_notice_and_anonymous_requests_are_not_guaranteed():
    w = world()
    pool = w.pool(1, 0, 120, "Guarantee short")
    w.fill(pool, 10, 13)
    w.fill(pool, 80, 83)
    short = w.request(pool, 10, 13)
    h.check("a request 10 days ahead waits but is not guaranteed", short.status == 201
            and short.json.get("status") == "waitlisted"
            and short.json.get("guaranteed") is False
            and short.json.get("guarantee_deadline") is None, repr(short))
    anon = w.request(pool, 80, 83, guest=False)
    h.check("an anonymous (inline guest) request is not guaranteed", anon.status == 201
            and anon.json.get("status") == "waitlisted"
            and anon.json.get("guaranteed") is False, repr(anon))
    try:
        h.psql(w.url, "UPDATE stays SET guarantee_deadline = logeer_today() "
                      f"WHERE id = '{anon.json['id']}'")
        refused = False
    except h.SqlError:
        refused = True
    h.check("the database refuses a deadline without the guarantee", refused)


h.main(globals())
