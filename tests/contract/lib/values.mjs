// values.mjs: fast-check arbitraries for values that a schema of the contract allows, so that
// the fuzzer's "valid" requests are valid by construction and shrink like any fast-check
// value; json-schema-faker adds bodies of its own making (wilder lengths and optional
// fields), drawn by a fast-check seed. Beyond the schema, three conventions make valid requests reach the handlers: a field
// or parameter named id or <thing>_id takes real ids of that collection from the running
// server (with some schema-made ones mixed in), dates lie around today, and the spec's own
// examples are used as they are, with their ids swapped for real ones and their dates moved
// together into the future.
import fc from 'fast-check';
import { generateSync } from 'json-schema-faker';

const DAY = 86400000;

export function isoDate(d) {
  return new Date(d).toISOString().slice(0, 10);
}

// Merges allOf parts into one object schema (properties, required); enough for this contract.
export function flatten(spec, schema) {
  const s = spec.resolve(schema) || {};
  if (!s.allOf) return s;
  const out = { ...s, allOf: undefined, properties: { ...(s.properties || {}) }, required: [...(s.required || [])] };
  for (const part of s.allOf.map((p) => flatten(spec, p))) {
    Object.assign(out.properties, part.properties || {});
    out.required.push(...(part.required || []));
    if (part.type && !out.type) out.type = part.type;
    if (part.additionalProperties === false) out.additionalProperties = false;
  }
  return out;
}

export class Values {
  // world: { ids(collection) -> [ids], collectionFor(name) -> '/v1/pools' | null, today: ms }
  constructor(spec, world) {
    this.spec = spec;
    this.world = world;
  }

  // Real ids for a field or parameter name, or [] when the name is not an id of anything.
  idsFor(name, collection) {
    const col = collection || this.world.collectionFor(name);
    return col ? this.world.ids(col) : [];
  }

  // The arbitrary for one schema; name is the field or parameter it is for (ids, hints).
  arb(schema, name = '', depth = 0) {
    const s = flatten(this.spec, schema);
    if (s.const !== undefined) return fc.constant(s.const);
    if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
    const generated = this.#generated(s, name, depth);
    // The schema's own examples are valid values too, and often the only ones that mean
    // something to the server (a municipality of the region rather than any GM code).
    const examples = (s.examples || []).filter((e) => e !== null && typeof e !== 'object');
    return examples.length ? fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...examples) }, { weight: 1, arbitrary: generated }) : generated;
  }

  #generated(s, name, depth) {
    const alternatives = s.oneOf || s.anyOf;
    if (alternatives) return fc.oneof(...alternatives.map((a) => this.arb(a, name, depth + 1)));
    const types = Array.isArray(s.type) ? s.type : [s.type || (s.properties ? 'object' : 'string')];
    const arbs = types.map((t) => this.#typed(t, s, name, depth));
    return arbs.length === 1 ? arbs[0] : fc.oneof(...arbs);
  }

  #typed(type, s, name, depth) {
    switch (type) {
      case 'null': return fc.constant(null);
      case 'boolean': return fc.boolean();
      case 'integer': return this.#integer(s);
      case 'number': return this.#number(s);
      case 'array': return this.#array(s, name, depth);
      case 'object': return this.#object(s, depth);
      default: return this.#string(s, name);
    }
  }

  #integer(s) {
    const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -5);
    const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : Math.max(min, 0) + 1000);
    return fc.integer({ min, max });
  }

  #number(s) {
    const min = s.minimum ?? -1000;
    const max = s.maximum ?? 1000;
    return fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).map((x) => Object.is(x, -0) ? 0 : x);
  }

  #array(s, name, depth) {
    const items = depth > 6 ? fc.constant(null) : this.arb(s.items || {}, name.replace(/s$/, ''), depth + 1);
    const minLength = s.minItems ?? 0;
    const maxLength = Math.max(minLength, Math.min(s.maxItems ?? 4, 4));
    return s.uniqueItems
      ? fc.uniqueArray(items, { minLength, maxLength, selector: (v) => JSON.stringify(v) })
      : fc.array(items, { minLength, maxLength });
  }

  #object(s, depth) {
    const props = s.properties || {};
    const model = {};
    for (const [key, sub] of Object.entries(props)) {
      // A YAML flow mapping with a comma in a description yields a bogus extra key whose value
      // is null; such keys are not properties worth generating.
      if (sub === null || typeof sub !== 'object') continue;
      if (this.spec.resolve(sub)?.readOnly) continue;
      model[key] = depth > 6 ? fc.constant(null) : this.arb(sub, key, depth + 1);
    }
    const required = (s.required || []).filter((k) => k in model);
    return fc.record(model, { requiredKeys: required });
  }

  #string(s, name) {
    const ids = this.idsFor(name);
    if (ids.length) return fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...ids) }, { weight: 1, arbitrary: fc.uuid() });
    const minLength = s.minLength ?? 0;
    const maxLength = Math.max(minLength, Math.min(s.maxLength ?? 24, 24));
    const fit = (arb) => arb.filter((v) => v.length >= (s.minLength ?? 0) && v.length <= (s.maxLength ?? Infinity));
    switch (s.format) {
      case 'date': return fc.integer({ min: -3, max: 200 }).map((d) => isoDate(this.world.today + d * DAY));
      case 'date-time': return fc.integer({ min: -3 * 24, max: 200 * 24 }).map((h) => new Date(this.world.today + h * 3600000).toISOString().replace(/\.\d+Z$/, 'Z'));
      case 'email': return fit(fc.emailAddress());
      case 'uri': return fc.webUrl();
      case 'uuid': return fc.uuid();
      default: break;
    }
    if (s.pattern) return fit(fc.stringMatching(new RegExp(s.pattern)));
    if (/(^|_)id$/.test(name)) return fc.uuid();
    return fc.string({ minLength, maxLength, unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz ABCDEFG0123456789.-éëï'.split('')) });
  }

  // A spec example as a valid value: ids swapped for real ones of the same collection (by
  // field name), every date moved by one shift so that the earliest lands shift days from
  // today (so a check_in stays before its check_out), everything else as written.
  fromExample(example) {
    const dates = [];
    walk(example, (v) => { if (isDateString(v)) dates.push(Date.parse(v)); });
    const earliest = dates.length ? Math.min(...dates) : 0;
    return fc.record({ shift: fc.integer({ min: 1, max: 90 }), pick: fc.nat() }).map(({ shift, pick }) => {
      let k = 0;
      return rewrite(example, '', (value, key) => {
        if (isDateString(value)) return isoDate(Date.parse(value) - earliest + this.world.today + shift * DAY);
        const ids = typeof value === 'string' ? this.idsFor(key) : [];
        return ids.length ? ids[(pick + k++) % ids.length] : value;
      });
    });
  }

  // A body made by json-schema-faker from the schema (the document's components alongside,
  // for its $refs), with ids swapped for real ones like an example's. null when the faker
  // cannot make one for this schema (it refuses some combinations of keywords).
  fromFaker(schema) {
    const root = { ...schema, components: this.spec.doc.components };
    const make = (seed) => {
      let k = 0;
      return rewrite(generateSync(root, { seed }), '', (value, key) => {
        const ids = typeof value === 'string' ? this.idsFor(key) : [];
        return ids.length ? ids[(seed + k++) % ids.length] : value;
      });
    };
    try {
      for (let seed = 1; seed <= 20; seed++) make(seed);
    } catch {
      return null;
    }
    return fc.integer({ min: 1, max: 0x7fffffff }).map((seed) => {
      try {
        return make(seed);
      } catch {
        return {};
      }
    });
  }

  // Valid values for a parameter: its example(s), else its schema; real ids for ids.
  param(param, collection) {
    const examples = [];
    if (param.example !== undefined) examples.push(param.example);
    for (const e of Object.values(param.examples || {})) if (e?.value !== undefined) examples.push(e.value);
    for (const e of param.schema?.examples || []) examples.push(e);
    const ids = this.idsFor(param.name, collection);
    const schemaArb = ids.length
      ? fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...ids) }, { weight: 1, arbitrary: this.arb(param.schema, param.name) })
      : this.arb(param.schema, param.name);
    return examples.length ? fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...examples) }, { weight: 3, arbitrary: schemaArb }) : schemaArb;
  }
}

function isDateString(v) {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v));
}

function walk(v, fn) {
  fn(v);
  if (Array.isArray(v)) v.forEach((x) => walk(x, fn));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => walk(x, fn));
}

// Copies v, passing every leaf (with the key it sits under) through fn.
function rewrite(v, key, fn) {
  if (Array.isArray(v)) return v.map((x) => rewrite(x, key, fn));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrite(x, k, fn)]));
  return fn(v, key);
}
