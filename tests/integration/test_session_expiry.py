"""Session expiry with small values: a session unused for LOGEER_SESSION_IDLE seconds ends even
though its absolute lifetime has not, activity keeps it alive past the idle limit, and no amount
of activity keeps it alive past LOGEER_SESSION_TTL. Logout revokes at once."""

import time
from datetime import datetime, timezone

import harness as h

EMAIL = "aanjager@demo.logeer.nl"


def seeded_db():
    return h.once("db", lambda: h.migrated_database(seed=True))


def me(srv, token):
    return srv.request("GET", "/v1/me", token=token).status


def test_idle_expiry_ends_unused_sessions_and_activity_extends_them():
    srv = h.Server(seeded_db(), env={"LOGEER_SESSION_IDLE": "2", "LOGEER_SESSION_TTL": "3600"})
    active = srv.login(EMAIL)
    idle = srv.login(EMAIL)
    started = time.monotonic()
    statuses = []
    while time.monotonic() - started < 4.0:
        statuses.append(me(srv, active))
        time.sleep(0.4)
    h.check(f"a session used every 0.4 s stays valid for 4 s with a 2 s idle limit "
            f"({len(statuses)} requests)", statuses and all(s == 200 for s in statuses), statuses)
    h.check_equal("the other session, unused for 4 s, has ended (401)", me(srv, idle), 401)
    time.sleep(3.0)
    h.check_equal("the active session, after 3 s without use, has ended too (401)",
                  me(srv, active), 401)
    srv.stop()


def test_absolute_expiry_ends_even_busy_sessions():
    srv = h.Server(seeded_db(), env={"LOGEER_SESSION_IDLE": "3600", "LOGEER_SESSION_TTL": "3"})
    resp = srv.request("POST", "/v1/sessions", {"email": EMAIL, "password": h.DEMO_PASSWORD})
    token = (resp.json or {}).get("token")
    expires = datetime.fromisoformat((resp.json or {}).get("expires_at", "").replace("Z", "+00:00"))
    left = (expires - datetime.now(timezone.utc)).total_seconds()
    h.check("expires_at is about LOGEER_SESSION_TTL (3 s) ahead", 1 <= left <= 4, left)
    started = time.monotonic()
    seen = []
    while time.monotonic() - started < 5.0:
        seen.append((round(time.monotonic() - started, 1), me(srv, token)))
        time.sleep(0.25)
    early = [s for t, s in seen if t < 1.5]
    late = [s for t, s in seen if t > 4.0]
    h.info(f"(seconds after login, status): {seen}")
    h.check("while young the busy session works (200)", early and all(s == 200 for s in early),
            seen)
    h.check("after the 3 s lifetime it is refused (401) despite constant use",
            late and all(s == 401 for s in late), seen)
    srv.stop()


def test_logout_revokes_at_once():
    srv = h.Server(seeded_db())
    token = srv.login(EMAIL)
    h.check_equal("the session works", me(srv, token), 200)
    h.check_equal("DELETE /v1/sessions/current is 204",
                  srv.request("DELETE", "/v1/sessions/current", token=token).status, 204)
    h.check_equal("the same token right after logout is 401", me(srv, token), 401)
    srv.stop()


h.main(globals())
