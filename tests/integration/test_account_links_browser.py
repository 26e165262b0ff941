"""The links the engine mails, followed in a real browser (tests/browser/account-links.test.mjs,
Debian's Chromium through playwright-core, axe-core on every page and state), with a real SMTP
server (aiosmtpd, test_notifications.SmtpSink) in between. This wrapper makes the data: a
logeerhuis whose only bed is taken on the asked dates, and a caregiver on its waiting list for
them. The browser test then resets the caregiver's password from the mailed link, frees the
bed as the provider, accepts the mailed waiting-list offer from its link in a fresh browser,
and confirms a new account's address from its link (issue 14's must-show). LOGEER_PUBLIC_URL
is the server's own address, so the links are followed exactly as mailed."""

import datetime as dt
import uuid

import browser
import harness as h
from test_notifications import SmtpSink

SCRIPT = "account-links.test.mjs"


def ok(resp, what):
    if resp.status not in (200, 201):
        raise RuntimeError(f"{what} refused: {resp!r}")
    return resp.json


def server_with_public_url(url, env):
    """A server whose LOGEER_PUBLIC_URL is its own address: the port is chosen first."""
    port = h.free_port()
    choose = h.free_port
    h.free_port = lambda: port
    try:
        return h.Server(url, env={**env, "LOGEER_PUBLIC_URL": f"http://127.0.0.1:{port}"})
    finally:
        h.free_port = choose


def test_mailed_links_reset_a_password_and_accept_an_offer_in_chromium():
    if not browser.tools_ready():
        return

    url = h.migrated_database(seed=False)
    sink = SmtpSink()
    try:
        srv = server_with_public_url(url, {"LOGEER_SMTP_URL": sink.url,
                                           "LOGEER_NOTIFY_POLL_MS": "100",
                                           "LOGEER_MAIL_FROM": "Logeerzorg <noreply@logeer.test>"})
        today = h.today_local(url)
        tag = uuid.uuid4().hex[:6]
        provider_id = h.scalar(url, "INSERT INTO providers (name) VALUES ('Zorggroep Link') "
                                    "RETURNING id")
        provider_email = f"planner-{tag}@link.logeer.nl"
        h.add_user(url, provider_email, "provider", provider=provider_id)
        provider = srv.login(provider_email, password=h.TEST_PASSWORD)
        pool = h.make_pool(srv, url, provider, provider_id, 1, today,
                           today + dt.timedelta(days=120), name="Logeerkamer").id
        asked = today + dt.timedelta(days=14)
        first, last = asked, asked + dt.timedelta(days=3)
        other = srv.login(h.add_caregivers(url, 1, prefix="lk")[0], password=h.TEST_PASSWORD)
        stay = ok(srv.request("POST", "/v1/stays", h.stay_body(pool, first, last, funding="zvw"),
                              token=other, headers={"Idempotency-Key": uuid.uuid4().hex}),
                  "POST /v1/stays")
        ok(srv.request("POST", f"/v1/stays/{stay['id']}/confirm", token=other), "confirm")
        email = h.add_caregivers(url, 1, prefix="wacht")[0]
        waiter = srv.login(email, password=h.TEST_PASSWORD)
        waiting = ok(srv.request("POST", "/v1/stays", h.stay_body(pool, first, last,
                                                                  funding="zvw", waitlist=True),
                                 token=waiter, headers={"Idempotency-Key": uuid.uuid4().hex}),
                     "POST /v1/stays (waitlist)")
        h.check_equal("the caregiver waits for the asked dates", waiting.get("status"),
                      "waitlisted")

        env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}",
                   LOGEER_SMTP_DIR=sink.dir, LOGEER_EMAIL=email,
                   LOGEER_PASSWORD=h.TEST_PASSWORD, LOGEER_BLOCKING_STAY=stay["id"],
                   LOGEER_PROVIDER_TOKEN=provider)
        browser.run(SCRIPT, env, timeout=540)
        h.check_equal("the waiting caregiver's stay is confirmed in the database",
                      h.scalar(url, f"SELECT status FROM stays WHERE id = '{waiting['id']}'"),
                      "confirmed")
        h.check_equal("the old session ended with the reset",
                      srv.get("/v1/me", token=waiter).status, 401)
        srv.stop()
    finally:
        sink.close()


h.main(globals())
