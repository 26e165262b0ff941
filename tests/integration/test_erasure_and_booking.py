"""Erasing an account (DELETE /v1/me) and booking for it do not overlap (migration 0055): the
erasure waits for a running booking of the same caregiver (their open-stays lock), and a
booking that comes while an erasure runs waits for it and then finds the account erased: 401,
nothing written. Before, such a booking committed a held stay, with the guest's alias, for an
account already erased."""

import datetime as dt
import subprocess
import threading
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
# A session of logeerd's waiting for an advisory lock (the psql sessions here hold, never wait).
WAITING = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
           "AND wait_event = 'advisory' AND pid <> pg_backend_pid()")


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        planner = self.srv.login(ESDORP)
        self.pool = h.make_pool(self.srv, self.url, planner, h.DEMO_PROVIDER_IDS[ESDORP], 5,
                                self.today + dt.timedelta(days=10),
                                self.today + dt.timedelta(days=40), name="Wissen en boeken")

    def caregiver(self):
        email = h.add_caregivers(self.url, 1, prefix="eb")[0]
        token = h.login_many(self.srv, [email])[0]
        uid = h.scalar(self.url, f"SELECT id FROM users WHERE email = '{email}'")
        return token, uid

    def book(self, token):
        night = self.today + dt.timedelta(days=20)
        return self.srv.request(
            "POST", "/v1/stays", h.stay_body(self.pool.id, night, night + dt.timedelta(days=1),
                                             alias="mevr. W."),
            token=token, headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=60 * h.SCALE)


def world():
    return h.once("world", World)


def session(url):
    """An interactive psql: lines in, one answer line out."""
    return subprocess.Popen([h.PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def ask(psql, sql):
    psql.stdin.write(sql + "\n")
    psql.stdin.flush()
    return psql.stdout.readline().strip()


def behind_open_transaction(w, first, request, waits, meanwhile=lambda: None):
    """Runs first in a psql transaction left open and checks its answer line (first is a pair:
    SQL, expected); then sends request() from a thread, checks that it waits for an advisory
    lock (waits: what that means), runs meanwhile(), commits, and returns request's answer."""
    psql = session(w.url)
    answers = []
    try:
        sql, expected = first
        h.check_equal(f"psql: {expected}", ask(psql, f"BEGIN; {sql}"), expected)
        thread = threading.Thread(target=lambda: answers.append(request()))
        thread.start()
        h.check(waits, h.wait_until(lambda: h.scalar(w.url, WAITING) == "1", 10 * h.SCALE))
        meanwhile()
        ask(psql, "COMMIT; SELECT 'done';")
        thread.join(60 * h.SCALE)
    finally:
        psql.stdin.close()
        psql.wait(30 * h.SCALE)
    return answers[0] if answers else None


def test_a_booking_that_comes_during_an_erasure_finds_the_account_gone():
    w = world()
    token, uid = w.caregiver()
    resp = behind_open_transaction(
        w, (f"SELECT (logeer_erase_account('{uid}', 'eb-erase', NULL, 'DELETE /v1/me')).outcome;",
            "erased"),
        lambda: w.book(token), "the booking waits for the erasure's lock")
    h.check("once the erasure commits the booking is refused: 401",
            resp is not None and h.is_problem(resp, 401), repr(resp))
    h.check_equal("and no stay was written for the erased account", h.scalar(
        w.url, f"SELECT count(*) FROM stays WHERE requested_by = '{uid}'"), "0")


def test_an_erasure_waits_for_a_running_booking():
    """A booking holds its account's open-stays lock from its start to its commit: the erasure
    waits for it, so that it sees whatever the booking wrote (an open stay refuses it)."""
    w = world()
    token, uid = w.caregiver()
    resp = behind_open_transaction(
        w, ("SELECT 'locked' FROM (SELECT pg_advisory_xact_lock(hashtextextended("
            f"'logeer.open_stays:{uid}', 0))) AS l;", "locked"),
        lambda: w.srv.request("DELETE", "/v1/me", token=token, timeout=60 * h.SCALE),
        "DELETE /v1/me waits for the booking's lock",
        meanwhile=lambda: h.check_equal("and has erased nothing yet", h.scalar(
            w.url, f"SELECT erased_at IS NULL FROM users WHERE id = '{uid}'"), "t"))
    h.check_equal("once the booking is done the erasure goes on: 200",
                  resp.status if resp else None, 200)


h.main(globals())
