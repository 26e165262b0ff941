"""PATCH /v1/locations/{id} with If-Match, as pools have it: GET answers the location's version
as a strong ETag (and in the body); a PATCH with that tag writes and answers the next one; a
PATCH with an older tag (a colleague changed the location meanwhile) is 412 and writes nothing;
without If-Match a PATCH still writes, as before; another provider's location is 404 whatever
the tag. Runs on the Drenthe demo data."""

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"


def test_location_patch_is_conditional():
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    esdorp, hunzehof = srv.login(ESDORP), srv.login(HUNZEHOF)
    locations = srv.get("/v1/locations?limit=200", token=esdorp).json["locations"]
    loc = locations[0]
    path = f"/v1/locations/{loc['id']}"
    resp = srv.get(path, token=esdorp)
    tag = resp.header("ETag")
    h.check("GET answers the version as a strong ETag, the same as in the body",
            resp.status == 200 and tag == f'"{resp.json.get("version")}"', repr(resp))

    resp = srv.request("PATCH", path, {"facilities": ["wheelchair", "night_care"]},
                       token=esdorp, headers={"If-Match": tag})
    new_tag = resp.header("ETag")
    h.check("PATCH with the current tag writes and answers the next version",
            resp.status == 200 and resp.json["facilities"] == ["wheelchair", "night_care"]
            and new_tag == f'"{resp.json["version"]}"' and new_tag != tag, repr(resp))

    resp = srv.request("PATCH", path, {"facilities": ["dementia"], "exclusions": ["aggression"]},
                       token=esdorp, headers={"If-Match": tag})
    h.check_problem("PATCH with the older tag (a colleague changed it meanwhile): 412", resp, 412)
    after = srv.get(path, token=esdorp).json
    h.check("and nothing was written", after["facilities"] == ["wheelchair", "night_care"]
            and f'"{after["version"]}"' == new_tag, repr(after))

    resp = srv.request("PATCH", path, {"exclusions": ["wandering_risk"]}, token=esdorp)
    h.check("PATCH without If-Match still writes", resp.status == 200
            and resp.json["exclusions"] == ["wandering_risk"], repr(resp))

    resp = srv.request("PATCH", path, {"exclusions": []}, token=hunzehof,
                       headers={"If-Match": resp.header("ETag")})
    h.check_problem("another provider's location is 404, tag or not", resp, 404)
    resp = srv.request("PATCH", path, {"facilities": ["Rolstoel!"]}, token=esdorp,
                       headers={"If-Match": "*"})
    h.check("a bad token is refused at its field (422)", resp.status == 422
            and "facilities" in repr(resp.json.get("errors")), repr(resp))
    srv.stop()


h.main(globals())
