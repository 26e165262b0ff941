// fuzz.mjs: fuzzes every operation of docs/openapi.yaml against a running logeerd, generated
// from the contract alone, so that a route is fuzzed the day it is documented. For each
// operation, as every demo role and anonymously, fast-check generates valid requests (schema,
// examples, real ids from the server) and spoiled ones (every parameter, header and body
// field: wrong types, edges, huge and empty values, invalid UTF-8, NUL, nesting, duplicate and
// unknown keys, wrong media types), then runs stateful sequences (create a location and a pool,
// publish capacity, search, book, move the stays through their lifecycle, cancel). Every answer
// is checked against the contract (lib/checks.mjs); a failing case is shrunk by fast-check and
// reported as a finding: operation, role, request, status and reason.
//
// Run by tests/integration/test_contract_fuzz.py, which starts the server; by hand:
//   LOGEER_URL=http://127.0.0.1:8080 node tests/contract/fuzz.mjs
// Environment:
//   LOGEER_URL      the server (required)
//   FUZZ_SEED       fast-check seed (default 20261204); a run is repeatable with the same seed
//   FUZZ_RUNS       spoiled requests per operation in a round (default 200; valid ones: a quarter)
//   FUZZ_SEQUENCES  stateful runs per round (default 8)
//   FUZZ_SECONDS    when set, rounds repeat with the next seeds until this many seconds passed
//   FUZZ_ONLY       a regular expression: fuzz only the operations whose operationId matches
//   FUZZ_TIMEOUT_MS how long one answer may take (default 15000)
//   FUZZ_REPORT     write the findings, counts and guest views as JSON to this file
// Exit status: 0 without findings, 1 with findings, 2 when the run itself could not be made.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import fc from 'fast-check';

import { Checker } from './lib/checks.mjs';
import { mutationArb } from './lib/mutations.mjs';
import { describe, printable, ROLES, validRequestArb } from './lib/requests.mjs';
import { planArb, Sequence } from './lib/sequences.mjs';
import { loadSpec } from './lib/spec.mjs';
import { Values } from './lib/values.mjs';
import { World } from './lib/world.mjs';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = process.env;
const CONFIG = {
  url: env.LOGEER_URL,
  seed: Number(env.FUZZ_SEED || 20261204),
  runs: Number(env.FUZZ_RUNS || 200),
  sequences: Number(env.FUZZ_SEQUENCES ?? 8),
  seconds: Number(env.FUZZ_SECONDS || 0),
  only: env.FUZZ_ONLY ? new RegExp(env.FUZZ_ONLY) : null,
  timeoutMs: Number(env.FUZZ_TIMEOUT_MS || 15000),
  report: env.FUZZ_REPORT,
  spec: env.FUZZ_SPEC || join(REPO, 'docs', 'openapi.yaml'),
};
// A property that keeps finding new kinds of trouble is run again (with the next seed) up to
// this many times, so one run reports more than the first finding of each operation.
const MAX_REPEATS = 4;

const findings = [];
const signatures = new Set();
const started = Date.now();
const log = (line) => console.log(line);

// What makes two findings the same: operation, kind of check and status.
function signature(opId, f, answer) {
  return `${opId}|${f.check}|${answer?.status ?? answer?.error ?? ''}`;
}

function record(f, { numShrinks, seed, property, input }) {
  const { req, wire, answer } = f;
  const entry = {
    ...describe(req, wire),
    check: f.check,
    reason: f.reason,
    status: answer.status ?? null,
    answer: answer.error ? `no answer (${answer.error})` : `${answer.status} ${answer.headers['content-type'] || ''} ${printable(answer.body || '', 300)}`,
    property,
    seed,
    shrinks: numShrinks,
    input,
  };
  findings.push(entry);
  signatures.add(signature(req.op.id, f, answer));
  log(`FINDING ${findings.length} [${entry.check}] ${entry.operation} as ${entry.role}: ${entry.reason}`);
  log(`    request:  ${entry.request}`);
  for (const h of entry.headers.slice(0, 8)) log(`              ${h}`);
  if (entry.headers.length > 8) log(`              ... ${entry.headers.length - 8} more header lines`);
  if (entry.body !== null) log(`    body:     ${entry.body}`);
  if (entry.mutation) log(`    mutation: ${entry.mutation}`);
  log(`    answer:   ${entry.answer}`);
  if (input) log(`    input:    ${input}`);
  log(`    (${property}, seed ${seed}, shrunk ${numShrinks} times)`);
}

// Runs one property to its end or to a new kind of finding, which fast-check then shrinks.
// exec(value) sends what value describes and returns the findings of its answer(s).
async function runProperty(property, arb, exec, { seed, numRuns, deadline, show }) {
  for (let repeat = 0; repeat < MAX_REPEATS; repeat++) {
    let smallest = null;
    const prop = fc.asyncProperty(arb, async (value) => {
      const fresh = (await exec(value)).filter((f) => !signatures.has(signature(f.req.op.id, f, f.answer)));
      if (fresh.length) smallest = fresh;
      return fresh.length === 0;
    });
    const remaining = deadline ? Math.max(1000, deadline - Date.now()) : undefined;
    const details = await fc.check(prop, { seed: seed + repeat * 7919, numRuns, interruptAfterTimeLimit: remaining });
    if (!details.failed) return;
    if (!smallest) throw new Error(`${property}: ${details.errorInstance?.stack || details.error}`);
    const input = show && details.counterexample ? show(details.counterexample[0]) : undefined;
    for (const f of smallest) record(f, { numShrinks: details.numShrinks, seed: details.seed, property, input });
  }
}

async function fuzzOperation(ctx, op, round) {
  const { world, checker, values, spec } = ctx;
  const seed = CONFIG.seed + round;
  const deadline = CONFIG.seconds ? started + CONFIG.seconds * 1000 : undefined;
  const send = async (req) => {
    const { wire, answer } = await world.send(req);
    return checker.check(op, req, answer).map((f) => ({ ...f, req, wire, answer }));
  };
  const t0 = Date.now();
  const valid = validRequestArb(op, values, ROLES);
  await runProperty(`${op.id} valid`, valid, send, { seed, numRuns: Math.max(1, Math.ceil(CONFIG.runs / 4)), deadline });
  const spoiled = fc.tuple(valid, mutationArb(spec, op)).map(([req, spoil]) => spoil(req));
  await runProperty(`${op.id} spoiled`, spoiled, send, { seed, numRuns: CONFIG.runs, deadline });
  ctx.ms.set(op.id, (ctx.ms.get(op.id) || 0) + Date.now() - t0);
}

async function runSequences(ctx, round) {
  if (!CONFIG.sequences) return;
  const seq = new Sequence(ctx.world, ctx.checker, { caregiverToken: ctx.sequenceCaregiver });
  const before = ctx.world.sent;
  const exec = (plan) => seq.run(plan);
  await runProperty('stateful lifecycle', planArb(), exec, { seed: CONFIG.seed + round, numRuns: CONFIG.sequences,
    show: (plan) => `plan ${JSON.stringify(plan)}`,
    deadline: CONFIG.seconds ? started + CONFIG.seconds * 1000 : undefined });
  log(`  stateful lifecycle: ${CONFIG.sequences} runs, ${ctx.world.sent - before} requests`);
}

function statusSummary(counts) {
  return [...counts.entries()].sort((a, b) => String(a[0]).localeCompare(String(b[0])))
    .map(([s, n]) => `${s}x${n}`).join(' ');
}

async function main() {
  if (!CONFIG.url) {
    console.error('fuzz.mjs: set LOGEER_URL to the server to fuzz');
    return 2;
  }
  const spec = loadSpec(CONFIG.spec);
  const ops = spec.operations.filter((op) => !CONFIG.only || CONFIG.only.test(op.id));
  log(`fuzz: contract ${CONFIG.spec}: ${spec.operations.length} operations, ${spec.problemTypes.slugs.size} problem types under ${spec.problemTypes.base}`);
  const world = new World(spec, CONFIG.url, { timeoutMs: CONFIG.timeoutMs });
  await world.setUp();
  const sequenceCaregiver = (await world.newCaregiver()).token;
  log(`fuzz: ${Object.keys(world.users).length} roles logged in; ids from ${[...world.collections.keys()]
    .map((c) => `${c} (${world.ids(c).length})`).join(', ')}`);
  const ctx = { spec, world, checker: new Checker(spec), values: new Values(spec, world), sequenceCaregiver, ms: new Map() };
  log(`fuzz: set up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  log(`fuzz: seed ${CONFIG.seed}, ${CONFIG.runs} spoiled and ${Math.ceil(CONFIG.runs / 4)} valid requests per operation per round`
    + `${CONFIG.seconds ? `, rounds until ${CONFIG.seconds} s` : ''}`);
  for (let round = 0; ; round++) {
    if (round) log(`fuzz: round ${round + 1} (seed ${CONFIG.seed + round})`);
    await runSequences(ctx, round);
    for (const op of ops) {
      if (CONFIG.seconds && Date.now() > started + CONFIG.seconds * 1000) break;
      await fuzzOperation(ctx, op, round);
    }
    if (!CONFIG.seconds || Date.now() > started + CONFIG.seconds * 1000) break;
  }
  for (const op of ops) {
    const counts = world.perOperation.get(op.id) || new Map();
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const secs = ((ctx.ms.get(op.id) || 0) / 1000).toFixed(1);
    log(`  ${op.id.padEnd(22)} ${`${op.method} ${op.path}`.padEnd(34)} ${String(total).padStart(5)} requests ${secs.padStart(5)} s  ${statusSummary(counts)}`);
  }
  const covered = ops.filter((op) => world.perOperation.has(op.id));
  const with2xx = covered.filter((op) => [...world.perOperation.get(op.id).keys()].some((s) => s >= 200 && s < 300));
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  log(`fuzz: ${world.sent} requests, ${covered.length} of ${ops.length} operations covered (${with2xx.length} answered 2xx), `
    + `${findings.length} findings, ${world.guestViews.length} guest views, seed ${CONFIG.seed}, ${seconds} s`);
  if (CONFIG.report) {
    writeFileSync(CONFIG.report, JSON.stringify({
      seed: CONFIG.seed, requests: world.sent, operations: ops.length, covered: covered.length, answered_2xx: with2xx.length,
      findings, guest_views: world.guestViews,
      per_operation: Object.fromEntries([...world.perOperation].map(([id, m]) => [id, Object.fromEntries(m)])),
    }, null, 1));
  }
  world.conn.close();
  return findings.length ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => {
  console.error(`fuzz.mjs: ${e.stack || e}`);
  process.exit(2);
});
