// mutations.mjs: ways to spoil a valid request, as fast-check arbitraries of functions from a
// request to a spoiled copy. Every path and query parameter, header and body field of the
// operation is a target, found from the contract (so a new parameter or field is mutated the
// day it is documented): wrong types, boundaries, huge and empty values, invalid UTF-8 (raw
// and percent-encoded), NUL, deep nesting, duplicate and unknown keys, missing required
// fields, wrong content types, oversized heads and bodies. A mutation that puts invalid UTF-8
// in the request says so (req.invalidUtf8), because such a request must be refused.
import fc from 'fast-check';

import { Pairs, Raw } from './requests.mjs';
import { flatten } from './values.mjs';

const bytesOf = (b) => (typeof b === 'string' ? Buffer.from(b, 'latin1') : Buffer.from(b));
const bad = (bytes, label) => new Raw(bytesOf(bytes), { invalidUtf8: true, label });
const raw = (text, label) => new Raw(Buffer.from(text, /[^\x00-\xff]/.test(text) ? 'utf8' : 'latin1'), { label: label || text });

// Text values that go through the usual encoding (so they arrive as the text they are).
const TEXTS = [
  '', ' ', '0', '-1', '1.5', '1e309', '-0', '99999999999999999999', 'true', 'null', '[]', '{}',
  'a'.repeat(300), 'a'.repeat(5000), 'é'.repeat(150), '😀'.repeat(80), '日本語', 'ﬀ\u0301',
  '../../etc/passwd', 'a/b', '<script>alert(1)</script>', "' OR 1=1 --", '\t', '\u0001', '\u007f',
  '\u2028', '\ufeff', 'GM0106,GM0114', '2026-02-30', '00000000-0000-0000-0000-000000000000',
  'd2000000-0000-4000-a000-000000000001 ', 'D2000000-0000-4000-A000-000000000001',
];

// Pieces of a target written as they are: malformed escapes, encoded NUL and invalid UTF-8.
const TARGET_RAWS = [
  raw('%'), raw('%zz'), raw('%4'), raw('%00'), raw('%2F'), raw('%2e%2e'), raw('a+b'), raw('%20'),
  bad('%FF%FE', '%FF%FE'), bad('%C0%AF', '%C0%AF (overlong)'), bad('%ED%A0%80', '%ED%A0%80 (surrogate)'),
  bad('%C3', '%C3 (cut short)'), bad('%F4%90%80%80', '%F4%90%80%80 (past U+10FFFF)'),
  bad([0xff, 0xfe], 'raw bytes FF FE'), bad('caf\xe9', 'raw Latin-1 byte'),
];

// Header values: text, invalid UTF-8 bytes, controls, long values.
const HEADER_VALUES = [
  '', ' ', 'x', 'a'.repeat(300), 'a'.repeat(8000), 'é', '😀', '*', '"1"', 'W/"1"', '0', '-1',
  'Bearer', 'Bearer ', 'Basic YWRtaW46YWRtaW4=', 'Bearer ' + 'A'.repeat(43), 'bearer x',
  raw('\x00', 'NUL byte'), raw('\x01'), raw('\x7f'),
  bad([0xff, 0xfe], 'raw bytes FF FE'), bad('caf\xe9', 'Latin-1 byte'), bad([0xc3], 'C3 (cut short)'),
  bad([0xed, 0xa0, 0x80], 'ED A0 80 (surrogate)'), bad([0xc0, 0xaf], 'C0 AF (overlong)'),
];

// JSON values of every type and at the edges, some written verbatim.
const JSON_VALUES = [
  null, true, false, 0, -1, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, '', ' ', 'a', 'a'.repeat(1001),
  'a'.repeat(100000), 'é'.repeat(500), '😀', '\u0001', [], {}, [null], { a: 1 }, ['a', 'a'],
  raw('1e999'), raw('-1e999'), raw('123456789012345678901234567890'), raw('-0'), raw('0.0000001'),
  raw('1E2'), raw('"\\ud800"', '"\\ud800" (lone surrogate escape)'), raw('"\\udc00x"', '"\\udc00x"'),
  raw('"a\\u0000b"', '"a\\u0000b" (escaped NUL)'), raw('"a\x00b"', '"a NUL b" (a raw NUL byte)'), raw('"\\uD83D\\uDE00"'), raw('"\\/\\b\\f"'),
  bad(Buffer.concat([Buffer.from('"'), Buffer.from([0xff, 0xfe]), Buffer.from('"')]), '"\\xFF\\xFE" (raw invalid UTF-8)'),
  bad(Buffer.concat([Buffer.from('"caf'), Buffer.from([0xe9]), Buffer.from('"')]), '"caf\\xE9" (Latin-1)'),
  raw('[' .repeat(40) + ']'.repeat(40), '40 nested arrays'), raw('{"a":'.repeat(40) + '1' + '}'.repeat(40), '40 nested objects'),
];

// Whole bodies that are not the object the operation wants.
const BODIES = [
  raw('', 'empty body'), raw('{', 'truncated {'), raw('{"a":1', 'truncated object'), raw('[]'), raw('"x"'),
  raw('1'), raw('null'), raw('{} {}', 'two objects'), raw('{"a":1,}', 'trailing comma'), raw("{'a':1}", 'single quotes'),
  raw('\ufeff{}', 'BOM before {}'), raw('{"a":NaN}'), raw('[' .repeat(100000), '100,000 ['),
  raw('{"a":"\\u0000"}', 'escaped NUL'), bad(Buffer.from([0x7b, 0xff, 0x7d]), '{ FF }'),
];

const OVERSIZED = new Raw(Buffer.concat([Buffer.from('{"a":"'), Buffer.alloc(1100000, 'a'), Buffer.from('"}')]), { label: '1.1 MB (over the 1 MiB limit)' });

// Every field of a body schema as a path of keys (array items as index 0), depth first.
export function bodyFields(spec, schema, prefix = [], depth = 0, out = []) {
  const s = flatten(spec, schema);
  if (depth > 4) return out;
  if (s.type === 'array' || s.items) {
    const items = flatten(spec, s.items || {});
    if (items.properties) bodyFields(spec, items, [...prefix, 0], depth + 1, out);
    return out;
  }
  for (const [key, sub] of Object.entries(s.properties || {})) {
    if (sub === null || typeof sub !== 'object') continue; // a lint artefact, not a field
    const path = [...prefix, key];
    out.push({ path, schema: flatten(spec, sub), required: (s.required || []).includes(key) });
    bodyFields(spec, sub, path, depth + 1, out);
  }
  return out;
}

// Values at and just past the edges a schema states.
function edgeValues(s) {
  const out = [];
  if (typeof s.minimum === 'number') out.push(s.minimum, s.minimum - 1, s.minimum - 0.5);
  if (typeof s.maximum === 'number') out.push(s.maximum, s.maximum + 1, s.maximum + 0.5);
  if (typeof s.minLength === 'number' && s.minLength > 0) out.push('a'.repeat(s.minLength - 1));
  if (typeof s.maxLength === 'number') out.push('a'.repeat(s.maxLength), 'a'.repeat(s.maxLength + 1), 'é'.repeat(s.maxLength));
  if (typeof s.maxItems === 'number') out.push(Array(s.maxItems + 1).fill(null));
  if (s.minItems) out.push([]);
  if (Array.isArray(s.enum)) out.push(String(s.enum[0]).toUpperCase(), `${s.enum[0]} `, s.enum.join(','));
  return out;
}

// ---- applying ----------------------------------------------------------------------------

function clone(req) {
  return { ...req, path: { ...req.path }, query: req.query.map((p) => [...p]), headers: req.headers.map((p) => [...p]),
    body: structuredCloneNode(req.body) };
}

function structuredCloneNode(n) {
  if (n instanceof Raw || n instanceof Pairs || n === undefined) return n;
  return JSON.parse(JSON.stringify(n));
}

function withMutation(req, label, value) {
  const out = clone(req);
  out.mutation = label;
  if (value instanceof Raw && value.invalidUtf8) out.invalidUtf8 = true;
  return out;
}

function setHeader(req, name, value) {
  req.headers = req.headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
  req.headers.push([name, value]);
}

// Sets (or with value undefined, deletes) the field at path in an object body, making the
// objects and arrays on the way when the valid body did not have them.
function setField(body, path, value) {
  let node = body;
  path.slice(0, -1).forEach((key, i) => {
    if (node[key] === null || typeof node[key] !== 'object') node[key] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[key];
  });
  const last = path[path.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
}

const weighted = (weight, arbitrary) => ({ weight, arbitrary });
// A value as a mutation's label shows it: cut at 60 characters (never inside one).
const show = (v) => (v instanceof Raw ? v.toString() : Array.from(JSON.stringify(v)).slice(0, 60).join(''));

// ---- the arbitraries ---------------------------------------------------------------------

function pathMutations(op) {
  const names = op.params.filter((p) => p.in === 'path').map((p) => p.name);
  if (!names.length) return [];
  return [weighted(4, fc.tuple(fc.constantFrom(...names), fc.constantFrom(...TEXTS, ...TARGET_RAWS)).map(([name, v]) => (req) => {
    const out = withMutation(req, `path ${name} = ${show(v)}`, v);
    out.path[name] = v;
    return out;
  }))];
}

function queryMutations(spec, op) {
  const params = op.params.filter((p) => p.in === 'query');
  const names = [...params.map((p) => p.name), 'unknown_param'];
  const edges = Object.fromEntries(params.map((p) => [p.name, edgeValues(flatten(spec, p.schema || {}))]));
  const out = [
    weighted(4, fc.tuple(fc.constantFrom(...names), fc.constantFrom(...TEXTS, ...TARGET_RAWS)).map(([name, v]) => (req) => {
      const r = withMutation(req, `query ${name} = ${show(v)}`, v);
      r.query = r.query.filter(([n]) => n !== name);
      r.query.push([name, v]);
      return r;
    })),
    weighted(1, fc.constantFrom(
      raw('%zz'), raw('a=%'), raw('=1'), raw('&&&'), raw('a'), raw('a=1=2'), raw('a[]=1&a[]=2'), raw('%00=1'),
      bad('%FF%FE=1', 'name %FF%FE'), bad('x=%C3', 'x=%C3'), raw('x=' + 'a'.repeat(20000), '20 KB value'),
    ).map((v) => (req) => {
      const r = withMutation(req, `raw query ${v}`, v);
      r.rawQuery = v;
      return r;
    })),
  ];
  if (params.length) {
    out.push(weighted(2, fc.tuple(fc.constantFrom(...params.map((p) => p.name)), fc.boolean()).map(([name, twice]) => (req) => {
      const r = withMutation(req, twice ? `query ${name} twice` : `query ${name} left out`);
      const mine = r.query.filter(([n]) => n === name);
      r.query = r.query.filter(([n]) => n !== name);
      if (twice) r.query.push(...(mine.length ? mine : [[name, '1']]), [name, 'zzz']);
      return r;
    })));
    const withEdges = params.filter((p) => edges[p.name].length);
    if (withEdges.length) {
      out.push(weighted(3, fc.constantFrom(...withEdges).chain((p) => fc.constantFrom(...edges[p.name]).map((v) => (req) => {
        const r = withMutation(req, `query ${p.name} = ${show(v)} (edge)`);
        r.query = r.query.filter(([n]) => n !== p.name);
        r.query.push([p.name, v]);
        return r;
      }))));
    }
  }
  return out;
}

function headerMutations(op) {
  const documented = op.params.filter((p) => p.in === 'header').map((p) => p.name);
  const names = [...documented, 'Authorization', 'Accept', 'User-Agent', 'X-Request-Id', 'If-None-Match',
    'Idempotency-Key', 'X-Unknown-Header', 'Accept-Language'];
  return [
    weighted(4, fc.tuple(fc.constantFrom(...names), fc.constantFrom(...HEADER_VALUES)).map(([name, v]) => (req) => {
      const r = withMutation(req, `header ${name}: ${show(v)}`, v);
      setHeader(r, name, v);
      return r;
    })),
    weighted(1, fc.constantFrom(...documented, 'Authorization').map((name) => (req) => {
      const r = withMutation(req, `header ${name} left out`);
      r.headers = r.headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
      if (name === 'Authorization') r.headers.push(['Authorization', null]);
      return r;
    })),
    weighted(1, fc.constantFrom('101 extra header lines', 'one 20 KB header', '20 KB target (request line over the head limit)')
      .map((what) => (req) => {
        const r = withMutation(req, what);
        if (what.startsWith('101')) for (let i = 0; i < 101; i++) r.headers.push([`X-Flood-${i}`, String(i)]);
        else if (what.startsWith('one')) r.headers.push(['X-Big', 'a'.repeat(20000)]);
        else r.rawQuery = raw(`x=${'a'.repeat(20000)}`, '20 KB');
        return r;
      })),
  ];
}

function bodyMutations(spec, op) {
  if (!op.body) return [];
  const fields = bodyFields(spec, op.body.schema);
  const out = [
    weighted(2, fc.constantFrom(...BODIES, OVERSIZED).map((v) => (req) => {
      const r = withMutation(req, `body ${v}`, v);
      r.body = v;
      r.contentType = 'application/json';
      return r;
    })),
    weighted(1, fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'application/json; charset=latin1',
      'APPLICATION/JSON', 'application/problem+json', '', null, bad([0xff], 'FF')).map((ct) => (req) => {
      const r = withMutation(req, `Content-Type ${ct === null ? 'left out' : show(ct)}`, ct);
      if (r.body === undefined) r.body = {};
      r.contentType = ct;
      return r;
    })),
    weighted(2, fc.tuple(fc.constantFrom('unknown_field', '__proto__', 'constructor', 'status', 'id', 'é', ''), fc.constantFrom(...JSON_VALUES))
      .map(([key, v]) => (req) => {
        const r = withMutation(req, `body + unknown key ${JSON.stringify(key)}: ${show(v)}`, v);
        r.body = new Pairs([...Object.entries(objectBody(r.body)), [key, v]]);
        return r;
      })),
  ];
  if (!fields.length) return out;
  out.push(weighted(6, fc.tuple(fc.constantFrom(...fields), fc.constantFrom(...JSON_VALUES)).map(([f, v]) => (req) => {
    const r = withMutation(req, `body ${f.path.join('.')} = ${show(v)}`, v);
    r.body = objectBody(r.body);
    setField(r.body, f.path, v);
    return r;
  })));
  out.push(weighted(2, fc.constantFrom(...fields).map((f) => (req) => {
    const r = withMutation(req, `body ${f.path.join('.')} left out${f.required ? ' (required)' : ''}`);
    r.body = objectBody(r.body);
    setField(r.body, f.path, undefined);
    return r;
  })));
  const withEdges = fields.filter((f) => edgeValues(f.schema).length);
  if (withEdges.length) {
    out.push(weighted(4, fc.constantFrom(...withEdges).chain((f) => fc.constantFrom(...edgeValues(f.schema)).map((v) => (req) => {
      const r = withMutation(req, `body ${f.path.join('.')} = ${show(v)} (edge)`);
      r.body = objectBody(r.body);
      setField(r.body, f.path, v);
      return r;
    }))));
  }
  const top = fields.filter((f) => f.path.length === 1);
  if (top.length) {
    out.push(weighted(1, fc.tuple(fc.constantFrom(...top), fc.constantFrom(...JSON_VALUES)).map(([f, v]) => (req) => {
      const r = withMutation(req, `body ${f.path[0]} twice, second ${show(v)}`, v);
      r.body = new Pairs([...Object.entries(objectBody(r.body)), [f.path[0], v]]);
      return r;
    })));
  }
  return out;
}

// The valid body as a plain object to spoil (a body the valid request left out is {}).
function objectBody(body) {
  if (body instanceof Pairs) return Object.fromEntries(body.pairs);
  return body && typeof body === 'object' && !(body instanceof Raw) && !Array.isArray(body) ? body : {};
}

// One spoiling function for op, drawn from every kind that applies to it.
export function mutationArb(spec, op) {
  return fc.oneof(...pathMutations(op), ...queryMutations(spec, op), ...headerMutations(op), ...bodyMutations(spec, op));
}
