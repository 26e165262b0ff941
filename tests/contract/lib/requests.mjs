// requests.mjs: the fuzzer's request model, the arbitrary of valid requests for an operation,
// and turning a request into bytes and into a short description for a report.
//
// A request is plain data, so that fast-check can shrink it:
//   { op, role, path: {name: value}, query: [[name, value]], headers: [[name, value]],
//     body: undefined | JSON node, contentType: string | Raw | null, mutation: text | null }
// A value is a string, number or boolean (encoded as usual) or a Raw: bytes written exactly as
// they are, for what no encoder would produce (malformed escapes, invalid UTF-8, NUL).
// A JSON node is a JSON value that may contain Raw (written verbatim) and Pairs (an object
// written from a list of key/value pairs, duplicates allowed).
import fc from 'fast-check';

export class Raw {
  constructor(bytes, { invalidUtf8 = false, label = '' } = {}) {
    this.bytes = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1');
    this.invalidUtf8 = invalidUtf8;
    this.label = label;
  }

  toString() {
    return this.label || printable(this.bytes, 60);
  }
}

export class Pairs {
  constructor(pairs) {
    this.pairs = pairs;
  }
}

export const ROLES = ['anonymous', 'admin', 'coordinator', 'caregiver', 'referrer', 'provider'];

// Where a request's own ids come from for a path parameter named id: the collection the path
// continues, e.g. /v1/pools/{id}/capacity -> /v1/pools.
export function collectionOf(path, name) {
  const at = path.indexOf(`/{${name}}`);
  return at > 0 ? path.slice(0, at) : null;
}

// Valid requests for op: every parameter and the body from the contract (values.mjs: the
// schema, the spec's example, json-schema-faker), as one of the roles. Optional query
// parameters are sometimes left out.
export function validRequestArb(op, values, roles = ROLES) {
  const path = {};
  const query = {};
  const queryRequired = [];
  const headers = {};
  const headersRequired = [];
  for (const p of op.params) {
    const arb = values.param(p, p.in === 'path' ? collectionOf(op.path, p.name) : null);
    if (p.in === 'path') path[p.name] = arb;
    else if (p.in === 'query') {
      query[p.name] = arb;
      if (p.required) queryRequired.push(p.name);
    } else if (p.in === 'header') {
      headers[p.name] = arb;
      if (p.required) headersRequired.push(p.name);
    }
  }
  let body = fc.constant(undefined);
  if (op.body) {
    const arbs = [{ weight: 3, arbitrary: values.arb(op.body.schema, '') }];
    const faked = values.fromFaker(op.body.schema);
    if (faked) arbs.push({ weight: 1, arbitrary: faked });
    if (op.body.example !== undefined) arbs.push({ weight: 2, arbitrary: values.fromExample(op.body.example) });
    body = op.body.required ? fc.oneof(...arbs) : fc.option(fc.oneof(...arbs), { nil: undefined, freq: 3 });
  }
  return fc.record({
    role: fc.constantFrom(...roles),
    path: fc.record(path),
    query: fc.record(query, { requiredKeys: queryRequired }),
    headers: fc.record(headers, { requiredKeys: headersRequired }),
    body,
  }).map((r) => ({
    op,
    role: r.role,
    path: r.path,
    query: Object.entries(r.query),
    headers: Object.entries(r.headers),
    body: r.body,
    contentType: r.body === undefined ? null : 'application/json',
    mutation: null,
  }));
}

// ---- encoding ------------------------------------------------------------------------------

function encodeComponent(v) {
  if (v instanceof Raw) return v.bytes;
  return Buffer.from(encodeURIComponent(String(v)), 'latin1');
}

export function encodeTarget(req) {
  const path = req.op.path.replace(/\{([^}]+)\}/g, (_, name) => `\u0000${name}\u0000`);
  const parts = [];
  for (const [i, piece] of path.split('\u0000').entries()) {
    parts.push(i % 2 ? encodeComponent(req.path[piece] ?? '') : Buffer.from(piece, 'latin1'));
  }
  if (req.query.length || req.rawQuery) {
    parts.push(Buffer.from('?'));
    req.query.forEach(([name, value], i) => {
      if (i) parts.push(Buffer.from('&'));
      parts.push(encodeComponent(name), Buffer.from('='), encodeComponent(value));
    });
    if (req.rawQuery) parts.push(req.query.length ? Buffer.from('&') : Buffer.alloc(0), req.rawQuery.bytes);
  }
  return Buffer.concat(parts);
}

// JSON text of a node, Raw and Pairs included.
export function encodeJson(node) {
  const out = [];
  const emit = (n) => {
    if (n instanceof Raw) out.push(n.bytes);
    else if (n instanceof Pairs) {
      out.push(Buffer.from('{'));
      n.pairs.forEach(([k, v], i) => {
        out.push(Buffer.from(`${i ? ',' : ''}${JSON.stringify(k)}:`));
        emit(v);
      });
      out.push(Buffer.from('}'));
    } else if (Array.isArray(n)) {
      out.push(Buffer.from('['));
      n.forEach((v, i) => {
        if (i) out.push(Buffer.from(','));
        emit(v);
      });
      out.push(Buffer.from(']'));
    } else if (n && typeof n === 'object') {
      emit(new Pairs(Object.entries(n)));
    } else {
      out.push(Buffer.from(JSON.stringify(n === undefined ? null : n), 'utf8'));
    }
  };
  emit(node);
  return Buffer.concat(out);
}

function headerValue(v) {
  return v instanceof Raw ? v.bytes : Buffer.from(String(v), 'utf8');
}

// The bytes of a request. tokens maps a role to its bearer token; an Authorization header in
// req.headers (even null: "leave it out") takes precedence over the role's.
export function encode(req, { host, tokens, requestId }) {
  const headers = [['Host', host]];
  const own = new Map(req.headers.map(([n, v]) => [n.toLowerCase(), v]));
  if (!own.has('authorization') && tokens[req.role]) headers.push(['Authorization', `Bearer ${tokens[req.role]}`]);
  if (!own.has('x-request-id')) headers.push(['X-Request-Id', requestId]);
  for (const [name, value] of req.headers) if (value !== null && value !== undefined) headers.push([name, headerValue(value)]);
  let body = null;
  if (req.body !== undefined) {
    body = req.body instanceof Raw ? req.body.bytes : encodeJson(req.body);
    if (req.contentType !== null && !own.has('content-type')) headers.push(['Content-Type', headerValue(req.contentType)]);
  }
  return { method: req.op.method, target: encodeTarget(req), headers, body };
}

// ---- describing ----------------------------------------------------------------------------

// Bytes as readable text: printable ASCII kept, everything else as \xNN, cut at max.
export function printable(buf, max = 300) {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf), 'utf8');
  let s = '';
  for (const c of b.subarray(0, max)) s += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return b.length > max ? `${s}... (${b.length} bytes)` : s;
}

// One request as a report shows it: method, target, headers (tokens replaced by the role)
// and body, all cut short.
export function describe(req, wire) {
  const headers = wire.headers
    .filter(([n]) => n !== 'Host')
    .map(([n, v]) => {
      const text = printable(v, 120);
      return `${n}: ${/^Bearer [A-Za-z0-9_-]{40,}$/.test(text) ? `Bearer <${req.role} token>` : text}`;
    });
  return {
    operation: req.op.id,
    role: req.role,
    mutation: req.mutation,
    request: `${wire.method} ${printable(wire.target, 200)}`,
    headers,
    body: wire.body ? printable(wire.body, 300) : null,
  };
}
