"""Time-driven notifications (spec section 9, migration 0023), against the real SMTP sink and a
webhook receiver checked with the npm standardwebhooks package. Proves: a waitlist offer's hold
lives LOGEER_OFFER_TTL while a search hold keeps LOGEER_HOLD_TTL, and the offer email states
the offer's expiry; the reminder before arrival reaches each caregiver once per stay, with two
processes on one database and across a restart, never for a stay cancelled meanwhile nor for
one who switched it off; the nudge before a pool's counts go stale reaches its provider's staff
once, and capacity.stale reaches the provider's webhook once per staleness period; the weekly
digest reaches each coordinator once and not one who switched it off; no message holds health
data. The server has no clock to move: the tests put the due moments into the data instead
(stays two days ahead, as_of set back with SQL)."""

import datetime as dt
import json
import time
import zoneinfo

import harness as h
from test_notifications import (ALIAS, ESDORP, FAST, SmtpSink, WAIT_S, WebhookReceiver,
                                no_health_data, register, text_part, verify_signatures)

SCHEDULE = {**FAST, "LOGEER_NOTIFY_SCHEDULE_S": "1", "LOGEER_WEBHOOK_ALLOW_PRIVATE": "1",
            "LOGEER_LOG_LEVEL": "warn"}
COORDINATOR = "aanjager@demo.logeer.nl"
REMINDER = "Herinnering: binnenkort logeren"
NUDGE = "Bevestig uw aantal bedden"
DIGEST = "Overzicht logeerzorg van de afgelopen week"
AMSTERDAM = zoneinfo.ZoneInfo("Europe/Amsterdam")


def day(url, offset, _today={}):
    if url not in _today:
        _today[url] = h.today_local(url)
    return _today[url] + dt.timedelta(days=offset)


def instant(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def book(srv, token, pool_id, first, last, **extra):
    body = h.stay_body(pool_id, first, last, alias=ALIAS, needs=("night_care",))
    body.update(extra)
    return srv.request("POST", "/v1/stays", body, token=token)


def confirmed_stay(srv, token, pool_id, first, last):
    stay = book(srv, token, pool_id, first, last).json or {}
    if stay.get("status") == "held":
        stay = srv.request("POST", f"/v1/stays/{stay['id']}/confirm", {}, token=token).json or {}
    return stay


def subjects_to(sink, address, subject):
    return [r for r in sink.messages() if r["rcpt_tos"] == [address]
            and r["msg"]["Subject"] == subject]


def settle(seconds=4.0):
    """Several scan periods (LOGEER_NOTIFY_SCHEDULE_S=1) and polls pass."""
    time.sleep(seconds * h.SLACK)


def stay_of(msg):
    """The stay id in the message's link (.../mijn-logeerplekken.html#stay-<id>)."""
    plain = text_part(msg, "plain")
    return plain.split("#stay-")[1].split()[0] if "#stay-" in plain else None


# ---- the offer's lifetime -----------------------------------------------------------------------

def test_offer_lives_offer_ttl_while_search_hold_keeps_hold_ttl_and_email_states_expiry():
    url = h.migrated_database(seed=True)
    sink = SmtpSink()
    hold_ttl, offer_ttl = 600, 120
    try:
        srv = h.Server(url, env={**FAST, "LOGEER_SMTP_URL": sink.url,
                                 "LOGEER_HOLD_TTL": str(hold_ttl),
                                 "LOGEER_OFFER_TTL": str(offer_ttl)})
        esdorp = srv.login(ESDORP)
        pool = h.make_pool(srv, url, esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 1, day(url, 20),
                           day(url, 23), name="Aanbodkamer")
        a, b = h.add_caregivers(url, 2, prefix="offer")
        ta, tb = h.login_many(srv, [a, b])
        held = book(srv, ta, pool.id, day(url, 20), day(url, 23)).json or {}
        life = (instant(held["hold_expires_at"]) - instant(held["created_at"])).total_seconds()
        h.check(f"a search hold lives LOGEER_HOLD_TTL ({hold_ttl} s): {life:.0f} s",
                abs(life - hold_ttl) <= 5, repr(held))
        srv.request("POST", f"/v1/stays/{held['id']}/confirm", {}, token=ta)
        wait = book(srv, tb, pool.id, day(url, 20), day(url, 23), waitlist=True).json or {}
        h.check_equal("B waits for the only bed", wait.get("status"), "waitlisted")
        cancelled_at = dt.datetime.now(dt.timezone.utc)
        srv.request("POST", f"/v1/stays/{held['id']}/cancel", {"reason": "Plannen anders"},
                    token=ta)
        offered = h.wait_until(lambda: (s := srv.get(f"/v1/stays/{wait['id']}", token=tb).json)
                               and s.get("status") == "held" and s, WAIT_S)
        if not h.check("B is offered the bed", bool(offered)):
            return
        left = (instant(offered["hold_expires_at"]) - cancelled_at).total_seconds()
        h.check(f"the offer's hold lives LOGEER_OFFER_TTL ({offer_ttl} s), not the search "
                f"hold: {left:.0f} s from the cancel", offer_ttl - 10 <= left <= offer_ttl + 2,
                repr(offered))
        msgs = h.wait_until(lambda: subjects_to(sink, b, "Er is een logeerplek vrij voor u"),
                            WAIT_S)
        if not h.check("B gets the offer email", bool(msgs)):
            return
        local = instant(offered["hold_expires_at"]).astimezone(AMSTERDAM)
        expiry = local.strftime("%d-%m-%Y om %H:%M")
        plain = text_part(msgs[0]["msg"], "plain")
        h.check(f"the offer email states its expiry ({expiry})",
                f"Dit aanbod geldt tot {expiry}" in plain, plain)
        h.check("the offer email holds no health data", no_health_data(msgs[0]["data"]))

        again = book(srv, ta, pool.id, day(url, 20), day(url, 21))
        h.check_problem("the offered bed is not free to others meanwhile (409)", again, 409)
    finally:
        sink.close()


# ---- reminders and the weekly digest, two processes ---------------------------------------------

def test_reminder_and_digest_once_each_with_two_processes_and_a_restart():
    url = h.migrated_database(seed=True)
    sink = SmtpSink()
    try:
        # Preferences first, with the scan out of the way (its first run is a period after start).
        setup = h.Server(url, env={**FAST, "LOGEER_NOTIFY_SCHEDULE_S": "3600"})
        esdorp = setup.login(ESDORP)
        pool = h.make_pool(setup, url, esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 4, day(url, 1),
                           day(url, 10), name="Herinneringskamers")
        due, quiet, later, cancelled = h.add_caregivers(url, 4, prefix="remind")
        tokens = dict(zip((due, quiet, later, cancelled),
                          h.login_many(setup, [due, quiet, later, cancelled])))
        off = setup.request("PUT", "/v1/me/notifications",
                            {"preferences": [{"kind": "stay_reminder", "enabled": False}]},
                            token=tokens[quiet])
        h.check_equal("a caregiver switches the reminder off (200)", off.status, 200)
        second_coordinator = "aanjager2@test.logeer.nl"
        h.add_user(url, second_coordinator, "coordinator")
        ctoken = setup.login(second_coordinator, password=h.TEST_PASSWORD)
        prefs = setup.get("/v1/me/notifications", token=ctoken).json or {}
        h.check("a coordinator's kinds list the weekly digest, switchable",
                any(p["kind"] == "weekly_digest" and p["essential"] is False
                    for p in prefs.get("preferences", [])), repr(prefs))
        off = setup.request("PUT", "/v1/me/notifications",
                            {"preferences": [{"kind": "weekly_digest", "enabled": False}]},
                            token=ctoken)
        h.check_equal("a second coordinator switches the digest off (200)", off.status, 200)

        stays = {
            "two days ahead": confirmed_stay(setup, tokens[due], pool.id, day(url, 2), day(url, 4)),
            "tomorrow": confirmed_stay(setup, tokens[due], pool.id, day(url, 1), day(url, 2)),
            "switched off": confirmed_stay(setup, tokens[quiet], pool.id, day(url, 2), day(url, 3)),
            "five days ahead": confirmed_stay(setup, tokens[later], pool.id, day(url, 5),
                                              day(url, 6)),
            "cancelled": confirmed_stay(setup, tokens[cancelled], pool.id, day(url, 2),
                                        day(url, 3)),
        }
        h.check("five confirmed stays to remind or not",
                all(s.get("status") == "confirmed" for s in stays.values()), repr(stays))
        resp = setup.request("POST", f"/v1/stays/{stays['cancelled']['id']}/cancel",
                             {"reason": "Toch thuis"}, token=tokens[cancelled])
        h.check_equal("one of them is cancelled before the reminder is due", resp.status, 200)
        setup.stop()

        env = {**SCHEDULE, "LOGEER_SMTP_URL": sink.url}
        a = h.Server(url, env=env)
        b = h.Server(url, env=env)
        got = h.wait_until(lambda: len(subjects_to(sink, due, REMINDER)) >= 2
                           and subjects_to(sink, COORDINATOR, DIGEST), WAIT_S)
        h.check("the reminders and the digest arrive", bool(got))
        settle()
        b.stop()
        b = h.Server(url, env=env)  # a restart: the scan runs again on the same data
        settle()

        reminders = subjects_to(sink, due, REMINDER)
        reminded = sorted(stay_of(r["msg"]) for r in reminders)
        want = sorted([stays["two days ahead"]["id"], stays["tomorrow"]["id"]])
        h.check_equal("each stay due within two days is reminded exactly once", reminded, want)
        h.check_equal("no reminder for a stay five days ahead",
                      subjects_to(sink, later, REMINDER), [])
        h.check_equal("no reminder for a stay cancelled meanwhile",
                      subjects_to(sink, cancelled, REMINDER), [])
        h.check_equal("no reminder for a caregiver who switched it off",
                      subjects_to(sink, quiet, REMINDER), [])
        if reminders:
            plain = text_part(reminders[0]["msg"], "plain")
            h.check("the reminder is in Dutch with the dates and a link to the stay",
                    "Aankomst:" in plain and "/mijn-logeerplekken.html#stay-" in plain, plain)

        digests = subjects_to(sink, COORDINATOR, DIGEST)
        h.check_equal("the coordinator gets the week's digest exactly once", len(digests), 1)
        h.check_equal("not the coordinator who switched it off",
                      subjects_to(sink, second_coordinator, DIGEST), [])
        if digests:
            plain = text_part(digests[0]["msg"], "plain")
            h.check("the digest names diversions, unmet demand and stale providers",
                    "Crisisopnames in een planbaar bed:" in plain
                    and "Zoekvragen zonder vrije plek:" in plain
                    and "Zorgaanbieders met verouderde aantallen:" in plain, plain)
        msgs = sink.messages()
        h.check_equal("no Message-ID arrived twice",
                      len({r["msg"]["Message-ID"] for r in msgs}), len(msgs))
        h.check("no message holds health data", all(no_health_data(r["data"]) for r in msgs))
        metrics = a.get("/metrics").text + b.get("/metrics").text
        h.check("/metrics counts the time-driven messages made",
                "logeer_notify_scheduled_total" in metrics, metrics[-400:])
    finally:
        sink.close()


def test_reminder_still_waiting_is_dropped_when_the_stay_is_cancelled():
    url = h.migrated_database(seed=True)
    sink = SmtpSink()
    try:
        # No SMTP and no mail directory: emails wait in the queue.
        a = h.Server(url, env=SCHEDULE)
        esdorp = a.login(ESDORP)
        pool = h.make_pool(a, url, esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 2, day(url, 1),
                           day(url, 5), name="Wachtende herinnering")
        caregiver = h.add_caregivers(url, 1, prefix="drop")[0]
        token = h.login_many(a, [caregiver])[0]
        stay = confirmed_stay(a, token, pool.id, day(url, 2), day(url, 3))
        sql = ("SELECT state FROM notify_messages WHERE kind = 'stay_reminder' "
               f"AND data->>'stay_id' = '{stay.get('id')}'")
        h.check("the reminder is made and waits (pending)",
                h.wait_until(lambda: h.scalar(url, sql) == "pending", WAIT_S))
        resp = a.request("POST", f"/v1/stays/{stay['id']}/cancel", {"reason": "Toch thuis"},
                         token=token)
        h.check_equal("the caregiver cancels the stay", resp.status, 200)
        h.check("the waiting reminder is given up (failed) at the next scan",
                h.wait_until(lambda: h.scalar(url, sql) == "failed", WAIT_S))
        b = h.Server(url, env={**SCHEDULE, "LOGEER_SMTP_URL": sink.url})
        settle()
        h.check_equal("a process with SMTP does not send it",
                      subjects_to(sink, caregiver, REMINDER), [])
        b.stop()
        a.stop()
    finally:
        sink.close()


# ---- staleness -----------------------------------------------------------------------------------

def test_stale_nudge_and_capacity_stale_webhook_once_per_staleness_period():
    url = h.migrated_database(seed=True)
    sink = SmtpSink()
    receiver = WebhookReceiver()
    try:
        setup = h.Server(url, env={**SCHEDULE, "LOGEER_NOTIFY_SCHEDULE_S": "3600"})
        esdorp = setup.login(ESDORP)
        provider = h.DEMO_PROVIDER_IDS[ESDORP]
        soon = h.make_pool(setup, url, esdorp, provider, 2, day(url, 3), day(url, 30),
                           name="Bijna verouderd")
        stale = h.make_pool(setup, url, esdorp, provider, 2, day(url, 3), day(url, 30),
                            name="Verouderd")
        hook = register(setup, esdorp, receiver.url, ["capacity.stale"]).json or {}
        h.check("the provider subscribes to capacity.stale", bool(hook.get("secret")), repr(hook))
        # 7 days is the staleness limit: one pool goes stale within the 24 h nudge window,
        # the other went stale a day ago.
        h.psql(url, f"UPDATE pools SET as_of = now() - interval '6 days 12 hours' "
                    f"WHERE id = '{soon.id}'")
        h.psql(url, f"UPDATE pools SET as_of = now() - interval '8 days' WHERE id = '{stale.id}'")
        setup.stop()

        env = {**SCHEDULE, "LOGEER_SMTP_URL": sink.url}
        a = h.Server(url, env=env)
        b = h.Server(url, env=env)
        staff = [r[0] for r in h.psql(url, "SELECT email FROM users WHERE role = 'provider' "
                                           f"AND provider_id = '{provider}' AND disabled_at IS "
                                           "NULL AND erased_at IS NULL")]

        def stale_hooks():
            got, _ = receiver.snapshot()
            return [(hd, body) for _, hd, body in got
                    if json.loads(body)["data"].get("pool_id") == stale.id]
        h.wait_until(lambda: stale_hooks() and all(subjects_to(sink, s, NUDGE) for s in staff),
                     WAIT_S)
        settle()
        for s in staff:
            nudges = subjects_to(sink, s, NUDGE)
            h.check_equal(f"{s} is nudged once", len(nudges), 1)
            if nudges:
                plain = text_part(nudges[0]["msg"], "plain")
                h.check("the nudge names the pool about to go stale, not the stale one",
                        "Bijna verouderd" in plain and soon.id in plain and stale.id not in plain,
                        plain)
        hooks = stale_hooks()
        h.check_equal("capacity.stale reaches the webhook once for the stale pool", len(hooks), 1)
        got, _ = receiver.snapshot()
        h.check("no capacity.stale for the pool that is not stale yet",
                not any(json.loads(body)["data"].get("pool_id") == soon.id for _, _, body in got))
        if hooks:
            body = json.loads(hooks[0][1])
            h.check_equal("its type is capacity.stale", body["type"], "capacity.stale")
            verified, failed = verify_signatures(hook["secret"], [(0, hooks[0][0], hooks[0][1])])
            h.check("standardwebhooks verifies its signature", verified == 1, repr(failed))
            rows = (a.get(f"/v1/webhook-endpoints/{hook['id']}/deliveries",
                          token=a.login(ESDORP)).json or {}).get("deliveries", [])
            h.check("the delivery log lists it as capacity.stale, sent",
                    any(r["event_type"] == "capacity.stale" and r["state"] == "sent"
                        for r in rows), repr(rows[:2]))

        # The provider confirms the counts, and they go stale again: a new period, a new event.
        resp = h.put_capacity(a, a.login(ESDORP), stale.id,
                              [{"from": str(day(url, 3)), "to": str(day(url, 4)), "beds": 2}])
        h.check_equal("the provider confirms the stale pool's counts", resp.status, 200)
        settle()
        h.check_equal("... and it is no longer stale: no new event", len(stale_hooks()), 1)
        h.psql(url, f"UPDATE pools SET as_of = now() - interval '9 days' WHERE id = '{stale.id}'")
        h.check("a new staleness period brings capacity.stale once more",
                h.wait_until(lambda: len(stale_hooks()) == 2, WAIT_S))
        settle()
        h.check_equal("... and only once", len(stale_hooks()), 2)
        ids = [hd["webhook-id"] for hd, _ in stale_hooks()]
        h.check("the two periods' events have their own webhook-id", len(set(ids)) == 2, ids)
        h.check("no message holds health data",
                all(no_health_data(r["data"]) for r in sink.messages()))
        b.stop()
    finally:
        receiver.close()
        sink.close()


if __name__ == "__main__":
    h.main(globals())
