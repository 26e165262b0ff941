"""Changing one's own password (POST /v1/me/password). The current password is checked as at
sign-in, with the same failure limit per account; the new one follows the registration rules.
A change ends every other session of the person and keeps this one; the old password stops
working and the new one signs in. The change and each refusal are in the access log. Runs on
the Drenthe demo data."""

import harness as h

CAREGIVER = "mantelzorger2@demo.logeer.nl"
NEW = "een-nieuw-en-lang-wachtwoord"


def world():
    def make():
        url = h.migrated_database(seed=True)
        return {"url": url, "srv": h.Server(url, keep=True)}
    return h.once("world", make)


def change(srv, token, current, new):
    return srv.request("POST", "/v1/me/password",
                       {"current_password": current, "new_password": new}, token=token)


def test_a_person_changes_their_password_and_other_sessions_end():
    w = world()
    srv = w["srv"]
    here, elsewhere = srv.login(CAREGIVER), srv.login(CAREGIVER)
    resp = change(srv, here, "niet-het-wachtwoord", NEW)
    h.check("a wrong current password: 422 on current_password", h.is_problem(resp, 422)
            and "current_password" in resp.text, repr(resp))
    h.check_problem("too short a new password: 422", change(srv, here, h.DEMO_PASSWORD, "kort"),
                    422)
    h.check_problem("the same password again: 422",
                    change(srv, here, h.DEMO_PASSWORD, h.DEMO_PASSWORD), 422)
    h.check_problem("a missing field: 422", srv.request(
        "POST", "/v1/me/password", {"new_password": NEW}, token=here), 422)
    h.check_equal("the other session still works before the change",
                  srv.get("/v1/me", token=elsewhere).status, 200)

    resp = change(srv, here, h.DEMO_PASSWORD, NEW)
    h.check("the change: 200, one other session ended", resp.status == 200
            and resp.json.get("sessions_ended") == 1, repr(resp))
    h.check_equal("this session goes on", srv.get("/v1/me", token=here).status, 200)
    h.check_problem("the other session is over", srv.get("/v1/me", token=elsewhere), 401)
    h.check_problem("the old password no longer signs in", srv.request(
        "POST", "/v1/sessions", {"email": CAREGIVER, "password": h.DEMO_PASSWORD}), 401)
    h.check_equal("the new one does", srv.request(
        "POST", "/v1/sessions", {"email": CAREGIVER, "password": NEW}).status, 201)
    rows = h.psql(w["url"], "SELECT action, detail->>'sessions_ended' FROM access_log WHERE "
                            "action LIKE 'password.change%' ORDER BY id")
    h.check_equal("the refusal and the change are in the access log", rows,
                  [["password.change_fail", ""], ["password.change", "1"]])


def test_guessing_the_current_password_is_limited():
    w = world()
    srv = w["srv"]
    token = srv.login("mantelzorger@demo.logeer.nl")
    statuses = [change(srv, token, f"raden-{i}", NEW).status for i in range(6)]
    h.check("five wrong guesses, then 429", statuses[:5] == [422] * 5 and statuses[5] == 429,
            statuses)
    resp = change(srv, token, h.DEMO_PASSWORD, NEW)
    h.check("the right password is refused too while the limit holds: 429 with Retry-After",
            resp.status == 429 and resp.header("Retry-After"), repr(resp))


h.main(globals())
