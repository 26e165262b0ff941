"""A request for a night this process's index already sees full is answered from one plain
statement instead of the booking function (issue 17, contention): the same 409 no-beds with the
same nights, for a guest given inline or registered; and the function still decides whenever it
would have answered otherwise: a retry of the booking that took the last bed replays it, a
caregiver at the open-stays limit hears that, someone else's guest is 404, a guest without the
intake a pool asks for hears intake-required, a waitlist request and a night without a row go to
the function, and a bed the index does not know about yet (its notification not arrived) is
booked, not refused. The database counts the function's calls
(track_functions) to show which path answered."""

import datetime as dt
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
FUNCTION = "logeer_request_stay"


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        database = h.scalar(self.url, "SELECT current_database()")
        # Before the server connects: its sessions count calls of PL/pgSQL functions.
        h.psql(self.url, f'ALTER DATABASE "{database}" SET track_functions = \'pl\'')
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        self.emails = h.add_caregivers(self.url, 4, prefix="fnc")
        self.tokens = h.login_many(self.srv, self.emails)
        self.esdorp = self.srv.login(ESDORP)
        self.pool = h.make_pool(self.srv, self.url, self.esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 1,
                                self.day(10), self.day(40), name="Volle nacht")
        self.calls = 0  # the function's calls this file expects so far

    def day(self, offset):
        return self.today + dt.timedelta(days=offset)

    def post(self, n, body, key=None):
        return self.srv.request("POST", "/v1/stays", body, token=self.tokens[n],
                                headers={"Idempotency-Key": key or uuid.uuid4().hex})

    def body(self, check_in, check_out, **extra):
        return h.stay_body(self.pool.id, self.day(check_in), self.day(check_out),
                           funding="private", **extra)

    def guest_body(self, check_in, check_out, guest_id):
        body = self.body(check_in, check_out, guest_id=guest_id)
        del body["guest"]
        return body

    def expect_calls(self, n):
        self.calls += n


def world():
    return h.once("world", World)


def problem(resp):
    doc = resp.json if isinstance(resp.json, dict) else {}
    return {k: doc.get(k) for k in ("type", "title", "status", "detail", "nights")}


def test_a_full_night_is_refused_with_the_answer_the_function_gives():
    w = world()
    first = w.post(0, w.body(20, 21), key="fnc-last-bed")
    h.check_equal("the last bed of day +20 is held", first.status, 201)
    w.expect_calls(1)
    w.first = first
    asked = w.post(1, w.body(19, 22))
    h.check_equal("three nights around it are refused", asked.status, 409)
    h.check_equal("as no-beds, naming the full night", problem(asked)["nights"],
                  [str(w.day(20))])
    # The function's own answer: a night made full without telling the index (so the request
    # goes straight to the function, which refuses at its quick look).
    h.psql(w.url, "BEGIN; SET LOCAL session_replication_role = replica; "
                  f"UPDATE pool_nights SET capacity = 0 WHERE pool_id = '{w.pool.id}' "
                  f"AND night = '{w.day(15)}'; COMMIT;")
    unseen = w.post(1, w.body(14, 17))
    w.expect_calls(1)
    h.check_equal("a night full unbeknown to the index is refused by the function",
                  problem(unseen)["nights"], [str(w.day(15))])
    same = lambda doc: {k: v for k, v in doc.items() if k != "nights"}
    h.check_equal("with the same problem, field for field but the nights",
                  same(problem(asked)), same(problem(unseen)))
    guest = w.srv.request("POST", "/v1/guests", {"alias": "mevr. V.", "birth_year": 1938,
                                                 "care_profile": "dementia", "needs": []},
                          token=w.tokens[1])
    h.check_equal("a registered guest is made", guest.status, 201)
    w.guest_id = guest.json["id"]
    registered = w.post(1, w.guest_body(19, 22, w.guest_id))
    h.check_equal("for a registered guest the full night is refused the same way",
                  problem(registered), problem(asked))
    others = w.post(2, w.guest_body(19, 22, w.guest_id))
    w.expect_calls(1)
    h.check_equal("another caregiver's guest is still 404, as the function says it",
                  others.status, 404)
    for i in range(5):
        again = w.post(2, w.body(20, 23))
        h.check_equal(f"refusal {i + 1} of five more is no-beds", problem(again)["type"],
                      problem(asked)["type"])


def test_a_retry_of_the_booking_that_took_the_last_bed_replays_it():
    w = world()
    retry = w.post(0, w.body(20, 21), key="fnc-last-bed")
    w.expect_calls(1)
    h.check_equal("the retry answers 201", retry.status, 201)
    h.check_equal("marked as a replay", retry.header("idempotent-replayed"), "true")
    h.check("with the original's body, byte for byte", retry.body == w.first.body,
            f"first {w.first.body[:200]!r}\nretry {retry.body[:200]!r}")


def test_the_open_stays_limit_still_comes_first():
    w = world()
    for d in (30, 32, 34):
        resp = w.post(3, w.body(d, d + 1))
        h.check_equal(f"caregiver 3 holds day +{d}", resp.status, 201)
    w.expect_calls(3)
    full = w.post(3, w.body(20, 21))
    w.expect_calls(1)
    h.check_equal("at the limit, the full night answers 409", full.status, 409)
    h.check_equal("as too many open stays, as the function says it",
                  (problem(full)["type"] or "").rsplit("/", 1)[-1], "conflict")
    h.check_equal("with open and max", (full.json.get("open"), full.json.get("max")), (3, 3))


def test_a_waitlist_request_and_a_night_without_a_row_go_to_the_function():
    w = world()
    waiting = w.post(1, w.body(20, 21, waitlist=True))
    w.expect_calls(1)
    h.check_equal("a waitlist request on the full night waits (201)", waiting.status, 201)
    h.check_equal("waitlisted", waiting.json.get("status"), "waitlisted")
    beyond = w.post(2, w.body(39, 42))
    w.expect_calls(1)
    h.check_equal("nights past the capacity's end are refused", beyond.status, 409)
    h.check_equal("naming the nights without a row", problem(beyond)["nights"],
                  [str(w.day(40)), str(w.day(41))])


def test_a_bed_the_index_does_not_know_of_yet_is_booked():
    w = world()
    night = w.day(25)
    taken = w.post(1, w.body(25, 26))
    w.expect_calls(1)
    h.check_equal("day +25's only bed is held", taken.status, 201)
    h.wait_until(lambda: h.availability_free(w.srv, w.tokens[2], w.pool.id, night, 1) == 0,
                 10 * h.SCALE)
    # A second bed, added without the notification that would tell the index.
    h.psql(w.url, "BEGIN; SET LOCAL session_replication_role = replica; "
                  f"UPDATE pool_nights SET capacity = 2 WHERE pool_id = '{w.pool.id}' "
                  f"AND night = '{night}'; COMMIT;")
    h.check_equal("the index still sees day +25 full",
                  h.availability_free(w.srv, w.tokens[2], w.pool.id, night, 1), 0)
    booked = w.post(2, w.body(25, 26))
    w.expect_calls(1)
    h.check_equal("the request for it is booked (201), not refused", booked.status, 201)
    h.check_counters_match_stays("after the unannounced bed", w.url, w.pool.id)


def intake_guest(w, n, outcome, **decision):
    """A registered guest of caregiver n with a decided intake at the intake pool's location."""
    guest = w.srv.request("POST", "/v1/guests", {"alias": f"dhr. {(outcome or 'x')[0].upper()}.",
                                                 "birth_year": 1940, "care_profile": "dementia",
                                                 "needs": []}, token=w.tokens[n]).json["id"]
    if outcome is None:
        return guest
    intake = w.srv.request("POST", "/v1/intakes", {"guest_id": guest,
                                                   "location_id": w.intake_pool.location_id,
                                                   "moments": "dinsdagmiddag"},
                           token=w.tokens[n]).json["id"]
    w.srv.request("POST", f"/v1/intakes/{intake}/schedule", {"at": f"{w.day(1)}T14:00:00Z"},
                  token=w.esdorp)
    resp = w.srv.request("POST", f"/v1/intakes/{intake}/decide", {"outcome": outcome, **decision},
                         token=w.esdorp)
    h.check_equal(f"the guest's intake is decided {outcome}", resp.status, 200)
    return guest


def test_a_pool_that_asks_for_an_intake():
    """The intake step comes before the quick look: a guest without a valid intake hears
    intake-required on a full night too, a trial stay too long hears that; a guest whose intake
    lets the stay through hears no-beds without the function."""
    w = world()
    w.intake_pool = h.make_pool(w.srv, w.url, w.esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 1,
                                w.day(10), w.day(40), name="Kennismaking eerst")
    resp = w.srv.request("PATCH", f"/v1/pools/{w.intake_pool.id}", {"intake_required": True},
                         token=w.esdorp)
    h.check_equal("the pool asks for an intake", resp.json.get("intake_required"), True)
    welcome = intake_guest(w, 0, "welcome")
    trial = intake_guest(w, 2, "trial_first", trial_max_nights=2)
    nothing = intake_guest(w, 2, None)

    def ask(n, guest, first, last):
        body = h.stay_body(w.intake_pool.id, w.day(first), w.day(last), funding="private",
                           guest_id=guest)
        del body["guest"]
        return w.post(n, body)

    taken = ask(0, welcome, 20, 21)
    w.expect_calls(1)
    h.check_equal("the welcome guest holds day +20's only bed", taken.status, 201)
    h.wait_until(lambda: h.availability_free(w.srv, w.tokens[2], w.intake_pool.id, w.day(20),
                                             1) == 0, 10 * h.SCALE)
    again = ask(0, welcome, 19, 21)
    h.check_equal("with a valid intake the full night is no-beds", problem(again)["nights"],
                  [str(w.day(20))])
    none = ask(2, nothing, 20, 21)
    w.expect_calls(1)
    h.check_equal("without an intake it is intake-required, as before",
                  (problem(none)["type"] or "").rsplit("/", 1)[-1], "intake-required")
    long = ask(2, trial, 18, 21)
    w.expect_calls(1)
    h.check_equal("a trial_first guest asking 3 nights of 2 hears that first", long.status, 422)
    short = ask(2, trial, 19, 21)
    h.check_equal("and within the trial's nights no-beds", problem(short)["nights"],
                  [str(w.day(20))])


def test_the_refusals_never_ran_the_function():
    w = world()
    # A backend hands its counts to the statistics when it ends: stop the server first.
    w.srv.stop()
    counted = lambda: int(h.scalar(w.url, "SELECT coalesce(sum(calls), 0) FROM "
                                          "pg_stat_user_functions "
                                          f"WHERE funcname = '{FUNCTION}'"))
    h.wait_until(lambda: counted() == w.calls, 10 * h.SCALE)
    h.check_equal(f"{FUNCTION} ran only for the requests it had to decide", counted(), w.calls)


h.main(globals())
