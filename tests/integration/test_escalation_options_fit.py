"""Escalation options are stays their pool would take (docs/practice.md, the planned-stay
guarantee; migration 0021). A guaranteed request for a Friday-to-Monday block in a full pool
with blocks ma-wo, wo-vr and vr-ma is escalated; the other pools have rules of their own (only
Tuesday arrivals, only a Thursday block of three nights, a lead time that covers the first
days of the window, a minimum of four nights, a kennismaking first). Every option the engine
offers - other pools, nearby dates and other lengths in the requested pool - is then booked
through the API as the caregiver would, and each booking must be taken (201); the pools that
can take no stay of the asked length for this guest are not offered at all. That the rules are
live is shown first: the same pools refuse the window's first day. The waiting list's own offer
obeys the blocks too: freed nights from a Monday are offered from the next Friday that starts a
block, not as Monday to Thursday."""

import datetime as dt
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"
# A care profile no demo pool takes on zvw, so that the options list only the pools made here.
GUEST = {"alias": "K.", "birth_year": 2013, "care_profile": "youth", "needs": []}
ENV = {"LOGEER_GUARANTEE_CHECK_S": "1", "LOGEER_MAX_OPEN_STAYS": "50"}
BLOCKS = [{"arrive": 1, "nights": 2}, {"arrive": 3, "nights": 2}, {"arrive": 5, "nights": 3}]
ESCALATE_WITHIN = 10


def fits_blocks(blocks, check_in, nights):
    """src/core/rules.c's chain rule, written out again: the stay is a chain of blocks."""
    reached = {0}
    for d in range(nights):
        if d not in reached:
            continue
        weekday = (check_in + dt.timedelta(days=d)).isoweekday()
        for b in blocks:
            if b["arrive"] == weekday and d + b["nights"] <= nights:
                reached.add(d + b["nights"])
    return nights in reached


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.srv = h.Server(self.url, env=ENV, keep=True)
        self.today = h.today_local(self.url)
        self.cg, self.filler = h.login_many(self.srv, h.add_caregivers(self.url, 2, prefix="of"))
        self.esdorp = self.srv.login(ESDORP)
        self.coord = self.srv.login(COORDINATOR)
        self.provider = h.DEMO_PROVIDER_IDS[ESDORP]
        self.guest = self.srv.request("POST", "/v1/guests", GUEST, token=self.cg).json["id"]
        # The asked Friday: far enough ahead for the guarantee (42 days).
        self.friday = self.today + dt.timedelta(days=56)
        while self.friday.isoweekday() != 5:
            self.friday += dt.timedelta(days=1)

    def day(self, offset):
        """A day counted from the asked Friday."""
        return self.friday + dt.timedelta(days=offset)

    def pool(self, name, beds=2, rules=None, **limits):
        pool = h.make_pool(self.srv, self.url, self.esdorp, self.provider, beds, self.today,
                           self.today + dt.timedelta(days=120), care_profiles=("youth",),
                           name=name, **limits)
        if rules:
            resp = self.srv.request("PATCH", f"/v1/pools/{pool.id}", rules, token=self.esdorp)
            if resp.status != 200:
                raise RuntimeError(f"PATCH of {name} refused: {resp!r}")
        return pool

    def book(self, pool_id, check_in, check_out, token=None, guest=True):
        body = {"pool_id": pool_id, "check_in": str(check_in), "check_out": str(check_out),
                "funding": "zvw"}
        if guest:
            body["guest_id"] = self.guest
        else:
            body["guest"] = dict(GUEST)
        return self.srv.request("POST", "/v1/stays", body, token=token or self.cg,
                                headers={"Idempotency-Key": uuid.uuid4().hex})

    def cancel(self, stay_id):
        return self.srv.request("POST", f"/v1/stays/{stay_id}/cancel",
                                {"reason": "alleen geprobeerd"}, token=self.cg)


def world():
    return h.once("world", World)


def test_every_option_is_a_stay_its_pool_takes():
    w = world()
    asked = w.pool("Opties blokken", beds=1, rules={"blocks": BLOCKS})
    tuesday = w.pool("Opties dinsdag", rules={"arrival_weekdays": [2]})
    thursday = w.pool("Opties donderdagblok", rules={"blocks": [{"arrive": 4, "nights": 3}]})
    lead = w.pool("Opties ver vooruit", lead_days=(w.day(2) - w.today).days)
    longer = w.pool("Opties minstens vier", min_nights=4)
    intake = w.pool("Opties kennismaking", rules={"intake_required": True})

    # The rules are live: each of these pools refuses the window's first day.
    for name, pool in (("only Tuesdays", tuesday), ("a Thursday block", thursday),
                       ("a lead time past it", lead)):
        resp = w.book(pool.id, w.day(0), w.day(3), token=w.filler, guest=False)
        h.check(f"the pool with {name} refuses Friday to Monday (422)",
                h.is_problem(resp, 422), repr(resp))
    resp = w.book(intake.id, w.day(0), w.day(3))
    h.check("the pool that asks a kennismaking first refuses the guest without one (4xx)",
            resp.status in (409, 422), repr(resp))

    fill = w.book(asked.id, w.day(0), w.day(3), token=w.filler, guest=False)
    h.check("another family takes the asked block (201)", fill.status == 201, repr(fill))
    body = {"pool_id": asked.id, "check_in": str(w.day(0)), "check_out": str(w.day(3)),
            "funding": "zvw", "guest_id": w.guest, "waitlist": True,
            "waitlist_window": {"earliest_check_in": str(w.day(0)),
                                "latest_check_out": str(w.day(10))}}
    wait = w.srv.request("POST", "/v1/stays", body, token=w.cg)
    h.check("the guest's request waits, guaranteed (201 waitlisted)", wait.status == 201
            and wait.json.get("status") == "waitlisted" and wait.json.get("guaranteed") is True,
            repr(wait))
    sid = wait.json["id"]
    h.psql(w.url, f"UPDATE stays SET guarantee_deadline = logeer_today() WHERE id = '{sid}'")
    opened = h.wait_until(lambda: h.scalar(
        w.url, f"SELECT count(*) FROM escalations WHERE stay_id = '{sid}'") == "1",
        ESCALATE_WITHIN)
    h.check(f"the request is escalated within {ESCALATE_WITHIN} s of its deadline", opened)
    listed = w.srv.get("/v1/escalations?status=open", token=w.coord)
    esc = next((e for e in (listed.json or {}).get("escalations", [])
                if e["stay"]["id"] == sid), None)
    h.check("the coordinator reads the escalation", esc is not None, repr(listed))
    if esc is None:
        return
    options = esc["options"]

    offered = {p["pool_id"]: (p["check_in"], p["check_out"]) for p in options["pools"]}
    h.check("the Tuesday pool is offered from the first Tuesday in the window",
            offered.get(tuesday.id) == (str(w.day(4)), str(w.day(7))), offered)
    h.check("the Thursday-block pool is offered from the first Thursday in the window",
            offered.get(thursday.id) == (str(w.day(6)), str(w.day(9))), offered)
    h.check("the pool with a lead time is offered from its first day that may be booked",
            offered.get(lead.id) == (str(w.day(2)), str(w.day(5))), offered)
    h.check("a pool that takes no stay this short is not offered", longer.id not in offered,
            offered)
    h.check("a pool that asks a kennismaking the guest has not had is not offered",
            intake.id not in offered, offered)
    h.check_equal("nearby dates in the requested pool are its other free Fridays, nearest first",
                  [(d["check_in"], d["check_out"]) for d in options["dates"]],
                  [(str(w.day(n)), str(w.day(n + 3))) for n in (-7, 7, 14)])
    shapes = options.get("shapes") or []
    h.check("other lengths in the requested pool are offered, each a chain of its blocks",
            shapes and all(s["nights"] != 3 and fits_blocks(
                BLOCKS, dt.date.fromisoformat(s["check_in"]), s["nights"])
                and s["check_out"] == str(dt.date.fromisoformat(s["check_in"])
                                          + dt.timedelta(days=s["nights"]))
                for s in shapes), shapes)
    h.check_equal("the nearest length comes first: Monday to Friday (4 nights)",
                  (shapes[0]["check_in"], shapes[0]["nights"]) if shapes else None,
                  (str(w.day(3)), 4))

    # The request itself leaves the waiting list first: otherwise each tried option, cancelled
    # again, would release its nights to this very request and the next try would meet them held.
    h.check_equal("the family withdraws the request before the options are tried (200)",
                  w.cancel(sid).status, 200)
    tried = [("pool " + p["pool_id"][:8], p["pool_id"], p["check_in"], p["check_out"])
             for p in options["pools"]]
    tried += [("date", asked.id, d["check_in"], d["check_out"]) for d in options["dates"]]
    tried += [("shape", asked.id, s["check_in"], s["check_out"]) for s in shapes]
    refused = []
    for what, pool_id, check_in, check_out in tried:
        resp = w.book(pool_id, check_in, check_out)
        if resp.status != 201 or resp.json.get("status") not in ("held", "requested"):
            refused.append((what, check_in, check_out, resp.status,
                            (resp.json or {}).get("errors") or (resp.json or {}).get("title")))
            continue
        done = w.cancel(resp.json["id"])
        if done.status != 200:
            raise RuntimeError(f"cancelling the tried option failed: {done!r}")
    h.check(f"every one of the {len(tried)} options is taken when booked through the API",
            len(tried) >= 8 and not refused, refused)


def test_a_waitlist_offer_is_a_stay_the_pool_takes():
    w = world()
    pool = w.pool("Wachtlijst blokken", beds=1, rules={"blocks": BLOCKS})
    fill = w.book(pool.id, w.day(0), w.day(3), token=w.filler, guest=False)
    h.check("another family takes Friday to Monday (201)", fill.status == 201, repr(fill))
    monday = w.book(pool.id, w.day(3), w.day(5), token=w.filler, guest=False)
    h.check("and Monday to Wednesday (201)", monday.status == 201, repr(monday))
    body = {"pool_id": pool.id, "check_in": str(w.day(0)), "check_out": str(w.day(3)),
            "funding": "zvw", "guest_id": w.guest, "waitlist": True,
            "waitlist_window": {"earliest_check_in": str(w.day(0)),
                                "latest_check_out": str(w.day(10))}}
    wait = w.srv.request("POST", "/v1/stays", body, token=w.cg)
    h.check("the guest waits for three nights in a ten-day window (201 waitlisted)",
            wait.status == 201 and wait.json.get("status") == "waitlisted", repr(wait))
    sid = wait.json["id"]
    resp = w.srv.request("POST", f"/v1/stays/{monday.json['id']}/cancel",
                         {"reason": "toch niet"}, token=w.filler)
    h.check_equal("Monday to Wednesday is cancelled, freeing Monday on (200)", resp.status, 200)
    offered = h.wait_until(lambda: h.scalar(
        w.url, f"SELECT status FROM stays WHERE id = '{sid}'") == "held", 10)
    stay = w.srv.get(f"/v1/stays/{sid}", token=w.cg).json or {}
    h.check("the waiting list offers Friday to Monday, the first block that fits, not "
            "Monday to Thursday", offered and (stay.get("check_in"), stay.get("check_out"))
            == (str(w.day(7)), str(w.day(10))), stay)
    resp = w.srv.request("POST", f"/v1/stays/{sid}/confirm", {}, token=w.cg)
    h.check("the caregiver confirms the offer (200 confirmed)", resp.status == 200
            and resp.json.get("status") == "confirmed", repr(resp))


h.main(globals())
