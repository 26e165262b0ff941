"""docs/openapi.yaml and the router agree. Every documented (path, method) is known to a
running server (called without a token and with random ids, it never answers 405 nor the
router's own 404 "no resource at ..."; an object 404, 401, 403 or 422 is fine), secured
operations answer 401 without a token and open ones do not; and every route the server is
known to serve, from the list below and from the route tables in src/api/, is documented.
The document is read with a real YAML parser (PyYAML), the same reading every other test's
answers are judged by (contract.py)."""

import glob
import os
import re
import uuid

import contract
import harness as h

DOC = os.path.join(h.SOURCE_DIR, "docs", "openapi.yaml")

# Routes the service is known to serve (spec section 4 as built so far). A route added to the
# service belongs here and in docs/openapi.yaml.
KNOWN_ROUTES = [
    ("GET", "/livez"), ("GET", "/readyz"), ("GET", "/metrics"),
    ("GET", "/v1/municipalities"),
    ("POST", "/v1/sessions"), ("DELETE", "/v1/sessions/current"),
    ("POST", "/v1/caregivers"), ("POST", "/v1/users"), ("GET", "/v1/users"),
    ("GET", "/v1/users/{id}"),
    ("GET", "/v1/me"), ("GET", "/v1/me/export"), ("DELETE", "/v1/me"),
    ("GET", "/v1/access-log"),
    ("POST", "/v1/providers"), ("GET", "/v1/providers"),
    ("GET", "/v1/providers/{id}"), ("PATCH", "/v1/providers/{id}"),
    ("POST", "/v1/locations"), ("GET", "/v1/locations"),
    ("GET", "/v1/locations/{id}"), ("PATCH", "/v1/locations/{id}"),
    ("POST", "/v1/pools"), ("GET", "/v1/pools"),
    ("GET", "/v1/pools/{id}"), ("PATCH", "/v1/pools/{id}"),
    ("GET", "/v1/pools/{id}/capacity"), ("PUT", "/v1/pools/{id}/capacity"),
    ("GET", "/v1/availability"),
    ("POST", "/v1/stays"), ("GET", "/v1/stays"), ("GET", "/v1/stays/{id}"),
] + [("POST", f"/v1/stays/{{id}}/{a}") for a in h.STAY_ACTIONS]


def load():
    """(operations, enums, document): the documented operations, each path parameter's enum
    by (path, name), and the whole document as a real YAML parser reads it."""
    doc = contract.load_document(DOC)
    ops = contract.operations_of(doc)
    enums = {}
    for op in ops:
        for name, values in op.path_enums.items():
            enums[(op.template, name)] = values
    return ops, enums, doc


def expand(path, enums):
    """Concrete paths for a documented template: enum parameters take each value, other
    parameters a random UUID."""
    paths = [path]
    for name in re.findall(r"\{([^}]+)\}", path):
        values = enums.get((path, name)) or [str(uuid.uuid4())]
        paths = [p.replace(f"{{{name}}}", v, 1) for p in paths for v in values]
    return paths


def segments_match(doc_path, route_path, enums):
    """A served route pattern is documented by a template when every segment is equal, both
    are parameters (names may differ), or the template's parameter enumerates the literal."""
    d, r = doc_path.strip("/").split("/"), route_path.strip("/").split("/")
    if len(d) != len(r):
        return False
    for ds, rs in zip(d, r):
        d_param = ds.startswith("{") and ds.endswith("}")
        r_param = rs.startswith("{") and rs.endswith("}")
        if ds == rs or (d_param and r_param):
            continue
        if d_param and rs in enums.get((doc_path, ds[1:-1]), ()):
            continue
        return False
    return True


def source_routes():
    """(METHOD, pattern) from every route table in src/api/*.c."""
    found = set()
    pattern = re.compile(r"\{\s*HTTP_(GET|POST|PUT|PATCH|DELETE)\s*,\s*\"([^\"]+)\"")
    for name in sorted(glob.glob(os.path.join(h.SOURCE_DIR, "src", "api", "*.c"))):
        with open(name, encoding="utf-8") as f:
            found.update(pattern.findall(f.read()))
    return sorted(found)


def test_document_is_openapi_3_1_with_bearer_security():
    ops, enums, doc = load()
    h.check("docs/openapi.yaml declares openapi 3.1.x",
            re.fullmatch(r"3\.1\.\d+", str(doc.get("openapi", ""))) is not None,
            doc.get("openapi"))
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    h.check("it defines a bearer security scheme",
            any(s.get("type") == "http" and s.get("scheme") == "bearer"
                for s in schemes.values()), schemes)
    h.check("it describes problem+json, Idempotency-Key, If-Match, ETag and Retry-After",
            all(word in text for word in ("application/problem+json", "Idempotency-Key",
                                          "If-Match", "ETag", "Retry-After")))
    h.info(f"{len(ops)} documented operations on {len({o.template for o in ops})} paths")
    action = enums.get(("/v1/stays/{id}/{action}", "action"), [])
    h.check_equal("the stay action enum lists every transition", sorted(action),
                  sorted(h.STAY_ACTIONS))


def test_every_documented_route_is_known_to_the_server():
    ops, enums, _ = load()
    srv = h.Server(h.migrated_database())
    # The detector must be able to say "missing", or every check below passes vacuously.
    resp = srv.request("GET", f"/v1/no-such-resource-{uuid.uuid4().hex[:8]}")
    h.check("an undocumented path is recognised as unknown to the router (404 'no resource at')",
            h.route_missing(resp), repr(resp))
    resp = srv.request("DELETE", "/livez")
    h.check("a known path with another method is recognised as unrouted (405)",
            h.route_missing(resp) and resp.status == 405, repr(resp))
    resp = srv.request("GET", f"/v1/stays/{uuid.uuid4()}/confirm")
    h.check("a documented path with an undocumented method is recognised as unrouted (405)",
            h.route_missing(resp), repr(resp))
    missing, wrong_auth = [], []
    for op in ops:
        for path in expand(op.template, enums):
            body = {} if op.method in ("POST", "PUT", "PATCH") else None
            resp = srv.request(op.method, path, body=body)
            label = f"{op.method} {path}"
            h.info(f"{label} without a token: {resp.status} {h.problem_type(resp) or ''}")
            if h.route_missing(resp):
                missing.append(f"{op.method} {op.template} ({op.operation_id}): {resp.status} "
                               f"{(resp.json or {}).get('detail')}")
                continue
            if op.open and resp.status == 401:
                wrong_auth.append(f"{label} is documented without security but answered 401")
            if not op.open and not h.is_problem(resp, 401):
                wrong_auth.append(f"{label} is documented with bearer security but answered "
                                  f"{resp.status}")
    h.check("every documented operation is routed by the server (no 405, no 'no resource at')",
            not missing, "\n  " + "\n  ".join(missing))
    h.check("secured operations answer 401 without a token; open ones do not",
            not wrong_auth, "\n  " + "\n  ".join(wrong_auth))
    srv.stop()


def test_every_served_route_is_documented():
    ops, enums, _ = load()
    documented = [(o.method, o.template) for o in ops]

    def is_documented(method, route):
        return any(m == method and segments_match(p, route, enums) for m, p in documented)

    undocumented = [f"{m} {p}" for m, p in KNOWN_ROUTES if not is_documented(m, p)]
    h.check("every route in the test's list of known routes is documented", not undocumented,
            undocumented)
    served = source_routes()
    h.info(f"route tables in src/api/ declare {len(served)} routes: "
           + ", ".join(f"{m} {p}" for m, p in served))
    h.check("the route tables declare some routes (the scan works)", len(served) >= 6, served)
    undocumented = [f"{m} {p}" for m, p in served if not is_documented(m, p)]
    h.check("every route in the route tables of src/api/ is documented", not undocumented,
            undocumented)


h.main(globals())
