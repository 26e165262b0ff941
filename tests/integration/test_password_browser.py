"""Wachtwoord wijzigen in a real browser (tests/browser/password.test.mjs, Debian's Chromium
through playwright-core, axe-core on every state), against a logeerd with the Drenthe demo
data: a caregiver on two computers changes the password after two refusals; the other
computer is signed out. Afterwards the new password signs in and the old one does not."""


import browser
import harness as h

SCRIPT = "password.test.mjs"
CAREGIVER = "mantelzorger2@demo.logeer.nl"


def test_a_password_is_changed_in_chromium():
    if not browser.tools_ready():
        return
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}", LOGEER_PASSWORD=h.DEMO_PASSWORD)
    browser.run(SCRIPT, env, timeout=400)
    h.check_problem("the old password no longer signs in", srv.request(
        "POST", "/v1/sessions", {"email": CAREGIVER, "password": h.DEMO_PASSWORD}), 401)
    h.check_equal("the new one does", srv.request(
        "POST", "/v1/sessions", {"email": CAREGIVER, "password": "een-nieuw-en-lang-wachtwoord"}
    ).status, 201)
    srv.stop()


h.main(globals())
