"""Sessions a person can see and end (GET/DELETE /v1/me/sessions, DELETE /v1/me/sessions/{id})
and the admin ending a user's sessions (DELETE /v1/users/{id}/sessions). A person sees every
open session with the device in words and only the network of the address, never a token or
its hash; ends one (that session stops at once, the others go on), ends all but the current
one, and cannot see or end anyone else's. Every end is in the access log. Runs on the Drenthe
demo data."""

import harness as h

CAREGIVER = "mantelzorger@demo.logeer.nl"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


def login_as(srv, email, agent):
    resp = srv.request("POST", "/v1/sessions", {"email": email, "password": h.DEMO_PASSWORD},
                       headers={"User-Agent": agent})
    if resp.status != 201:
        raise RuntimeError(f"login failed: {resp!r}")
    return resp.json["token"]


def world():
    def make():
        url = h.migrated_database(seed=True)
        return {"url": url, "srv": h.Server(url, keep=True)}
    return h.once("world", make)


def test_a_person_sees_and_ends_their_sessions():
    w = world()
    srv = w["srv"]
    pc, phone, third = (login_as(srv, CAREGIVER, FIREFOX), login_as(srv, CAREGIVER, IPHONE),
                        login_as(srv, CAREGIVER, "curl/8.5.0"))
    resp = srv.get("/v1/me/sessions", token=pc)
    h.check("the list answers 200 with no caching", resp.status == 200
            and resp.header("Cache-Control") == "no-store", repr(resp))
    sessions = resp.json["sessions"]
    devices = {s["device"] for s in sessions}
    h.check("the devices are named in words", {"Firefox op Windows", "Safari op iOS", "curl"}
            <= devices, devices)
    current = [s for s in sessions if s["current"]]
    h.check("exactly the session of this request is marked current",
            len(current) == 1 and current[0]["device"] == "Firefox op Windows", current)
    h.check("addresses are cut to their network", all(s["address"] in ("127.0.0.0/24", None)
            for s in sessions), [s["address"] for s in sessions])
    text = resp.text
    h.check("no token and no hash is in the answer", all(t not in text for t in (pc, phone, third))
            and "\\\\x" not in text and "token" not in text, text[:300])

    iphone = next(s["id"] for s in sessions if s["device"] == "Safari op iOS")
    h.check_equal("ending the phone's session: 204",
                  srv.request("DELETE", f"/v1/me/sessions/{iphone}", token=pc).status, 204)
    h.check_problem("the phone is signed out at once", srv.get("/v1/me", token=phone), 401)
    h.check_equal("the other sessions go on", srv.get("/v1/me", token=third).status, 200)
    h.check_problem("ending it again: 404", srv.request("DELETE", f"/v1/me/sessions/{iphone}",
                                                        token=pc), 404)

    other = login_as(srv, "aanjager@demo.logeer.nl", FIREFOX)
    theirs = srv.get("/v1/me/sessions", token=other).json["sessions"]
    h.check("another person's list holds none of these", not {s["id"] for s in theirs}
            & {s["id"] for s in sessions}, theirs)
    h.check_problem("another person's session cannot be ended: 404",
                    srv.request("DELETE", f"/v1/me/sessions/{theirs[0]['id']}", token=pc), 404)
    h.check_equal("and goes on", srv.get("/v1/me", token=other).status, 200)

    resp = srv.request("DELETE", "/v1/me/sessions", token=pc)
    h.check("ending all others: 200 with how many", resp.status == 200
            and resp.json.get("ended", 0) >= 1, repr(resp))
    h.check_problem("the third session stopped", srv.get("/v1/me", token=third), 401)
    h.check_equal("the current one goes on", srv.get("/v1/me", token=pc).status, 200)
    left = srv.get("/v1/me/sessions", token=pc).json["sessions"]
    h.check("only the current session is left", len(left) == 1 and left[0]["current"], left)

    cur = left[0]["id"]
    h.check_equal("ending the current one is a logout: 204",
                  srv.request("DELETE", f"/v1/me/sessions/{cur}", token=pc).status, 204)
    h.check_problem("after it the token is refused", srv.get("/v1/me", token=pc), 401)
    ends = int(h.scalar(w["url"], "SELECT count(*) FROM access_log WHERE action = 'session.end'"))
    h.check_equal("every end is in the access log (phone, third, current)", ends, 3)


def test_the_admin_ends_a_users_sessions():
    w = world()
    srv = w["srv"]
    planner = login_as(srv, "planner@esdorp.demo.logeer.nl", FIREFOX)
    planner2 = login_as(srv, "planner@esdorp.demo.logeer.nl", IPHONE)
    admin = srv.login("beheer@demo.logeer.nl")
    uid = srv.get("/v1/me", token=planner).json["id"]
    h.check_problem("a planner cannot end another user's sessions: 403",
                    srv.request("DELETE", f"/v1/users/{uid}/sessions", token=planner), 403)
    resp = srv.request("DELETE", f"/v1/users/{uid}/sessions", token=admin)
    h.check("the admin ends them all: 200 with the count", resp.status == 200
            and resp.json.get("ended") >= 2, repr(resp))
    h.check("both of the planner's sessions stopped",
            srv.get("/v1/me", token=planner).status == 401
            and srv.get("/v1/me", token=planner2).status == 401)
    h.check_problem("an unknown user: 404", srv.request(
        "DELETE", "/v1/users/00000000-0000-4000-a000-000000000000/sessions", token=admin), 404)
    logged = int(h.scalar(w["url"], "SELECT count(*) FROM access_log WHERE action = 'session.end' "
                                    f"AND route LIKE 'DELETE /v1/users/%'"))
    h.check("the admin's ends are in the access log", logged >= 2, logged)


h.main(globals())
