"""Blocks and arrival rules per pool (docs/practice.md). A pool with blocks ma-wo (2 nights),
wo-vr (2) and vr-ma (3) refuses a booking outside them with 422 naming the patterns in Dutch
(check_in for a wrong arrival day, check_out for nights that are no whole chain), takes one
block and a chain of blocks, and search never proposes a stay that does not fit (and does
propose those that do, with flex_days at the nearest fitting arrival). The rules and windows
are set and validated per field on the pools API, shown in search results, and a PATCH of the
rules reaches search within a second."""

import datetime as dt
import time
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"
BLOCKS = [{"arrive": 1, "nights": 2}, {"arrive": 3, "nights": 2}, {"arrive": 5, "nights": 3}]
PATTERNS = ("aankomst op maandag, woensdag of vrijdag; blokken ma\u2013wo (2 nachten), "
            "wo\u2013vr (2), vr\u2013ma (3)")
DEMO_BLOCK_POOL = "d2000000-0000-4000-a000-000000000009"


def fits(blocks, weekdays, check_in, nights):
    """The rule of src/core/rules.c, written out again: the arrival day, then a chain."""
    allowed = set(weekdays) or set(range(1, 8))
    if blocks:
        allowed &= {b["arrive"] for b in blocks}
    if check_in.isoweekday() not in allowed:
        return False
    if not blocks:
        return True
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
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        self.cgs = h.login_many(self.srv, h.add_caregivers(self.url, 4, prefix="bl"))
        self.esdorp = self.srv.login(ESDORP)
        self.coord = self.srv.login(COORDINATOR)
        self.pool = self.make_pool("Blokkenpool")
        resp = self.srv.request("PATCH", f"/v1/pools/{self.pool.id}",
                                {"blocks": BLOCKS, "check_in_window": "14:00-17:00",
                                 "check_out_window": "10:00-12:00"}, token=self.esdorp)
        h.check("PATCH /v1/pools/{id} sets blocks and windows", resp.status == 200
                and resp.json.get("blocks") == BLOCKS
                and resp.json.get("check_in_window") == "14:00-17:00"
                and resp.json.get("check_out_window") == "10:00-12:00"
                and resp.json.get("arrival_weekdays") == [], repr(resp))
        self.wait_for_rules(self.pool.id, BLOCKS)

    def make_pool(self, name):
        return h.make_pool(self.srv, self.url, self.esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 5,
                           self.today, self.today + dt.timedelta(days=70),
                           booking_mode="instant", name=name, max_nights=21)

    def next_weekday(self, iso, after=1):
        """The first date with ISO weekday iso at least `after` days from today."""
        d = self.today + dt.timedelta(days=after)
        while d.isoweekday() != iso:
            d += dt.timedelta(days=1)
        return d

    def search(self, check_in, nights, flex=0, token=None):
        resp = self.srv.get(f"/v1/availability?check_in={check_in}&nights={nights}"
                            f"&flex_days={flex}&care_profile=dementia&municipality=GM0106"
                            f"&limit=100", token=token or self.cgs[0])
        if resp.status != 200:
            raise RuntimeError(f"search refused: {resp!r}")
        return resp.json["results"]

    def found(self, pool_id, check_in, nights, flex=0):
        for r in self.search(check_in, nights, flex):
            if r["pool_id"] == pool_id:
                return r
        return None

    def wait_for_rules(self, pool_id, blocks, seconds=1.0):
        """Until a search shows the pool's new blocks (the index follows the pool's row)."""
        deadline = time.monotonic() + seconds
        monday = self.next_weekday(1, 7)
        while True:
            r = self.found(pool_id, monday, 7)
            if r is not None and r.get("blocks") == blocks:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def book(self, check_in, nights, cg=0):
        body = h.stay_body(self.pool.id, check_in, check_in + dt.timedelta(days=nights),
                           funding="zvw")
        return self.srv.request("POST", "/v1/stays", body, token=self.cgs[cg],
                                headers={"Idempotency-Key": uuid.uuid4().hex})


def world():
    return h.once("world", World)


def field_messages(resp):
    return {e.get("field"): e.get("message") for e in (resp.json or {}).get("errors", [])}


def test_a_booking_outside_the_blocks_is_refused_naming_the_patterns():
    w = world()
    tuesday = w.next_weekday(2)
    resp = w.book(tuesday, 2)
    errors = field_messages(resp)
    h.check("a Tuesday arrival is 422 on check_in naming the patterns in Dutch",
            h.is_problem(resp, 422) and PATTERNS in (errors.get("check_in") or "")
            and "check_out" not in errors, repr(resp))
    monday = w.next_weekday(1)
    for nights in (1, 3, 5):
        resp = w.book(monday, nights)
        errors = field_messages(resp)
        h.check(f"Monday + {nights} nights (no whole chain) is 422 on check_out with the patterns",
                h.is_problem(resp, 422) and PATTERNS in (errors.get("check_out") or "")
                and "check_in" not in errors, repr(resp))
    saturday = w.next_weekday(6)
    resp = w.book(saturday, 3)
    h.check("a Saturday arrival is 422 on check_in", h.is_problem(resp, 422)
            and "check_in" in field_messages(resp), repr(resp))


def test_one_block_and_a_chain_of_blocks_are_accepted():
    w = world()
    monday = w.next_weekday(1)
    resp = w.book(monday, 2, cg=0)
    h.check("Monday to Wednesday (one block) is 201", resp.status == 201, repr(resp))
    wednesday = w.next_weekday(3, 8)
    resp = w.book(wednesday, 5, cg=1)
    h.check("Wednesday to Monday (wo-vr + vr-ma) is 201", resp.status == 201
            and resp.json["check_out"] == str(wednesday + dt.timedelta(days=5)), repr(resp))
    friday = w.next_weekday(5, 15)
    resp = w.book(friday, 7, cg=2)
    h.check("Friday to Friday (vr-ma + ma-wo + wo-vr) is 201", resp.status == 201, repr(resp))


def test_search_proposes_exactly_the_stays_that_fit():
    w = world()
    wrong, missing, checked = [], [], 0
    for start in range(1, 15):
        check_in = w.today + dt.timedelta(days=start)
        for nights in range(1, 10):
            r = w.found(w.pool.id, check_in, nights)
            checked += 1
            expected = fits(BLOCKS, [], check_in, nights)
            if r is not None and not expected:
                wrong.append((str(check_in), nights))
            if r is None and expected:
                missing.append((str(check_in), nights))
    h.check(f"no search of {checked} proposes a stay that does not fit", not wrong, wrong[:5])
    h.check("every fitting stay is proposed", not missing, missing[:5])


def test_flex_days_moves_the_arrival_to_a_day_that_fits():
    w = world()
    shown = []
    for start in range(1, 15):
        check_in = w.today + dt.timedelta(days=start)
        for nights in (2, 3, 4, 5, 7):
            r = w.found(w.pool.id, check_in, nights, flex=3)
            if r is None:
                continue
            got = dt.date.fromisoformat(r["check_in"])
            shown.append(r)
            h.check(f"flex from {check_in} for {nights} nights proposes a fitting arrival "
                    f"({got}, {r['flex_shift']:+d})",
                    fits(BLOCKS, [], got, nights) and abs((got - check_in).days) <= 3
                    and r["flex_shift"] == (got - check_in).days, repr(r))
    tuesday = w.next_weekday(2)
    r = w.found(w.pool.id, tuesday, 2, flex=1)
    h.check("a Tuesday search for 2 nights with flex_days=1 moves to Monday or Wednesday",
            r is not None and r["check_in"] in (str(tuesday - dt.timedelta(days=1)),
                                                str(tuesday + dt.timedelta(days=1))), repr(r))
    h.check("flex found fitting stays", len(shown) > 10, len(shown))


def test_search_results_show_the_windows_and_blocks():
    w = world()
    r = w.found(w.pool.id, w.next_weekday(1), 2)
    h.check("the result shows check_in_window, check_out_window, blocks and arrival_weekdays",
            r is not None and r.get("check_in_window") == "14:00-17:00"
            and r.get("check_out_window") == "10:00-12:00" and r.get("blocks") == BLOCKS
            and r.get("arrival_weekdays") == [], repr(r))
    # Eleven weeks ahead: the demo has taken the Assen beds of the coming weeks.
    others = [x for x in w.search(w.next_weekday(1, 77), 2) if x["pool_id"] != w.pool.id]
    h.check("pools without rules show empty blocks and null windows", others and all(
        x.get("blocks") == [] and x.get("check_in_window") is None for x in others), others[:1])


def test_the_rules_are_validated_per_field():
    w = world()
    path = f"/v1/pools/{w.pool.id}"
    bad = [
        ({"arrival_weekdays": [0]}, "arrival_weekdays"),
        ({"arrival_weekdays": [8]}, "arrival_weekdays"),
        ({"arrival_weekdays": [1, 1]}, "arrival_weekdays"),
        ({"arrival_weekdays": [1.5]}, "arrival_weekdays"),
        ({"arrival_weekdays": "ma"}, "arrival_weekdays"),
        ({"blocks": [{"arrive": 8, "nights": 2}]}, "blocks[0].arrive"),
        ({"blocks": [{"arrive": 1, "nights": 29}]}, "blocks[0].nights"),
        ({"blocks": [{"arrive": 1, "nights": 0}]}, "blocks[0].nights"),
        ({"blocks": [{"arrive": 1}]}, "blocks[0].nights"),
        ({"blocks": [{"arrive": 1, "nights": 2, "note": "x"}]}, "blocks[0].note"),
        ({"blocks": [{"arrive": 1, "nights": 2}, {"arrive": 1, "nights": 2}]}, "blocks[1]"),
        ({"blocks": [3]}, "blocks[0]"),
        ({"blocks": {"arrive": 1}}, "blocks"),
        ({"blocks": [{"arrive": d % 7 + 1, "nights": n} for d in range(5) for n in (1, 2, 3)]},
         "blocks"),
        ({"check_in_window": "17:00-14:00"}, "check_in_window"),
        ({"check_in_window": "9:00-10:00"}, "check_in_window"),
        ({"check_out_window": "10:00-24:00"}, "check_out_window"),
        ({"check_out_window": 10}, "check_out_window"),
        ({"arrival_weekdays": None}, "arrival_weekdays"),
        ({"blocks": None}, "blocks"),
    ]
    for body, field in bad:
        resp = w.srv.request("PATCH", path, body, token=w.esdorp)
        h.check(f"PATCH {body} is 422 on {field}", h.is_problem(resp, 422)
                and field in field_messages(resp), repr(resp))
    loc = w.pool.location_id
    resp = w.srv.request("POST", "/v1/pools", {
        "location_id": loc, "name": "Slecht", "kind": "planned", "care_profiles": ["somatic"],
        "funding": ["zvw"], "arrival_weekdays": [9], "blocks": [{"arrive": 0, "nights": 2}],
        "check_in_window": "x"}, token=w.esdorp)
    h.check("POST /v1/pools names every bad rule field", h.is_problem(resp, 422)
            and {"arrival_weekdays", "blocks[0].arrive", "check_in_window"}
            <= set(field_messages(resp)), repr(resp))
    resp = w.srv.request("POST", "/v1/pools", {
        "location_id": loc, "name": "Weekendpool", "kind": "planned",
        "care_profiles": ["somatic"], "funding": ["zvw"], "arrival_weekdays": [5, 1],
        "check_out_window": "09:30-11:00"}, token=w.esdorp)
    h.check("POST /v1/pools takes arrival days (answered in order) and a window", resp.status == 201
            and resp.json.get("arrival_weekdays") == [1, 5] and resp.json.get("blocks") == []
            and resp.json.get("check_in_window") is None
            and resp.json.get("check_out_window") == "09:30-11:00", repr(resp))
    pid = resp.json["id"]
    resp = w.srv.request("PATCH", f"/v1/pools/{pid}", {"check_out_window": None}, token=w.esdorp)
    h.check("PATCH with a null window clears it", resp.status == 200
            and resp.json.get("check_out_window") is None
            and resp.json.get("arrival_weekdays") == [1, 5], repr(resp))
    h.check("the database refuses a shape the api would refuse", h.scalar(w.url, (
        "SELECT count(*) FROM (SELECT logeer_blocks_valid('[{\"arrive\": 1, \"nights\": 2}]') AS a,"
        " logeer_blocks_valid('[{\"arrive\": 1, \"nights\": 30}]') AS b, "
        "logeer_window_valid('12:00-11:00') AS c, logeer_weekdays_valid('{1,1}') AS d) s "
        "WHERE a AND NOT b AND NOT c AND NOT d")) == "1")


def test_a_patch_of_the_rules_reaches_search_within_a_second():
    w = world()
    pool = w.make_pool("Wisselpool")
    tuesday = w.next_weekday(2, 7)
    monday = w.next_weekday(1, 7)
    h.check("before: a Tuesday stay of 3 nights is found",
            w.found(pool.id, tuesday, 3) is not None)
    started = time.monotonic()
    resp = w.srv.request("PATCH", f"/v1/pools/{pool.id}",
                         {"arrival_weekdays": [1], "blocks": [{"arrive": 1, "nights": 7}]},
                         token=w.esdorp)
    h.check("PATCH sets arrival days and a weekly block", resp.status == 200, repr(resp))
    seen = w.wait_for_rules(pool.id, [{"arrive": 1, "nights": 7}], seconds=1.0)
    h.check(f"search shows the new rules within a second "
            f"({time.monotonic() - started:.2f} s)", seen)
    h.check("after: the Tuesday stay is no longer proposed", w.found(pool.id, tuesday, 3) is None)
    h.check("after: Monday for 3 nights is not proposed", w.found(pool.id, monday, 3) is None)
    h.check("after: Monday for 7 and 14 nights is proposed",
            w.found(pool.id, monday, 7) is not None and w.found(pool.id, monday, 14) is not None)
    resp = w.srv.request("PATCH", f"/v1/pools/{pool.id}", {"arrival_weekdays": [], "blocks": []},
                         token=w.esdorp)
    h.check("PATCH clears the rules", resp.status == 200 and resp.json["blocks"] == [], repr(resp))
    deadline = time.monotonic() + 1.0
    while w.found(pool.id, tuesday, 3) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    h.check("cleared: the Tuesday stay is proposed again within a second",
            w.found(pool.id, tuesday, 3) is not None)


def test_the_demo_has_a_pool_with_blocks_and_windows():
    w = world()
    resp = w.srv.get(f"/v1/pools/{DEMO_BLOCK_POOL}", token=w.coord)
    h.check("the demo pool Logeerkamers Meppel has the blocks ma-wo, wo-vr, vr-ma and windows "
            "14:00-17:00 / 10:00-12:00", resp.status == 200 and resp.json.get("blocks") == BLOCKS
            and resp.json.get("check_in_window") == "14:00-17:00"
            and resp.json.get("check_out_window") == "10:00-12:00", repr(resp))


h.main(globals())
