"""logeerd seed-demo: loads the Drenthe demo region (12 municipalities, providers, locations,
planned and crisis pools with 120 nights of capacity, a few stays, demo users) and is
idempotent: a second run changes no row count. The demo users can really log in."""

import harness as h


def row_counts(url):
    tables = [r[0] for r in h.psql(
        url, "SELECT table_name FROM information_schema.tables "
             "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1")]
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables)
    return {name: int(n) for name, n in h.psql(url, sql)}


def test_seed_twice_gives_identical_row_counts():
    url = h.migrated_database()
    proc = h.seed_demo(url)
    h.check("first seed-demo exits 0", proc.returncode == 0, h._describe(proc))
    first = row_counts(url)
    proc = h.seed_demo(url)
    h.check("second seed-demo exits 0", proc.returncode == 0, h._describe(proc))
    second = row_counts(url)
    h.check_equal("row counts per table are identical after a second seed", second, first)
    h.info(f"row counts: {first}")


def test_seed_describes_the_drenthe_region():
    url = h.migrated_database(seed=True)
    munis = dict(h.psql(url, "SELECT code, name FROM municipalities"))
    h.check_equal("exactly the 12 Drenthe municipalities", munis, h.DRENTHE)

    providers = int(h.scalar(url, "SELECT count(*) FROM providers"))
    h.check(f"at least 6 providers ({providers})", providers >= 6)
    locations = int(h.scalar(url, "SELECT count(*) FROM locations"))
    h.check(f"at least 10 locations ({locations})", locations >= 10)
    spread = int(h.scalar(url, "SELECT count(DISTINCT municipality) FROM locations"))
    h.check(f"locations lie in at least 8 municipalities ({spread})", spread >= 8)

    kinds = {r[0] for r in h.psql(url, "SELECT DISTINCT kind FROM pools")}
    h.check_equal("both pool kinds exist", kinds, {"planned", "crisis"})

    rows = h.psql(url, """
        SELECT p.id, count(n.night), min(n.night), max(n.night)
          FROM pools p LEFT JOIN pool_nights n ON n.pool_id = p.id
         GROUP BY p.id""")
    short = [r for r in rows if int(r[1]) < 120]
    h.check(f"every pool has at least 120 nights of capacity ({len(rows)} pools)",
            rows and not short, f"pools with fewer: {short[:5]}")
    starts_today = h.scalar(url, "SELECT min(night) <= current_date FROM pool_nights")
    h.check("the nights start no later than today", starts_today == "t")
    covers = h.scalar(url, "SELECT max(night) >= current_date + 119 FROM pool_nights")
    h.check("the nights reach 120 days ahead", covers == "t")
    h.check("no seeded night breaks held + booked <= capacity",
            h.scalar(url, "SELECT count(*) FROM pool_nights WHERE held + booked > capacity")
            == "0")

    stays = int(h.scalar(url, "SELECT count(*) FROM stays"))
    h.check(f"a few demo stays exist ({stays})", stays >= 1)

    grant = h.psql(url, "SELECT a.funding, a.municipality, a.nights_per_week, a.nights_per_year, "
                        "a.valid_from <= current_date AND a.valid_to >= current_date "
                        "FROM allowances a JOIN guests g ON g.id = a.guest_id "
                        "JOIN users u ON u.id = g.caregiver_id "
                        "WHERE u.email = 'mantelzorger@demo.logeer.nl'")
    h.check_equal("the demo caregiver's guest has a Wmo allowance from Assen, 3 a week, 18 a "
                  "year, valid today", grant, [["wmo", "GM0106", "3", "18", "t"]])

    roles = dict(h.psql(url, "SELECT email, role FROM users WHERE email LIKE '%demo.logeer.nl'"))
    for email, role in h.DEMO_USERS.items():
        h.check_equal(f"demo user {email} has role {role}", roles.get(email), role)
    staff = [e for e, r in roles.items() if r == "provider"]
    h.check(f"provider staff demo users exist ({len(staff)})", len(staff) >= 1)


def test_demo_users_can_log_in():
    url = h.migrated_database(seed=True)
    staff = h.scalar(url, "SELECT email FROM users WHERE role = 'provider' ORDER BY email LIMIT 1")
    users = dict(h.DEMO_USERS)
    if staff:
        users[staff] = "provider"
    server = h.Server(url)
    for email, role in users.items():
        resp = server.request("POST", "/v1/sessions",
                              {"email": email, "password": h.DEMO_PASSWORD})
        ok = resp.status == 201 and isinstance(resp.json, dict)
        h.check(f"{email} logs in with the demo password (201)", ok, repr(resp))
        if ok:
            user = resp.json.get("user") or {}
            h.check_equal(f"{email} logs in as {role}", user.get("role"), role)
            if role == "provider":
                h.check(f"{email} carries a provider_id", bool(user.get("provider_id")), user)
    server.stop()


h.main(globals())
