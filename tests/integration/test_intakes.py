"""Intakes (kennismaking, docs/practice.md). In a pool with intake_required a booking before
the intake is refused with 409 intake-required (saying how to ask); the caregiver asks, the
provider schedules and decides; a welcome lets the booking through; trial_first limits the
stay to its nights until a new outcome; not_suitable refuses; an outcome lapses after the
location's intake_valid_days without a stay (the decision moved back in time from the test);
either side cancels before a decision. Search shows access intake_first for such a pool. Every
transition is an outbox event; reads are access-logged."""

import datetime as dt
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"
GUEST = {"alias": "dhr. K.", "birth_year": 1944, "care_profile": "dementia", "needs": []}


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        emails = h.add_caregivers(self.url, 2, prefix="ik")
        self.cg, self.cg2 = h.login_many(self.srv, emails)
        self.esdorp = self.srv.login(ESDORP)
        self.hunzehof = self.srv.login(HUNZEHOF)
        self.coord = self.srv.login(COORDINATOR)
        self.pool = h.make_pool(self.srv, self.url, self.esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 5,
                                self.today, self.today + dt.timedelta(days=60),
                                booking_mode="instant", name="Intake pool")
        resp = self.srv.request("PATCH", f"/v1/pools/{self.pool.id}", {"intake_required": True},
                                token=self.esdorp)
        h.check("PATCH /v1/pools/{id} sets intake_required", resp.status == 200
                and resp.json.get("intake_required") is True, repr(resp))
        self.location = self.pool.location_id

    def day(self, n):
        return str(self.today + dt.timedelta(days=n))

    def guest(self, token=None):
        resp = self.srv.request("POST", "/v1/guests", GUEST, token=token or self.cg)
        if resp.status != 201:
            raise RuntimeError(f"guest not created: {resp!r}")
        return resp.json["id"]

    def book(self, guest_id, first, last, token=None):
        body = {"pool_id": self.pool.id, "check_in": self.day(first), "check_out": self.day(last),
                "funding": "zvw", "guest_id": guest_id}
        return self.srv.request("POST", "/v1/stays", body, token=token or self.cg,
                                headers={"Idempotency-Key": uuid.uuid4().hex})

    def act(self, token, intake_id, action, body=None):
        return self.srv.request("POST", f"/v1/intakes/{intake_id}/{action}", body, token=token)

    def ask(self, guest_id, token=None):
        return self.srv.request("POST", "/v1/intakes",
                                {"guest_id": guest_id, "location_id": self.location,
                                 "moments": "dinsdagmiddag"}, token=token or self.cg)


def world():
    return h.once("world", World)


def confirm(w, stay):
    resp = w.srv.request("POST", f"/v1/stays/{stay['id']}/confirm", token=w.cg)
    h.check("the hold is confirmed", resp.status == 200, repr(resp))


def test_search_says_intake_first():
    w = world()
    found = None

    def intake_first_shown():
        # The index follows the pool's row through NOTIFY, a moment after the PATCH commits.
        nonlocal found
        resp = w.srv.get(f"/v1/availability?check_in={w.day(3)}&nights=2&limit=100",
                         token=w.cg)
        found = next((r for r in (resp.json or {}).get("results", [])
                      if r["pool_id"] == w.pool.id), None)
        return found is not None and found.get("access") == "intake_first"

    h.wait_until(intake_first_shown, 5 * h.SCALE)
    h.check("the pool is found with access intake_first", found is not None
            and found.get("access") == "intake_first", repr(found))
    # Other pools, where the demo has free beds (its planned beds are taken for the coming
    # weeks): intake_first exactly for those that require an intake, else direct or approval.
    needs_intake = {r[0] for r in h.psql(w.url, "SELECT id FROM pools WHERE intake_required")}
    later = w.srv.get(f"/v1/availability?check_in={w.day(80)}&nights=2&limit=100", token=w.cg)
    others = [(r["pool_id"] in needs_intake, r.get("access"))
              for r in (later.json or {}).get("results", []) if r["pool_id"] != w.pool.id]
    h.check("other pools say direct or approval, or intake_first when they require an intake",
            others and any(not n for n, _ in others)
            and all(a == "intake_first" if n else a in ("direct", "approval")
                    for n, a in others), others)


def test_booking_before_the_intake_is_refused():
    w = world()
    gid = w.guest()
    resp = w.book(gid, 3, 5)
    h.check("a booking for a guest without an intake is 409 intake-required",
            h.is_problem(resp, 409) and h.problem_type(resp) == "intake-required"
            and "POST /v1/intakes" in resp.json["detail"]
            and resp.json.get("location_id") == w.location, repr(resp))
    body = h.stay_body(w.pool.id, w.day(3), w.day(5))
    resp = w.srv.request("POST", "/v1/stays", body, token=w.cg)
    h.check("an inline (anonymous) guest is refused the same way",
            h.problem_type(resp) == "intake-required", repr(resp))


def test_intake_asked_scheduled_welcome_then_booking_accepted():
    w = world()
    gid = w.guest()
    resp = w.ask(gid)
    h.check("POST /v1/intakes is 201 requested", resp.status == 201
            and resp.json.get("status") == "requested"
            and resp.json.get("provider_id") == h.DEMO_PROVIDER_IDS[ESDORP], repr(resp))
    iid = resp.json["id"]
    h.check_problem("a second open request for the same guest and location is 409", w.ask(gid), 409)
    h.check_problem("the caregiver cannot decide", w.act(w.cg, iid, "decide",
                                                         {"outcome": "welcome"}), 403)
    h.check_problem("another provider cannot schedule it (404)",
                    w.act(w.hunzehof, iid, "schedule", {"at": "2030-01-01T10:00:00Z"}), 404)
    h.check_problem("deciding before scheduling is 409", w.act(w.esdorp, iid, "decide",
                                                               {"outcome": "welcome"}), 409)
    h.check_problem("a malformed moment is 422",
                    w.act(w.esdorp, iid, "schedule", {"at": "morgen"}), 422)
    at = f"{w.day(1)}T14:00:00Z"
    resp = w.act(w.esdorp, iid, "schedule", {"at": at})
    h.check("the provider schedules it", resp.status == 200
            and resp.json["status"] == "scheduled" and resp.json["scheduled_at"] == at, repr(resp))
    listed = w.srv.get(f"/v1/intakes?location_id={w.location}&status=scheduled", token=w.esdorp)
    h.check("the provider's list shows it", listed.status == 200
            and iid in [i["id"] for i in listed.json["intakes"]], repr(listed))
    h.check("the provider now reads the guest", w.srv.get(f"/v1/guests/{gid}",
                                                          token=w.esdorp).status == 200)
    resp = w.act(w.esdorp, iid, "decide", {"outcome": "welcome", "notes": "alleen weekenden"})
    h.check("the provider decides welcome; valid_until is 730 days on", resp.status == 200
            and resp.json["outcome"] == "welcome" and resp.json["lapsed"] is False
            and resp.json["valid_until"] == str(w.today + dt.timedelta(days=730)), repr(resp))
    h.check_problem("cancelling after the decision is 409", w.act(w.cg, iid, "cancel"), 409)
    resp = w.book(gid, 3, 6)
    h.check("the booking is now accepted (201 held)", resp.status == 201
            and resp.json["status"] == "held" and resp.json["guest_id"] == gid, repr(resp))
    confirm(w, resp.json)
    types = [r[0] for r in h.psql(w.url, "SELECT type FROM events WHERE payload->>'intake_id' = "
                                         f"'{iid}' ORDER BY id")]
    h.check_equal("each transition is an outbox event", types,
                  ["intake.requested", "intake.scheduled", "intake.decided"])
    logged = h.scalar(w.url, f"SELECT count(*) FROM access_log WHERE guest_id = '{gid}' "
                             "AND action LIKE 'intake.%'")
    h.check("intake reads and changes are access-logged", int(logged) >= 4, logged)
    h.check("the coordinator reads the intake",
            w.srv.get(f"/v1/intakes/{iid}", token=w.coord).status == 200)
    h.check_problem("another caregiver does not (404)",
                    w.srv.get(f"/v1/intakes/{iid}", token=w.cg2), 404)


def test_intake_names_its_location_for_the_caregiver():
    # Caregivers may not read /v1/locations, so every intake answer names its location.
    w = world()
    gid = w.guest()
    name = h.scalar(w.url, f"SELECT name FROM locations WHERE id = '{w.location}'")
    municipality = h.scalar(w.url, f"SELECT municipality FROM locations WHERE id = '{w.location}'")
    want = {"id": w.location, "name": name, "municipality": municipality}
    h.check_problem("a caregiver may not read the location itself",
                    w.srv.get(f"/v1/locations/{w.location}", token=w.cg), 403)
    created = w.ask(gid)
    h.check_equal("POST /v1/intakes names the location", created.json.get("location"), want)
    iid = created.json["id"]
    one = w.srv.get(f"/v1/intakes/{iid}", token=w.cg)
    h.check_equal("GET /v1/intakes/{id} names the location", one.json.get("location"), want)
    listed = w.srv.get(f"/v1/intakes?guest_id={gid}", token=w.cg)
    h.check_equal("GET /v1/intakes names the location",
                  [i.get("location") for i in listed.json["intakes"]], [want])
    moved = w.act(w.esdorp, iid, "schedule", {"at": f"{w.day(2)}T10:00:00Z"})
    h.check_equal("a transition's answer names the location", moved.json.get("location"), want)
    h.check_problem("a refused transition is still a problem, not a body",
                    w.act(w.cg, iid, "decide", {"outcome": "welcome"}), 403)
    cancelled = w.act(w.cg, iid, "cancel")
    h.check_equal("a cancel's answer names the location", cancelled.json.get("location"), want)
    h.check_problem("a stale transition is 409", w.act(w.cg, iid, "cancel"), 409)


def decided(w, gid, outcome, **extra):
    iid = w.ask(gid).json["id"]
    w.act(w.esdorp, iid, "schedule", {"at": f"{w.day(1)}T10:00:00Z"})
    resp = w.act(w.esdorp, iid, "decide", dict(outcome=outcome, **extra))
    h.check(f"decided {outcome}", resp.status == 200, repr(resp))
    return iid


def test_trial_first_limits_the_stay():
    w = world()
    gid = w.guest()
    h.check_problem("trial_first without trial_max_nights is 422",
                    w.act(w.esdorp, w.ask(gid).json["id"], "decide", {"outcome": "trial_first"}),
                    422)
    open_id = w.srv.get(f"/v1/intakes?guest_id={gid}&status=requested",
                        token=w.cg).json["intakes"][0]["id"]
    w.act(w.cg, open_id, "cancel", {"reason": "andere dag"})
    iid = decided(w, gid, "trial_first", trial_max_nights=2)
    h.check_equal("the decision's answer has no trial stay yet",
                  w.srv.get(f"/v1/intakes/{iid}", token=w.esdorp).json.get("trial_stay", "absent"),
                  None)
    resp = w.book(gid, 10, 13)
    h.check("a 3-night stay after a 2-night trial outcome is 422 on check_out",
            h.is_problem(resp, 422) and any(e["field"] == "check_out"
                                            for e in resp.json.get("errors", [])), repr(resp))
    resp = w.book(gid, 10, 12)
    h.check("a 2-night trial stay is accepted", resp.status == 201, repr(resp))
    confirm(w, resp.json)
    trial = resp.json["id"]
    check_waiting_after_trial(w, gid, iid, trial)
    resp = w.act(w.esdorp, iid, "decide", {"outcome": "welcome"})
    h.check("after the trial the provider records welcome", resp.status == 200
            and resp.json["outcome"] == "welcome" and resp.json["trial_max_nights"] is None,
            repr(resp))
    h.check("now a longer stay is accepted", w.book(gid, 20, 24).status == 201)
    h.check_problem("a welcome is final: deciding again is 409",
                    w.act(w.esdorp, iid, "decide", {"outcome": "not_suitable",
                                                    "reason": "x"}), 409)


def waiting_after_trial(w, token, query=""):
    resp = w.srv.get("/v1/intakes?status=decided&outcome=trial_first&limit=200" + query,
                     token=token)
    return resp, {i["id"]: i for i in (resp.json or {}).get("intakes", [])}


def check_waiting_after_trial(w, gid, iid, trial):
    """The bed board's question: the intakes waiting for the decision after a trial, each with
    its trial stay; only the provider's own; the outcome filter checked like any other."""
    resp, listed = waiting_after_trial(w, w.esdorp)
    h.check("GET /v1/intakes?status=decided&outcome=trial_first lists the trial intake",
            resp.status == 200 and iid in listed, repr(resp)[:300])
    h.check("every intake listed is decided trial_first",
            all(i["status"] == "decided" and i["outcome"] == "trial_first"
                for i in listed.values()), [(i["status"], i["outcome"]) for i in listed.values()])
    h.check_equal("its trial_stay is the confirmed trial stay",
                  listed.get(iid, {}).get("trial_stay"),
                  {"id": trial, "check_in": w.day(10), "check_out": w.day(12),
                   "status": "confirmed"})
    h.check_equal("another provider sees none of them", waiting_after_trial(w, w.hunzehof)[1], {})
    h.check_problem("an unknown outcome is 422", w.srv.get("/v1/intakes?outcome=maybe",
                                                           token=w.esdorp), 422)
    _, welcome = waiting_after_trial(w, w.esdorp, "&guest_id=" + gid)
    h.check("the filters combine (guest_id)", set(welcome) == {iid}, list(welcome))
    # A cancelled trial stay is no trial: the intake then shows none, until another is booked.
    other = w.book(gid, 30, 31)
    h.check("a second stay within the trial's nights is accepted", other.status == 201,
            repr(other))
    h.check_equal("the latest stay asked after the decision is the trial shown",
                  waiting_after_trial(w, w.esdorp)[1].get(iid, {}).get("trial_stay", {}).get("id"),
                  other.json["id"])
    resp = w.srv.request("POST", f"/v1/stays/{other.json['id']}/cancel",
                         {"reason": "toch niet"}, token=w.cg)
    h.check("the second stay is cancelled", resp.status == 200, repr(resp))
    h.check_equal("a cancelled stay is passed over: the confirmed one is shown again",
                  waiting_after_trial(w, w.esdorp)[1].get(iid, {}).get("trial_stay", {}).get("id"),
                  trial)


def test_not_suitable_and_cancel():
    w = world()
    gid = w.guest(w.cg2)
    iid = w.ask(gid, w.cg2).json["id"]
    w.act(w.esdorp, iid, "schedule", {"at": f"{w.day(2)}T10:00:00Z"})
    h.check_problem("not_suitable without a reason is 422",
                    w.act(w.esdorp, iid, "decide", {"outcome": "not_suitable"}), 422)
    resp = w.act(w.esdorp, iid, "decide", {"outcome": "not_suitable",
                                           "reason": "geen plek voor tilhulp"})
    h.check("not_suitable with a reason is recorded", resp.status == 200, repr(resp))
    h.check("a booking after not_suitable is 409 intake-required",
            h.problem_type(w.book(gid, 3, 4, w.cg2)) == "intake-required")
    iid2 = w.ask(gid, w.cg2).json["id"]
    resp = w.act(w.esdorp, iid2, "cancel", {"reason": "geen capaciteit voor intakes"})
    h.check("the provider cancels an open request", resp.status == 200
            and resp.json["status"] == "cancelled"
            and resp.json["cancelled_by_role"] == "provider", repr(resp))
    h.check_problem("cancelling twice is 409", w.act(w.cg2, iid2, "cancel"), 409)


def test_outcome_lapses_after_the_period():
    w = world()
    gid = w.guest()
    iid = decided(w, gid, "welcome")
    h.check("booking works while the outcome is valid", w.book(gid, 30, 32).status == 201)
    # Move the decision (and with it the only clock the rule reads) 731 days back: the guest
    # has no confirmed stay at the location, so the outcome lapsed yesterday.
    h.psql(w.url, f"UPDATE intakes SET decided_at = decided_at - interval '731 days' "
                  f"WHERE id = '{iid}'")
    resp = w.srv.get(f"/v1/intakes/{iid}", token=w.cg)
    h.check("the intake shows lapsed", resp.status == 200 and resp.json["lapsed"] is True,
            repr(resp))
    resp = w.book(gid, 40, 42)
    h.check("a booking after the lapse is 409 intake-required with lapsed true",
            h.problem_type(resp) == "intake-required" and resp.json.get("lapsed") is True,
            repr(resp))
    h.check("a new intake can be asked", w.ask(gid).status == 201)


h.main(globals())
