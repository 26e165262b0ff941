"""Login rate limiting: more than 5 failed logins for one email, or more than 20 from one address,
within 15 minutes are refused with a 429 problem and Retry-After (seconds until the window
frees), before any password is checked; every attempt is recorded in login_attempts; a success
does not erase earlier failures, and only failures count.

Clients use different loopback source addresses (127.0.0.x) so the per-address limit can be
shown without tripping it for the other tests."""

import http.client
import json
import threading
import uuid

import harness as h

PASSWORD = "paard batterij nietje"
_next_address = [10]
_lock = threading.Lock()


def server():
    return h.once("server", lambda: h.Server(h.migrated_database(seed=False), keep=True))


def db():
    return server().database_url


def fresh_address():
    """A loopback source address no other test of this file has used."""
    with _lock:
        _next_address[0] += 1
        return f"127.0.0.{_next_address[0]}"


def login(email, password, source):
    conn = http.client.HTTPConnection("127.0.0.1", server().port, timeout=30 * h.SCALE,
                                      source_address=(source, 0))
    try:
        conn.request("POST", "/v1/sessions", body=json.dumps({"email": email, "password": password}),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        resp = h.Response(r.status, r.getheaders(), r.read())
        h.judge_answer("POST", "/v1/sessions", resp)
        return resp
    finally:
        conn.close()


def new_user():
    email = f"limit-{uuid.uuid4().hex[:8]}@test.logeer.nl"
    h.add_user(db(), email, "referrer", password=PASSWORD)
    return email


def attempts(email):
    rows = h.psql(db(), "SELECT success, rate_limited FROM login_attempts "
                        f"WHERE email_lower = lower('{email}') ORDER BY id")
    return [(r[0] == "t", r[1] == "t") for r in rows]


def test_sixth_attempt_after_five_failures_is_429_even_with_the_right_password():
    email, source = new_user(), fresh_address()
    statuses = [login(email, "wrong-password-x", source).status for _ in range(5)]
    h.check_equal("five wrong passwords are five 401s", statuses, [401] * 5)
    resp = login(email, PASSWORD, source)
    h.check_problem("the sixth attempt, with the right password, is a 429 problem", resp, 429)
    retry = resp.header("retry-after")
    h.check("Retry-After is whole seconds close to the 15-minute window (890..900)",
            retry is not None and retry.isdigit() and 890 <= int(retry) <= 900, retry)
    h.check_equal("the problem repeats it as retry_after", (resp.json or {}).get("retry_after"),
                  int(retry) if retry and retry.isdigit() else None)
    other = login(email, PASSWORD, fresh_address())
    h.check_problem("from another address the account is still limited (per-account limit)",
                    other, 429)
    rows = attempts(email)
    h.check_equal("login_attempts holds every attempt: 5 failures, then 2 refused",
                  rows, [(False, False)] * 5 + [(False, True)] * 2)


def test_unknown_email_is_limited_exactly_like_a_real_one():
    ghost = f"nobody-{uuid.uuid4().hex[:8]}@test.logeer.nl"
    source = fresh_address()
    statuses = [login(ghost, "whatever-password", source).status for _ in range(6)]
    h.check_equal("an unknown email: five 401s, then 429", statuses, [401] * 5 + [429])


def test_success_does_not_erase_failures_and_only_failures_count():
    email, source = new_user(), fresh_address()
    seq = []
    for _ in range(4):
        seq.append(login(email, "wrong-password-y", source).status)
    for _ in range(3):
        seq.append(login(email, PASSWORD, source).status)
    seq.append(login(email, "wrong-password-y", source).status)
    seq.append(login(email, PASSWORD, source).status)
    h.check_equal("4 failures, 3 successes (not counted), a 5th failure, then 429",
                  seq, [401] * 4 + [201] * 3 + [401, 429])
    rows = attempts(email)
    h.check_equal("successes are recorded as successes",
                  [s for s, _ in rows].count(True), 3)


def test_retry_after_counts_down_and_the_window_frees():
    email, source = new_user(), fresh_address()
    for _ in range(5):
        login(email, "wrong-password-z", source)
    # Move the failures back in time instead of waiting a quarter of an hour.
    h.psql(db(), "UPDATE login_attempts SET at = at - interval '14 minutes 30 seconds' "
                 f"WHERE email_lower = lower('{email}')")
    resp = login(email, PASSWORD, source)
    retry = resp.header("retry-after")
    h.check("with the failures 14.5 minutes old, Retry-After is about 30 seconds (25..31)",
            resp.status == 429 and retry and retry.isdigit() and 25 <= int(retry) <= 31,
            f"{resp.status} Retry-After {retry}")
    h.psql(db(), "UPDATE login_attempts SET at = at - interval '31 seconds' "
                 f"WHERE email_lower = lower('{email}')")
    resp = login(email, PASSWORD, source)
    h.check_equal("once the failures are older than 15 minutes the login works", resp.status, 201)


def test_twenty_failures_from_one_address_block_that_address():
    source = fresh_address()
    statuses = []
    for i in range(20):
        statuses.append(login(f"probe{i}-{uuid.uuid4().hex[:6]}@test.logeer.nl", "guess-guess-1",
                              source).status)
    h.check_equal("20 failures from one address over 20 emails: all 401", statuses, [401] * 20)
    email = new_user()
    resp = login(email, PASSWORD, source)
    h.check_problem("the 21st attempt from that address is 429, even for another account", resp,
                    429)
    h.check("... with Retry-After", (resp.header("retry-after") or "").isdigit(),
            resp.header("retry-after"))
    resp = login(email, PASSWORD, fresh_address())
    h.check_equal("the same account from another address logs in (201)", resp.status, 201)


def test_concurrent_guesses_are_counted_exactly():
    """Ten wrong guesses at once: the limiter serialises attempts per email, so no more than
    five are ever checked against the password."""
    email = new_user()
    sources = [fresh_address() for _ in range(10)]

    def guess(i, barrier):
        barrier.wait()
        return login(email, f"wrong-guess-{i:04d}", sources[i]).status

    statuses = h.race(10, guess)
    h.info(f"statuses of 10 concurrent guesses: {sorted(statuses, key=str)}")
    h.check_equal("exactly five of ten concurrent wrong guesses reach the password check",
                  statuses.count(401), 5)
    h.check_equal("the other five are 429", statuses.count(429), 5)


def test_limits_do_not_affect_other_accounts_or_addresses():
    email = new_user()
    resp = login(email, PASSWORD, fresh_address())
    h.check_equal("an untouched account from a fresh address logs in (201)", resp.status, 201)


h.main(globals())
