"""docs/openapi.yaml and the router agree. Every documented (path, method) is known to a
running server (called without a token and with random ids, it never answers 405 nor the
router's own 404 "no resource at ..."; an object 404, 401, 403 or 422 is fine), secured
operations answer 401 without a token and open ones do not; and every route the server is
known to serve, from the list below and from the route tables in src/api/, is documented.
The document is read line by line (standard library only): one path per line at two spaces
under `paths:`, one method per line at four spaces, path parameter enums in flow style."""

import glob
import os
import re
import uuid

import harness as h

DOC = os.path.join(h.SOURCE_DIR, "docs", "openapi.yaml")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

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


class Operation:
    def __init__(self, path, method, line):
        self.path = path
        self.method = method.upper()
        self.line = line
        self.open = False  # `security: []`: no login needed


def parse_doc(text):
    """Returns (operations, enums, header) where enums maps (path, parameter) to the values of
    a path parameter's flow-style enum, and header holds the top-level scalar keys."""
    ops, enums, header = [], {}, {}
    in_paths = False
    path = op = last_name = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip()
            in_paths = key.strip() == "paths"
            path = op = None
            continue
        if not in_paths:
            continue
        m = re.match(r"^  (/\S*):\s*$", line)
        if m:
            path, op, last_name = m.group(1), None, None
            continue
        m = re.match(r"^    (\w+):\s*$", line)
        if m and path:
            op = None
            if m.group(1) in METHODS:
                op = Operation(path, m.group(1), number)
                ops.append(op)
            continue
        m = re.match(r"^\s*(?:-\s+)?name:\s*['\"]?([\w-]+)['\"]?\s*$", line)
        if m:
            last_name = m.group(1)
            continue
        m = re.match(r"^\s*enum:\s*\[(.*)\]\s*$", line)
        if m and path and last_name and f"{{{last_name}}}" in path:
            values = [v.strip().strip("'\"") for v in m.group(1).split(",") if v.strip()]
            enums[(path, last_name)] = values
            continue
        if op and re.match(r"^      security:\s*\[\]\s*$", line):
            op.open = True
    return ops, enums, header


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


def load():
    with open(DOC, encoding="utf-8") as f:
        return parse_doc(f.read())


def test_document_is_openapi_3_1_with_bearer_security():
    ops, enums, header = load()
    h.check("docs/openapi.yaml declares openapi 3.1.x",
            re.fullmatch(r"['\"]?3\.1\.\d+['\"]?", header.get("openapi", "")) is not None,
            header.get("openapi"))
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    h.check("it defines a bearer security scheme",
            re.search(r"^\s+type:\s*http\s*\n\s+scheme:\s*bearer", text, re.M) is not None)
    h.check("it describes problem+json, Idempotency-Key, If-Match, ETag and Retry-After",
            all(word in text for word in ("application/problem+json", "Idempotency-Key",
                                          "If-Match", "ETag", "Retry-After")))
    h.info(f"{len(ops)} documented operations on {len({o.path for o in ops})} paths")
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
        for path in expand(op.path, enums):
            body = {} if op.method in ("POST", "PUT", "PATCH") else None
            resp = srv.request(op.method, path, body=body)
            label = f"{op.method} {path}"
            h.info(f"{label} without a token: {resp.status} {h.problem_type(resp) or ''}")
            if h.route_missing(resp):
                missing.append(f"{op.method} {op.path} (line {op.line}): {resp.status} "
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
    documented = [(o.method, o.path) for o in ops]

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
