// spec.mjs: reads docs/openapi.yaml and answers what the fuzzer asks of the contract: the
// operations (with parameters, body and responses, references resolved), which statuses and
// media types an operation documents, and the vocabulary of problem types. The YAML is turned
// into JSON by Redocly's bundler (a real YAML parser); everything else is plain JSON walking.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const CONTRACT_DIR = join(HERE, '..');
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

// Bundles the YAML into one JSON document (local $refs kept) with the pinned @redocly/cli.
export function bundleSpec(yamlPath) {
  const dir = mkdtempSync(join(tmpdir(), 'logeer-spec-'));
  const out = join(dir, 'openapi.json');
  try {
    execFileSync(join(CONTRACT_DIR, 'node_modules', '.bin', 'redocly'),
      ['bundle', yamlPath, '--ext', 'json', '-o', out],
      { cwd: CONTRACT_DIR, stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } });
    return JSON.parse(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// JSON pointer of a location in the document, as ajv wants it after the '#'.
export function pointer(segments) {
  return '/' + segments.map((s) => encodeURIComponent(String(s).replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
}

export class Spec {
  constructor(doc) {
    this.doc = doc;
    this.operations = this.#collectOperations();
    this.problemTypes = this.#problemVocabulary();
  }

  // Follows local $refs ("#/components/...") until a value without one.
  resolve(value) {
    let v = value;
    for (let i = 0; v && typeof v === 'object' && typeof v.$ref === 'string' && i < 20; i++) {
      if (!v.$ref.startsWith('#/')) throw new Error(`non-local $ref ${v.$ref}`);
      v = v.$ref.slice(2).split('/').reduce((node, seg) =>
        node?.[decodeURIComponent(seg).replace(/~1/g, '/').replace(/~0/g, '~')], this.doc);
    }
    return v;
  }

  #collectOperations() {
    const ops = [];
    for (const [path, rawItem] of Object.entries(this.doc.paths || {})) {
      const item = this.resolve(rawItem);
      for (const method of METHODS) {
        const raw = item[method];
        if (!raw) continue;
        ops.push(this.#operation(path, method, item, raw));
      }
    }
    return ops;
  }

  #operation(path, method, item, raw) {
    // Operation-level parameters override path-level ones of the same name and place.
    const params = new Map();
    for (const p of [...(item.parameters || []), ...(raw.parameters || [])]) {
      const param = this.resolve(p);
      params.set(`${param.in}:${param.name}`, { ...param, schema: this.resolve(param.schema) || {} });
    }
    const body = this.resolve(raw.requestBody);
    const json = body?.content?.['application/json'];
    const security = raw.security ?? this.doc.security ?? [];
    return {
      id: raw.operationId || `${method.toUpperCase()} ${path}`,
      method: method.toUpperCase(),
      path,
      pointer: ['paths', path, method],
      params: [...params.values()],
      body: json ? { required: !!body.required, schema: this.resolve(json.schema) || {},
                     example: json.example, pointer: ['paths', path, method, 'requestBody', 'content', 'application/json', 'schema'] } : null,
      secured: security.length > 0,
      responses: raw.responses || {},
    };
  }

  // The documented response for a status, by OpenAPI's rules: the exact code first, then the
  // range ("4XX"), then "default". Returns { key, response } or null.
  response(op, status) {
    for (const key of [String(status), `${String(status)[0]}XX`, 'default']) {
      const r = op.responses[key] ?? op.responses[key.toLowerCase()];
      if (r) return { key, response: this.resolve(r) };
    }
    return null;
  }

  // "The type URI's last segment names the problem (a, b, c)." in the Problem schema's
  // description, with the base URI from its type example: the one vocabulary every problem
  // must use.
  #problemVocabulary() {
    const problem = this.resolve(this.doc.components?.schemas?.Problem);
    const text = String(problem?.description || '').replace(/\s+/g, ' ');
    const list = text.match(/names the problem \(([^)]*)\)/);
    const example = this.resolve(problem?.properties?.type)?.examples?.[0] || '';
    const base = example.slice(0, example.lastIndexOf('/') + 1);
    const slugs = list ? list[1].split(',').map((s) => s.trim()).filter(Boolean) : [];
    return { base, slugs: new Set(slugs) };
  }
}

export function loadSpec(yamlPath) {
  return new Spec(bundleSpec(yamlPath));
}
