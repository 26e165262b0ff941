"""The judge that holds every integration test's answers against docs/openapi.yaml can say no.
Without a server: made-up answers to documented operations, each breaking the contract in one
way (an undocumented status, a field the schema lacks, a wrong type, a missing required field,
an unlisted media type), must each be reported; the faithful answers must not."""

import json

import harness as h

STAY = {"id": "0b6f8d1e-2f1c-4a55-9a51-7e1e3c1f0a01", "status": "held"}


def judge(method, target, status, ctype, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return h.contract().judge(method, target, status, ctype, raw)


def problem(status, kind="validation"):
    return {"type": f"https://logeer.example/problems/{kind}", "title": "t", "status": status,
            "detail": "d"}


def test_faithful_answers_pass():
    c = h.contract()
    h.check("the document was read: some operations", len(c.operations) >= 30,
            len(c.operations))
    ok = judge("GET", "/livez", 200, "application/json", {"status": "alive"})
    h.check_equal("GET /livez 200 {status: alive} keeps the contract", ok, [])
    ok = judge("GET", "/v1/stays/abc", 404, "application/problem+json", problem(404, "not-found"))
    h.check_equal("a 404 problem on GET /v1/stays/{id} keeps the contract", ok, [])
    ok = judge("GET", "/v1/no-such-thing", 404, "application/problem+json", problem(404))
    h.check_equal("an unknown path is not judged (the router's 404 is described in info)", ok, [])


def test_each_kind_of_break_is_reported():
    cases = {
        "an undocumented status": ("GET", "/livez", 418, "application/json", {"status": "alive"}),
        "a field the schema lacks": ("GET", "/livez", 200, "application/json",
                                     {"status": "alive", "uptime": 3}),
        "a nested field the schema lacks": ("GET", "/v1/municipalities", 200, "application/json",
                                            {"municipalities": [{"code": "GM0106",
                                                                 "name": "Assen", "province": "Drenthe",
                                                                 "secret": 1}]}),
        "a value of the wrong type": ("GET", "/readyz", 200, "application/json",
                                      {"status": "ready", "schema_version": "9"}),
        "a required field missing": ("GET", "/readyz", 200, "application/json",
                                     {"status": "ready"}),
        "a media type not listed": ("GET", "/v1/stays/abc", 404, "application/json",
                                    problem(404, "not-found")),
        "a body that is not JSON": ("GET", "/livez", 200, "application/json", b"{nope"),
    }
    for what, (method, target, status, ctype, body) in cases.items():
        found = judge(method, target, status, ctype, body)
        h.check(f"{what} is reported", len(found) >= 1, found)
        h.info(f"{what}: {found[:1]}")


h.main(globals())
