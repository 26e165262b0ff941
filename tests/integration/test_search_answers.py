"""A search answer shows each pool's description as it is now. The unchanging part of a hit is
rendered once per version of a pool's description (issue 17); this proves it is rendered again
whenever that description changes: after renaming the pool, its location and its provider and
changing its check-in window, the next searches show the new texts, escaped as JSON requires,
and every other member stays as it was."""

import datetime as dt

import harness as h


def hit(srv, token, pool_id, check_in):
    resp = srv.get(f"/v1/availability?check_in={check_in}&nights=2&municipality=GM0106",
                   token=token)
    if resp.status != 200:
        return None
    found = [r for r in resp.json["results"] if r["pool_id"] == pool_id]
    return found[0] if found else None


def provider_and_caregiver(domain, name, agb):
    """A fresh database and server with a provider (its planner signed in) and a caregiver in
    Assen (signed in): (url, srv, prov, staff, caregiver, today)."""
    url = h.migrated_database()
    srv = h.Server(url)
    h.add_user(url, f"beheer@{domain}", "admin")
    admin = srv.login(f"beheer@{domain}", h.TEST_PASSWORD)
    prov = srv.request("POST", "/v1/providers", {"name": name, "agb_code": agb},
                       token=admin).json["id"]
    h.add_user(url, f"planner@{domain}", "provider", provider=prov)
    staff = srv.login(f"planner@{domain}", h.TEST_PASSWORD)
    h.add_user(url, f"mz@{domain}", "caregiver", municipality="GM0106")
    caregiver = srv.login(f"mz@{domain}", h.TEST_PASSWORD)
    return url, srv, prov, staff, caregiver, h.today_local(url)


def test_a_changed_description_shows_in_the_next_search():
    url, srv, prov, staff, caregiver, today = provider_and_caregiver(
        "answers.test", "Zorg Antwoord", "98771002")
    pool = h.make_pool(srv, url, staff, prov, 2, today, today + dt.timedelta(days=30),
                       name="Kamers oud")
    check_in = today + dt.timedelta(days=10)
    before = h.wait_until(lambda: hit(srv, caregiver, pool.id, check_in), 10 * h.SCALE)
    if not h.check("the pool is found", before, before):
        srv.stop()
        return
    h.check_equal("it shows its names as made",
                  (before["pool_name"], before["provider"]["name"]), ("Kamers oud", "Zorg Antwoord"))
    # Twice more: the prepared part gives the same answer as the first time.
    h.check_equal("a second search shows exactly the same hit", hit(srv, caregiver, pool.id, check_in),
                  before)

    name = 'Kamer "De Es" \\ één'
    h.check_equal("staff rename the pool", srv.request(
        "PATCH", f"/v1/pools/{pool.id}", {"name": name, "check_in_window": "14:00-17:00"},
        token=staff).status, 200)
    h.check_equal("staff rename the location", srv.request(
        "PATCH", f"/v1/locations/{pool.location_id}", {"name": "Locatie nieuw"},
        token=staff).status, 200)
    h.check_equal("staff rename the provider", srv.request(
        "PATCH", f"/v1/providers/{prov}", {"name": "Zorg Nieuw"}, token=staff).status, 200)

    def renamed():
        x = hit(srv, caregiver, pool.id, check_in)
        return x if x and x["provider"]["name"] == "Zorg Nieuw" \
            and x["location"]["name"] == "Locatie nieuw" and x["pool_name"] == name else None
    after = h.wait_until(renamed, 10 * h.SCALE)
    h.check("the next searches show the new names, quotes and backslash escaped", after, 
            hit(srv, caregiver, pool.id, check_in))
    if after:
        h.check_equal("and the new check-in window", after["check_in_window"], "14:00-17:00")
        same = {k: v for k, v in after.items()
                if k not in ("pool_name", "location", "provider", "check_in_window")}
        was = {k: v for k, v in before.items()
               if k not in ("pool_name", "location", "provider", "check_in_window")}
        h.check_equal("every other member is as before", same, was)
    srv.stop()


def test_one_pool_by_its_id():
    """A link to one place's request page asks the search for that pool alone (pool_id): it
    finds that pool and no other, only when the caller may see it and it fits the filters;
    a malformed id is a 422 at the field, an unknown one finds nothing."""
    url, srv, prov, staff, caregiver, today = provider_and_caregiver(
        "eenplek.test", "Zorg Een Plek", "98771003")
    until = today + dt.timedelta(days=30)
    asked = h.make_pool(srv, url, staff, prov, 2, today, until, name="De gevraagde plek")
    other = h.make_pool(srv, url, staff, prov, 3, today, until, name="Een andere plek")
    crisis = h.make_pool(srv, url, staff, prov, 1, today, until, kind="crisis", name="Crisisbed")
    check_in = today + dt.timedelta(days=10)
    base = f"/v1/availability?check_in={check_in}&nights=2"

    def ids(path):
        resp = srv.get(path, token=caregiver)
        return [r["pool_id"] for r in resp.json["results"]] if resp.status == 200 else resp

    both = h.wait_until(lambda: (lambda f: f if isinstance(f, list) and
                                 {asked.id, other.id} <= set(f) else None)(ids(base)), 10 * h.SCALE)
    h.check("without pool_id both planned pools are found", both, ids(base))
    h.check_equal("with pool_id only that pool", ids(f"{base}&pool_id={asked.id}"), [asked.id])
    h.check_equal("with another filter it fails (municipality), nothing",
                  ids(f"{base}&pool_id={asked.id}&municipality=GM0114"), [])
    h.check_equal("a crisis pool stays out of a caregiver's sight",
                  ids(f"{base}&pool_id={crisis.id}"), [])
    h.check_equal("an unknown pool finds nothing",
                  ids(f"{base}&pool_id=00000000-0000-4000-8000-000000000000"), [])
    resp = srv.get(f"{base}&pool_id=plek-1", token=caregiver)
    h.check("a malformed id is 422 at pool_id", h.is_problem(resp, 422) and any(
        e.get("field") == "pool_id" for e in resp.json.get("errors", [])), repr(resp))
    resp = srv.get(f"/v1/availability/earliest?nights=2&pool_id={other.id}", token=caregiver)
    h.check("the earliest dates of that pool alone",
            resp.status == 200 and [r["pool_id"] for r in resp.json["results"]] == [other.id],
            repr(resp))
    srv.stop()


h.main(globals())
