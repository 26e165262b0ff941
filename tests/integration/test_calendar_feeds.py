"""Calendar feeds (POST/GET/DELETE /v1/me/calendar-feed and /v1/locations/{id}/calendar-feed,
GET /v1/feeds/{token}.ics). A caregiver books stays through the API in a pool with arrival and
departure windows and in one without; every feed is read by ical.js (an independent parser,
tests/browser/lib/ical-parse.mjs) and compared with the stays: one event per stay with the
stay's UID, dates or Europe/Amsterdam times, status; confirming bumps SEQUENCE, cancelling
gives STATUS:CANCELLED. The raw text keeps RFC 5545's form (CRLF, 75-octet lines) and holds no
health data. The URL is shown once and only its hash is stored; renewing and stopping make the
old URL 404; ETag and 304; a location's feed is its provider's staff's only, shows the alias
they see on their board and no holds; every read is in the access log."""

import datetime as dt
import json
import re
import os
import shutil
import subprocess
import tempfile
import uuid

import harness as h

PARSER = os.path.join(h.SOURCE_DIR, "tests", "browser", "lib", "ical-parse.mjs")


def world():
    def make():
        url = h.migrated_database()
        srv = h.Server(url, keep=True)
        tag = uuid.uuid4().hex[:6]
        h.add_user(url, f"beheer-{tag}@test.logeer.nl", "admin")
        admin = srv.login(f"beheer-{tag}@test.logeer.nl", h.TEST_PASSWORD)
        providers = [srv.request("POST", "/v1/providers", {"name": n}, token=admin).json["id"]
                     for n in ("Zorggroep Agenda", "Zorggroep Ander")]
        h.add_user(url, f"planner-{tag}@test.logeer.nl", "provider", provider=providers[0])
        h.add_user(url, f"ander-{tag}@test.logeer.nl", "provider", provider=providers[1])
        h.add_user(url, f"mz-{tag}@test.logeer.nl", "caregiver")
        h.add_user(url, f"mz2-{tag}@test.logeer.nl", "caregiver")
        w = {"url": url, "srv": srv, "today": h.today_local(url),
             "planner": srv.login(f"planner-{tag}@test.logeer.nl", h.TEST_PASSWORD),
             "other": srv.login(f"ander-{tag}@test.logeer.nl", h.TEST_PASSWORD),
             "caregiver": srv.login(f"mz-{tag}@test.logeer.nl", h.TEST_PASSWORD),
             "caregiver2": srv.login(f"mz2-{tag}@test.logeer.nl", h.TEST_PASSWORD)}
        t = w["today"]
        timed = h.make_pool(srv, url, w["planner"], providers[0], 3, t, t + dt.timedelta(days=40),
                            name="Agenda getimed")
        patched = srv.request("PATCH", f"/v1/pools/{timed.id}",
                              {"check_in_window": "14:00-17:00",
                               "check_out_window": "10:00-11:30"}, token=w["planner"])
        h.check("set-up: the timed pool gets arrival and departure windows",
                patched.status == 200, repr(patched))
        whole = h.make_pool(srv, url, w["planner"], providers[0], 3, t, t + dt.timedelta(days=40),
                            name="Agenda hele dagen", booking_mode="approval")
        w["timed"], w["whole"] = timed, whole
        w["stays"] = {
            "timed": book(w, timed.id, 3, 6, confirm=True),
            "held": book(w, timed.id, 10, 12, confirm=False),
            "whole": book(w, whole.id, 7, 9, confirm=False),
        }
        return w
    return h.once("world", make)


def book(w, pool, first, last_exclusive, confirm, token=None):
    t = w["today"]
    body = h.stay_body(pool, t + dt.timedelta(days=first), t + dt.timedelta(days=last_exclusive),
                       alias="mevr. Kalender", birth_year=1937, care_profile="dementia",
                       needs=["night_care"])
    resp = w["srv"].request("POST", "/v1/stays", body, token=token or w["caregiver"])
    h.check("set-up: a stay is requested (201)", resp.status == 201, repr(resp))
    sid = resp.json["id"]
    if confirm:
        done = w["srv"].request("POST", f"/v1/stays/{sid}/confirm", token=token or w["caregiver"])
        h.check("set-up: it is confirmed", done.status == 200, repr(done))
    return sid


def parse(text):
    """ical.js's reading of the feed, as a dict; None (a failed check) when it cannot."""
    folder = tempfile.mkdtemp(prefix="logeer-ics-")
    try:
        path = os.path.join(folder, "feed.ics")
        with open(path, "wb") as f:
            f.write(text)
        proc = subprocess.run([shutil.which("node") or "node", PARSER, path],
                              capture_output=True, text=True, timeout=60)
        if not h.check("ical.js reads the feed", proc.returncode == 0, proc.stderr[-500:]):
            return None
        return json.loads(proc.stdout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def make_feed(w, path="/v1/me/calendar-feed", token=None):
    resp = w["srv"].request("POST", path, token=token or w["caregiver"])
    h.check(f"POST {path}: 201 with the URL once", resp.status == 201
            and resp.json["path"].startswith("/v1/feeds/") and resp.json["path"].endswith(".ics")
            and resp.json["url"].endswith(resp.json["path"])
            and "no-store" in resp.header("Cache-Control", ""), repr(resp))
    return resp.json["path"]


def events_by_uid(cal):
    return {e["uid"]: e for e in (cal or {}).get("events", [])}


def stay(w, sid, token=None):
    return w["srv"].get(f"/v1/stays/{sid}", token=token or w["caregiver"]).json


def compact(d):
    return d.replace("-", "")


def test_the_caregivers_feed_matches_the_stays_as_ical_js_reads_it():
    w = world()
    path = make_feed(w)
    resp = w["srv"].get(path)
    h.check("GET the feed without login: 200 text/calendar",
            resp.status == 200 and resp.header("Content-Type", "").startswith("text/calendar"),
            repr(resp)[:300])
    raw = resp.body
    lines = raw.split(b"\r\n")
    h.check("every line ends in CRLF (no bare LF)", b"\n" not in raw.replace(b"\r\n", b""))
    h.check("no line is longer than 75 octets", all(len(x) <= 75 for x in lines),
            max(len(x) for x in lines))
    text = raw.decode("utf-8")
    health = [word for word in ("dementia", "Kalender", "1937", "night_care", "dementie")
              if mentions(text, word)]
    h.check("no care profile, needs, birth year or alias in the family's feed", not health,
            health)
    cal = parse(raw)
    if not cal:
        return
    h.check("it is version 2.0, named, with the Europe/Amsterdam VTIMEZONE",
            cal["version"] == "2.0" and cal["name"] == "Mijn logeerplekken"
            and cal["timezones"] == ["Europe/Amsterdam"], cal)
    mine = w["srv"].get("/v1/stays?limit=100", token=w["caregiver"]).json["stays"]
    want = {f"{s['id']}@logeerzorg" for s in mine if s.get("check_in")}
    got = events_by_uid(cal)
    h.check_equal("one event per stay with dates, UID <stay id>@logeerzorg", set(got), want)
    timed = got.get(f"{w['stays']['timed']}@logeerzorg", {})
    s = stay(w, w["stays"]["timed"])
    h.check("the timed stay starts at the arrival window in Europe/Amsterdam and ends at the "
            "end of the departure window",
            timed.get("start", {}).get("value") == f"{s['check_in']}T14:00:00"
            and timed["start"]["tzid"] == "Europe/Amsterdam"
            and timed["end"]["value"] == f"{s['check_out']}T11:30:00"
            and timed["end"]["tzid"] == "Europe/Amsterdam", timed)
    h.check("ical.js places 14:00 Amsterdam at the right instant",
            timed.get("start", {}).get("utc", "").endswith(("T13:00:00.000Z", "T12:00:00.000Z")),
            timed.get("start"))
    h.check("confirmed: STATUS CONFIRMED", timed.get("status") == "CONFIRMED", timed)
    whole = got.get(f"{w['stays']['whole']}@logeerzorg", {})
    s = stay(w, w["stays"]["whole"])
    day_after = str(dt.date.fromisoformat(s["check_out"]) + dt.timedelta(days=1))
    h.check("the stay in the pool without windows is whole days, up to and including the "
            "check-out day",
            whole.get("start", {}).get("is_date") and whole["start"]["value"] == s["check_in"]
            and whole["end"]["value"] == day_after, whole)
    h.check("requested (approval pool): STATUS TENTATIVE", whole.get("status") == "TENTATIVE",
            whole)
    h.check("held: TENTATIVE", got.get(f"{w['stays']['held']}@logeerzorg", {}).get("status")
            == "TENTATIVE")
    h.check("SUMMARY and LOCATION say where", timed.get("summary", "").startswith("Logeren bij ")
            and "Teststraat 1" in timed.get("location", ""), timed)
    other = w["srv"].get("/v1/stays?limit=100", token=w["caregiver2"]).json["stays"]
    h.check("another caregiver's stays are not in it", not ({f"{x['id']}@logeerzorg"
                                                             for x in other} & set(got)))
    log = h.scalar(w["url"], "SELECT count(*) FROM access_log WHERE action = 'stay.feed'")
    h.check("the read is in the access log, per stay", int(log) >= len(want), log)


def test_a_change_bumps_sequence_and_a_cancel_gives_cancelled():
    w = world()
    path = make_feed(w)
    sid = w["stays"]["held"]
    uid = f"{sid}@logeerzorg"
    first = w["srv"].get(path)
    before = events_by_uid(parse(first.body)).get(uid, {})
    etag = first.header("ETag")
    again = w["srv"].get(path, headers={"If-None-Match": etag})
    h.check("a poll with the ETag while nothing changed: 304 without a body",
            again.status == 304 and not again.body, repr(again))
    h.check("private, revalidated every time", first.header("Cache-Control") ==
            "private, no-cache", first.header("Cache-Control"))
    done = w["srv"].request("POST", f"/v1/stays/{sid}/confirm", token=w["caregiver"])
    h.check("set-up: the held stay is confirmed", done.status == 200, repr(done))
    changed = w["srv"].get(path, headers={"If-None-Match": etag})
    h.check("after the change the same ETag gives 200 with a new one",
            changed.status == 200 and changed.header("ETag") != etag, repr(changed)[:200])
    after = events_by_uid(parse(changed.body)).get(uid, {})
    h.check("the same UID, a higher SEQUENCE, STATUS CONFIRMED",
            after.get("sequence", -1) > before.get("sequence", 99)
            and after.get("status") == "CONFIRMED", (before, after))
    cancel = w["srv"].request("POST", f"/v1/stays/{sid}/cancel", {"reason": "plannen anders"},
                              token=w["caregiver"])
    h.check("set-up: the stay is cancelled", cancel.status == 200, repr(cancel))
    gone = events_by_uid(parse(w["srv"].get(path).body)).get(uid, {})
    h.check("after the cancel: still there, STATUS CANCELLED, higher SEQUENCE, transparent",
            gone.get("status") == "CANCELLED" and gone.get("sequence", -1) > after["sequence"]
            and gone.get("transp") == "TRANSPARENT", gone)


def test_the_url_is_shown_once_renewed_and_stopped():
    w = world()
    token = w["caregiver2"]
    state = w["srv"].get("/v1/me/calendar-feed", token=token)
    h.check("before: no live feed", state.status == 200 and state.json["active"] is False,
            repr(state))
    first = make_feed(w, token=token)
    secret = first[len("/v1/feeds/"):-len(".ics")]
    dump = h.psql(w["url"], "SELECT row_to_json(f)::text FROM calendar_feeds f")
    h.check("the database holds only a hash of the secret", not any(secret in "".join(r)
                                                                   for r in dump))
    state = w["srv"].get("/v1/me/calendar-feed", token=token)
    h.check("GET says it is live, without the URL", state.json["active"] is True
            and secret not in state.text, state.json)
    h.check("the feed answers", w["srv"].get(first).status == 200)
    second = make_feed(w, token=token)
    h.check("renewing gives another URL", second != first)
    h.check_problem("the old URL answers 404 at once", w["srv"].get(first), 404)
    h.check("the new one answers", w["srv"].get(second).status == 200)
    stop = w["srv"].request("DELETE", "/v1/me/calendar-feed", token=token)
    h.check("DELETE stops it: 204", stop.status == 204, repr(stop))
    h.check_problem("and the URL answers 404", w["srv"].get(second), 404)
    h.check("stopping again is fine: 204",
            w["srv"].request("DELETE", "/v1/me/calendar-feed", token=token).status == 204)
    for bad in ("/v1/feeds/abc.ics", "/v1/feeds/" + "A" * 43 + ".ics"):
        h.check_problem(f"an unknown URL {bad[:24]}...: 404", w["srv"].get(bad), 404)
    h.check_problem("a planner has no own feed: 403",
                    w["srv"].request("POST", "/v1/me/calendar-feed", token=w["planner"]), 403)


def mentions(text, word):
    """word in text, not as part of a longer run of letters and digits: the birth year 1937
    is also in every time stamp written at 19:37 (DTSTAMP:20261207T193712Z)."""
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(word)}(?![0-9A-Za-z])", text) is not None


def test_a_locations_feed_is_its_staffs_and_shows_no_holds():
    w = world()
    loc = w["timed"].location_id
    path = f"/v1/locations/{loc}/calendar-feed"
    h.check_problem("another provider's planner: 404",
                    w["srv"].request("POST", path, token=w["other"]), 404)
    h.check_problem("a caregiver: 403", w["srv"].request("POST", path, token=w["caregiver"]),
                    403)
    feed = make_feed(w, path, token=w["planner"])
    extra = book(w, w["timed"].id, 20, 23, confirm=True, token=w["caregiver2"])
    held = book(w, w["timed"].id, 25, 26, confirm=False, token=w["caregiver2"])
    resp = w["srv"].get(feed)
    cal = parse(resp.body)
    if not cal:
        return
    got = events_by_uid(cal)
    seen = w["srv"].get(f"/v1/stays?pool_id={w['timed'].id}&limit=100",
                        token=w["planner"]).json["stays"]
    want = {f"{s['id']}@logeerzorg" for s in seen
            if s["status"] not in ("held", "expired", "waitlisted")}
    h.check_equal("the events are the stays in the location's pools except holds", set(got),
                  want)
    h.check("both caregivers' confirmed stays are in it, the new hold is not",
            f"{extra}@logeerzorg" in got and f"{held}@logeerzorg" not in got, sorted(got))
    ev = got.get(f"{extra}@logeerzorg", {})
    h.check("SUMMARY names the guest's alias, as on the board", ev.get("summary", "")
            .startswith("Logeergast mevr. Kalender"), ev)
    h.check("the calendar is named after the location", cal["name"].startswith("Logeergasten "),
            cal["name"])
    text = resp.body.decode("utf-8")
    h.check("no care profile, needs or birth year",
            not any(mentions(text, x) for x in ("dementia", "1937", "night_care")))
    h.check("the whole-day pool's stay (another location) is not in it",
            f"{w['stays']['whole']}@logeerzorg" not in got)
    state = w["srv"].get(path, token=w["planner"])
    h.check("the planner sees the feed is live and when it was read",
            state.json["active"] is True and state.json["last_used_at"], state.json)
    h.check_problem("another provider's planner cannot stop it: 404",
                    w["srv"].request("DELETE", path, token=w["other"]), 404)
    h.check("its own planner can: 204",
            w["srv"].request("DELETE", path, token=w["planner"]).status == 204)
    h.check_problem("and then the URL is 404", w["srv"].get(feed), 404)


def test_making_a_locations_feed_asks_for_a_recent_second_factor():
    w = world()
    srv = h.Server(w["url"], env={"LOGEER_MFA_REQUIRED_ROLES": "provider,coordinator,admin",
                                  "LOGEER_STEP_UP_S": "60"})
    email = h.scalar(w["url"], "SELECT email FROM users WHERE role = 'provider' "
                               "AND email LIKE 'planner-%' LIMIT 1")
    planner = srv.login(email, h.TEST_PASSWORD)
    path = f"/v1/locations/{w['timed'].location_id}/calendar-feed"
    before = int(h.scalar(w["url"], "SELECT count(*) FROM calendar_feeds"))
    resp = srv.request("POST", path, token=planner)
    h.check("staff without a proven factor: 403 second-factor-required",
            h.is_problem(resp, 403) and resp.json["type"].endswith("/second-factor-required"),
            repr(resp))

    def prove(seconds_ago):
        # What a verified TOTP code or passkey does to the session row.
        h.psql(w["url"], "UPDATE sessions SET factor_at = now() - make_interval(secs => "
                         f"{seconds_ago}), amr = '{{pwd,otp}}' WHERE revoked_at IS NULL "
                         f"AND user_id = (SELECT id FROM users WHERE email = '{email}')")
    prove(600)
    h.check_equal("a factor of ten minutes ago opens the feed's state",
                  srv.get(path, token=planner).status, 200)
    resp = srv.request("POST", path, token=planner)
    h.check("but making a URL (a secret) asks for a recent one: 403 step-up-required",
            h.is_problem(resp, 403) and resp.json["type"].endswith("/step-up-required"),
            repr(resp))
    h.check_equal("and no feed was made", int(h.scalar(w["url"], "SELECT count(*) FROM "
                                                                 "calendar_feeds")), before)
    prove(0)
    resp = srv.request("POST", path, token=planner)
    h.check("with a fresh factor: 201", resp.status == 201, repr(resp))
    h.check("and the feed needs no factor to be read", srv.get(resp.json["path"]).status == 200)
    srv.stop()


h.main(globals())
