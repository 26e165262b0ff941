"""Passkeys in a real browser (tests/browser/passkeys.test.mjs): Debian's Chromium with its
virtual authenticator (CDP WebAuthn domain: CTAP2, internal transport, resident keys, user
verification), axe-core on every state. A caregiver adds a passkey on Mijn gegevens, signs out
and signs in with it alone, removes it after a step-up with it, and is refused with a clear
sentence when the authenticator still offers it. A planner, with the second-factor rule on,
sets up a passkey as the second step after the password, signs out, and proves it on the next
sign-in. The server's rp id is "localhost" (browsers refuse IP addresses as rp ids), so the
pages are opened at http://localhost:<port>."""

import browser
import harness as h

SCRIPT = "passkeys.test.mjs"
ENV = {"LOGEER_MFA_REQUIRED_ROLES": "provider,coordinator,admin", "LOGEER_STEP_UP_S": "30"}


def server_at_localhost(url):
    """A server whose LOGEER_PUBLIC_URL is http://localhost:<its port>: the port comes first."""
    port = h.free_port()
    choose = h.free_port
    h.free_port = lambda: port
    try:
        return h.Server(url, env={**ENV, "LOGEER_PUBLIC_URL": f"http://localhost:{port}"})
    finally:
        h.free_port = choose


def test_passkeys_are_added_used_and_removed_in_chromium():
    if not browser.tools_ready():
        return
    url = h.migrated_database(seed=True)
    srv = server_at_localhost(url)
    env = dict(LOGEER_URL=f"http://localhost:{srv.port}", LOGEER_PASSWORD=h.DEMO_PASSWORD)
    browser.run(SCRIPT, env, timeout=540)

    def count(action, email):
        return int(h.scalar(url, f"SELECT count(*) FROM access_log l JOIN users u ON u.id = "
                                 f"l.user_id WHERE u.email = '{email}' AND l.action = '{action}'"))
    caregiver, planner = "mantelzorger@demo.logeer.nl", "planner@esdorp.demo.logeer.nl"
    h.check_equal("the caregiver's passkey was registered once", count("passkey.register",
                                                                       caregiver), 1)
    h.check("and used to sign in and for the step-up", count("passkey.use", caregiver) >= 2)
    h.check_equal("and removed", count("passkey.remove", caregiver), 1)
    h.check_equal("the planner registered one", count("passkey.register", planner), 1)
    h.check("and proved it at the second sign-in", count("passkey.use", planner) >= 1
            and count("factor.verify", planner) >= 2)
    srv.stop()


h.main(globals())
