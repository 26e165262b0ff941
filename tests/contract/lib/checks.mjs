// checks.mjs: what every answer must satisfy, judged against the contract alone:
//   - there is an answer (no dropped connection, no hang);
//   - no 5xx, except 503 with Retry-After;
//   - the status is documented for the operation (its code, its range such as 4XX, or default);
//   - the media type is one the contract documents for that status;
//   - every 4xx and 5xx is application/problem+json whose type is one of the contract's problem
//     types and whose status member is the status;
//   - JSON bodies are UTF-8, parse, and validate against the documented schema (ajv, JSON
//     Schema 2020-12, formats checked);
//   - a request that carries invalid UTF-8 is refused with a 4xx.
// Each failed check is a finding { check, reason }; check names the kind, for grouping.
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

import { pointer } from './spec.mjs';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Checker {
  constructor(spec) {
    this.spec = spec;
    // strict off: OpenAPI adds keywords (example, discriminator) that are not JSON Schema's.
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    addFormats(this.ajv);
    this.ajv.addSchema(spec.doc, 'spec.json');
    this.validators = new Map();
  }

  // The ajv validator for a documented media type of a response, or null without a schema.
  #validator(op, key, media) {
    const id = `${op.id} ${key} ${media}`;
    if (!this.validators.has(id)) {
      const rawResponse = op.responses[key];
      const base = rawResponse?.$ref ? rawResponse.$ref.slice(2).split('/').map(decodeURIComponent)
        : [...op.pointer, 'responses', key];
      const response = this.spec.resolve(rawResponse);
      const hasSchema = response?.content?.[media]?.schema !== undefined;
      this.validators.set(id, hasSchema ? this.ajv.getSchema(`spec.json#${pointer([...base, 'content', media, 'schema'])}`) : null);
    }
    return this.validators.get(id);
  }

  // All findings for one exchange; [] when the answer keeps the contract.
  check(op, req, answer) {
    if (answer.error) return [{ check: 'no-answer', reason: `no answer: ${answer.error}` }];
    const findings = [];
    const add = (check, reason) => findings.push({ check, reason });
    const { status, headers } = answer;
    if (status >= 500 && !(status === 503 && headers['retry-after'])) add('5xx', `server error ${status}`);
    if ((status === 503 || status === 429) && !headers['retry-after']) add('retry-after', `${status} without Retry-After`);
    if (req.invalidUtf8 && (status < 400 || status >= 500)) add('utf8-accepted', `answered ${status} to a request with invalid UTF-8`);
    const documented = this.spec.response(op, status);
    if (!documented) {
      add('undocumented-status', `status ${status} is not documented for ${op.id} (documented: ${Object.keys(op.responses).join(', ')})`);
    }
    this.#checkBody(op, answer, documented, add);
    return findings;
  }

  #checkBody(op, answer, documented, add) {
    const { status, headers, body } = answer;
    const media = (headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    if (status >= 400) {
      if (media !== 'application/problem+json') {
        add('problem', `${status} is ${media || 'without a body'}, not application/problem+json`);
        return;
      }
    }
    if (answer.streamed || !body.length) return;
    const content = documented?.response?.content;
    if (content && media && !(media in content)) {
      add('media-type', `${status} answered as ${media}; documented: ${Object.keys(content).join(', ')}`);
    }
    if (!/json/.test(media)) return;
    let value;
    try {
      value = JSON.parse(utf8.decode(body));
    } catch (e) {
      add('invalid-json', `${status} ${media} body is not ${e instanceof TypeError ? 'UTF-8' : 'JSON'}: ${e.message}`);
      return;
    }
    if (status >= 400) this.#checkProblem(status, value, add);
    const validate = documented && content?.[media] ? this.#validator(op, documented.key, media) : null;
    if (validate && !validate(value)) {
      const errors = validate.errors.slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
      add('schema', `${status} body does not match the documented schema: ${errors}`);
    }
  }

  #checkProblem(status, value, add) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      add('problem', `${status} problem body is not an object`);
      return;
    }
    const missing = ['type', 'title', 'status', 'detail'].filter((k) => !(k in value));
    if (missing.length) add('problem', `${status} problem lacks ${missing.join(', ')}`);
    if (value.status !== status) add('problem', `problem status member ${value.status} differs from the status ${status}`);
    const { base, slugs } = this.spec.problemTypes;
    const type = String(value.type);
    if (!type.startsWith(base) || !slugs.has(type.slice(base.length))) {
      add('problem-type', `problem type ${JSON.stringify(type)} is not one of the contract's problem types (${base}...)`);
    }
  }
}
