"""Password reset and email verification (issue 14), against a real SMTP server (aiosmtpd, see
test_notifications.SmtpSink) and a real database. Proves: asking for a reset answers the same
202 for a known and an unknown address and mails only the known one; the link sets a new
password once, ends every session of the account, and is dead afterwards; a newer link
replaces an older one; links expire (a short LOGEER_ACCOUNT_TOKEN_TTL); requests are limited
per address and per client with 429 and Retry-After, the same for unknown addresses; the token
appears nowhere in the database (only its SHA-256) nor in the server's log; a registered
caregiver gets a verification link, confirms with it and can ask for a new one; erasing the
account forgets its links and requests; staff reset too and are sent to their own sign-in
page."""

import email
import email.policy
import hashlib
import os
import re
import statistics
import subprocess
import time
import uuid

import harness as h
from test_notifications import PUBLIC_URL, SmtpSink, text_part

FAST = {"LOGEER_NOTIFY_POLL_MS": "100", "LOGEER_PUBLIC_URL": PUBLIC_URL,
        "LOGEER_MAIL_FROM": "Logeerzorg <noreply@logeer.test>"}
WAIT_S = 20 * h.SLACK
NEW_PASSWORD = "Nieuw wachtwoord voor de winter 2026"
RESET_SUBJECT = "Een nieuw wachtwoord instellen"
VERIFY_SUBJECT = "Bevestig uw e-mailadres"
TOKEN_LINK = re.compile(re.escape(PUBLIC_URL) + r"/([a-z-]+\.html)#token=([A-Za-z0-9_-]{43})")


def mails_to(sink, address, subject):
    return [r for r in sink.messages()
            if r["rcpt_tos"] == [address] and r["msg"]["Subject"] == subject]


def wait_mail(sink, address, subject, count=1):
    """The count-th mail with subject to address; None when it does not come."""
    got = h.wait_until(lambda: len(mails_to(sink, address, subject)) >= count, WAIT_S,
                       interval=0.1)
    return mails_to(sink, address, subject)[count - 1] if got else None


def link_of(rec):
    """(page, token) from a mail's plain part; both parts must carry the same link."""
    plain, html = text_part(rec["msg"], "plain"), text_part(rec["msg"], "html")
    m = TOKEN_LINK.search(plain)
    if not m or m.group(0) not in html:
        return None, None
    return m.group(1), m.group(2)


def database_text(url):
    """Every row of every table in the database, as pg_dump writes them."""
    pg_dump = os.path.join(os.path.dirname(h._psql_binary()), "pg_dump")
    proc = subprocess.run([pg_dump, "--data-only", "--dbname", url], capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError("pg_dump failed: " + proc.stderr)
    return proc.stdout


def reset(srv, email, **kw):
    return srv.request("POST", "/v1/password-resets", {"email": email}, **kw)


def complete(srv, token, password=NEW_PASSWORD):
    return srv.request("POST", "/v1/password-resets/complete",
                       {"token": token, "password": password})


def token_state(resp):
    return (resp.json or {}).get("token_state")


def test_reset_same_answer_single_use_sessions_ended_and_hash_at_rest():
    url = h.migrated_database()
    sink = SmtpSink()
    try:
        srv = h.Server(url, env={**FAST, "LOGEER_SMTP_URL": sink.url})
        caregiver = h.add_caregivers(url, 1, prefix="reset")[0]
        old_session = srv.login(caregiver, password=h.TEST_PASSWORD)
        unknown = f"niemand-{uuid.uuid4().hex[:8]}@test.logeer.nl"

        # Same answer, and about the same time, whether or not the address has an account.
        timings = {"known": [], "unknown": []}
        answers = {}
        for i in range(3):
            for which, address in (("known", caregiver),
                                   ("unknown", f"{i}-{unknown}")):
                t0 = time.monotonic()
                resp = reset(srv, address)
                timings[which].append(time.monotonic() - t0)
                answers.setdefault(which, set()).add((resp.status, resp.header("Content-Type"),
                                                      resp.text))
        h.check_equal("a known address is answered 202, always the same",
                      {a[0] for a in answers["known"]}, {202})
        h.check_equal("an unknown address gets exactly the same answer", answers["unknown"],
                      answers["known"])
        known_t, unknown_t = (statistics.median(timings[k]) for k in ("known", "unknown"))
        h.check(f"about the same time: median {known_t * 1000:.1f} ms known, "
                f"{unknown_t * 1000:.1f} ms unknown",
                abs(known_t - unknown_t) < max(0.05 * h.SLACK, unknown_t))

        third = wait_mail(sink, caregiver, RESET_SUBJECT, count=3)
        if not h.check("three reset mails reach the caregiver over SMTP", third is not None):
            return
        h.check("no mail goes to an address without an account",
                not [r for r in sink.messages() if unknown in r["rcpt_tos"][0]])
        # The mails go out on worker threads at once and may arrive in any order: the database
        # says which link is the oldest and which the newest.
        def made_at(tok):
            digest = hashlib.sha256(tok.encode()).hexdigest()
            return float(h.scalar(url, "SELECT extract(epoch FROM created_at) FROM account_tokens "
                                       f"WHERE token_hash = '\\x{digest}'::bytea") or 0)
        by_age = sorted(((link_of(m), m) for m in mails_to(sink, caregiver, RESET_SUBJECT)[:3]),
                        key=lambda pair: made_at(pair[0][1]))
        (first_page, first_token), _ = by_age[0]
        (page, token), third = by_age[-1]
        h.check_equal("the mail links to the page that sets a new password, token in the "
                      "fragment (both parts)", page, "nieuw-wachtwoord.html")
        plain = text_part(third["msg"], "plain")
        h.check("the mail is Dutch and says how long the link works",
                "Beste heer of mevrouw" in plain and "30 minuten" in plain, plain)
        h.check_equal("it is multipart/alternative", third["msg"].get_content_type(),
                      "multipart/alternative")

        # Hash at rest: the database holds SHA-256 of the token and never the token.
        dump = database_text(url)
        h.check("no reset token appears anywhere in the database",
                token not in dump and first_token not in dump)
        digest = hashlib.sha256(token.encode()).hexdigest()
        h.check_equal("the database holds the token's SHA-256",
                      h.scalar(url, "SELECT count(*) FROM account_tokens "
                                    f"WHERE token_hash = '\\x{digest}'::bytea"), "1")
        h.check("the server's log never shows a token",
                token not in srv.stderr_text() + srv.stdout_text())

        h.check_equal("a newer link replaces the older one: the first is refused as used",
                      token_state(complete(srv, first_token)), "used")
        weak = complete(srv, token, password="kort")
        h.check("a password the registration refuses is refused here too, on the field",
                weak.status == 422 and any(e.get("field") == "password"
                                           for e in (weak.json or {}).get("errors", [])),
                repr(weak))
        done = complete(srv, token)
        h.check_equal("the link sets the new password", done.status, 200)
        h.check_equal("the answer names the caregiver's sign-in page",
                      (done.json or {}).get("sign_in"), "/inloggen.html")
        h.check_equal("every session of the account has ended",
                      srv.get("/v1/me", token=old_session).status, 401)
        h.check_equal("the old password no longer works",
                      srv.request("POST", "/v1/sessions", {"email": caregiver,
                                                           "password": h.TEST_PASSWORD}).status,
                      401)
        h.check_equal("the new password works",
                      srv.request("POST", "/v1/sessions", {"email": caregiver,
                                                           "password": NEW_PASSWORD}).status, 201)
        again = complete(srv, token, password="Nog een ander wachtwoord 2027")
        h.check("the link works once: a second use is 422 'used'",
                again.status == 422 and token_state(again) == "used", repr(again))
        h.check_equal("a made-up token is 422 'unknown'",
                      token_state(complete(srv, "A" * 43)), "unknown")
        for r in (done, again, weak):
            h.judge_answer("POST", "/v1/password-resets/complete", r)
        srv.stop(label="reset")
    finally:
        sink.close()


def test_reset_link_expires():
    url = h.migrated_database()
    maildir = h.scratch_dir("logeer-mail-")
    srv = h.Server(url, env={**FAST, "LOGEER_MAIL_DIR": maildir,
                             "LOGEER_ACCOUNT_TOKEN_TTL": "2"})
    caregiver = h.add_caregivers(url, 1, prefix="exp")[0]
    h.check_equal("a reset is asked", reset(srv, caregiver).status, 202)

    def eml():
        names = [n for n in os.listdir(maildir) if n.endswith(".eml")]
        return names[0] if names else None
    name = h.wait_until(eml, WAIT_S, interval=0.1)
    if not h.check("the reset mail is written to LOGEER_MAIL_DIR", name):
        return
    with open(os.path.join(maildir, eml()), "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    plain = text_part(msg, "plain")
    m = TOKEN_LINK.search(plain)
    if not h.check("the .eml holds the link", m is not None, plain[:400]):
        return
    time.sleep(2.5)
    late = complete(srv, m.group(2))
    h.check("after LOGEER_ACCOUNT_TOKEN_TTL the link is refused as expired",
            late.status == 422 and token_state(late) == "expired", repr(late))
    h.check_equal("and the password is unchanged",
                  srv.request("POST", "/v1/sessions", {"email": caregiver,
                                                       "password": h.TEST_PASSWORD}).status, 201)
    srv.stop(label="expiry")


def test_requests_are_limited_per_address_known_or_not():
    url = h.migrated_database()
    srv = h.Server(url, env=FAST)
    caregiver = h.add_caregivers(url, 1, prefix="lim")[0]
    unknown = f"onbekend-{uuid.uuid4().hex[:8]}@test.logeer.nl"
    for address, what in ((caregiver, "a known address"), (unknown, "an unknown address")):
        first = [reset(srv, address).status for _ in range(3)]
        fourth = reset(srv, address)
        h.check_equal(f"{what}: three requests in the window are accepted", first, [202] * 3)
        h.check(f"{what}: the fourth is 429 with Retry-After",
                fourth.status == 429 and int(fourth.header("Retry-After", "0")) > 0,
                repr(fourth))
    # Per client: 20 requests in the window from one address, whatever email they name.
    statuses = [reset(srv, f"x{i}-{uuid.uuid4().hex[:6]}@test.logeer.nl").status
                for i in range(16)]
    h.check("the client's 21st request is refused whatever address it names",
            statuses[:14] == [202] * 14 and 429 in statuses[14:], repr(statuses))
    h.check_equal("a bad body is 422", srv.request("POST", "/v1/password-resets",
                                                   {"email": 5}).status, 422)
    srv.stop(label="limits")


def test_registration_sends_a_link_that_verifies_the_address_and_can_be_sent_again():
    url = h.migrated_database()
    sink = SmtpSink()
    try:
        srv = h.Server(url, env={**FAST, "LOGEER_SMTP_URL": sink.url})
        email = f"nieuw-{uuid.uuid4().hex[:8]}@test.logeer.nl"
        made = srv.request("POST", "/v1/caregivers", {"email": email,
                                                      "password": h.TEST_PASSWORD,
                                                      "municipality": "GM0106"})
        h.check_equal("the caregiver registers", made.status, 201)
        session = srv.login(email, password=h.TEST_PASSWORD)
        me = srv.get("/v1/me", token=session).json or {}
        h.check_equal("GET /v1/me says the address is not yet confirmed",
                      me.get("email_verified"), False)
        first = wait_mail(sink, email, VERIFY_SUBJECT)
        if not h.check("a verification mail arrives", first is not None):
            return
        page, token = link_of(first)
        h.check_equal("it links to the confirmation page", page, "e-mailadres-bevestigen.html")

        resent = srv.request("POST", "/v1/me/email-verification", token=session)
        h.check_equal("the caregiver asks for the link again: 202", resent.status, 202)
        second = wait_mail(sink, email, VERIFY_SUBJECT, count=2)
        if not h.check("a second verification mail arrives", second is not None):
            return
        _, token2 = link_of(second)
        old = srv.request("POST", "/v1/email-verifications", {"token": token})
        h.check("the first link no longer works once a new one was sent",
                old.status == 422 and token_state(old) == "used", repr(old))
        ok = srv.request("POST", "/v1/email-verifications", {"token": token2})
        h.check("the new link confirms the address",
                ok.status == 200 and (ok.json or {}).get("email") == email, repr(ok))
        h.check_equal("GET /v1/me says so",
                      (srv.get("/v1/me", token=session).json or {}).get("email_verified"), True)
        h.check_equal("a confirmed address gets no new link, with the same 202",
                      srv.request("POST", "/v1/me/email-verification", token=session).status,
                      202)
        time.sleep(1.0 * h.SLACK)
        h.check_equal("and no mail", len(mails_to(sink, email, VERIFY_SUBJECT)), 2)
        h.check("no verification token is in the database",
                token not in database_text(url) and token2 not in database_text(url))
        h.check_equal("accounts an operator makes count as confirmed",
                      h.scalar(url, "SELECT count(*) FROM users WHERE email_verified_at IS NULL"),
                      "0")
        user_id = me.get("id")
        h.check("before erasure the database has the account's links and requests",
                h.scalar(url, f"SELECT count(*) FROM account_tokens WHERE user_id = '{user_id}'")
                != "0" and h.scalar(url, "SELECT count(*) FROM account_token_requests "
                                         f"WHERE email_lower = '{email}'") != "0")
        h.check_equal("the caregiver erases the account",
                      srv.request("DELETE", "/v1/me", token=session).status, 200)
        h.check_equal("erasure forgets the account's links and the requests naming its address",
                      (h.scalar(url, "SELECT count(*) FROM account_tokens "
                                     f"WHERE user_id = '{user_id}'"),
                       h.scalar(url, "SELECT count(*) FROM account_token_requests "
                                     f"WHERE email_lower = '{email}'")), ("0", "0"))
        srv.stop(label="verify")
    finally:
        sink.close()


def test_staff_reset_their_password_and_are_sent_to_their_own_sign_in():
    url = h.migrated_database()
    sink = SmtpSink()
    try:
        srv = h.Server(url, env={**FAST, "LOGEER_SMTP_URL": sink.url})
        provider = h.scalar(url, "INSERT INTO providers (name) VALUES ('Zorggroep Herstel') "
                                 "RETURNING id")
        staff = f"planner-{uuid.uuid4().hex[:6]}@herstel.logeer.nl"
        h.add_user(url, staff, "provider", provider=provider)
        coordinator = f"aanjager-{uuid.uuid4().hex[:6]}@regio.logeer.nl"
        h.add_user(url, coordinator, "coordinator")
        for address, page in ((staff, "/aanbieder/"), (coordinator, "/dashboard/")):
            h.check_equal(f"{page}: reset asked", reset(srv, address).status, 202)
            rec = wait_mail(sink, address, RESET_SUBJECT)
            if not h.check(f"{page}: the reset mail arrives", rec is not None):
                continue
            done = complete(srv, link_of(rec)[1])
            h.check_equal(f"the new password is set and the answer points to {page}",
                          (done.status, (done.json or {}).get("sign_in")), (200, page))
        srv.stop(label="staff")
    finally:
        sink.close()


if __name__ == "__main__":
    h.main(globals())
