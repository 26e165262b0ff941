"""Privacy (AVG) and the access log (NEN 7513): a caregiver exports everything stored about them
(account, stays with history, who accessed those stays) and can erase the account: open stays
are cancelled through the normal transition (counters stay exact), guest data of all own stays is
cleared, the account is pseudonymised and its sessions end, while every row a report counts
stays. The coordinator reads the access log with filters; nobody can change it. The retention
purge clears guest data a configurable number of days after a stay ended, from SQL and at start."""

import datetime as dt
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"
WINDOW = 40


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        self.emails = h.add_caregivers(self.url, 3, prefix="avg")
        self.cg = dict(zip(("a", "b", "c"), h.login_many(self.srv, self.emails)))
        self.ids = {k: h.scalar(self.url, f"SELECT id FROM users WHERE email = '{e}'")
                    for k, e in zip(("a", "b", "c"), self.emails)}
        self.esdorp = self.srv.login(ESDORP)
        self.coordinator = self.srv.login(COORDINATOR)
        provider = h.DEMO_PROVIDER_IDS[ESDORP]
        end = self.day(WINDOW)
        self.instant = h.make_pool(self.srv, self.url, self.esdorp, provider, 3, self.today, end,
                                   booking_mode="instant", name="Privacy instant")
        self.approval = h.make_pool(self.srv, self.url, self.esdorp, provider, 3, self.today, end,
                                    booking_mode="approval", location_id=self.instant.location_id,
                                    name="Privacy approval")

    def day(self, offset):
        return self.today + dt.timedelta(days=offset)

    def book(self, who, pool, first, last, alias, expect, **extra):
        body = h.stay_body(pool.id, self.day(first), self.day(last), alias=alias, **extra)
        resp = self.srv.request("POST", "/v1/stays", body, token=self.cg[who],
                                headers={"Idempotency-Key": uuid.uuid4().hex})
        if not h.check(f"caregiver {who} requests {alias!r}: 201 {expect}",
                       resp.status == 201 and (resp.json or {}).get("status") == expect,
                       repr(resp)):
            raise RuntimeError("the stay the next checks need could not be made")
        return resp.json["id"]

    def act(self, token, stay_id, action, reason=None):
        body = {"reason": reason} if reason else None
        resp = self.srv.request("POST", f"/v1/stays/{stay_id}/{action}", body, token=token)
        if not h.check(f"{action} on {stay_id[:8]} is 200", resp.status == 200, repr(resp)):
            raise RuntimeError(f"{action} failed")
        return resp.json


def world():
    return h.once("world", World)


def status_counts(url):
    return {r[0]: int(r[1]) for r in h.psql(url, "SELECT status, count(*) FROM stays GROUP BY 1")}


def test_export_holds_account_stays_history_and_access_of_own_stays_only():
    w = world()
    sid = w.book("a", w.instant, 2, 4, "mevr. Export", "held", needs=["night_care"])
    w.act(w.cg["a"], sid, "confirm")
    other = w.book("c", w.instant, 2, 3, "dhr. Ander", "held")
    seen = w.srv.request("GET", f"/v1/stays/{sid}", token=w.esdorp)
    h.check_equal("the provider reads the stay (200)", seen.status, 200)
    # Access-log rows are written after the reply, without waiting; give them a moment.
    h.wait_until(lambda: h.scalar(w.url, "SELECT count(*) FROM access_log WHERE action = "
                                         f"'stay.read' AND stay_id = '{sid}'") == "1", 5)
    resp = w.srv.request("GET", "/v1/me/export", token=w.cg["a"])
    h.check_equal("GET /v1/me/export is 200", resp.status, 200)
    h.check("it is an attachment and not cacheable",
            "attachment" in (resp.header("content-disposition") or "")
            and resp.header("cache-control") == "no-store", resp.header_list)
    body = resp.json if isinstance(resp.json, dict) else {}
    h.check_equal("the export names the account", (body.get("account") or {}).get("email"),
                  w.emails[0])
    stays = {s.get("id"): s for s in body.get("stays", [])}
    h.check_equal("it holds the caregiver's own stay, and only it", list(stays), [sid])
    mine = stays.get(sid, {})
    h.check_equal("with its guest data", (mine.get("guest") or {}).get("alias"), "mevr. Export")
    h.check_equal("and its history", [(e.get("from"), e.get("to"))
                                       for e in mine.get("history", [])],
                  [(None, "held"), ("held", "confirmed")])
    h.check("no other caregiver's stay or alias appears", other not in resp.text
            and "dhr. Ander" not in resp.text, "found")
    roles = {(e.get("action"), e.get("role")) for e in body.get("access_log", [])}
    h.check("the access log part shows the provider's read of the stay",
            ("stay.read", "provider") in roles, roles)
    h.check("the sessions and login attempts are included",
            body.get("sessions") and body.get("login_attempts"), list(body))
    h.check("the export holds no password hash or token hash",
            "argon2" not in resp.text and "token" not in resp.text, "found")
    h.wait_until(lambda: h.scalar(w.url, "SELECT count(*) FROM access_log WHERE action = "
                                         f"'stay.export' AND stay_id = '{sid}'") == "1", 5)
    logged = h.scalar(w.url, "SELECT count(*) FROM access_log WHERE action = 'stay.export' "
                             f"AND stay_id = '{sid}' AND user_id = '{w.ids['a']}'")
    h.check_equal("the export itself is access-logged per stay (stay.export)", logged, "1")
    staff = w.srv.request("GET", "/v1/me/export", token=w.esdorp)
    h.check("a provider's export holds the account but no stays",
            staff.status == 200 and (staff.json or {}).get("stays") == [], repr(staff)[:300])


def test_export_holds_the_practice_and_the_persons_settings():
    """AVG art. 15: besides stays and guests, the guests' kennismakingen and toekenningen, the
    person's series, emails and email choices, calendar link and second factors; no secret."""
    w = world()
    [email] = h.add_caregivers(w.url, 1, prefix="avgall")
    token = w.srv.login(email, h.TEST_PASSWORD)
    post = lambda path, body: w.srv.request("POST", path, body, token=token,  # noqa: E731
                                            headers={"Idempotency-Key": uuid.uuid4().hex})
    guest = post("/v1/guests", {"alias": "mevr. Alles", "birth_year": 1940,
                                "care_profile": "dementia", "needs": [],
                                "municipality": "GM0106", "funding": "wlz"}).json["id"]
    allowance = post("/v1/allowances", {"guest_id": guest, "funding": "wlz",
                                        "nights_per_year": 12, "valid_from": str(w.day(0)),
                                        "valid_to": str(w.day(200)),
                                        "reference": "WLZ-EXPORT-1"}).json["id"]
    intake = post("/v1/intakes", {"guest_id": guest, "location_id": w.instant.location_id,
                                  "moments": "maandagochtend"}).json["id"]
    series = post("/v1/series", {"pool_id": w.instant.id, "mode": "best_effort", "nights": 1,
                                 "rule": {"first_check_in": str(w.day(20)), "every_weeks": 1,
                                          "count": 2},
                                 "funding": "zvw", "guest": {"alias": "mevr. Reeks",
                                                             "birth_year": 1941,
                                                             "care_profile": "dementia",
                                                             "needs": []}})
    h.check_equal("set-up: a series is asked", series.status, 201)
    resp = w.srv.request("PUT", "/v1/me/notifications",
                         {"preferences": [{"kind": "request_received", "enabled": False}]},
                         token=token)
    h.check_equal("set-up: an email switched off", resp.status, 200)
    held = [o["id"] for o in (series.json or {}).get("occurrences", []) if o.get("id")]
    resp = w.srv.request("POST", f"/v1/stays/{held[0] if held else 'none'}/confirm", token=token)
    h.check_equal("set-up: a stay of the series confirmed (an email)", resp.status, 200)
    feed = post("/v1/me/calendar-feed", None)
    feed_token = feed.json["path"].rsplit("/", 1)[-1].split(".")[0] if feed.status == 201 else "?"
    factor = post("/v1/me/factors/totp", {"label": "telefoon"})
    h.check_equal("set-up: a second factor being enrolled", factor.status, 201)
    uid = h.scalar(w.url, f"SELECT id FROM users WHERE email = '{email}'")
    h.wait_until(lambda: int(h.scalar(w.url, "SELECT count(*) FROM notify_messages WHERE "
                                             f"recipient = '{uid}' AND channel = 'email'")) > 0, 10)

    resp = w.srv.request("GET", "/v1/me/export", token=token)
    h.check_equal("GET /v1/me/export is 200", resp.status, 200)
    body = resp.json if isinstance(resp.json, dict) else {}
    ids = lambda part: {x.get("id") for x in body.get(part) or []}  # noqa: E731
    h.check("it holds the guest's kennismaking, with the moments",
            intake in ids("intakes") and any(i.get("moments") == "maandagochtend"
                                             for i in body.get("intakes", [])), body.get("intakes"))
    h.check("and the guest's toekenning, with its reference",
            allowance in ids("allowances") and any(a.get("reference") == "WLZ-EXPORT-1"
                                                   for a in body.get("allowances", [])),
            body.get("allowances"))
    h.check_equal("and the series asked", ids("series"),
                  {series.json.get("id")} if series.status == 201 else set())
    h.check_equal("and the email choices", [(c.get("kind"), c.get("enabled"))
                                            for c in body.get("email_choices", [])],
                  [("request_received", False)])
    emails = body.get("emails") or []
    h.check("and the emails made for the person, with kind, state and text",
            emails and all(e.get("kind") and e.get("state") in ("pending", "sent", "failed")
                           for e in emails), emails[:2])
    feeds = body.get("calendar_feeds") or []
    h.check("and the calendar link, live, without the link itself",
            len(feeds) == 1 and feeds[0].get("revoked_at") is None and feed.status == 201
            and feed_token not in resp.text, feeds)
    factors = body.get("second_factors") or []
    h.check("and the second factor being enrolled, without its secret",
            [(f.get("kind"), f.get("label"), f.get("confirmed_at")) for f in factors]
            == [("totp", "telefoon", None)]
            and factor.json.get("secret", "?") not in resp.text, factors)
    h.check_equal("and how many recovery codes exist (none yet)", body.get("recovery_codes"),
                  {"total": 0, "used": 0})
    other = w.srv.request("GET", "/v1/me/export", token=w.cg["b"])
    h.check("another caregiver's export holds none of it",
            other.status == 200 and not {intake, allowance} & (ids_of(other, "intakes") |
                                                               ids_of(other, "allowances"))
            and "WLZ-EXPORT-1" not in other.text and "maandagochtend" not in other.text,
            repr(other)[:300])
    h.wait_until(lambda: h.scalar(w.url, "SELECT count(*) FROM access_log WHERE action = "
                                         f"'guest.export' AND guest_id = '{guest}'") == "1", 5)
    h.check_equal("the export of the guest is in the access log",
                  h.scalar(w.url, "SELECT count(*) FROM access_log WHERE action = "
                                  f"'guest.export' AND guest_id = '{guest}'"), "1")


def ids_of(resp, part):
    return {x.get("id") for x in ((resp.json or {}).get(part) or [])}


def test_access_log_for_the_coordinator_with_filters():
    w = world()
    sid = w.book("a", w.instant, 6, 7, "mevr. Log", "held")
    w.srv.request("GET", f"/v1/stays/{sid}", token=w.cg["a"])
    w.srv.request("GET", f"/v1/stays/{sid}", token=w.esdorp)
    h.wait_until(lambda: int(h.scalar(w.url, "SELECT count(*) FROM access_log WHERE stay_id = "
                                             f"'{sid}'")) >= 3, 5)
    resp = w.srv.request("GET", f"/v1/access-log?stay_id={sid}", token=w.coordinator)
    h.check_equal("GET /v1/access-log?stay_id= as coordinator is 200", resp.status, 200)
    entries = (resp.json or {}).get("entries", [])
    got = [(e.get("action"), e.get("role")) for e in entries]
    # Rows are written without waiting, on whichever connection is free, so their order is
    # the order they committed in, not the order of the requests.
    h.check("it lists the create, the caregiver's read and the provider's read",
            sorted(got) == sorted([("stay.read", "provider"), ("stay.read", "caregiver"),
                                   ("stay.create", "caregiver")]), got)
    order = [(e.get("at"), e.get("id")) for e in entries]
    h.check("newest first", order == sorted(order, reverse=True), order)
    h.check("every entry names stay, guest reference, route and request id",
            entries and all(e.get("stay_id") == sid and e.get("guest_ref") == "mevr. Log"
                            and e.get("route") and e.get("request_id") for e in entries), entries)
    h.check_equal("total counts the matches", (resp.json or {}).get("total"), len(entries))
    by_user = w.srv.request("GET", f"/v1/access-log?user_id={w.ids['a']}&limit=2",
                            token=w.coordinator)
    rows = (by_user.json or {}).get("entries", [])
    h.check("user_id filters to that user's accesses; limit caps the page",
            len(rows) == 2 and all(e.get("user_id") == w.ids["a"] for e in rows)
            and (by_user.json or {}).get("total", 0) > 2, rows)
    page2 = w.srv.request("GET", f"/v1/access-log?user_id={w.ids['a']}&limit=2&offset=2",
                          token=w.coordinator)
    h.check("offset pages on without overlap",
            not {e["id"] for e in rows} & {e["id"] for e in (page2.json or {}).get("entries", [])},
            page2.text[:200])
    tomorrow = w.day(1)
    future = w.srv.request("GET", f"/v1/access-log?stay_id={sid}&from={tomorrow}",
                           token=w.coordinator)
    h.check_equal("from= tomorrow finds nothing yet", (future.json or {}).get("total"), 0)
    past = w.srv.request("GET", f"/v1/access-log?stay_id={sid}&from={w.today}&to={tomorrow}",
                         token=w.coordinator)
    h.check("from= today (a date) to= tomorrow finds them", (past.json or {}).get("total", 0) >= 3,
            past.text[:200])
    instant = w.srv.request("GET", f"/v1/access-log?stay_id={sid}&to=2000-01-01T00:00:00Z",
                            token=w.coordinator)
    h.check_equal("to= an RFC 3339 instant in the past finds nothing",
                  (instant.json or {}).get("total"), 0)
    reads = w.srv.request("GET", f"/v1/access-log?stay_id={sid}&action=stay.read",
                          token=w.coordinator)
    h.check("action= one action: the two reads, not the create",
            sorted(e.get("role") for e in (reads.json or {}).get("entries", []))
            == ["caregiver", "provider"], reads.text[:300])
    family = w.srv.request("GET", f"/v1/access-log?stay_id={sid}&action=stay.",
                           token=w.coordinator)
    h.check_equal("action= a family ending in a dot: the create and both reads",
                  (family.json or {}).get("total"), 3)
    prefix = w.srv.request("GET", f"/v1/access-log?stay_id={sid}&action=stay.re",
                           token=w.coordinator)
    h.check_equal("a prefix without the dot is no family: nothing", (prefix.json or {}).get("total"),
                  0)
    for query, field in (("stay_id=nope", "stay_id"), ("from=yesterday", "from"),
                         ("to=2026-13-01", "to"), ("limit=0", "limit"), ("limit=501", "limit"),
                         ("action=Stay%20read", "action")):
        bad = w.srv.request("GET", f"/v1/access-log?{query}", token=w.coordinator)
        h.check(f"?{query} is 422 naming {field}", h.is_problem(bad, 422) and field in
                [e.get("field") for e in (bad.json or {}).get("errors", [])], repr(bad))
    h.wait_until(lambda: h.scalar(w.url, "SELECT count(*) FROM access_log WHERE action = "
                                         f"'access_log.read' AND stay_id = '{sid}'") != "0", 5)
    h.check("reading the log is itself logged (access_log.read)",
            h.scalar(w.url, "SELECT count(*) FROM access_log WHERE action = 'access_log.read' "
                            f"AND stay_id = '{sid}'") != "0", "no row")


def test_nobody_changes_the_access_log():
    w = world()
    for who, token in (("caregiver", w.cg["a"]), ("provider", w.esdorp),
                       ("referrer", w.srv.login("huisarts@demo.logeer.nl")),
                       ("admin", w.srv.login("beheer@demo.logeer.nl"))):
        resp = w.srv.request("GET", "/v1/access-log", token=token)
        h.check_problem(f"GET /v1/access-log as {who} is 403", resp, 403)
    h.check_problem("GET /v1/access-log without a token is 401",
                    w.srv.request("GET", "/v1/access-log"), 401)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        resp = w.srv.request(method, "/v1/access-log", {"action": "x"}, token=w.coordinator)
        h.check(f"{method} /v1/access-log is 405 with Allow: GET, HEAD",
                resp.status == 405 and "GET" in (resp.header("allow") or ""), repr(resp))
    for sql in ("UPDATE access_log SET action = 'stay.forged'", "DELETE FROM access_log",
                "TRUNCATE access_log"):
        try:
            h.psql(w.url, sql)
            h.fail(f"the database refuses {sql.split()[0]} on access_log", "it was allowed")
        except h.SqlError as e:
            h.check_equal(f"the database refuses {sql.split()[0]} on access_log (42501)",
                          e.sqlstate, "42501")


def test_erasure_cancels_open_stays_clears_guest_data_and_pseudonymises():
    w = world()
    b, bid = w.cg["b"], w.ids["b"]
    done = w.book("b", w.instant, 0, 1, "dhr. Klaar", "held")
    w.act(b, done, "confirm")
    w.act(w.esdorp, done, "check-in")
    w.act(w.esdorp, done, "check-out")
    confirmed = w.book("b", w.instant, 10, 12, "mevr. Bevestigd", "held")
    w.act(b, confirmed, "confirm")
    held = w.book("b", w.instant, 14, 15, "dhr. Vast", "held", needs=["night_care"])
    requested = w.book("b", w.approval, 16, 18, "mevr. Verzoek", "requested")
    waiting = w.book("b", w.instant, WINDOW + 5, WINDOW + 7, "dhr. Wacht", "waitlisted",
                     waitlist=True)
    mine = [done, confirmed, held, requested, waiting]
    others_before = h.psql(w.url, "SELECT id, status, guest_alias FROM stays WHERE requested_by "
                                  f"<> '{bid}' ORDER BY id")
    counts_before = status_counts(w.url)
    total_before = h.scalar(w.url, "SELECT count(*) FROM stays")
    keys_before = h.scalar(w.url, f"SELECT count(*) FROM idempotency_keys WHERE principal_id = '{bid}'")

    resp = w.srv.request("DELETE", "/v1/me", token=b)
    h.check_equal("DELETE /v1/me as the caregiver is 200", resp.status, 200)
    body = resp.json if isinstance(resp.json, dict) else {}
    h.check_equal("it reports the four open stays cancelled", body.get("stays_cancelled"), 4)
    h.check_equal("it reports the guest data of all five stays erased", body.get("stays_erased"), 5)

    rows = {r[0]: r for r in h.psql(
        w.url, "SELECT id, status, cancel_reason, guest_alias, guest_birth_year, "
               "cardinality(guest_needs), guest_erased_at IS NOT NULL, guest_care_profile "
               f"FROM stays WHERE requested_by = '{bid}'")}
    h.check_equal("the completed stay stays completed", rows[done][1], "completed")
    for sid, was in ((confirmed, "confirmed"), (held, "held"), (requested, "requested"),
                     (waiting, "waitlisted")):
        h.check(f"the {was} stay is cancelled with reason 'account erased'",
                rows[sid][1] == "cancelled" and rows[sid][2] == "account erased", rows[sid])
        last = h.psql(w.url, "SELECT from_status, to_status, actor_role, reason FROM stay_events "
                             f"WHERE stay_id = '{sid}' ORDER BY id DESC LIMIT 1")[0]
        h.check_equal(f"... through the normal transition (history {was} -> cancelled by the "
                      "caregiver)", last, [was, "cancelled", "caregiver", "account erased"])
    h.check("guest alias, birth year and needs are cleared on all five, guest_erased_at set",
            all(r[3] == "" and r[4] == "" and r[5] == "0" and r[6] == "t" for r in rows.values()),
            list(rows.values()))
    h.check("the care profile stays (reports count by it; it identifies nobody)",
            all(r[7] for r in rows.values()), list(rows.values()))
    for pool in (w.instant, w.approval):
        h.check_counters_match_stays(f"pool {pool.id[:8]} after erasure", w.url, pool.id)
    after = status_counts(w.url)
    expected = dict(counts_before)
    for was in ("confirmed", "held", "requested", "waitlisted"):
        expected[was] -= 1
    expected["cancelled"] = expected.get("cancelled", 0) + 4
    expected = {k: v for k, v in expected.items() if v}
    h.check_equal("no stay row disappeared (report counts: only the four changed status)",
                  (h.scalar(w.url, "SELECT count(*) FROM stays"), after),
                  (total_before, expected))
    others_after = h.psql(w.url, "SELECT id, status, guest_alias FROM stays WHERE requested_by "
                                 f"<> '{bid}' ORDER BY id")
    h.check("other people's stays are untouched", others_after == others_before, "changed")

    user = h.psql(w.url, "SELECT email, password_hash IS NULL, display_name IS NULL, "
                         f"erased_at IS NOT NULL, role FROM users WHERE id = '{bid}'")[0]
    h.check_equal("the account is pseudonymised: email, no password, no name, erased_at",
                  user, [f"erased-{bid}@invalid", "t", "t", "t", "caregiver"])
    h.check_equal("no session of the account is left unrevoked",
                  h.scalar(w.url, f"SELECT count(*) FROM sessions WHERE user_id = '{bid}' "
                                  "AND revoked_at IS NULL"), "0")
    h.check("the stored idempotent responses (copies of guest data) are gone",
            keys_before != "0" and h.scalar(w.url, "SELECT count(*) FROM idempotency_keys "
                                                   f"WHERE principal_id = '{bid}'") == "0",
            keys_before)
    h.check_problem("the token used for the erasure no longer works (401)",
                    w.srv.request("GET", "/v1/me", token=b), 401)
    login = w.srv.request("POST", "/v1/sessions", {"email": w.emails[1],
                                                   "password": h.TEST_PASSWORD})
    h.check_problem("logging in with the old email is 401", login, 401)
    erase_log = h.psql(w.url, "SELECT stay_id, guest_ref FROM access_log WHERE action = "
                              f"'stay.erase' AND user_id = '{bid}' ORDER BY stay_id")
    h.check_equal("the access log records the erasure of each stay with the former alias",
                  sorted(r[0] for r in erase_log), sorted(mine))
    gone = w.srv.request("GET", f"/v1/stays/{confirmed}", token=w.esdorp)
    h.check("the provider still sees the stay, without guest data",
            gone.status == 200 and ((gone.json or {}).get("guest") or {}).get("alias") is None,
            repr(gone))
    again = w.srv.request("POST", "/v1/caregivers", {"email": w.emails[1],
                                                     "password": h.TEST_PASSWORD,
                                                     "municipality": "GM0106"})
    h.check_equal("the freed email can register anew (201)", again.status, 201)


def test_only_caregivers_erase_themselves():
    w = world()
    for who in ("planner@esdorp.demo.logeer.nl", "aanjager@demo.logeer.nl",
                "huisarts@demo.logeer.nl", "beheer@demo.logeer.nl"):
        resp = w.srv.request("DELETE", "/v1/me", token=w.srv.login(who))
        h.check_problem(f"DELETE /v1/me as {who} is 403", resp, 403)
    h.check_problem("DELETE /v1/me without a token is 401", w.srv.request("DELETE", "/v1/me"),
                    401)
    h.check_equal("those accounts are intact", h.scalar(
        w.url, "SELECT count(*) FROM users WHERE erased_at IS NOT NULL AND email LIKE "
               "'%demo.logeer.nl'"), "0")


def test_retention_purge_clears_only_stays_ended_long_enough_ago():
    w = world()
    ended = w.book("c", w.instant, 20, 21, "mevr. Oud", "held")
    w.act(w.cg["c"], ended, "cancel")
    active = w.book("c", w.instant, 22, 23, "dhr. Actief", "held")
    w.act(w.cg["c"], active, "confirm")
    result = h.scalar(w.url, "SELECT logeer_retention_purge('{\"guest_days\": 1}')")
    alias = h.scalar(w.url, f"SELECT guest_alias FROM stays WHERE id = '{ended}'")
    h.check_equal(f"with 1 day, a stay cancelled just now keeps its guest data ({result})",
                  alias, "mevr. Oud")
    result = h.scalar(w.url, "SELECT logeer_retention_purge('{\"guest_days\": 0}')")
    h.info(f"logeer_retention_purge with 0 days: {result}")
    row = h.psql(w.url, "SELECT guest_alias, guest_birth_year, guest_erased_at IS NOT NULL "
                        f"FROM stays WHERE id = '{ended}'")[0]
    h.check_equal("with 0 days, the ended stay's guest data is cleared", row, ["", "", "t"])
    h.check_equal("the confirmed (not ended) stay keeps its guest data",
                  h.scalar(w.url, f"SELECT guest_alias FROM stays WHERE id = '{active}'"),
                  "dhr. Actief")
    h.check_equal("the ended stay itself remains (reports still count it)",
                  h.scalar(w.url, f"SELECT status FROM stays WHERE id = '{ended}'"), "cancelled")


def test_retention_runs_at_start_with_the_configured_days():
    w = world()
    sid = w.book("c", w.instant, 25, 26, "dhr. Bij Start", "held")
    w.act(w.cg["c"], sid, "cancel")
    h.check_equal("before: the cancelled stay has its alias",
                  h.scalar(w.url, f"SELECT guest_alias FROM stays WHERE id = '{sid}'"),
                  "dhr. Bij Start")
    srv = h.Server(w.url, env={"LOGEER_RETENTION_DAYS": "0"})
    cleared = h.wait_until(lambda: h.scalar(
        w.url, f"SELECT guest_erased_at IS NOT NULL FROM stays WHERE id = '{sid}'") == "t",
        10 * h.SCALE)
    h.check("a server started with LOGEER_RETENTION_DAYS=0 purges it at start", cleared,
            "guest data still there")
    h.wait_until(lambda: "retention purge" in srv.stderr_text(), 5)
    h.check("it logs the purge", "retention purge: guest data cleared" in srv.stderr_text(),
            srv.stderr_tail())
    srv.stop()


h.main(globals())
