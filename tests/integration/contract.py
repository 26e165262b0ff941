"""The contract, docs/openapi.yaml, as the integration tests see it.

Owns reading the document with a real YAML parser and judging one HTTP exchange against it:
the answer's status must be documented for the operation, its media type listed for that
status, and a JSON body must match the schema with no field the schema does not name. The
harness calls `Contract.judge` on every response a test receives; it never sends a request.
"""

import json
import os
import re
import threading

import yaml
import jsonschema

try:  # jsonschema >= 4.18 resolves $ref through `referencing`; Debian 12 has 4.10
    import referencing
    import referencing.jsonschema
except ImportError:  # pragma: no cover - depends on the installed version
    referencing = None

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
JSON_TYPES = re.compile(r"^application/([\w.+-]*\+)?json$")


def load_document(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


class Operation:
    """One (method, path template) of the document."""

    def __init__(self, doc, template, method, spec):
        self.doc = doc
        self.template = template
        self.method = method.upper()
        self.spec = spec
        self.operation_id = spec.get("operationId", f"{self.method} {template}")
        # Open: no requirement at all, or an empty one among the alternatives (a visitor
        # without credentials is served too, e.g. the search).
        security = spec.get("security", doc.get("security"))
        self.open = security == [] or {} in (security or [])
        self.segments = template.strip("/").split("/") if template != "/" else [""]
        self.trailing_slash = template.endswith("/") and template != "/"
        params = list(doc["paths"][template].get("parameters", [])) + spec.get("parameters", [])
        self.path_enums = {}
        for p in params:
            p = doc_resolve(doc, p)
            if p.get("in") == "path" and "enum" in p.get("schema", {}):
                self.path_enums[p["name"]] = [str(v) for v in p["schema"]["enum"]]

    def literal_count(self):
        return sum(1 for s in self.segments if not is_param(s))

    def matches(self, segments, trailing_slash):
        if len(segments) != len(self.segments) or trailing_slash != self.trailing_slash:
            return False
        for want, got in zip(self.segments, segments):
            if is_param(want):
                allowed = self.path_enums.get(want[1:-1])
                if got == "" or (allowed is not None and got not in allowed):
                    return False
            elif param_suffix(want) is not None:
                suffix = param_suffix(want)
                if len(got) <= len(suffix) or not got.endswith(suffix):
                    return False
            elif want != got:
                return False
        return True

    def response(self, status):
        """The documented response object for a status (exact code, then NXX, then default)."""
        responses = self.spec.get("responses", {})
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in responses:
                return doc_resolve(self.doc, responses[key])
        return None


def is_param(segment):
    return segment.startswith("{") and segment.endswith("}")


def param_suffix(segment):
    """The fixed suffix of a parameter segment such as "{token}.ics" (".ics"), else None."""
    if segment.startswith("{") and "}" in segment and not segment.endswith("}"):
        return segment[segment.index("}") + 1:]
    return None


def doc_resolve(doc, obj):
    """Follows a local $ref ("#/components/...") in the document, as often as it takes."""
    while isinstance(obj, dict) and "$ref" in obj and obj["$ref"].startswith("#/"):
        node = doc
        for part in obj["$ref"][2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = node
    return obj


def operations_of(doc):
    ops = []
    for template, item in (doc.get("paths") or {}).items():
        for method in METHODS:
            if method in item:
                ops.append(Operation(doc, template, method, item[method]))
    return ops


class Contract:
    """Judges exchanges against the document; thread-safe (tests send from many threads)."""

    def __init__(self, path):
        self.path = path
        self.doc = load_document(path)
        self.operations = operations_of(self.doc)
        self._validators = {}
        self._component_refs = {}
        self._lock = threading.Lock()
        self.seen = set()  # operation ids with at least one judged answer
        self.judged = 0

    def operation_for(self, method, target):
        """The documented operation a request reaches, or None when the path is unknown or
        the method is not documented for it (the server's 404/405, described in info)."""
        path = target.split("?", 1)[0]
        segments = path.strip("/").split("/")
        trailing = path.endswith("/") and path != "/"
        method = method.upper()
        if method == "HEAD":
            method = "GET" if not any(o.method == "HEAD" for o in self.operations) else "HEAD"
        candidates = [o for o in self.operations
                      if o.method == method and o.matches(segments, trailing)]
        if not candidates:
            return None
        return max(candidates, key=Operation.literal_count)

    def judge(self, method, target, status, content_type, body):
        """Returns a list of sentences, one per way the answer breaks the contract (empty when
        it keeps it). Requests to no documented operation are not judged."""
        op = self.operation_for(method, target)
        if op is None:
            return []
        label = f"{method.upper()} {op.template} ({op.operation_id}) answered {status}"
        with self._lock:
            self.judged += 1
            self.seen.add(op.operation_id)
        response = op.response(status)
        if response is None:
            documented = ", ".join(sorted(op.spec.get("responses", {})))
            return [f"{label}, a status the contract does not list (it lists {documented})"]
        content = response.get("content") or {}
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if not body or method.upper() == "HEAD" or status in (204, 304):
            return []
        if not content:
            return [f"{label} with a {media or 'untyped'} body, but the contract describes "
                    "no body for it"]
        declared = self._media_entry(content, media)
        if declared is None:
            return [f"{label} as {media or 'no Content-Type'}, but the contract lists only "
                    f"{', '.join(content)}"]
        schema = declared.get("schema")
        if schema is None or not JSON_TYPES.match(media):
            return []
        try:
            instance = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
        except (ValueError, UnicodeDecodeError) as e:
            return [f"{label} with a body that is not JSON ({e})"]
        return [f"{label}: {problem}" for problem in self._check_body(schema, instance)]

    def judge_component(self, name, instance):
        """Problems of one JSON value against components/schemas/<name> (e.g. each message
        of the event stream against Event), in the same words as judge's."""
        with self._lock:
            schema = self._component_refs.setdefault(name, {"$ref": f"#/components/schemas/{name}"})
        return [f"{name}: {problem}" for problem in self._check_body(schema, instance)]

    @staticmethod
    def _media_entry(content, media):
        if media in content:
            return content[media]
        for key, value in content.items():
            kind, _, sub = key.partition("/")
            if key == "*/*" or (sub == "*" and media.startswith(kind + "/")):
                return value
        return None

    def _check_body(self, schema, instance):
        problems = []
        validator = self._validator(schema)
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.path))[:5]:
            where = "/".join(str(p) for p in error.absolute_path) or "(body)"
            problems.append(f"{where}: {error.message[:300]}")
        problems += [f"{where}: field not in the contract"
                     for where in self.undocumented_fields(schema, instance, "")][:5]
        return problems

    def _validator(self, schema):
        # Schemas are objects of the document (or of _component_refs), which live as long as
        # the contract: their identity is the key, so no answer pays for serialising one.
        key = id(schema)
        with self._lock:
            validator = self._validators.get(key)
            if validator is None:
                validator = self._make_validator(schema)
                self._validators[key] = validator
        return validator

    def _make_validator(self, schema):
        cls = jsonschema.Draft202012Validator
        checker = cls.FORMAT_CHECKER if hasattr(cls, "FORMAT_CHECKER") else \
            jsonschema.FormatChecker()
        # Local refs point into the whole document, so the document is the root resource.
        root = dict(self.doc)
        root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        wrapped = {"$schema": root["$schema"], "$ref": "urn:logeer:openapi#/x-judged"}
        root["x-judged"] = schema
        if referencing is not None:
            resource = referencing.Resource.from_contents(
                root, default_specification=referencing.jsonschema.DRAFT202012)
            registry = referencing.Registry().with_resource("urn:logeer:openapi", resource)
            return cls(wrapped, registry=registry, format_checker=checker)
        resolver = jsonschema.RefResolver("urn:logeer:openapi", root,
                                          store={"urn:logeer:openapi": root})
        return cls(wrapped, resolver=resolver, format_checker=checker)

    # An answer's field that no schema names is a field clients cannot know about: JSON
    # Schema allows it by default, the contract does not. Objects that declare
    # additionalProperties (maps such as `figures` by key) are open on purpose.

    def undocumented_fields(self, schema, instance, where):
        schema = doc_resolve(self.doc, schema)
        if not isinstance(schema, dict):
            return []
        found = []
        if isinstance(instance, dict):
            names, open_object, subschemas = self._object_shape(schema, instance)
            for key, value in instance.items():
                if key not in names and not open_object:
                    found.append(f"{where}/{key}")
                # Every schema that speaks of this field describes it together (allOf).
                subs = subschemas.get(key, [])
                if subs:
                    found += self.undocumented_fields({"allOf": subs}, value, f"{where}/{key}")
        elif isinstance(instance, list):
            items = self._item_schemas(schema)
            if items:
                for i, item in enumerate(instance):
                    found += self.undocumented_fields({"allOf": items}, item, f"{where}/{i}")
        return sorted(set(found))

    def _branches(self, schema):
        """The schema and every allOf/anyOf/oneOf branch under it, refs followed."""
        out, todo = [], [schema]
        while todo:
            s = doc_resolve(self.doc, todo.pop())
            if not isinstance(s, dict):
                continue
            out.append(s)
            for word in ("allOf", "anyOf", "oneOf"):
                todo += s.get(word, [])
        return out

    def _object_shape(self, schema, instance):
        names, subschemas, open_object = set(), {}, False
        branches = self._branches(schema)
        declares_objects = False
        for s in branches:
            if "properties" in s or s.get("type") == "object" or "additionalProperties" in s:
                declares_objects = True
            for name, sub in (s.get("properties") or {}).items():
                names.add(name)
                subschemas.setdefault(name, []).append(sub)
            extra = s.get("additionalProperties")
            if extra not in (None, False) or s.get("patternProperties"):
                open_object = True
                if isinstance(extra, dict):
                    for key in instance:
                        if key not in names:
                            subschemas.setdefault(key, []).append(extra)
        if not declares_objects:
            open_object = True  # a schema that says nothing about objects closes none
        return names, open_object, subschemas

    def _item_schemas(self, schema):
        return [s["items"] for s in self._branches(schema) if isinstance(s.get("items"), dict)]


_contract = None
_contract_lock = threading.Lock()


def shared(source_dir):
    """The one Contract of this test process, read on first use."""
    global _contract
    with _contract_lock:
        if _contract is None:
            _contract = Contract(os.path.join(source_dir, "docs", "openapi.yaml"))
        return _contract
